"""SageMaker endpoint calls shared by functions: describing an endpoint and recognising SageMaker's "not found"
(also the deploy-on-approval function's), and a scheduled endpoint's calls, shared by the lifecycle custom
resource and the scheduler function.

A scheduled endpoint is created and deleted through the SageMaker API (never by CloudFormation), by two writers:
the ``ScheduledEndpoint`` custom resource at deploy time and the scheduler at each start and stop. Both tag what
they create with ``OWNER_TAG``, so neither touches an endpoint of the same name that something else created.
DeleteEndpoint keeps the endpoint config and the model ("Deleting an endpoint will not delete the endpoint
configuration or the SageMaker model", developer guide, "Delete endpoints and resources"), and "Application Auto
Scaling deregisters those models as scalable targets without notifying you" (developer guide, "Automatic scaling of
Amazon SageMaker AI models"), so every start registers the variant again once the endpoint is InService.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lambdas.shared.aws import client

OWNER_TAG = "genai-kit:scheduled-endpoint"
SAGEMAKER_SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Statuses from which the endpoint becomes InService (or Failed) without another call.
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed")


def not_found(error: ClientError) -> bool:
    """SageMaker reports a missing model, endpoint config or endpoint as ValidationException "Could not find ..."."""
    return error.response.get("Error", {}).get("Code") == "ValidationException" and "Could not find" in str(error)


def describe_endpoint(name: str) -> dict[str, Any] | None:
    """DescribeEndpoint's response, or None when the endpoint does not exist."""
    try:
        description: dict[str, Any] = client("sagemaker").describe_endpoint(EndpointName=name)
    except ClientError as error:
        if not_found(error):
            return None
        raise
    return description


def owned(endpoint_arn: str) -> bool:
    """Whether the endpoint carries ``OWNER_TAG`` (created by the kit's schedule machinery)."""
    sagemaker = client("sagemaker")
    request: dict[str, Any] = {"ResourceArn": endpoint_arn}
    while True:
        page = sagemaker.list_tags(**request)
        if any(tag["Key"] == OWNER_TAG for tag in page.get("Tags", [])):
            return True
        if not page.get("NextToken"):
            return False
        request["NextToken"] = page["NextToken"]


def create_endpoint(name: str, config_name: str, deployment_config: dict[str, Any], tags: dict[str, str]) -> None:
    """CreateEndpoint on ``config_name`` with the deployment config later updates use, ``tags`` and ``OWNER_TAG``."""
    client("sagemaker").create_endpoint(
        EndpointName=name,
        EndpointConfigName=config_name,
        DeploymentConfig=deployment_config,
        Tags=[{"Key": key, "Value": value} for key, value in sorted({**tags, OWNER_TAG: "true"}.items())],
    )


def update_endpoint(name: str, config_name: str, deployment_config: dict[str, Any]) -> None:
    """UpdateEndpoint to ``config_name``: blue/green by ``deployment_config``, keeping the instance count
    autoscaling set (RetainAllVariantProperties, as the CloudFormation endpoint of an unscheduled one does)."""
    client("sagemaker").update_endpoint(
        EndpointName=name,
        EndpointConfigName=config_name,
        RetainAllVariantProperties=True,
        DeploymentConfig=deployment_config,
    )


def delete_endpoint(name: str, variant: str) -> None:
    """DeleteEndpoint, after releasing the variant's scalable target (which a registered variant's endpoint
    update would otherwise be refused for); an endpoint already gone is a success."""
    deregister(f"endpoint/{name}/variant/{variant}")
    try:
        client("sagemaker").delete_endpoint(EndpointName=name)
    except ClientError as error:
        if not not_found(error):
            raise


def register(resource_id: str, scaling: dict[str, Any]) -> None:
    """Register the variant ``resource_id`` with its target-tracking policy (both calls are upserts).

    ``scaling``: ``MinCapacity``, ``MaxCapacity``, ``TargetValue``, ``ScaleInCooldown``, ``ScaleOutCooldown`` and
    ``PolicyName`` (numbers as numbers or strings)."""
    autoscaling = client("application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SAGEMAKER_SCALABLE_DIMENSION,
        MinCapacity=int(scaling["MinCapacity"]),
        MaxCapacity=int(scaling["MaxCapacity"]),
    )
    autoscaling.put_scaling_policy(
        PolicyName=scaling["PolicyName"],
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension=SAGEMAKER_SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(scaling["TargetValue"]),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": int(scaling["ScaleInCooldown"]),
            "ScaleOutCooldown": int(scaling["ScaleOutCooldown"]),
        },
    )


def deregister(resource_id: str) -> None:
    """Deregister the variant if it is registered (which also deletes its scaling policies)."""
    autoscaling = client("application-autoscaling")
    registered = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id], ScalableDimension=SAGEMAKER_SCALABLE_DIMENSION
    )["ScalableTargets"]
    if not registered:
        return
    try:
        autoscaling.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=SAGEMAKER_SCALABLE_DIMENSION
        )
    except ClientError as error:
        # Deregistered meanwhile (API reference: ObjectNotFoundException).
        if error.response.get("Error", {}).get("Code") != "ObjectNotFoundException":
            raise
