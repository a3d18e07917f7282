"""Configuration of the OpenAI-compatible API (API Gateway REST API + router Lambda)."""

from __future__ import annotations

from pydantic import Field

from genai_kit.config.base import LogRetentionDays, StrictModel


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
        25, ge=1, le=28, description="How long the router waits for a model; below API Gateway's 29 s."
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
