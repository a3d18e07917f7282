"""Scheduled endpoints against moto: the lifecycle's ``ScheduledEndpoint`` resource and the scheduler function.

moto 5.2.5 has no UpdateEndpoint: a ``before-call`` handler answers it (after botocore validated the request) and
moves moto's endpoint to the new config, as a blue/green update that succeeds does. Every SageMaker request the
functions send is also checked against the service model (``tests.service_model.violations``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.session import get_session
from moto.sagemaker.models import FakeEndpointConfig, sagemaker_backends

from genai_kit.contracts.endpoint_scheduler import ScheduledEndpointSettings, SchedulerEnvironment, VariantScaling
from genai_kit.contracts.schedule import EndpointSchedule
from lambdas.endpoint_lifecycle.handler import is_complete, on_event
from lambdas.endpoint_lifecycle.scheduled import ScheduledEndpointError
from lambdas.endpoint_scheduler import handler as scheduler
from lambdas.shared.aws import client
from lambdas.shared.endpoints import OWNER_TAG
from tests.lambdas.conftest import REGION
from tests.lambdas.fakes import FakeLambdaContext
from tests.service_model import violations

ACCOUNT = "123456789012"
NAME = "genai-kit-dev-office"
RESOURCE_ID = f"endpoint/{NAME}/variant/AllTraffic"
SCHEDULE = EndpointSchedule(
    time_zone="Europe/Paris", days=("mon", "tue", "wed", "thu", "fri"), start="08:00", stop="19:00"
)
MONDAY_MORNING = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # 10:00 in Paris: open
FRIDAY_EVENING = datetime(2026, 1, 9, 19, 0, tzinfo=UTC)  # 20:00 in Paris: closed for 60 hours
DEPLOYMENT = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 14400,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "office-invocation-5xx"}]},
}
PROPERTIES = {
    "Kind": "ScheduledEndpoint",
    "EndpointName": NAME,
    "EndpointConfigName": "config-1",
    "DeploymentConfig": json.dumps(DEPLOYMENT),
    "Tags": json.dumps({"genai-kit:stage": "dev"}),
    "Schedule": SCHEDULE.model_dump_json(),
}
SETTINGS = ScheduledEndpointSettings(
    endpoint_config_name="config-1",
    deployment_config=DEPLOYMENT,
    schedule=SCHEDULE,
    scaling=VariantScaling(
        variant_name="AllTraffic",
        min_capacity=1,
        max_capacity=2,
        target_value=20,
        scale_in_cooldown=600,
        scale_out_cooldown=300,
        policy_name=f"{NAME}-invocations-per-instance",
    ),
)
CONTEXT = cast(LambdaContext, FakeLambdaContext())
SAGEMAKER_MODEL = get_session().get_service_model("sagemaker")


@pytest.fixture
def sagemaker(aws: None, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Two endpoint configs on ml.inf2.xlarge, the alarm topic, and a record of the SageMaker requests sent."""
    original = FakeEndpointConfig.validate_instance_type
    monkeypatch.setattr(
        FakeEndpointConfig,
        "validate_instance_type",
        lambda self, t: None if t.startswith("ml.inf2.") else original(self, t),
    )
    api = boto3.client("sagemaker", region_name=REGION)
    api.create_model(ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", PrimaryContainer={"Image": "i"})
    for config in ("config-1", "config-2"):
        api.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.inf2.xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]
    sent: list[tuple[str, dict[str, Any]]] = []
    functions_client = client("sagemaker")

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append((model.name, params))
        assert violations(SAGEMAKER_MODEL.operation_model(model.name).input_shape, params) == []

    def update(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        request = json.loads(params["body"])  # the serialized request (botocore validated it before)
        endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints[request["EndpointName"]]
        endpoint.endpoint_config_name = request["EndpointConfigName"]
        return SimpleNamespace(status_code=200), {"EndpointArn": endpoint.arn}

    functions_client.meta.events.register("provide-client-params.sagemaker.*", record)
    functions_client.meta.events.register("before-call.sagemaker.UpdateEndpoint", update)
    return SimpleNamespace(api=api, sent=sent, topic=topic)


def _event(request_type: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"RequestType": request_type, "ResourceProperties": properties or PROPERTIES, "PhysicalResourceId": NAME}


def _endpoint(api: Any) -> dict[str, Any] | None:
    try:
        return dict(api.describe_endpoint(EndpointName=NAME))
    except api.exceptions.ClientError:
        return None


def _tags(api: Any) -> dict[str, str]:
    arn = api.describe_endpoint(EndpointName=NAME)["EndpointArn"]
    return {tag["Key"]: tag["Value"] for tag in api.list_tags(ResourceArn=arn)["Tags"]}


def _targets() -> list[str]:
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    return [
        t["ResourceId"] for t in autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    ]


def _set_status(status: str, reason: str | None = None) -> None:
    endpoint = sagemaker_backends[ACCOUNT][REGION].endpoints[NAME]
    endpoint.endpoint_status = status
    endpoint.failure_reason = reason  # type: ignore[assignment]


# --- the lifecycle's ScheduledEndpoint resource ---


def test_created_in_its_window_with_the_owner_tag_and_deployment_config(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(MONDAY_MORNING))
    assert on_event(_event("Create"), CONTEXT) == {"PhysicalResourceId": NAME, "Data": {"Action": "created"}}
    assert _endpoint(sagemaker.api)["EndpointConfigName"] == "config-1"  # type: ignore[index]
    assert _tags(sagemaker.api) == {"genai-kit:stage": "dev", OWNER_TAG: "true"}
    (create,) = [params for name, params in sagemaker.sent if name == "CreateEndpoint"]
    assert create["DeploymentConfig"] == DEPLOYMENT
    assert is_complete(_event("Create"), CONTEXT) == {"IsComplete": True}


def test_created_outside_its_window_it_stays_absent(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(FRIDAY_EVENING))
    assert on_event(_event("Create"), CONTEXT)["Data"] == {"Action": "none"}
    assert _endpoint(sagemaker.api) is None
    assert is_complete(_event("Create"), CONTEXT) == {"IsComplete": True}
    assert on_event(_event("Update", {**PROPERTIES, "EndpointConfigName": "config-2"}), CONTEXT)["Data"] == {
        "Action": "none"
    }
    assert _endpoint(sagemaker.api) is None


def test_an_endpoint_it_does_not_own_fails_the_create_and_is_left_alone(sagemaker: SimpleNamespace) -> None:
    # GIVEN the endpoint CloudFormation created before the schedule was added
    sagemaker.api.create_endpoint(EndpointName=NAME, EndpointConfigName="config-2")
    with pytest.raises(ScheduledEndpointError, match="already exists and was not created by the kit's schedule"):
        on_event(_event("Create"), CONTEXT)
    # WHEN the failed create's rollback deletes the resource, the foreign endpoint stays
    on_event(_event("Delete"), CONTEXT)
    assert _endpoint(sagemaker.api)["EndpointConfigName"] == "config-2"  # type: ignore[index]
    assert is_complete(_event("Delete"), CONTEXT) == {"IsComplete": True}


def test_an_update_in_service_is_blue_green_keeping_the_instance_count(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(MONDAY_MORNING))
    on_event(_event("Create"), CONTEXT)
    updated = {**PROPERTIES, "EndpointConfigName": "config-2"}
    assert on_event(_event("Update", updated), CONTEXT)["Data"] == {"Action": "updated"}
    (update,) = [params for name, params in sagemaker.sent if name == "UpdateEndpoint"]
    assert update == {
        "EndpointName": NAME,
        "EndpointConfigName": "config-2",
        "RetainAllVariantProperties": True,
        "DeploymentConfig": DEPLOYMENT,
    }
    assert is_complete(_event("Update", updated), CONTEXT) == {"IsComplete": True}


def test_a_rolled_back_update_fails_the_deploy(sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(MONDAY_MORNING))
    on_event(_event("Create"), CONTEXT)
    # the endpoint is back InService on config-1 after an alarm rolled config-2 back
    with pytest.raises(ScheduledEndpointError, match="stayed on config-1 instead of config-2"):
        is_complete(_event("Update", {**PROPERTIES, "EndpointConfigName": "config-2"}), CONTEXT)


@pytest.mark.parametrize("status", ["Creating", "Updating"])
def test_the_deploy_waits_while_sagemaker_works(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(MONDAY_MORNING))
    on_event(_event("Create"), CONTEXT)
    _set_status(status)
    assert is_complete(_event("Create"), CONTEXT) == {"IsComplete": False}
    _set_status("Failed", "CapacityError: Unable to provision requested ML compute capacity")
    with pytest.raises(ScheduledEndpointError, match="failed: CapacityError"):
        is_complete(_event("Create"), CONTEXT)


def test_delete_removes_its_endpoint_and_an_absent_one_is_a_success(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("lambdas.endpoint_lifecycle.scheduled.datetime", _clock(MONDAY_MORNING))
    on_event(_event("Create"), CONTEXT)
    assert on_event(_event("Delete"), CONTEXT)["Data"] == {"Action": "deleted"}
    assert _endpoint(sagemaker.api) is None
    assert is_complete(_event("Delete"), CONTEXT) == {"IsComplete": True}
    assert on_event(_event("Delete"), CONTEXT)["Data"] == {"Action": "none"}


def test_the_scaling_resources_do_nothing_while_the_endpoint_is_stopped(sagemaker: SimpleNamespace) -> None:
    scaling = {
        "Kind": "Scaling",
        "EndpointName": NAME,
        "VariantName": "AllTraffic",
        "InstanceType": "ml.inf2.xlarge",
        "MinCapacity": "1",
        "MaxCapacity": "2",
        "TargetValue": "20",
        "ScaleInCooldown": "600",
        "ScaleOutCooldown": "300",
        "PolicyName": f"{NAME}-invocations-per-instance",
    }
    for position in ("before", "after"):
        on_event(_event("Update", {**scaling, "Position": position}), CONTEXT)
        on_event(_event("Delete", {**scaling, "Position": position}), CONTEXT)
    assert _targets() == []


# --- the scheduler function ---


def test_stop_deletes_and_releases_the_target_then_changes_nothing(sagemaker: SimpleNamespace) -> None:
    env = _env(sagemaker.topic)
    assert scheduler.start(NAME, SETTINGS, env, now=MONDAY_MORNING) == "creating"
    assert scheduler.start(NAME, SETTINGS, env, now=MONDAY_MORNING) == "running"  # moto is InService at once
    assert _targets() == [RESOURCE_ID]
    assert scheduler.stop(NAME, SETTINGS, now=FRIDAY_EVENING) == "deleting"
    assert _endpoint(sagemaker.api) is None
    assert _targets() == []
    assert scheduler.stop(NAME, SETTINGS, now=FRIDAY_EVENING) == "stopped"


def test_start_creates_from_the_current_config_with_tags(sagemaker: SimpleNamespace) -> None:
    assert scheduler.start(NAME, SETTINGS, _env(sagemaker.topic), now=MONDAY_MORNING) == "creating"
    assert _endpoint(sagemaker.api)["EndpointConfigName"] == "config-1"  # type: ignore[index]
    assert _tags(sagemaker.api) == {"genai-kit:stage": "dev", OWNER_TAG: "true"}


def test_late_or_early_events_do_not_act(sagemaker: SimpleNamespace) -> None:
    env = _env(sagemaker.topic)
    assert scheduler.start(NAME, SETTINGS, env, now=FRIDAY_EVENING) == "outside-window"
    assert _endpoint(sagemaker.api) is None
    # a start a minute early (Scheduler's precision) still starts
    assert scheduler.start(NAME, SETTINGS, env, now=datetime(2026, 1, 12, 6, 59, tzinfo=UTC)) == "creating"
    assert scheduler.stop(NAME, SETTINGS, now=MONDAY_MORNING) == "inside-window"
    assert _endpoint(sagemaker.api) is not None


def test_a_failed_endpoint_is_deleted_and_the_retry_creates_it(sagemaker: SimpleNamespace) -> None:
    env = _env(sagemaker.topic)
    scheduler.start(NAME, SETTINGS, env, now=MONDAY_MORNING)
    _set_status("Failed", "The primary container did not pass the ping health check")
    with pytest.raises(scheduler.SchedulerError, match=r"was Failed \(.*\): deleted it; the next attempt creates it"):
        scheduler.start(NAME, SETTINGS, env, now=MONDAY_MORNING)
    assert _endpoint(sagemaker.api) is None
    assert scheduler.start(NAME, SETTINGS, env, now=MONDAY_MORNING) == "creating"


def test_an_endpoint_it_does_not_own_is_never_deleted(sagemaker: SimpleNamespace) -> None:
    sagemaker.api.create_endpoint(EndpointName=NAME, EndpointConfigName="config-2")
    with pytest.raises(scheduler.SchedulerError, match="leaves it alone"):
        scheduler.stop(NAME, SETTINGS, now=FRIDAY_EVENING)
    assert _endpoint(sagemaker.api) is not None


def test_in_service_state_change_registers_the_variant(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, sagemaker.topic)
    scheduler.start(NAME, SETTINGS, _env(sagemaker.topic), now=datetime(2026, 1, 12, 7, 0, tzinfo=UTC))
    assert _targets() == []
    event = {"detail-type": "SageMaker Endpoint State Change", "detail": {"EndpointName": NAME}}
    assert scheduler.handler(event, CONTEXT) == {"endpoint": NAME, "result": "registered"}
    assert _targets() == [RESOURCE_ID]


def test_a_failure_is_told_to_the_topic_and_raised(sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, sagemaker.topic)
    sagemaker.api.create_endpoint(EndpointName=NAME, EndpointConfigName="config-2")
    published: list[dict[str, Any]] = []
    client("sns").meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: published.append(params)
    )
    monkeypatch.setattr(scheduler, "datetime", _clock(FRIDAY_EVENING))
    with pytest.raises(scheduler.SchedulerError):
        scheduler.handler({"endpoint": NAME, "action": "stop"}, CONTEXT)
    (message,) = published
    assert message["Subject"] == f"{NAME}: scheduled stop failed"
    assert "leaves it alone" in json.loads(message["Message"])["reason"]


def test_an_event_for_an_unscheduled_endpoint_is_refused(
    sagemaker: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, sagemaker.topic)
    with pytest.raises(scheduler.SchedulerError, match="has no schedule in this stage"):
        scheduler.handler({"endpoint": "genai-kit-dev-other", "action": "start"}, CONTEXT)


def _env(topic: str) -> SchedulerEnvironment:
    return SchedulerEnvironment(endpoints={NAME: SETTINGS}, tags={"genai-kit:stage": "dev"}, topic_arn=topic)


def _environment(monkeypatch: pytest.MonkeyPatch, topic: str) -> None:
    for key, value in _env(topic).to_environment().items():
        monkeypatch.setenv(key, value)
    scheduler.environment.cache_clear()


def _clock(moment: datetime) -> type[datetime]:
    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return moment.astimezone(tz) if tz is not None else moment

    return _Clock
