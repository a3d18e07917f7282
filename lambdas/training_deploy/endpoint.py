"""The fine-tuned endpoint as SageMaker describes it, the rollout it awaits, and how SageMaker names errors.

The endpoint carries the tag ``genai-kit:rollout-target`` while a rollout the function started has not been reported:
its value is the endpoint config the function asked SageMaker to move to. When SageMaker is done (InService, or
Failed), the config the endpoint serves says whether the rollout went through or was rolled back.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.aws import client

ROLLOUT_TARGET_TAG = "genai-kit:rollout-target"


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


def already_exists(error: ClientError) -> bool:
    """... and an existing name as ValidationException "Cannot create already existing ..."."""
    return error.response["Error"].get("Code") == "ValidationException" and "already exist" in str(error)


def rollout_target(endpoint_arn: str) -> str | None:
    """The endpoint config of the rollout awaiting its outcome (the tag's value), or None."""
    sagemaker = client("sagemaker")
    tags: dict[str, str] = {}
    request: dict[str, Any] = {"ResourceArn": endpoint_arn}
    while True:
        page = sagemaker.list_tags(**request)
        tags.update((tag["Key"], tag.get("Value", "")) for tag in page.get("Tags", []))
        if not page.get("NextToken"):
            return tags.get(ROLLOUT_TARGET_TAG)
        request["NextToken"] = page["NextToken"]


def set_rollout_target(endpoint_arn: str, config_name: str | None) -> None:
    """Record the rollout awaiting its outcome (AddTags overwrites the key), or none (DeleteTags)."""
    sagemaker = client("sagemaker")
    if config_name is None:
        sagemaker.delete_tags(ResourceArn=endpoint_arn, TagKeys=[ROLLOUT_TARGET_TAG])
    else:
        sagemaker.add_tags(ResourceArn=endpoint_arn, Tags=[{"Key": ROLLOUT_TARGET_TAG, "Value": config_name}])
