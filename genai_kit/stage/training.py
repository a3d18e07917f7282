"""Resolves the training configuration for the stage's region into what the fine-tuning pipeline needs.

Runs at config load, like ``genai_kit.stage.endpoints``: a training image or a serving image missing from the stage's
region stops synth with a message naming the key under ``training``, before any construct is built. The checks
that need only the catalog entry run earlier, in ``genai_kit.config.training``. Plain Python: reads only the
catalog entry the configuration names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from genai_kit.catalog import CatalogError, HostingSpec, TrainingSpec, load_entry, resolve_hosting
from genai_kit.catalog import resolve_training as resolve_training_spec
from genai_kit.config.training import TrainingConfig, training_hyperparameter_specs
from genai_kit.config.training_tuning import TUNING_JOB_NAME_MAX
from genai_kit.names import StageNames
from genai_kit.neuron import NEURON_INSTANCES, has_efa, is_trainium
from genai_kit.stage.errors import ResolutionError

_WITHOUT_PIPELINE = "set training.enabled to false to deploy the stage without the fine-tuning pipeline"


class TrainingError(ResolutionError):
    """The training configuration cannot be deployed in the stage's region; ``key`` is the key below ``training``."""


@dataclass(frozen=True)
class ResolvedTraining:
    """The stage's ``training`` section resolved against the catalog for its region.

    ``specs``: every Trainium type of the model that has a training image in the region (an execution may pick
    any of them), by instance type; ``efa_instance_types``: those of them that can train multi-node (EFA
    networking). ``hyperparameters``: the configured overrides the model knows, as the strings SageMaker receives.
    """

    config: TrainingConfig
    stage: str
    region: str
    specs: Mapping[str, TrainingSpec]
    default_instance_type: str
    hosting: HostingSpec
    hyperparameters: Mapping[str, str]
    efa_instance_types: tuple[str, ...]


def resolve_training(config: TrainingConfig, *, stage: str, region: str) -> ResolvedTraining:
    """Resolve an enabled ``training`` section in ``region``.

    Raises
    ------
    TrainingError
        ``key`` ``instance_type`` when the model has no training image in the region for the default training
        type (the message lists the regions that have one), ``serving_instance_type`` when its serving image is
        missing there; ``model_id`` when the catalog entry cannot be read; ``tuning`` when the stage's name leaves
        no room for a tuning job's name (SageMaker allows 32 characters).
    """
    try:
        entry = load_entry(config.model_id, config.version)
    except CatalogError as error:
        raise TrainingError("model_id", str(error)) from None
    training = entry.training
    if training is None:
        raise TrainingError("model_id", f"{config.model_id}@{config.version} does not support training")
    specs: dict[str, TrainingSpec] = {}
    # Only types the kit has Neuron facts for (cores, EFA); the configured default is checked to be one at validation.
    for instance_type in sorted(t for t in training.instance_types if is_trainium(t) and t in NEURON_INSTANCES):
        try:
            specs[instance_type] = resolve_training_spec(
                config.model_id, config.version, region=region, instance_type=instance_type
            )
        except CatalogError:
            continue  # not offered in this region: an execution asking for it is refused by name
    default = config.instance_type or training.default_instance_type
    if default not in specs:
        try:
            # The catalog's own message lists the regions that have the training image.
            resolve_training_spec(config.model_id, config.version, region=region, instance_type=default)
        except CatalogError as error:
            raise TrainingError("instance_type", f"{error} ({_WITHOUT_PIPELINE})") from None
    try:
        hosting = resolve_hosting(
            config.model_id, config.version, region=region, instance_type=config.serving_instance_type
        )
    except CatalogError as error:
        raise TrainingError("serving_instance_type", f"{error} ({_WITHOUT_PIPELINE})") from None
    check_tuning_name(config, StageNames(stage).training_job_prefix)
    names = {
        spec.name for spec in training_hyperparameter_specs(training.hyperparameters, training.instance_types[default])
    }
    return ResolvedTraining(
        config=config,
        stage=stage,
        region=region,
        specs=specs,
        default_instance_type=default,
        hosting=hosting,
        hyperparameters={name: str(value) for name, value in config.hyperparameters.items() if name in names},
        efa_instance_types=tuple(t for t in specs if has_efa(t)),
    )


def check_tuning_name(config: TrainingConfig, prefix: str) -> None:
    """Refuse tuning when the training jobs' ``prefix`` leaves no room for a tuning job's name: it is
    ``<prefix>-<8 hex digits of the execution's name>`` (lambdas/training_prepare/tuning_job.py), at most
    TUNING_JOB_NAME_MAX characters (SageMaker's limit). Raises TrainingError with key ``tuning``."""
    if config.tuning is not None and len(prefix) + 9 > TUNING_JOB_NAME_MAX:
        raise TrainingError(
            "tuning",
            f"the tuning jobs' names would start with '{prefix}-' ({len(prefix) + 1} characters), leaving fewer than "
            f"the 8 needed of SageMaker's {TUNING_JOB_NAME_MAX}; use a shorter stage name to tune",
        )
