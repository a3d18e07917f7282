"""Reads the kit's configuration from CDK context values and turns validation errors into one clear message.

Context keys (cdk.json ``context`` or ``--context KEY=VALUE``):

- ``stage``: the stage to synthesize (default ``dev``).
- ``stages``: a mapping of stage name to that stage's settings (see :class:`StageConfig`).

Every stage is validated, not just the selected one, so a typo in ``prod`` fails the ``dev`` build in CI.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from genai_kit.config.base import describe_errors
from genai_kit.config.stage import StageConfig
from genai_kit.config.training import TrainingConfig
from genai_kit.names import STAGE_NAME_RE, STAGE_TAG, StageNames
from genai_kit.stage.bedrock import resolve_bedrock
from genai_kit.stage.endpoints import ResolvedEndpoint, resolve_endpoint
from genai_kit.stage.errors import ResolutionError
from genai_kit.stage.hf_training import ResolvedHfTraining, resolve_hf_training
from genai_kit.stage.training import ResolvedTraining, resolve_training

DEFAULT_STAGE = "dev"
STAGE_CONTEXT_KEY = "stage"
STAGES_CONTEXT_KEY = "stages"


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` holds one line per problem, each naming its key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))


@dataclass(frozen=True)
class ResolvedStage:
    """The selected stage, resolved for its region: its name; its validated ``settings``, with the sections that
    resolution refines already refined (``bedrock``: the default models of the region's geography); its endpoints
    and fine-tuning pipeline resolved against the catalog and the Neuron facts (``training`` is None when
    ``training.enabled`` is false)."""

    stage: str
    settings: StageConfig
    endpoints: tuple[ResolvedEndpoint, ...]
    training: ResolvedTraining | ResolvedHfTraining | None = None
    # With pipeline.enabled, the stages its pipeline deploys, in order (this one among them); empty otherwise.
    pipeline_stages: tuple[ResolvedStage, ...] = ()

    @property
    def names(self) -> StageNames:
        """The names of the stage's stacks and resources."""
        return StageNames(self.stage)

    @property
    def resource_tags(self) -> dict[str, str]:
        """The tags of every resource of the stage: ``genai-kit:stage`` and the configured ``tags``."""
        return {STAGE_TAG: self.stage, **self.settings.tags}


def load_stage(context: Mapping[str, Any]) -> ResolvedStage:
    """Validate every configured stage and return the one selected by the ``stage`` context key.

    Raises
    ------
    ConfigError
        With one line per problem, e.g. ``stages.dev.region: got 'us-east'; expected an AWS region code ...``.
    """
    stages = _decode(context.get(STAGES_CONTEXT_KEY), STAGES_CONTEXT_KEY)
    if not isinstance(stages, Mapping) or not stages:
        example = '{"dev": {}}'
        raise ConfigError(
            [f"{STAGES_CONTEXT_KEY}: expected a mapping of stage name to settings, e.g. {example}; got {stages!r}"]
        )

    problems: list[str] = []
    resolved: dict[str, ResolvedStage] = {}
    for name, raw in stages.items():
        if not isinstance(name, str) or not STAGE_NAME_RE.match(name):
            problems.append(
                f"{STAGES_CONTEXT_KEY}.{name}: stage name not valid; expected 1-12 lowercase letters or digits, "
                "starting with a letter"
            )
            continue
        try:
            settings = StageConfig.model_validate(_decode(raw, f"{STAGES_CONTEXT_KEY}.{name}"))
        except ValidationError as error:
            problems.extend(describe_errors(error, prefix=f"{STAGES_CONTEXT_KEY}.{name}"))
            continue
        stage = _resolve(name, settings, problems)
        if stage is not None:
            resolved[name] = stage
    if problems:
        raise ConfigError(problems)

    selected = context.get(STAGE_CONTEXT_KEY, DEFAULT_STAGE)
    if selected not in resolved:
        raise ConfigError(
            [f"{STAGE_CONTEXT_KEY}: got '{selected}'; configured stages are: {', '.join(sorted(resolved))}"]
        )
    home = resolved[selected]
    if home.settings.pipeline.enabled:
        home = dataclasses.replace(home, pipeline_stages=_pipeline_stages(home, resolved))
    return home


def _pipeline_stages(home: ResolvedStage, resolved: Mapping[str, ResolvedStage]) -> tuple[ResolvedStage, ...]:
    """The stages ``home``'s pipeline deploys, in its order; raises ``ConfigError`` naming ``pipeline.stages`` if one
    is not configured or the pipeline does not deploy its home stage (whose account and region host it)."""
    key = f"{STAGES_CONTEXT_KEY}.{home.stage}.pipeline.stages"
    listed = home.settings.pipeline.stages
    unknown = [stage for stage in listed if stage not in resolved]
    if unknown:
        configured = ", ".join(sorted(resolved))
        raise ConfigError([f"{key}: '{unknown[0]}' is not a configured stage; configured stages are: {configured}"])
    if home.stage not in listed:
        raise ConfigError([f"{key}: must include '{home.stage}', the stage whose account and region host the pipeline"])
    return tuple(home if stage == home.stage else resolved[stage] for stage in listed)


def _resolve(name: str, settings: StageConfig, problems: list[str]) -> ResolvedStage | None:
    """Resolve each section of a validated stage for its region; append a line per problem (None if any)."""
    region = settings.region
    count = len(problems)
    bedrock = _section(problems, f"{name}.bedrock", partial(resolve_bedrock, settings.bedrock, region=region))
    endpoints = tuple(
        _section(problems, f"{name}.endpoints.{i}", partial(resolve_endpoint, endpoint, stage=name, region=region))
        for i, endpoint in enumerate(settings.endpoints)
    )
    training = (
        _section(
            problems,
            f"{name}.training",
            partial(_resolve_training, settings.training, stage=name, region=region),
        )
        if settings.training.enabled
        else None
    )
    if len(problems) > count or bedrock is None or any(endpoint is None for endpoint in endpoints):
        return None
    return ResolvedStage(
        stage=name,
        settings=settings.model_copy(update={"bedrock": bedrock}),
        endpoints=tuple(endpoint for endpoint in endpoints if endpoint is not None),
        training=training,
    )


T = TypeVar("T")


def _section(problems: list[str], path: str, resolve: Callable[[], T]) -> T | None:
    """``resolve()``, or None with a line naming ``stages.<path>.<key>`` when it raises a ResolutionError."""
    try:
        return resolve()
    except ResolutionError as error:
        problems.append(f"{STAGES_CONTEXT_KEY}.{path}.{error.key}: {error}")
        return None


def _decode(value: Any, path: str) -> Any:
    """``--context key=value`` always passes a string: accept JSON there, like cdk.json would hold."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ConfigError([f"{path}: got {value!r}, which is not JSON ({error.msg})"]) from None


def _resolve_training(config: TrainingConfig, *, stage: str, region: str) -> ResolvedTraining | ResolvedHfTraining:
    """The training section of the kind it configures: a Hugging Face model with ``huggingface``, else JumpStart."""
    if config.huggingface is not None:
        return resolve_hf_training(config, stage=stage, region=region)
    return resolve_training(config, stage=stage, region=region)
