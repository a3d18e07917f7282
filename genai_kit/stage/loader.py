"""Reads the kit's configuration from CDK context values and turns validation errors into one clear message.

Context keys (cdk.json ``context`` or ``--context KEY=VALUE``):

- ``stage``: the stage to synthesize (default ``dev``).
- ``stages``: a mapping of stage name to that stage's settings (see :class:`StageConfig`).

Every stage is validated, not just the selected one, so a typo in ``prod`` fails the ``dev`` build in CI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from genai_kit.config.base import UNKNOWN_KEY_ERROR
from genai_kit.config.stage import StageConfig
from genai_kit.names import STAGE_NAME_RE, STAGE_TAG, StageNames
from genai_kit.stage.endpoints import EndpointError, ResolvedEndpoint, resolve_endpoint
from genai_kit.stage.training import ResolvedTraining, TrainingError, resolve_training

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
    """The selected stage: its name, its validated settings, and its endpoints and fine-tuning pipeline resolved for
    its region (``training`` is None when ``training.enabled`` is false)."""

    stage: str
    settings: StageConfig
    endpoints: tuple[ResolvedEndpoint, ...]
    training: ResolvedTraining | None = None

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
    validated: dict[str, StageConfig] = {}
    resolved: dict[str, tuple[ResolvedEndpoint, ...]] = {}
    training: dict[str, ResolvedTraining | None] = {}
    for name, raw in stages.items():
        if not isinstance(name, str) or not STAGE_NAME_RE.match(name):
            problems.append(
                f"{STAGES_CONTEXT_KEY}.{name}: stage name not valid; expected 1-12 lowercase letters or digits, "
                "starting with a letter"
            )
            continue
        try:
            validated[name] = StageConfig.model_validate(_decode(raw, f"{STAGES_CONTEXT_KEY}.{name}"))
        except ValidationError as error:
            problems.extend(_describe(error, prefix=f"{STAGES_CONTEXT_KEY}.{name}"))
            continue
        resolved[name] = _resolve_endpoints(name, validated[name], problems)
        training[name] = _resolve_training(name, validated[name], problems)
    if problems:
        raise ConfigError(problems)

    selected = context.get(STAGE_CONTEXT_KEY, DEFAULT_STAGE)
    if selected not in validated:
        raise ConfigError(
            [f"{STAGE_CONTEXT_KEY}: got '{selected}'; configured stages are: {', '.join(sorted(validated))}"]
        )
    return ResolvedStage(
        stage=selected, settings=validated[selected], endpoints=resolved[selected], training=training[selected]
    )


def _resolve_endpoints(stage: str, settings: StageConfig, problems: list[str]) -> tuple[ResolvedEndpoint, ...]:
    """Resolve each endpoint against the catalog for the stage's region, appending a line per problem."""
    endpoints = []
    for index, endpoint in enumerate(settings.endpoints):
        try:
            endpoints.append(resolve_endpoint(endpoint, stage=stage, region=settings.region))
        except EndpointError as error:
            problems.append(f"{STAGES_CONTEXT_KEY}.{stage}.endpoints.{index}.{error.key}: {error}")
    return tuple(endpoints)


def _resolve_training(stage: str, settings: StageConfig, problems: list[str]) -> ResolvedTraining | None:
    """Resolve an enabled fine-tuning pipeline for the stage's region, appending a line per problem."""
    if not settings.training.enabled:
        return None
    try:
        return resolve_training(settings.training, stage=stage, region=settings.region)
    except TrainingError as error:
        problems.append(f"{STAGES_CONTEXT_KEY}.{stage}.training.{error.key}: {error}")
        return None


def _decode(value: Any, path: str) -> Any:
    """``--context key=value`` always passes a string: accept JSON there, like cdk.json would hold."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ConfigError([f"{path}: got {value!r}, which is not JSON ({error.msg})"]) from None


def _describe(error: ValidationError, *, prefix: str) -> list[str]:
    lines = []
    for detail in error.errors(include_url=False):
        loc = [prefix, *(str(part) for part in detail["loc"])]
        if detail["type"] == UNKNOWN_KEY_ERROR:
            loc.append(detail["ctx"]["key"])
        path = ".".join(loc)
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] in ("value_error", UNKNOWN_KEY_ERROR) or "input" not in detail:
            # Our own validators already quote the bad value and say what is valid.
            lines.append(f"{path}: {message}")
        elif detail["type"] == "missing":
            lines.append(f"{path}: is required")
        else:
            lines.append(f"{path}: got {detail['input']!r}; {message[0].lower()}{message[1:]}")
    return lines
