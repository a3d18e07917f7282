"""The EventBridge events the deploy function handles, with the fields it reads (the events carry more).

Shapes: "Events that Amazon SageMaker AI sends to Amazon EventBridge" in the SageMaker developer guide.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

# What SageMaker emits when a model package is created or its approval status changes.
PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
# What SageMaker emits when a real-time endpoint's status changes (creating, updating, in service, failed...).
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"


class PackageDetail(BaseModel):
    """The fields of a model package state change the function reads."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    model_package_arn: str = Field(alias="ModelPackageArn")
    model_package_group_name: str = Field(alias="ModelPackageGroupName")
    model_approval_status: str = Field(alias="ModelApprovalStatus")


class PackageStateChange(EventBridgeModel):
    """An EventBridge "SageMaker Model Package State Change" event."""

    detail: PackageDetail


class EndpointDetail(BaseModel):
    """The fields of an endpoint state change the function reads.

    ``EndpointStatus`` is spelled in the event's own way (``IN_SERVICE`` in the documented example); the function
    reads the status, configs and failure reason from DescribeEndpoint instead, so the event only says when to look.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    endpoint_name: str = Field(alias="EndpointName")
    endpoint_status: str | None = Field(None, alias="EndpointStatus")


class EndpointStateChange(EventBridgeModel):
    """An EventBridge "SageMaker Endpoint State Change" event."""

    detail: EndpointDetail
