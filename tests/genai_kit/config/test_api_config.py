"""The API section's rules, each with its message."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.config.api import STREAM_IDLE_SECONDS, STREAM_MAX_SECONDS, ApiConfig, ApiTimeouts
from genai_kit.stage import ConfigError, load_stage


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            {"log_retention_days": 100},
            "stages.dev.api.log_retention_days: got 100; CloudWatch Logs accepts only these retention periods (days): "
            "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ),
        (
            {"model_timeout_seconds": 891},
            "stages.dev.api.model_timeout_seconds: got 891; input should be less than or equal to 890",
        ),
        (
            {"model_timeout_seconds": 0},
            "stages.dev.api.model_timeout_seconds: got 0; input should be greater than or equal to 1",
        ),
        ({"max_body_kib": 7000}, "stages.dev.api.max_body_kib: got 7000; input should be less than or equal to 6000"),
        (
            {"usage_plan": {"rate_limit": 0}},
            "stages.dev.api.usage_plan.rate_limit: got 0; input should be greater than 0",
        ),
        (
            {"throttling_burst_limit": 0},
            "stages.dev.api.throttling_burst_limit: got 0; input should be greater than or equal to 1",
        ),
        (
            {"image_url_seconds": 604_801},
            "stages.dev.api.image_url_seconds: got 604801; input should be less than or equal to 604800",
        ),
        (
            {"image_url_seconds": 0},
            "stages.dev.api.image_url_seconds: got 0; input should be greater than or equal to 1",
        ),
        (
            {"image_retention_days": 0},
            "stages.dev.api.image_retention_days: got 0; input should be greater than or equal to 1",
        ),
        (
            {"image_url_seconds": 86_401},
            "stages.dev.api: image_url_seconds: got 86401; an image URL cannot outlive the image, which "
            "image_retention_days keeps 1 day: expected at most 86400",
        ),
        (
            {"stream": True},
            "stages.dev.api.stream: unknown key; valid keys are: enabled, image_retention_days, image_url_seconds, "
            "log_payloads, log_retention_days, "
            "max_body_kib, model_timeout_seconds, reserved_concurrency, throttling_burst_limit, throttling_rate_limit, "
            "trace_model_calls, usage_plan",
        ),
    ],
)
def test_invalid_api_setting_is_named_with_its_value(api: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage({"stages": {"dev": {"api": api}}})
    assert caught.value.problems == [expected]


@pytest.mark.parametrize("seconds", [1, 25, 279, 280, 281, 300, 890])
def test_each_layer_outlives_the_one_it_waits_for(seconds: int) -> None:
    timeouts = ApiConfig(model_timeout_seconds=seconds).timeouts
    # the router's single wait for the model fits the request's deadline and API Gateway's idle timeout
    assert timeouts.model_wait_seconds <= timeouts.request_seconds == seconds
    assert timeouts.model_wait_seconds < STREAM_IDLE_SECONDS
    # the router answers before Lambda ends the function, which ends before API Gateway gives up
    assert timeouts.request_seconds < timeouts.lambda_seconds < timeouts.integration_ms / 1000 <= STREAM_MAX_SECONDS


def test_default_timeouts() -> None:
    assert ApiConfig().timeouts == ApiTimeouts(
        request_seconds=300, model_wait_seconds=280, lambda_seconds=305, integration_ms=308_000
    )


def test_functions_on_the_pinned_layers_are_refused_outside_the_commercial_partition() -> None:
    stage = {
        "region": "cn-north-1",
        "training": {"enabled": False},
        "bedrock": {"models": [{"alias": "m", "id": "amazon.nova-lite-v1:0"}]},
    }
    with pytest.raises(ConfigError) as caught:
        load_stage({"stages": {"dev": stage}})
    assert caught.value.problems == [
        "stages.dev: region 'cn-north-1' is outside the commercial AWS partition, where the Lambda layers the kit pins "
        "(Powertools, Lambda Web Adapter) are published; set api.enabled to false to deploy this stage there"
    ]


def test_the_reserved_concurrency_defaults_to_the_burst_limit_within_what_the_rate_can_fill() -> None:
    assert ApiConfig().concurrency == 100
    # 1 request per second lasting at most 15 s (10 s and 5 s of function margin) fills at most 15
    assert ApiConfig(throttling_rate_limit=1, model_timeout_seconds=10).concurrency == 15
    assert ApiConfig(reserved_concurrency=40).concurrency == 40


def test_a_reserved_concurrency_the_stage_cannot_fill_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage(
            {
                "stages": {
                    "dev": {
                        "api": {"throttling_rate_limit": 2, "model_timeout_seconds": 45, "reserved_concurrency": 500}
                    }
                },
                "stage": "dev",
            }
        )
    assert caught.value.problems == [
        "stages.dev.api: reserved_concurrency: got 500; at most 100 requests can be in flight at the stage's 2 "
        "requests per second lasting up to 50 s each: expected at most 100"
    ]


def test_image_urls_default_to_an_hour_over_images_kept_a_day() -> None:
    assert (ApiConfig().image_url_seconds, ApiConfig().image_retention_days) == (3600, 1)
    # SigV4's longest presigned URL, over images kept as long
    assert ApiConfig(image_url_seconds=604_800, image_retention_days=7).image_url_seconds == 604_800
