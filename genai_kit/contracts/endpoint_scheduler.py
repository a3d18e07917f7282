"""The endpoint scheduler's environment: written by ``stacks.constructs.endpoint_scheduler``, read by
``lambdas/endpoint_scheduler`` (see ``genai_kit.contracts.base`` for the encoding).

``ENDPOINTS`` maps each scheduled endpoint's name to what starting it needs: the endpoint config CloudFormation
manages (a deploy-time name), the deployment config of its updates, its schedule and its autoscaling registration.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.contracts.base import FunctionEnvironment
from genai_kit.contracts.schedule import EndpointSchedule


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantScaling(_Frozen):
    """The variant's Application Auto Scaling target and target-tracking policy (``endpoints[].autoscaling``)."""

    variant_name: str = Field(min_length=1)
    min_capacity: int = Field(ge=1)
    max_capacity: int = Field(ge=1)
    target_value: int = Field(ge=1, description="Invocations per instance per minute")
    scale_in_cooldown: int = Field(ge=0, description="Seconds")
    scale_out_cooldown: int = Field(ge=0, description="Seconds")
    policy_name: str = Field(min_length=1)

    def registration(self) -> dict[str, Any]:
        """The keys ``lambdas.shared.endpoints.register`` reads (the lifecycle's ``Scaling`` properties)."""
        return {
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
            "TargetValue": self.target_value,
            "ScaleInCooldown": self.scale_in_cooldown,
            "ScaleOutCooldown": self.scale_out_cooldown,
            "PolicyName": self.policy_name,
        }


class ScheduledEndpointSettings(_Frozen):
    """One scheduled endpoint: ``deployment_config`` is SageMaker's DeploymentConfig (CreateEndpoint's shape)."""

    endpoint_config_name: str = Field(min_length=1)
    deployment_config: dict[str, Any]
    schedule: EndpointSchedule
    scaling: VariantScaling


class SchedulerEnvironment(FunctionEnvironment):
    """The function's environment; each field is the variable of its upper-cased name."""

    endpoints: dict[str, ScheduledEndpointSettings] = Field(min_length=1, description="By endpoint name")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of the endpoints the function creates")
    topic_arn: str = Field(min_length=1, description="Where failures are told (the stage's alarm topic)")
