"""Prepare step of the fine-tuning pipeline: check the execution input and build the CreateTrainingJob request.

Hyperparameters are merged catalog defaults < stage configuration < execution input, and each value is
checked against the catalog's type, range and options before any Trainium instance starts. A gated model
needs ``"accept_eula": true`` in the input. The training job's name derives from the execution's name, so
a retried or redriven execution addresses the same job instead of starting a second one.

Returns ``{"ok": true, "request": {...}, ...}`` or ``{"ok": false, "error": <name>, "reason": <message>}``;
the state machine turns the latter into a notification and a failed execution.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genai_kit.catalog import CatalogError, TrainingSpec, validate_hyperparameters
from lambdas.training_prepare.settings import Environment, HyperparameterValue, PipelineSettings, load_settings

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# SageMaker's TrainingJobName: at most 63 characters of letters, digits and hyphens.
TRAINING_JOB_NAME_MAX = 63
# CreateModelPackage's ClientToken: at most 36 characters of letters, digits and hyphens.
CLIENT_TOKEN_MAX = 36
# Where SageMaker syncs /opt/ml/checkpoints to and from S3 (and where JumpStart scripts write them).
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# The SDK's default Estimator max_run when a spec sets none (24 hours).
DEFAULT_MAX_RUNTIME_SECONDS = 86_400
MAX_WAIT_LIMIT_SECONDS = 2_419_200
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")


class PrepareError(ValueError):
    """The execution input cannot start a training job; ``error`` names the kind of problem."""

    def __init__(self, error: str, reason: str) -> None:
        self.error = error
        super().__init__(reason)


class ExecutionInput(BaseModel):
    """The input of ``aws stepfunctions start-execution`` (see docs/fine-tuning.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = Field(description="s3://<datasets bucket>/<datasets prefix>... or a prefix below the latter")
    instance_type: str | None = None
    instance_count: int | None = Field(None, ge=1)
    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict)
    accept_eula: bool = False


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: ``{"input": <execution input>, "execution": {"name": ..., "id": ...}}``."""
    execution = event["execution"]
    try:
        result = prepare(event.get("input") or {}, execution_name=execution["name"], execution_id=execution["id"])
    except PrepareError as error:
        logger.warning("execution input refused", extra={"error": error.error, "reason": str(error)})
        metrics.add_metric(name="InputRefused", unit=MetricUnit.Count, value=1)
        return {"ok": False, "error": error.error, "reason": str(error)}
    metrics.add_metric(name="TrainingJobPrepared", unit=MetricUnit.Count, value=1)
    logger.info("training job prepared", extra={"training_job_name": result["trainingJobName"]})
    return result


def prepare(
    raw_input: dict[str, Any],
    *,
    execution_name: str,
    execution_id: str,
    settings: PipelineSettings | None = None,
    env: Environment | None = None,
) -> dict[str, Any]:
    """Validate the execution input and return the request and what the later steps need."""
    settings = settings or load_settings()
    env = env or Environment.from_os()
    try:
        request_input = ExecutionInput.model_validate(raw_input)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in detail['loc']) or 'input'}: {detail['msg']}"
            for detail in error.errors(include_url=False)
        )
        raise PrepareError("InvalidInput", f"execution input is not valid: {problems}") from None

    instance_type = request_input.instance_type or settings.default_instance_type
    spec = settings.specs.get(instance_type)
    if spec is None:
        raise PrepareError(
            "InvalidInput",
            f"instance_type: got '{instance_type}'; {settings.model_id}@{settings.version} trains here on: "
            f"{', '.join(sorted(settings.specs))}",
        )
    instance_count = request_input.instance_count or settings.instance_count
    _check_instance_count(settings, instance_type, instance_count)
    if spec.accept_eula_required and not request_input.accept_eula:
        eula = f" ({settings.eula_uri})" if settings.eula_uri else ""
        raise PrepareError(
            "EulaNotAccepted",
            f"model {settings.model_id} is gated: read its end-user license agreement{eula} and start the "
            'execution with "accept_eula": true to fine-tune it',
        )
    hyperparameters = merge_hyperparameters(spec, settings.hyperparameters, request_input.hyperparameters)
    bucket, prefix = dataset_location(request_input.dataset, env)
    job_name = training_job_name(env.training_job_prefix, execution_name)
    request = training_job_request(
        spec=spec,
        settings=settings,
        env=env,
        job_name=job_name,
        dataset_uri=f"s3://{bucket}/{prefix}",
        instance_count=instance_count,
        hyperparameters=hyperparameters,
        accept_eula=request_input.accept_eula,
    )
    return {
        "ok": True,
        "trainingJobName": job_name,
        "clientToken": client_token(execution_id),
        "dataset": {"bucket": bucket, "prefix": prefix, "uri": f"s3://{bucket}/{prefix}"},
        "request": request,
        "summary": {
            "model": f"{settings.model_id}@{settings.version}",
            "instanceType": instance_type,
            "instanceCount": instance_count,
            "hyperparameters": hyperparameters,
        },
    }


def _check_instance_count(settings: PipelineSettings, instance_type: str, count: int) -> None:
    if count > settings.max_instance_count:
        raise PrepareError(
            "InvalidInput",
            f"instance_count: {count} is above this pipeline's max_instance_count ({settings.max_instance_count})",
        )
    if count > 1 and instance_type not in settings.efa_instance_types:
        raise PrepareError(
            "InvalidInput",
            f"instance_count: {instance_type} has no EFA networking and cannot train multi-node; use 1 or one of: "
            f"{', '.join(settings.efa_instance_types) or 'none'}",
        )


def merge_hyperparameters(
    spec: TrainingSpec, configured: dict[str, str], requested: dict[str, HyperparameterValue]
) -> dict[str, str]:
    """Catalog defaults < configuration < execution input, each input value checked against the catalog."""
    label = f"{spec.model_id}@{spec.version}"
    container = sorted(h.name for h in spec.hyperparameters if h.scope == "container" and h.name in requested)
    if container:
        raise PrepareError(
            "HyperparameterInvalid", f"hyperparameters.{container[0]}: set by the training container, not by input"
        )
    try:
        checked = validate_hyperparameters(spec.hyperparameters, requested, model=label)
    except CatalogError as error:
        raise PrepareError("HyperparameterInvalid", f"hyperparameters: {error}") from None
    return {**spec.default_hyperparameters, **configured, **checked}


def dataset_location(dataset: str, env: Environment) -> tuple[str, str]:
    """(bucket, prefix ending in '/') of the dataset, which must lie under the pipeline's datasets prefix."""
    if dataset.startswith("s3://"):
        bucket, _, key = dataset.removeprefix("s3://").partition("/")
    else:
        bucket, key = env.datasets_bucket, f"{env.datasets_prefix}{dataset.lstrip('/')}"
    key = key if key.endswith("/") else f"{key}/"
    if bucket != env.datasets_bucket or not key.startswith(env.datasets_prefix) or ".." in key.split("/"):
        raise PrepareError(
            "InvalidInput",
            f"dataset: got '{dataset}'; expected a folder under s3://{env.datasets_bucket}/{env.datasets_prefix} "
            f"(the training role reads nothing else), e.g. s3://{env.datasets_bucket}/{env.datasets_prefix}my-data/",
        )
    if key == env.datasets_prefix:
        raise PrepareError("InvalidInput", f"dataset: name a folder below s3://{bucket}/{env.datasets_prefix}")
    return bucket, key


def training_job_name(prefix: str, execution_name: str) -> str:
    """``<prefix>-<execution name, sanitized and shortened>-<hash of the full name>``: one job per execution."""
    digest = hashlib.sha256(execution_name.encode()).hexdigest()[:8]
    room = TRAINING_JOB_NAME_MAX - len(prefix) - len(digest) - 2
    slug = _NOT_NAME_CHARS.sub("-", execution_name.lower()).strip("-")[:room].strip("-")
    return f"{prefix}-{slug}-{digest}" if slug else f"{prefix}-{digest}"


def client_token(execution_id: str) -> str:
    """Idempotency token of the model package: a retried register step creates no second version."""
    return hashlib.sha256(execution_id.encode()).hexdigest()[:CLIENT_TOKEN_MAX]


def training_job_request(
    *,
    spec: TrainingSpec,
    settings: PipelineSettings,
    env: Environment,
    job_name: str,
    dataset_uri: str,
    instance_count: int,
    hyperparameters: dict[str, str],
    accept_eula: bool,
) -> dict[str, Any]:
    """The full CreateTrainingJob request, shaped like the SageMaker SDK's JumpStartEstimator sends it."""
    artifacts = f"s3://{env.artifacts_bucket}"
    container_hyperparameters = dict(spec.container_hyperparameters)
    if instance_count > 1:
        # Multi-node: SageMaker launches the script with torch distributed over the instances (EFA between them).
        container_hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
    # Like the SDK, every hyperparameter value is sent JSON-encoded; the training toolkit decodes it.
    encoded = {name: json.dumps(value) for name, value in {**hyperparameters, **container_hyperparameters}.items()}

    environment = dict(spec.environment)
    if spec.accept_eula_required and accept_eula:
        environment["accept_eula"] = "true"
    # Neuron compiles the model graph on first run; a shared S3 cache makes later jobs skip that.
    environment["NEURON_COMPILE_CACHE_URL"] = f"{artifacts}/{env.compile_cache_prefix}"

    channels: list[dict[str, Any]] = [
        _channel("training", dataset_uri),
        _channel("code", spec.script_uri),
    ]
    if spec.model_artifact_uri is not None:
        model = _channel("model", spec.model_artifact_uri)
        if spec.accept_eula_required:
            model["DataSource"]["S3DataSource"]["ModelAccessConfig"] = {"AcceptEula": accept_eula}
        channels.append(model)

    resource: dict[str, Any] = {
        "InstanceType": spec.instance_type,
        "InstanceCount": instance_count,
        "VolumeSizeInGB": spec.volume_size_gb or settings.volume_size_gb,
    }
    if spec.instance_type not in settings.local_storage_instance_types:
        resource["VolumeKmsKeyId"] = env.kms_key_arn
    if settings.warm_pool_seconds:
        resource["KeepAlivePeriodInSeconds"] = settings.warm_pool_seconds

    max_runtime = settings.max_runtime_seconds or spec.max_run_seconds or DEFAULT_MAX_RUNTIME_SECONDS
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": max_runtime}
    if settings.spot:
        stopping["MaxWaitTimeInSeconds"] = settings.spot_max_wait_seconds or min(
            2 * max_runtime, MAX_WAIT_LIMIT_SECONDS
        )

    return {
        "TrainingJobName": job_name,
        "RoleArn": env.training_role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
        },
        "HyperParameters": encoded,
        "InputDataConfig": channels,
        "OutputDataConfig": {
            "S3OutputPath": f"{artifacts}/{env.output_prefix}",
            "KmsKeyId": env.kms_key_arn,
            "CompressionType": "NONE" if spec.disable_output_compression else "GZIP",
        },
        "ResourceConfig": resource,
        "StoppingCondition": stopping,
        "EnableNetworkIsolation": spec.enable_network_isolation,
        "EnableInterContainerTrafficEncryption": spec.encrypt_inter_container_traffic,
        "EnableManagedSpotTraining": settings.spot,
        "CheckpointConfig": {
            "S3Uri": f"{artifacts}/{env.checkpoint_prefix}{job_name}/",
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        },
        "Environment": environment,
    }


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "InputMode": "File",
    }
