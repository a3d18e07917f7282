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

from genai_kit.catalog import HyperparameterSpec, TrainingSpec
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


# What a multi-node job of the kit's training script sets for EFA: the training toolkit sets the first three only for
# ml.trn1.32xlarge (sagemaker-training-toolkit __init__.py SM_EFA_NCCL_INSTANCES / SM_EFA_RDMA_INSTANCES), not for
# ml.trn1n.32xlarge; the Neuron multi-node guide adds FI_EFA_FORK_SAFE (aws-neuron-sdk setup-trn1-multi-node-execution).
EFA_ENVIRONMENT = {"FI_EFA_FORK_SAFE": "1", "FI_EFA_USE_DEVICE_RDMA": "1", "FI_PROVIDER": "efa", "RDMAV_FORK_SAFE": "1"}


class HfTrainingSettings(BaseModel):
    """``training.huggingface`` as CheckInput and Prepare apply it: the kit's training script's request parts fixed at
    synth (``genai_kit.stage.hf_training_job``) and what an execution's input is checked against.

    ``hyperparameters``: the script's configured values as strings (the request JSON-encodes each);
    ``container_hyperparameters``: the training toolkit's (``sagemaker_program``...) as sent, already JSON-encoded,
    without ``sagemaker_submit_directory``, a deploy-time value (PrepareEnvironment.source_archive_uri);
    ``instance_types``: the Trainium types an execution may ask for, with their NeuronCores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_uri: str
    hyperparameters: dict[str, str]
    container_hyperparameters: dict[str, str]
    specs: tuple[HyperparameterSpec, ...] = Field(description="the script's hyperparameters with their ranges")
    environment: dict[str, str] = Field(description="fixed variables (the token secret's ARN, when configured)")
    metric_definitions: tuple[dict[str, str], ...] = Field(description="MetricDefinitions: Name and Regex each")
    instance_types: dict[str, int]
    model_s3_uri: str | None = Field(description="S3 folder of the model's files, sent as the 'model' channel")


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
    # Last and optional: a pipeline without tuning or the Hugging Face kind writes no such key (its settings file is
    # unchanged).
    tuning: TuningSettings | None = None
    huggingface: HfTrainingSettings | None = None

    def to_json(self) -> str:
        """The settings file's text; ``tuning`` and ``huggingface`` only when set."""
        unset = {name for name in ("tuning", "huggingface") if getattr(self, name) is None}
        return self.model_dump_json(indent=1, exclude=unset or None)


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
    source_archive_uri: str | None = Field(
        None, description="The Hugging Face kind: S3 URI of the training script's sourcedir.tar.gz"
    )
