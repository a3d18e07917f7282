"""What the first two steps of the fine-tuning pipeline decide, as plain functions (the handlers are in handler.py).

``check_execution_input`` takes the execution input as it was given (any JSON value) and either refuses it with
a named error and a reason, or returns a :class:`CheckedInput`: the dataset folder, instance type and count, and
the hyperparameters merged catalog defaults < stage configuration < execution input, each checked against the
catalog's type, range and options, and against SageMaker's limits. A gated model needs ``"accept_eula": true``.

``prepare`` turns a checked input into the CreateTrainingJob request. The training job's name derives from the
execution's name, so a retried or redriven execution addresses the same job instead of starting a second one.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genai_kit.catalog import CatalogError, TrainingSpec, validate_hyperparameters
from genai_kit.contracts.training_prepare import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    HyperparameterValue,
    PipelineSettings,
    PrepareEnvironment,
)
from lambdas.training_prepare.errors import REASON_MAX_CHARS, PrepareError, check_instance_count, clip, quote
from lambdas.training_prepare.hf_training_job import check_hf_input, hf_training_job_request, serving_preparation
from lambdas.training_prepare.request_parts import (
    channel,
    checkpoint_config,
    output_config,
    resource_config,
    stopping_condition,
)
from lambdas.training_prepare.tuning_job import (
    check_tuning_input,
    max_runtime_seconds,
    tuning_job_name,
    tuning_request,
)

__all__ = ["REASON_MAX_CHARS", "CheckedInput", "PrepareError", "check_execution_input", "prepare"]

# SageMaker's TrainingJobName: at most 63 characters of letters, digits and hyphens.
TRAINING_JOB_NAME_MAX = 63
# CreateModelPackage's ClientToken: at most 36 characters of letters, digits and hyphens.
CLIENT_TOKEN_MAX = 36
# CreateTrainingJob: an S3Uri has at most 1024 characters, a HyperParameters value at most 2500 (botocore's model).
S3_URI_MAX = 1024
HYPERPARAMETER_VALUE_MAX = 2500
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9]+")
_EXAMPLE = '{"dataset": "my-dataset", "accept_eula": true}'


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExecutionInput(_Frozen):
    """The input of ``aws stepfunctions start-execution`` (see docs/fine-tuning.md)."""

    dataset: str = Field(description="s3://<datasets bucket>/<datasets prefix>... or a prefix below the latter")
    instance_type: str | None = None
    instance_count: int | None = Field(None, ge=1)
    hyperparameters: dict[str, HyperparameterValue] = Field(default_factory=dict)
    accept_eula: bool = False


class CheckedInput(_Frozen):
    """An execution input the pipeline accepts, completed from the configuration: what the check step returns."""

    dataset_bucket: str
    dataset_prefix: str = Field(description="key prefix of the dataset folder, ending in '/'")
    instance_type: str
    instance_count: int
    hyperparameters: dict[str, str] = Field(description="merged and checked, as strings")
    accept_eula: bool

    @property
    def dataset_uri(self) -> str:
        return f"s3://{self.dataset_bucket}/{self.dataset_prefix}"


def check_execution_input(raw_input: Any, *, settings: PipelineSettings, env: PrepareEnvironment) -> CheckedInput:
    """Check an execution input, whatever JSON value it is.

    Raises
    ------
    PrepareError
        ``InvalidInput`` (not an object, unknown or mistyped keys, a dataset outside the datasets folder, an
        instance type or count this pipeline does not run), ``HyperparameterInvalid`` or ``EulaNotAccepted``.
    """
    if not isinstance(raw_input, dict):
        raise PrepareError(
            "InvalidInput", f"execution input must be a JSON object such as {_EXAMPLE}; got {_json_kind(raw_input)}"
        )
    try:
        request_input = ExecutionInput.model_validate(raw_input)
    except ValidationError as error:
        problems = "; ".join(
            f"{clip('.'.join(str(p) for p in detail['loc']) or 'input')}: {detail['msg']}"
            for detail in error.errors(include_url=False)
        )
        raise PrepareError("InvalidInput", f"execution input is not valid: {problems}") from None

    instance_type = request_input.instance_type or settings.default_instance_type
    instance_count = request_input.instance_count or settings.instance_count
    if settings.huggingface is not None:
        check_instance_count(settings, instance_type, instance_count)
        if settings.tuning is not None:
            check_tuning_input(
                settings.tuning,
                instance_type=instance_type,
                metric_names={m["Name"] for m in settings.huggingface.metric_definitions},
                specs=settings.huggingface.specs,
                runtime=settings.max_runtime_seconds or DEFAULT_MAX_RUNTIME_SECONDS,
                count=instance_count,
                requested=request_input,
            )
        hyperparameters = check_hf_input(
            settings.huggingface,
            instance_type=instance_type,
            instance_count=instance_count,
            requested=request_input.hyperparameters,
        )
    else:
        hyperparameters = _check_jumpstart_input(request_input, settings, instance_type, instance_count)
    bucket, prefix = dataset_location(request_input.dataset, env)
    return CheckedInput(
        dataset_bucket=bucket,
        dataset_prefix=prefix,
        instance_type=instance_type,
        instance_count=instance_count,
        hyperparameters=hyperparameters,
        accept_eula=request_input.accept_eula,
    )


def _check_jumpstart_input(
    request_input: ExecutionInput, settings: PipelineSettings, instance_type: str, instance_count: int
) -> dict[str, str]:
    """The JumpStart kind: the instance type's spec, the EULA of a gated model, tuning, the merged hyperparameters."""
    spec = settings.specs.get(instance_type)
    if spec is None:
        raise PrepareError(
            "InvalidInput",
            f"instance_type: got {quote(instance_type)}; {settings.model_id}@{settings.version} trains here on: "
            f"{', '.join(sorted(settings.specs))}",
        )
    check_instance_count(settings, instance_type, instance_count)
    if spec.accept_eula_required and not request_input.accept_eula:
        eula = f" ({settings.eula_uri})" if settings.eula_uri else ""
        raise PrepareError(
            "EulaNotAccepted",
            f"model {settings.model_id} is gated: read its end-user license agreement{eula} and start the "
            'execution with "accept_eula": true to fine-tune it',
        )
    if settings.tuning is not None:
        check_tuning_input(
            settings.tuning,
            instance_type=instance_type,
            metric_names={m.name for m in spec.metric_definitions},
            specs=spec.hyperparameters,
            runtime=max_runtime_seconds(spec, settings),
            count=instance_count,
            requested=request_input,
        )
    return merge_hyperparameters(spec, settings.hyperparameters, request_input.hyperparameters)


def prepare(
    checked: CheckedInput,
    *,
    execution_name: str,
    execution_id: str,
    settings: PipelineSettings,
    env: PrepareEnvironment,
) -> dict[str, Any]:
    """The training job's name, the model package's idempotency token and the CreateTrainingJob request.

    Returns ``{"trainingJobName", "clientToken", "dataset": {"bucket", "prefix", "uri"}, "request", "summary"}``,
    and with tuning ``"tuningJobName"`` and ``"tuning"`` (the CreateHyperParameterTuningJob request).
    """
    job_name = training_job_name(env.training_job_prefix, execution_name)
    if settings.huggingface is not None:
        request = hf_training_job_request(
            settings.huggingface,
            settings=settings,
            env=env,
            job_name=job_name,
            dataset_uri=checked.dataset_uri,
            instance_type=checked.instance_type,
            instance_count=checked.instance_count,
            hyperparameters=checked.hyperparameters,
        )
    else:
        request = training_job_request(
            spec=settings.specs[checked.instance_type],
            settings=settings,
            env=env,
            job_name=job_name,
            dataset_uri=checked.dataset_uri,
            instance_count=checked.instance_count,
            hyperparameters=checked.hyperparameters,
            accept_eula=checked.accept_eula,
        )
    result: dict[str, Any] = {
        "trainingJobName": job_name,
        "clientToken": client_token(execution_id),
        "dataset": {"bucket": checked.dataset_bucket, "prefix": checked.dataset_prefix, "uri": checked.dataset_uri},
        "request": request,
        "summary": {
            "model": f"{settings.model_id}@{settings.version}",
            "instanceType": checked.instance_type,
            "instanceCount": checked.instance_count,
            "hyperparameters": checked.hyperparameters,
        },
    }
    if settings.huggingface is not None:
        # The trained model's preparation for serving: a job of its own, named from the execution like the training.
        serving_name = training_job_name(env.training_job_prefix, f"{execution_name}-serving")
        result["serving"] = serving_preparation(env=env, job_name=serving_name)
    if settings.tuning is not None:
        tuning_name = tuning_job_name(env.training_job_prefix, execution_name)
        result["tuningJobName"] = tuning_name
        result["tuning"] = tuning_request(request, settings.tuning, tuning_name)
    return result


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


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
    merged = {**spec.default_hyperparameters, **configured, **checked}
    for name, value in merged.items():
        # Sent JSON-encoded (see _encoded_hyperparameters), which adds quotes and escapes.
        if len(json.dumps(value)) > HYPERPARAMETER_VALUE_MAX:
            raise PrepareError(
                "HyperparameterInvalid",
                f"hyperparameters.{quote(name)}: {len(json.dumps(value)):,} characters once encoded; SageMaker "
                f"accepts at most {HYPERPARAMETER_VALUE_MAX:,}",
            )
    return merged


def dataset_location(dataset: str, env: PrepareEnvironment) -> tuple[str, str]:
    """(bucket, prefix ending in '/') of the dataset, which must lie under the pipeline's datasets prefix."""
    if dataset.startswith("s3://"):
        bucket, _, key = dataset.removeprefix("s3://").partition("/")
    else:
        bucket, key = env.datasets_bucket, f"{env.datasets_prefix}{dataset.lstrip('/')}"
    key = key if key.endswith("/") else f"{key}/"
    if bucket != env.datasets_bucket or not key.startswith(env.datasets_prefix) or ".." in key.split("/"):
        raise PrepareError(
            "InvalidInput",
            f"dataset: got {quote(dataset)}; expected a folder under s3://{env.datasets_bucket}/{env.datasets_prefix} "
            f"(the training role reads nothing else), e.g. s3://{env.datasets_bucket}/{env.datasets_prefix}my-data/",
        )
    if key == env.datasets_prefix:
        raise PrepareError("InvalidInput", f"dataset: name a folder below s3://{bucket}/{env.datasets_prefix}")
    if len(f"s3://{bucket}/{key}") > S3_URI_MAX:
        raise PrepareError(
            "InvalidInput",
            f"dataset: got {quote(dataset)}; SageMaker accepts S3 URIs of at most {S3_URI_MAX} characters",
        )
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
    env: PrepareEnvironment,
    job_name: str,
    dataset_uri: str,
    instance_count: int,
    hyperparameters: dict[str, str],
    accept_eula: bool,
) -> dict[str, Any]:
    """The full CreateTrainingJob request, shaped like the SageMaker SDK's JumpStartEstimator sends it."""
    return {
        "TrainingJobName": job_name,
        "RoleArn": env.training_role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
        },
        "HyperParameters": _encoded_hyperparameters(spec, hyperparameters, instance_count),
        "InputDataConfig": _channels(spec, dataset_uri, accept_eula),
        "OutputDataConfig": output_config(env, compressed=not spec.disable_output_compression),
        "ResourceConfig": resource_config(
            spec.instance_type, instance_count, spec.volume_size_gb or settings.volume_size_gb, settings, env
        ),
        "StoppingCondition": stopping_condition(max_runtime_seconds(spec, settings), settings),
        "EnableNetworkIsolation": spec.enable_network_isolation,
        "EnableInterContainerTrafficEncryption": spec.encrypt_inter_container_traffic,
        "EnableManagedSpotTraining": settings.spot,
        "CheckpointConfig": checkpoint_config(env, job_name),
        "Environment": _environment(spec, env, accept_eula),
    }


def _encoded_hyperparameters(
    spec: TrainingSpec, hyperparameters: dict[str, str], instance_count: int
) -> dict[str, str]:
    """HyperParameters: the checked ones and the container's, each value JSON-encoded."""
    container_hyperparameters = dict(spec.container_hyperparameters)
    if instance_count > 1:
        # Multi-node: SageMaker launches the script with torch distributed over the instances (EFA between them).
        container_hyperparameters["sagemaker_torch_distributed_enabled"] = "true"
    # Like the SDK, every hyperparameter value is sent JSON-encoded; the training toolkit decodes it.
    return {name: json.dumps(value) for name, value in {**hyperparameters, **container_hyperparameters}.items()}


def _environment(spec: TrainingSpec, env: PrepareEnvironment, accept_eula: bool) -> dict[str, str]:
    """Environment: the spec's, the EULA acceptance of a gated model, and the Neuron compile cache."""
    environment = dict(spec.environment)
    if spec.accept_eula_required and accept_eula:
        environment["accept_eula"] = "true"
    # Neuron compiles the model graph on first run; a shared S3 cache makes later jobs skip that.
    environment["NEURON_COMPILE_CACHE_URL"] = f"s3://{env.artifacts_bucket}/{env.compile_cache_prefix}"
    return environment


def _channels(spec: TrainingSpec, dataset_uri: str, accept_eula: bool) -> list[dict[str, Any]]:
    """InputDataConfig: the dataset, the training script and, when the spec has them, the base model's weights."""
    channels: list[dict[str, Any]] = [
        channel("training", dataset_uri),
        channel("code", spec.script_uri),
    ]
    if spec.model_artifact_uri is not None:
        model = channel("model", spec.model_artifact_uri)
        if spec.accept_eula_required:
            model["DataSource"]["S3DataSource"]["ModelAccessConfig"] = {"AcceptEula": accept_eula}
        channels.append(model)
    return channels
