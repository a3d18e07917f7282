"""The deploy-on-approval function's environment: written by ``stacks.constructs.model_rollout``, read by
``lambdas/training_deploy`` (see ``genai_kit.contracts.base`` for the encoding)."""

from __future__ import annotations

from pydantic import Field

from genai_kit.contracts.base import FunctionEnvironment


class DeployEnvironment(FunctionEnvironment):
    """What the function knows before any event arrives. Timeouts in seconds, sizes in GB; the limits are
    SageMaker's (CreateEndpointConfig ``ProductionVariant``, UpdateEndpoint ``BlueGreenUpdatePolicy``)."""

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
    rollback_alarms: tuple[str, ...] = Field(min_length=1, description="CloudWatch alarms that roll an update back")
    topic_arn: str
    failure_queue_url: str = Field(description="Where Lambda keeps an event whose invocation failed all attempts")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of what the function creates")
