"""The router Lambda's environment: written by the API stack, read by the router (``lambdas/api_router``).

``MODELS`` maps each alias the API exposes to its backend, as JSON::

    {"tinyllama": {"backend": "sagemaker", "endpoint": "genai-kit-dev-tinyllama", "format": "messages",
                   "streams": true, "stream_usage": true},
     "sdxl": {"backend": "sagemaker-image", "endpoint": "genai-kit-dev-sdxl", "family": "jumpstart-txt2img",
              "sizes": ["1024x1024"], "max_images": 1},
     "nova-lite": {"backend": "bedrock", "model": "arn:aws:bedrock:...:application-inference-profile/..."}}

The other variables are scalars. At synth time some values are CDK tokens (an inference profile ARN from
another stack); they are plain strings to this model and CloudFormation resolves them at deploy time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genai_kit.contracts.base import FunctionEnvironment
from genai_kit.contracts.schedule import EndpointSchedule

# The router's metrics (CloudWatch embedded metric format): the API's totals are in the dimension set {service},
# the per-model figures in {service, model}. The monitoring stack's dashboard and alarms read these.
METRICS_NAMESPACE = "GenAiKit/Api"
SERVICE_NAME = "genai-kit-api"
# The router's count of the 503s it answers for a scheduled endpoint that is stopped (outside its window) or not
# in service yet (being created at its start): deliberate, so the API's 5XX alarm subtracts them.
SCHEDULED_UNAVAILABLE_METRIC = "ScheduledEndpointUnavailable"

# SigV4 query-string authentication (Amazon S3 API reference, "Authenticating Requests: Using Query Parameters
# (AWS Signature Version 4)"): X-Amz-Expires is from 1 to 604800 seconds (seven days).
PRESIGNED_URL_MAX_SECONDS = 604_800

# How an endpoint's container takes a chat request on SageMaker's /invocations: OpenAI's chat schema
# ("messages"), or one prompt with generation parameters ("prompt").
RequestFormat = Literal["messages", "prompt"]
ContainerFamily = Literal["tgi", "vllm", "lmi"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BedrockTarget(_Frozen):
    """A Bedrock chat model, called through the Converse API by model id, inference profile or profile ARN.

    ``max_output_tokens``: the most tokens the model writes (a larger ``max_tokens`` is refused), None where the
    configuration gives no limit; ``structured_output``: ``json_schema`` where the model enforces a JSON schema
    natively (Converse ``outputConfig.textFormat``), else ``tool`` (a forced tool); ``reasoning``: how the model
    takes ``reasoning_effort`` (``effort``: ``outputConfig.effort``; ``nova``: Amazon Nova 2's
    ``reasoningConfig``; ``none``: it does not).
    """

    backend: Literal["bedrock"] = "bedrock"
    model: str = Field(min_length=1)
    max_output_tokens: int | None = Field(None, ge=1)
    structured_output: Literal["tool", "json_schema"] = "tool"
    reasoning: Literal["none", "effort", "nova"] = "none"


EmbeddingFamily = Literal["titan-v2", "cohere-v3", "cohere-v4"]


class BedrockEmbeddingTarget(_Frozen):
    """A Bedrock embedding model, called through InvokeModel in its family's request format."""

    backend: Literal["bedrock-embedding"] = "bedrock-embedding"
    model: str = Field(min_length=1)
    family: EmbeddingFamily


ImageFamily = Literal["nova-canvas", "stable-image-core"]


class BedrockImageTarget(_Frozen):
    """A Bedrock image model, called through InvokeModel in its family's request format (``nova-canvas``: Amazon
    Nova Canvas's TEXT_IMAGE task; ``stable-image-core``: Stability AI's Stable Image Core text-to-image)."""

    backend: Literal["bedrock-image"] = "bedrock-image"
    model: str = Field(min_length=1)
    family: ImageFamily


class EndpointTarget(_Frozen):
    """A SageMaker real-time endpoint and what its container does (``genai_kit.catalog.containers``).

    ``family``: the container family (``tgi``, ``vllm``, ``lmi``), which decides the parameters it honours;
    ``streams``: the container streams an answer the body asks to stream (otherwise the router calls
    InvokeEndpoint and sends the whole answer as one streamed chunk); ``stream_usage``: it reports token usage in a
    stream when asked with ``stream_options.include_usage``; ``max_total_tokens``: the sequence length the
    container serves (prompt plus answer), where the configuration sets it; ``schedule``: when the endpoint runs,
    for an endpoint deleted outside its window (the router answers 503 then, without calling SageMaker).
    """

    backend: Literal["sagemaker"] = "sagemaker"
    endpoint: str = Field(min_length=1)
    format: RequestFormat
    family: ContainerFamily | None = None
    streams: bool = False
    stream_usage: bool = False
    max_total_tokens: int | None = Field(None, ge=1)
    schedule: EndpointSchedule | None = None


# A SageMaker endpoint's image request format: ``jumpstart-txt2img`` is the JumpStart text-to-image inference script's
# JSON request (prompt, width, height, num_images_per_prompt...) answered as base64 JPEGs with Accept
# application/json;jpeg (lambdas/api_router/backends/sagemaker_images.py cites the source).
EndpointImageFamily = Literal["jumpstart-txt2img"]
# "<width>x<height>" in pixels, as OpenAI's size parameter spells it.
IMAGE_SIZE_PATTERN = r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$"
# OpenAI's range of n (images per request).
OPENAI_MAX_IMAGES = 10


class EndpointImageTarget(_Frozen):
    """A SageMaker real-time endpoint serving a text-to-image model (``family``: its request format).

    ``sizes``: the ``WxH`` sizes the configuration says the model serves (a Neuron-compiled model serves the shapes
    it was compiled for, which the catalog's source does not give); OpenAI's ``size`` maps to width and height only
    for these, and empty means only the model's own size (``size`` absent or ``auto``). ``max_images``: the most
    images one request may ask for (``n``). ``schedule``: when the endpoint runs, as for ``EndpointTarget``.
    """

    backend: Literal["sagemaker-image"] = "sagemaker-image"
    endpoint: str = Field(min_length=1)
    family: EndpointImageFamily
    sizes: tuple[Annotated[str, Field(pattern=IMAGE_SIZE_PATTERN)], ...] = ()
    max_images: int = Field(1, ge=1, le=OPENAI_MAX_IMAGES)
    schedule: EndpointSchedule | None = None


Target = Annotated[
    BedrockTarget | BedrockEmbeddingTarget | BedrockImageTarget | EndpointTarget | EndpointImageTarget,
    Field(discriminator="backend"),
]


class RouterEnvironment(FunctionEnvironment):
    """Everything the router reads from its environment; each field is the variable of its upper-cased name.

    ``model_timeout_seconds`` and ``model_wait_seconds`` come from ``genai_kit.config.api.ApiTimeouts``:
    the request deadline and the longest single wait for the model (the clients' read timeout).

    ``images_bucket``, ``images_prefix`` and ``image_url_seconds`` (set together, only on a stage with an image
    model, Bedrock's or an endpoint's): where ``POST /v1/images/generations`` stores the images it answers with
    ``response_format: "url"`` (the stage's artifacts bucket, SSE-KMS by its default encryption; keys under the
    prefix, which ends with ``/``), and the lifetime of the presigned GET URL it returns for each, in seconds (1 to
    604800, SigV4's range).

    A missing or malformed variable fails the router at start-up, with the variable's name in its log, before it
    accepts a request (``FunctionEnvironment.from_environment``).
    """

    models: dict[str, Target]
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    max_body_bytes: int = Field(ge=1)
    log_payloads: bool = False
    trace_model_calls: bool = False
    model_timeout_seconds: int = Field(ge=1)
    model_wait_seconds: int = Field(ge=1)
    images_bucket: str | None = Field(None, min_length=3)
    images_prefix: str | None = Field(None, min_length=1, pattern=r"^[^/].*/$")
    image_url_seconds: int | None = Field(None, ge=1, le=PRESIGNED_URL_MAX_SECONDS)

    @model_validator(mode="after")
    def _image_storage_together(self) -> RouterEnvironment:
        given = [self.images_bucket is not None, self.images_prefix is not None, self.image_url_seconds is not None]
        if any(given) and not all(given):
            raise ValueError("IMAGES_BUCKET, IMAGES_PREFIX and IMAGE_URL_SECONDS are set together or not at all")
        return self

    @property
    def image_urls(self) -> bool:
        """Whether the router can answer ``response_format: "url"`` (the stage stores images)."""
        return self.images_bucket is not None
