"""What the deploy function knows before any event arrives: the environment the training stack sets."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Environment(BaseModel):
    """The function's environment variables (set by the training stack's rollout construct)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_package_group_name: str = Field(description="The group whose approved versions are rolled out")
    resource_prefix: str = Field(description="Prefix of the model and endpoint config names: <prefix>-v<version>")
    endpoint_name: str = Field(description="The fixed endpoint the versions are rolled out to")
    execution_role_arn: str = Field(description="SageMaker execution role of the model (the serving role)")
    instance_type: str
    instance_count: int = Field(ge=1)
    model_data_download_timeout: int = Field(ge=60, le=3600)
    container_startup_health_check_timeout: int = Field(ge=60, le=3600)
    volume_size_gb: int | None = Field(None, ge=1, le=512)
    kms_key_arn: str
    data_capture_enabled: bool
    data_capture_sampling_percentage: int = Field(ge=0, le=100)
    data_capture_uri: str
    model_data_prefix: str = Field(description="s3://<bucket>/<prefix>/: the only model data the serving role reads")
    wait_interval_seconds: int = Field(ge=0, le=3600)
    termination_wait_seconds: int = Field(ge=0, le=3600)
    maximum_execution_timeout_seconds: int = Field(ge=600, le=28800)
    rollback_alarms: tuple[str, ...] = Field(min_length=1, description="Comma-separated CloudWatch alarm names")
    topic_arn: str
    failure_queue_url: str = Field(description="Where Lambda keeps an event whose invocation failed all attempts")
    tags: dict[str, str] = Field(default_factory=dict, description="JSON object of tags for what the function creates")

    @field_validator("rollback_alarms", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(name for name in value.split(",") if name) if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def from_os(cls) -> Environment:
        """Read every field from its upper-case variable; optional ones may be absent."""
        return cls.model_validate(
            {name: os.environ[name.upper()] for name in cls.model_fields if name.upper() in os.environ}
        )
