"""The CheckInput and Prepare functions' configuration: written by the fine-tuning pipeline's construct, read by
both handlers of ``lambdas/training_prepare``.

Two parts. ``PrepareEnvironment``: the environment variables, values only known at deploy time (bucket names, the
key and role ARNs). ``PipelineSettings``: the settings file ``pipeline.json`` that the construct writes into the
function's asset, with the catalog facts and the configuration fixed at synth, so the function reads no catalog
file at run time and every execution of one deployment sees the same facts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.catalog import TrainingSpec
from genai_kit.contracts.base import FunctionEnvironment

# The settings file's name, next to the function's package in its asset.
SETTINGS_FILE = "pipeline.json"
# A training job's time limit when neither the configuration nor the model's spec sets one: the SageMaker SDK's
# default Estimator max_run (24 hours). The Prepare function sets it; the ops CLI's cost estimate reads it.
DEFAULT_MAX_RUNTIME_SECONDS = 86_400

HyperparameterValue = str | int | float | bool

# The CreateTrainingJob members a HyperParameterTrainingJobDefinition takes as they are (botocore's model).
# CheckpointConfig is left out: the tuning job's training jobs run side by side and would share one checkpoint
# prefix, each starting from another's checkpoints.
DEFINITION_MEMBERS = (
    "AlgorithmSpecification",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "Environment",
)


class TuningSettings(BaseModel):
    """``training.tuning`` as the prepare step applies it: the tuning job's configuration, fixed at synth, and what
    it checks again per execution (the objective metric for the instance type, the cost guard)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_config: dict[str, Any] = Field(description="CreateHyperParameterTuningJob's HyperParameterTuningJobConfig")
    warm_start: dict[str, Any] | None = Field(description="Its WarmStartConfig, when configured")
    tuned: tuple[str, ...] = Field(description="The tuned hyperparameters: not static, not settable by input")
    objective_metric: str
    max_jobs: int
    max_instance_hours: float


class PipelineSettings(BaseModel):
    """Catalog facts per supported training instance type, and the stage's training configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_id: str
    version: str
    eula_uri: str | None = Field(description="Where the model's EULA can be read (gated models)")
    specs: dict[str, TrainingSpec] = Field(description="training instance type -> resolved catalog spec")
    default_instance_type: str
    instance_count: int
    max_instance_count: int
    hyperparameters: dict[str, str] = Field(description="configuration overrides, already validated at synth")
    max_runtime_seconds: int | None
    volume_size_gb: int
    spot: bool
    spot_max_wait_seconds: int | None
    warm_pool_seconds: int
    efa_instance_types: tuple[str, ...] = Field(description="types that can train multi-node (EFA networking)")
    local_storage_instance_types: tuple[str, ...] = Field(
        description="types with local NVMe instance storage, where SageMaker refuses VolumeKmsKeyId"
    )
    # Last and optional: a pipeline without tuning writes no such key (its settings file is unchanged).
    tuning: TuningSettings | None = None

    def to_json(self) -> str:
        """The settings file's text; ``tuning`` only when set."""
        return self.model_dump_json(indent=1, exclude={"tuning"} if self.tuning is None else None)


class PrepareEnvironment(FunctionEnvironment):
    """The environment of both functions; each field is the variable of its upper-cased name."""

    training_job_prefix: str = Field(description="What the training jobs' names start with")
    training_role_arn: str = Field(description="The SageMaker execution role of the training jobs")
    datasets_bucket: str
    datasets_prefix: str = Field(description="The folder datasets must lie under, ending in '/'")
    artifacts_bucket: str
    output_prefix: str
    checkpoint_prefix: str
    compile_cache_prefix: str
    kms_key_arn: str = Field(description="The key of the training output and volumes")
