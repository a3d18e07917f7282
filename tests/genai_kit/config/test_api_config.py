"""The API section's rules, each with its message."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.config import ConfigError, load_config


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            {"log_retention_days": 100},
            "stages.dev.api.log_retention_days: got 100; CloudWatch Logs accepts only these retention periods (days): "
            "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        ),
        (
            {"model_timeout_seconds": 29},
            "stages.dev.api.model_timeout_seconds: got 29; input should be less than or equal to 28",
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
            {"stream": True},
            "stages.dev.api.stream: unknown key; valid keys are: enabled, log_payloads, log_retention_days, "
            "max_body_kib, model_timeout_seconds, throttling_burst_limit, throttling_rate_limit, trace_model_calls, "
            "usage_plan",
        ),
    ],
)
def test_invalid_api_setting_is_named_with_its_value(api: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"stages": {"dev": {"api": api}}})
    assert caught.value.problems == [expected]
