"""The fine-tuned endpoint as SageMaker describes it, and how SageMaker reports missing and existing names."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.aws import client


def describe_endpoint(name: str) -> dict[str, Any] | None:
    """DescribeEndpoint's response, or None when the endpoint does not exist."""
    try:
        description: dict[str, Any] = client("sagemaker").describe_endpoint(EndpointName=name)
    except ClientError as error:
        if not_found(error):
            return None
        raise
    return description


def config_name(prefix: str, version: int) -> str:
    """The model and endpoint config of a version: ``<prefix>-v<version>``."""
    return f"{prefix}-v{version}"


def endpoint_versions(endpoint: dict[str, Any], prefix: str) -> list[int]:
    """The versions the endpoint serves and moves to (PendingDeploymentSummary), of the configs named by the kit."""
    pattern = re.compile(rf"{re.escape(prefix)}-v(\d+)")
    pending = endpoint.get("PendingDeploymentSummary") or {}
    names = (endpoint.get("EndpointConfigName"), pending.get("EndpointConfigName"))
    return [int(match.group(1)) for name in names if name and (match := pattern.fullmatch(name))]


def uses(endpoint: dict[str, Any] | None, config_name: str) -> bool:
    """Whether the endpoint serves the config, or a deployment in progress moves it there."""
    if endpoint is None:
        return False
    pending = endpoint.get("PendingDeploymentSummary") or {}
    return config_name in (endpoint.get("EndpointConfigName"), pending.get("EndpointConfigName"))


def not_found(error: ClientError) -> bool:
    """SageMaker reports a missing model, endpoint config or endpoint as ValidationException "Could not find ..."."""
    return error.response["Error"].get("Code") == "ValidationException" and "Could not find" in str(error)


def already_exists(error: ClientError) -> bool:
    """... and an existing name as ValidationException "Cannot create already existing ..."."""
    return error.response["Error"].get("Code") == "ValidationException" and "already exist" in str(error)
