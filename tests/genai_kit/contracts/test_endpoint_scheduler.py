"""The endpoint scheduler's contract: each scheduled endpoint's start settings by name, as JSON, checked at start-up."""

from __future__ import annotations

import json

import pytest

from genai_kit.contracts.endpoint_scheduler import ScheduledEndpointSettings, SchedulerEnvironment, VariantScaling
from genai_kit.contracts.schedule import EndpointSchedule

SETTINGS = ScheduledEndpointSettings(
    endpoint_config_name="EndpointConfig-AbC",
    deployment_config={"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE"}}},
    schedule=EndpointSchedule(time_zone="Asia/Tokyo", days=("sat",), start="09:00", stop="12:00"),
    scaling=VariantScaling(
        variant_name="AllTraffic",
        min_capacity=1,
        max_capacity=3,
        target_value=20,
        scale_in_cooldown=600,
        scale_out_cooldown=300,
        policy_name="p",
    ),
)
ENVIRONMENT = SchedulerEnvironment(endpoints={"genai-kit-dev-x": SETTINGS}, tags={"team": "a"}, topic_arn="arn:topic")


def test_the_environment_round_trips() -> None:
    variables = ENVIRONMENT.to_environment()
    assert set(variables) == {"ENDPOINTS", "TAGS", "TOPIC_ARN"}
    assert json.loads(variables["ENDPOINTS"])["genai-kit-dev-x"]["schedule"]["time_zone"] == "Asia/Tokyo"
    assert SchedulerEnvironment.from_environment(variables) == ENVIRONMENT


def test_the_registration_uses_the_lifecycle_properties_names() -> None:
    assert SETTINGS.scaling.registration() == {
        "MinCapacity": 1,
        "MaxCapacity": 3,
        "TargetValue": 20,
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
        "PolicyName": "p",
    }


def test_a_bad_schedule_in_the_environment_is_named() -> None:
    variables = ENVIRONMENT.to_environment()
    variables["ENDPOINTS"] = variables["ENDPOINTS"].replace("Asia/Tokyo", "Asia/Tokio")
    with pytest.raises(ValueError, match="invalid endpoint_scheduler environment") as caught:
        SchedulerEnvironment.from_environment(variables)
    assert "ENDPOINTS.genai-kit-dev-x.schedule.time_zone: Value error, got 'Asia/Tokio'" in str(caught.value)
