"""A version's SageMaker model and endpoint config: the CreateModel and CreateEndpointConfig requests, each made once,
and their deletion when the rollout that created them fails.

Both are named ``<prefix>-v<version>`` (:func:`lambdas.training_deploy.endpoint.config_name`): a redelivered event
finds them, and a concurrent delivery that created one first is no error.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lambdas.shared.aws import client
from lambdas.shared.endpoints import describe_endpoint, not_found
from lambdas.training_deploy.endpoint import already_exists, uses
from lambdas.training_deploy.settings import Environment

logger = Logger()

VARIANT_NAME = "AllTraffic"
# SageMaker's limit on a tag value (Tag.Value: at most 256 characters).
_TAG_VALUE_MAX = 256


def ensure_model(name: str, package_arn: str, env: Environment) -> bool:
    """Create the model from the package unless it exists; True when this call created it."""
    sagemaker = client("sagemaker")
    if _exists(lambda: sagemaker.describe_model(ModelName=name)):
        return False
    return _create(
        lambda: sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=env.execution_role_arn,
            # Image, environment and weights come from the package's inference specification.
            Containers=[{"ModelPackageName": package_arn}],
            EnableNetworkIsolation=True,
            Tags=resource_tags(env, package_arn),
        )
    )


def ensure_endpoint_config(name: str, env: Environment) -> bool:
    """Create the endpoint config for the model unless it exists; True when this call created it."""
    sagemaker = client("sagemaker")
    if _exists(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name)):
        return False
    return _create(
        lambda: sagemaker.create_endpoint_config(EndpointConfigName=name, **endpoint_config_request(name, env))
    )


def endpoint_config_request(model_name: str, env: Environment) -> dict[str, Any]:
    """CreateEndpointConfig's arguments besides the name: one inf2 variant, KMS and data capture."""
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "ModelName": model_name,
        "InstanceType": env.instance_type,
        "InitialInstanceCount": env.instance_count,
        "InitialVariantWeight": 1.0,
        # Neuron containers compile the model at start-up: allow the full download and health check time.
        "ModelDataDownloadTimeoutInSeconds": env.model_data_download_timeout,
        "ContainerStartupHealthCheckTimeoutInSeconds": env.container_startup_health_check_timeout,
    }
    if env.volume_size_gb is not None:
        variant["VolumeSizeInGB"] = env.volume_size_gb
    return {
        "ProductionVariants": [variant],
        "KmsKeyId": env.kms_key_arn,
        "DataCaptureConfig": {
            "EnableCapture": env.data_capture_enabled,
            "InitialSamplingPercentage": env.data_capture_sampling_percentage,
            "DestinationS3Uri": env.data_capture_uri,
            "KmsKeyId": env.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
        "Tags": resource_tags(env),
    }


def clean_up(created: list[tuple[str, str]], env: Environment) -> None:
    """Delete what this invocation created, newest first, unless the endpoint already uses it."""
    if not created:
        return
    try:
        endpoint = describe_endpoint(env.endpoint_name)
    except ClientError:
        logger.exception("cannot tell whether the endpoint uses the new resources; kept them", extra={"kept": created})
        return
    sagemaker = client("sagemaker")
    for kind, name in reversed(created):
        if uses(endpoint, name):
            continue
        try:
            if kind == "endpoint-config":
                sagemaker.delete_endpoint_config(EndpointConfigName=name)
            else:
                sagemaker.delete_model(ModelName=name)
            logger.info("deleted after the failed rollout", extra={"kind": kind, "resource": name})
        except ClientError:
            logger.exception("could not delete after the failed rollout", extra={"kind": kind, "resource": name})


def resource_tags(env: Environment, package_arn: str | None = None) -> list[dict[str, str]]:
    """SageMaker's ``Tags`` list (``[{"Key", "Value"}]``, sorted by key) of what the function creates: the stage's
    tags, and for a model ``genai-kit:model-package``, the package ARN's last 256 characters."""
    tags = dict(env.tags)
    if package_arn is not None:
        tags["genai-kit:model-package"] = package_arn[-_TAG_VALUE_MAX:]
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _exists(describe: Any) -> bool:
    try:
        describe()
    except ClientError as error:
        if not_found(error):
            return False
        raise
    return True


def _create(create: Any) -> bool:
    """Run a create call; a concurrent delivery that created the same name first is not an error."""
    try:
        create()
    except ClientError as error:
        if already_exists(error):
            return False
        raise
    return True
