"""What the prepare step knows before any execution starts: catalog facts and configuration, fixed at synth.

The training stack writes these settings as ``pipeline.json`` into the function's asset, so the Lambda
reads no catalog file at run time and every execution of one deployment sees the same facts. Values only
known at deploy time (bucket names, the key and role ARNs) come from the environment instead.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.catalog import TrainingSpec

SETTINGS_FILE = "pipeline.json"
SETTINGS_PATH_ENV = "PIPELINE_SETTINGS_PATH"

HyperparameterValue = str | int | float | bool


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PipelineSettings(_Frozen):
    """Catalog facts per supported training instance type, and the stage's training configuration."""

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


class Environment(_Frozen):
    """The function's environment variables (set by the training stack)."""

    training_job_prefix: str
    training_role_arn: str
    datasets_bucket: str
    datasets_prefix: str
    artifacts_bucket: str
    output_prefix: str
    checkpoint_prefix: str
    compile_cache_prefix: str
    kms_key_arn: str

    @classmethod
    def from_os(cls) -> Environment:
        return cls(**{name: os.environ[name.upper()] for name in cls.model_fields})


@cache
def load_settings() -> PipelineSettings:
    """Read ``pipeline.json`` (next to this module in the asset, or at ``$PIPELINE_SETTINGS_PATH``)."""
    path = Path(os.environ.get(SETTINGS_PATH_ENV) or Path(__file__).with_name(SETTINGS_FILE))
    return PipelineSettings.model_validate_json(path.read_text(encoding="utf-8"))
