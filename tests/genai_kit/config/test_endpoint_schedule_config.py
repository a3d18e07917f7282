"""``endpoints[].schedule``: absent by default, checked at synth with the key path, the value and what is valid."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.cli.needs import concurrency_reservations
from genai_kit.config.endpoints import SCHEDULER_RESERVED_CONCURRENCY
from genai_kit.contracts.api_router import EndpointTarget
from genai_kit.contracts.schedule import EndpointSchedule
from genai_kit.stage import ConfigError, load_stage
from genai_kit.stage.api import endpoint_targets

ENDPOINT = {
    "name": "tiny",
    "source": {
        "kind": "s3",
        "s3_uri": "s3://my-models/llama/",
        "container": "djl-neuronx",
        "container_version": "0.29.0",
    },
}
SCHEDULE = {"time_zone": "Europe/Paris", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "stop": "19:00"}


def _stage(schedule: Any) -> dict[str, Any]:
    return {"stages": {"dev": {"endpoints": [{**ENDPOINT, "schedule": schedule}]}}}


def test_an_endpoint_has_no_schedule_by_default() -> None:
    stage = load_stage({"stages": {"dev": {"endpoints": [ENDPOINT]}}})
    assert stage.endpoints[0].config.schedule is None
    target = endpoint_targets(stage)["tiny"]
    assert isinstance(target, EndpointTarget)
    assert target.schedule is None


def test_a_schedule_reaches_the_routers_target_as_the_contracts_model() -> None:
    stage = load_stage(_stage(SCHEDULE))
    endpoint = endpoint_targets(stage)["tiny"]
    assert isinstance(endpoint, EndpointTarget)
    target = endpoint.schedule
    assert type(target) is EndpointSchedule
    assert target.model_dump() == {**SCHEDULE, "days": tuple(SCHEDULE["days"])}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"time_zone": "Europe/Pariss"},
            "stages.dev.endpoints.0.schedule.time_zone: got 'Europe/Pariss'; expected an IANA time zone name",
        ),
        (
            {"start": "02:00"},
            "stages.dev.endpoints.0.schedule: start: got '02:00'; in Europe/Paris 02:00 does not exist on ",
        ),
        ({"stop": "7pm"}, "stages.dev.endpoints.0.schedule.stop: got '7pm'; expected a local time HH:MM"),
        ({"days": ["fri", "fri"]}, "stages.dev.endpoints.0.schedule.days: got fri more than once"),
        ({"start": "20:00"}, "stages.dev.endpoints.0.schedule: start (20:00) is not before stop (19:00)"),
        (
            {"timezone": "UTC"},
            "stages.dev.endpoints.0.schedule.timezone: unknown key (did you mean 'time_zone'?); valid keys are: days, "
            "start, stop, time_zone",
        ),
    ],
)
def test_an_invalid_schedule_fails_synth_naming_the_key(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage(_stage({**SCHEDULE, **changes}))
    assert expected in str(caught.value)


def test_a_scheduled_endpoint_reserves_the_schedulers_concurrency_for_preflight() -> None:
    with_schedule = load_stage(_stage(SCHEDULE)).settings
    without = load_stage({"stages": {"dev": {"endpoints": [ENDPOINT]}}}).settings
    assert concurrency_reservations(with_schedule)["the endpoint scheduler"] == SCHEDULER_RESERVED_CONCURRENCY
    assert "the endpoint scheduler" not in concurrency_reservations(without)
