"""Configuration of the OpenAI-compatible API (API Gateway REST API + router Lambda)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from genai_kit.config.base import LogRetentionDays, StrictModel
from genai_kit.contracts.api_router import PRESIGNED_URL_MAX_SECONDS

# API Gateway REST API response streaming (developer guide, "Stream the integration response for your proxy
# integrations"): a streamed response may last 15 minutes, and a regional API ends one that sends nothing
# for 5 minutes (the idle timeout). The integration timeout of a streaming integration may be set up to 15 minutes.
STREAM_MAX_SECONDS = 900
STREAM_IDLE_SECONDS = 300
# How much earlier than each AWS limit the router stops waiting, so that it is the router that answers.
_IDLE_MARGIN_SECONDS = 20
# Time the router needs after its own deadline to answer (the error object, the adapter's hand-over) before
# Lambda ends the function, and API Gateway after Lambda, so each layer outlives the one below it.
_LAMBDA_MARGIN_SECONDS = 5
_INTEGRATION_MARGIN_SECONDS = 3
MAX_MODEL_TIMEOUT_SECONDS = STREAM_MAX_SECONDS - _LAMBDA_MARGIN_SECONDS - _INTEGRATION_MARGIN_SECONDS - 2
MAX_MODEL_WAIT_SECONDS = STREAM_IDLE_SECONDS - _IDLE_MARGIN_SECONDS


@dataclass(frozen=True)
class ApiTimeouts:
    """Every timeout of the API, derived from ``api.model_timeout_seconds`` so that each layer outlives the next.

    - ``request_seconds``: the router's deadline for a whole request, a streamed answer included; past it the
      client gets the API's own 504 (or, once streaming, a timeout error event).
    - ``model_wait_seconds``: the longest single wait for the model (a whole non-streamed answer, or the next
      event of a stream); the boto3 clients' read timeout. At most 280 s, below API Gateway's 300 s idle timeout.
    - ``lambda_seconds``: the function timeout, 5 s after the router's deadline.
    - ``integration_ms``: API Gateway's integration timeout (milliseconds), 3 s after the function's.

    The router makes one attempt per model call (no SDK retries), so one wait fits in the deadline; a 429
    carries Retry-After, which OpenAI clients honour when they retry.
    """

    request_seconds: int
    model_wait_seconds: int
    lambda_seconds: int
    integration_ms: int

    @classmethod
    def derive(cls, model_timeout_seconds: int) -> ApiTimeouts:
        """The timeouts for ``model_timeout_seconds`` (1 to 890)."""
        if not 1 <= model_timeout_seconds <= MAX_MODEL_TIMEOUT_SECONDS:
            raise ValueError(f"model_timeout_seconds must be from 1 to {MAX_MODEL_TIMEOUT_SECONDS}")
        lambda_seconds = model_timeout_seconds + _LAMBDA_MARGIN_SECONDS
        return cls(
            request_seconds=model_timeout_seconds,
            model_wait_seconds=min(model_timeout_seconds, MAX_MODEL_WAIT_SECONDS),
            lambda_seconds=lambda_seconds,
            integration_ms=(lambda_seconds + _INTEGRATION_MARGIN_SECONDS) * 1000,
        )


class UsagePlanConfig(StrictModel):
    """API keys with a usage plan: per-key throttling and quota, on top of IAM authorization."""

    rate_limit: float = Field(10, gt=0, description="Steady-state requests per second per key.")
    burst_limit: int = Field(20, ge=1, description="Burst of requests per key.")
    quota_per_day: int | None = Field(None, ge=1, description="Requests per key per day; unset for no quota.")


class ApiConfig(StrictModel):
    """The API every application calls, with IAM (SigV4) authorization."""

    enabled: bool = Field(True, description="Deploy the API.")
    throttling_rate_limit: float = Field(50, gt=0, description="Stage-wide steady-state requests per second.")
    throttling_burst_limit: int = Field(100, ge=1, description="Stage-wide burst of requests.")
    usage_plan: UsagePlanConfig | None = Field(
        None, description="Require API keys (x-api-key header) with this usage plan; unset for IAM alone."
    )
    max_body_kib: int = Field(
        1024, ge=1, le=6000, description="Largest request body accepted, in KiB (Lambda's payload limit is 6 MB)."
    )
    model_timeout_seconds: int = Field(
        300,
        ge=1,
        le=MAX_MODEL_TIMEOUT_SECONDS,
        description="The longest a request may take, a streamed answer included, before the API answers 504 (or "
        "ends the stream with a timeout error); a single wait for the model is also capped at 280 s, under API "
        "Gateway's 5-minute idle timeout. The Lambda and integration timeouts are derived from it.",
    )
    log_payloads: bool = Field(
        False, description="Write prompts and answers to the router's logs (off: only metadata is logged)."
    )
    trace_model_calls: bool = Field(
        False,
        description="X-Ray subsegments for every model call (Powertools Tracer); adds about 200 ms to cold starts.",
    )
    log_retention_days: LogRetentionDays = Field(
        90, description="Retention of the access and function logs (a CloudWatch Logs retention value)."
    )
    reserved_concurrency: int | None = Field(
        None,
        ge=1,
        description="Requests the router handles at once (its Lambda reserved concurrency), so slow model calls "
        "cannot take the account's whole concurrency; more are refused with a retryable 503. Default: "
        "throttling_burst_limit, the most requests the stage admits at once. At most throttling_rate_limit x "
        "(model_timeout_seconds + 5), the most that can be in flight at the stage's rate.",
    )

    image_url_seconds: int = Field(
        3600,
        ge=1,
        le=PRESIGNED_URL_MAX_SECONDS,
        description="Lifetime of the presigned S3 URL POST /v1/images/generations returns per image with "
        'response_format "url", in seconds: 1 to 604800 (SigV4) and at most image_retention_days x 86400 (a URL '
        "never outlives its image). A URL signed with the router's temporary role credentials stops working when "
        "they expire, which can be sooner.",
    )
    image_retention_days: int = Field(
        1,
        ge=1,
        description='Days the images stored for response_format "url" are kept (a lifecycle rule on their prefix '
        "of the artifacts bucket), on a stage with an image model.",
    )

    @model_validator(mode="after")
    def _image_urls_within_the_retention(self) -> ApiConfig:
        days = self.image_retention_days
        if self.image_url_seconds > days * 86_400:
            raise ValueError(
                f"image_url_seconds: got {self.image_url_seconds}; an image URL cannot outlive the image, which "
                f"image_retention_days keeps {days} day{'s' if days > 1 else ''}: expected at most {days * 86_400}"
            )
        return self

    @model_validator(mode="after")
    def _concurrency_within_the_throttle(self) -> ApiConfig:
        ceiling = self.concurrency_ceiling
        if self.reserved_concurrency is not None and self.reserved_concurrency > ceiling:
            raise ValueError(
                f"reserved_concurrency: got {self.reserved_concurrency}; at most {ceiling} requests can be in flight "
                f"at the stage's {self.throttling_rate_limit:g} requests per second lasting up to "
                f"{self.timeouts.lambda_seconds} s each: expected at most {ceiling}"
            )
        return self

    @property
    def concurrency_ceiling(self) -> int:
        """The most requests in flight at once at the stage's rate limit, each lasting the function's timeout
        (Little's law: concurrency = arrival rate x time in the system)."""
        return max(1, int(self.throttling_rate_limit * self.timeouts.lambda_seconds))

    @property
    def concurrency(self) -> int:
        """The router's reserved concurrency: the configured one, else the stage's burst limit (within the
        ceiling)."""
        return self.reserved_concurrency or min(self.throttling_burst_limit, self.concurrency_ceiling)

    @property
    def timeouts(self) -> ApiTimeouts:
        """The Lambda, integration and model-client timeouts derived from ``model_timeout_seconds``."""
        return ApiTimeouts.derive(self.model_timeout_seconds)
