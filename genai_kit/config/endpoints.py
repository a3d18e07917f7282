"""Configuration of the Inferentia2 real-time endpoints: which model, where its weights come from, how it scales.

A model comes from one of three sources:

- ``jumpstart``: a model version of the kit's pinned JumpStart catalog (``model_artifacts/catalog``);
- ``huggingface``: a Hugging Face Hub model at a pinned revision, prepared once into the artifacts bucket (the
  weights, compiled for Neuron where the container needs it) and served from there without network; or, with
  ``prepare: false``, downloaded by the container at start-up;
- ``s3``: a model under an S3 prefix (uncompressed), served by a Neuron deep learning container.

Checks that need the catalog (supported instance types, image in the region, EULA) run in
``genai_kit.stage.endpoints`` once the region is known; this module checks form and AWS limits.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from genai_kit.config.base import HubCommit, StrictModel
from genai_kit.contracts.schedule import EndpointSchedule

# SageMaker's EndpointName pattern, less the kit's prefix "genai-kit-<stage>-" (at most 22 characters).
_ENDPOINT_NAME_RE = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,39}$")
# Hugging Face Hub repository ids: "<namespace>/<name>".
_HF_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_S3_PREFIX_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\s]*/)?$")
_ENV_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
_SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$")

# The endpoint scheduler's reserved concurrency (when a stage schedules an endpoint): starts of several endpoints at
# the same minute run side by side, Lambda queues the rest. Read by the construct and by preflight.
SCHEDULER_RESERVED_CONCURRENCY = 2

NeuronContainer = Literal["djl-neuronx", "huggingface-llm-neuronx", "huggingface-vllm-neuronx"]
# SageMaker's limits for ProductionVariant ModelDataDownloadTimeoutInSeconds and
# ContainerStartupHealthCheckTimeoutInSeconds.
TimeoutSeconds = Annotated[int, Field(ge=60, le=3600)]


def _endpoint_name(value: str) -> str:
    if not _ENDPOINT_NAME_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected 1-40 lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit (it becomes part of the SageMaker endpoint name)"
        )
    return value


def _hf_model_id(value: str) -> str:
    if not _HF_MODEL_ID_RE.match(value):
        raise ValueError(f"got '{value}'; expected a Hugging Face Hub model id such as 'namespace/model-name'")
    return value


def _secret_arn(value: str) -> str:
    if not _SECRET_ARN_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected a Secrets Manager secret ARN (arn:aws:secretsmanager:...:secret:...)"
        )
    return value


def s3_prefix_uri(value: str) -> str:
    """Refuse anything but an ``s3://bucket/folder/`` URI (a prefix ending in '/'): ValueError naming the value."""
    if not _S3_PREFIX_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected an S3 prefix of uncompressed weights ending in '/', such as s3://bucket/models/x/"
        )
    return value


def _environment(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _ENV_NAME_RE.match(name):
            raise ValueError(f"environment variable name '{name}' is not valid; expected letters, digits and _")
    return value


class JumpStartSource(StrictModel):
    """A model version from the kit's pinned JumpStart catalog."""

    kind: Literal["jumpstart"] = Field(description="`jumpstart`")
    model_id: str = Field(description="JumpStart model id, e.g. meta-textgenerationneuron-llama-2-7b.")
    version: str = Field(description="Model version pinned in the catalog, e.g. 1.0.0.")
    accept_eula: bool = Field(
        False, description="Accept the model's end-user license agreement (required to deploy a gated model)."
    )


class HuggingFaceSource(StrictModel):
    """A Hugging Face Hub model at a pinned revision, prepared into the artifacts bucket and served from there."""

    kind: Literal["huggingface"] = Field(description="`huggingface`")
    model_id: Annotated[str, AfterValidator(_hf_model_id)] = Field(description="Hub model id.")
    revision: HubCommit | None = Field(None, description="Commit id of the weights to serve (required with `prepare`).")
    container: NeuronContainer = Field(description="Neuron serving container (LMI, TGI or vLLM).")
    container_version: str = Field(description="Container version from the SageMaker SDK's image table.")
    prepare: bool = Field(
        True,
        description="Copy the pinned weights into the artifacts bucket once, compiled for Neuron with the endpoint's "
        "serving settings where the container needs it, and serve them from there with network isolation; "
        "`false`: the container downloads the model from the Hub at every start (it then starts only if the "
        "model is exported to Neuron or in the public Neuron cache).",
    )
    token_secret_arn: Annotated[str, AfterValidator(_secret_arn)] | None = Field(
        None,
        description="Secrets Manager secret holding a Hugging Face token, for gated models; read by the preparation "
        "job only.",
    )

    @model_validator(mode="after")
    def _pinned(self) -> HuggingFaceSource:
        if self.prepare and self.revision is None:
            raise ValueError(
                "revision: required to prepare the model; give the commit id of the weights to serve "
                "(or set prepare to false to let the container download the Hub's current files at each start)"
            )
        if not self.prepare and self.token_secret_arn is not None:
            raise ValueError(
                "token_secret_arn: read by the preparation job only; with prepare false the token would have to be "
                "in the endpoint's environment, which the kit does not do"
            )
        return self


class S3WeightsSource(StrictModel):
    """Uncompressed model weights under an S3 prefix, served by a Neuron container."""

    kind: Literal["s3"] = Field(description="`s3`")
    s3_uri: Annotated[str, AfterValidator(s3_prefix_uri)] = Field(description="S3 prefix holding the weights.")
    container: NeuronContainer = Field(description="Neuron serving container (LMI, TGI or vLLM).")
    container_version: str = Field(description="Container version from the SageMaker SDK's image table.")


ModelSource = Annotated[JumpStartSource | HuggingFaceSource | S3WeightsSource, Field(discriminator="kind")]


class ServingOptions(StrictModel):
    """Serving settings, which the kit sets through the container's own environment variables (the catalog's
    start-up contract of the container version names them) and compiles the prepared model for."""

    tensor_parallel_degree: int | None = Field(
        None, ge=1, description="NeuronCores the model is sharded over, at most the instance's; default: all of them."
    )
    max_sequence_length: int = Field(2048, ge=1, description="Longest prompt plus completion, in tokens.")
    max_batch_size: int = Field(1, ge=1, description="Requests batched together on the device.")
    max_input_tokens: int | None = Field(
        None, ge=1, description="TGI only: longest prompt, below max_sequence_length; default: half of it."
    )
    dtype: Literal["bf16", "fp16"] | None = Field(
        None, description="Data type the weights are cast to (TGI, LMI); default bf16. vLLM serves the model's own."
    )


class AutoscalingConfig(StrictModel):
    """Target tracking on invocations per instance, between min and max instances."""

    min_instances: int = Field(1, ge=1, description="Instances kept running (at least 1 for a real-time endpoint).")
    max_instances: int = Field(1, ge=1, description="Upper bound of the scaling range.")
    target_invocations_per_instance: int = Field(
        20, ge=1, description="Invocations per instance per minute that autoscaling keeps the endpoint at."
    )
    scale_in_cooldown_seconds: int = Field(600, ge=0, description="Wait after a scale-in before the next one.")
    scale_out_cooldown_seconds: int = Field(300, ge=0, description="Wait after a scale-out before the next one.")

    @model_validator(mode="after")
    def _range(self) -> AutoscalingConfig:
        if self.max_instances < self.min_instances:
            raise ValueError(
                f"max_instances ({self.max_instances}) is below min_instances ({self.min_instances}); "
                "expected max_instances >= min_instances"
            )
        return self


class AlarmThresholds(StrictModel):
    """Thresholds of the alarms that page the alarm topic and roll back a bad deployment."""

    invocation_5xx_errors: int = Field(5, ge=1, description="5XX responses in 5 minutes that raise the error alarm.")
    model_errors: int = Field(5, ge=1, description="Model invocation errors in 5 minutes that raise the alarm.")
    model_latency_p90_ms: int = Field(
        30000, ge=1, description="p90 model latency over 5 minutes (milliseconds) that raises the latency alarm."
    )


class DataCaptureConfig(StrictModel):
    """Request/response capture to the artifacts bucket (KMS-encrypted), for monitoring and evaluation."""

    enabled: bool = Field(True, description="Capture requests and responses.")
    sampling_percentage: int = Field(10, ge=0, le=100, description="Share of requests captured, in percent.")


class EndpointDataCaptureConfig(DataCaptureConfig):
    """An endpoint's data capture: as for any endpoint, except a text-to-image model's, off unless set."""

    enabled: bool = Field(
        True,
        description="Capture requests and responses. A text-to-image model's endpoint captures only when this is "
        "set explicitly: each response is base64 images (hundreds of kilobytes or more), every sampled one a copy "
        "of generated content in the bucket.",
    )


class BlueGreenConfig(StrictModel):
    """How an update shifts traffic to the new fleet (all at once after a bake time), with alarm rollback."""

    wait_interval_seconds: int = Field(
        600, ge=0, le=3600, description="Bake time on the new fleet, watching the alarms, before the switch completes."
    )
    termination_wait_seconds: int = Field(
        300, ge=0, le=3600, description="How long the old fleet stays after the switch, for a fast rollback."
    )
    maximum_execution_timeout_seconds: int = Field(
        14400, ge=600, le=28800, description="Upper bound of the whole deployment before it is rolled back."
    )


# "<width>x<height>" in pixels; the JumpStart text-to-image request wants each side a multiple of 8
# (lambdas/api_router/backends/sagemaker_images.py cites the source).
_IMAGE_SIZE_RE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
IMAGE_SIDE_MULTIPLE = 8


def _image_size(value: str) -> str:
    match = _IMAGE_SIZE_RE.match(value)
    if match is None or any(int(side) % IMAGE_SIDE_MULTIPLE for side in match.groups()):
        raise ValueError(
            f"got '{value}'; expected WIDTHxHEIGHT in pixels, each side a multiple of {IMAGE_SIDE_MULTIPLE} "
            "(e.g. 1024x1024)"
        )
    return value


class ImageOptions(StrictModel):
    """What the API lets a request ask of a text-to-image model's endpoint (JumpStart Stable Diffusion on Neuron)."""

    sizes: tuple[Annotated[str, AfterValidator(_image_size)], ...] = Field(
        (),
        description="WIDTHxHEIGHT sizes the model serves, which OpenAI's size maps to (a Neuron-compiled model "
        "serves the shapes it was compiled for, and the catalog's source does not give them); empty: size must be "
        "absent or auto, and the model uses its own.",
    )
    max_images: int = Field(1, ge=1, le=10, description="Most images one request may ask for (OpenAI's n, 1 to 10).")


class ScheduleConfig(StrictModel, EndpointSchedule):
    """When the endpoint runs (``genai_kit.contracts.schedule``): outside the window it is deleted, so its instances
    cost nothing, and the API answers 503 with Retry-After; it is created again from its endpoint config at the next
    start. A real-time endpoint cannot scale below one instance, so stopping means deleting it (SageMaker developer
    guide, "Delete endpoints and resources")."""


class EndpointConfig(StrictModel):
    """One Inferentia2 real-time endpoint."""

    name: Annotated[str, AfterValidator(_endpoint_name)] = Field(
        description="Short name: the API's model alias and the suffix of the endpoint name genai-kit-<stage>-<name>."
    )
    source: ModelSource = Field(description="Where the model comes from (kind: jumpstart, huggingface or s3).")
    instance_type: str | None = Field(
        None, description="ml.inf2.* instance type; default: the catalog's default (JumpStart) or ml.inf2.xlarge."
    )
    serving: ServingOptions = Field(default_factory=ServingOptions, description="Container serving options.")
    environment: Annotated[dict[str, str], AfterValidator(_environment)] = Field(
        default_factory=dict, description="Container environment overrides, applied last."
    )
    model_data_download_timeout_seconds: TimeoutSeconds | None = Field(
        None, description="Model weights download timeout; default: the catalog's (3600 for Neuron LLMs)."
    )
    container_startup_health_check_timeout_seconds: TimeoutSeconds | None = Field(
        None, description="Start-up health check timeout (Neuron compiles at start-up); default: the catalog's."
    )
    volume_size_gb: int | None = Field(
        None, ge=1, le=512, description="ML storage volume per instance; default: the catalog's."
    )
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Instance range.")
    data_capture: EndpointDataCaptureConfig = Field(
        default_factory=EndpointDataCaptureConfig, description="Data capture."
    )
    alarms: AlarmThresholds = Field(default_factory=AlarmThresholds, description="Alarm thresholds.")
    blue_green: BlueGreenConfig = Field(default_factory=BlueGreenConfig, description="Safe update policy.")
    images: ImageOptions | None = Field(
        None, description="Image requests (text-to-image models only); default: the model's own size, one image."
    )
    schedule: ScheduleConfig | None = Field(
        None,
        description="Days and local hours the endpoint runs; outside them it is deleted (no instance charges) and "
        "recreated at the next start. Default: always on. Adding or removing it on a deployed endpoint needs a new "
        "endpoint name (see 'Scheduled endpoints').",
    )
