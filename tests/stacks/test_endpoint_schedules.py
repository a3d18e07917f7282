"""A stage with a scheduled endpoint: no CloudFormation endpoint for it, two schedules in its time zone that may
only invoke the scheduler, the scheduler's contract, an API 5XX alarm that leaves the scheduled 503s out, and
cdk-nag and cfn-lint clean (checkov runs over the same feature in tests/stacks/test_checkov.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from aws_cdk.assertions import Template

from genai_kit.cli.assembly import stage_stacks
from genai_kit.cli.cost import estimate
from genai_kit.cli.cost_report import render_json, render_text
from genai_kit.contracts.endpoint_scheduler import SchedulerEnvironment
from genai_kit.pricing import InstancePrice, PriceTable
from genai_kit.synth_summary import validation_findings
from tests.cfn_lint import cfn_lint_problems
from tests.synth import SynthResult

SCHEDULE = {"time_zone": "America/New_York", "days": ["mon", "wed", "fri"], "start": "07:30", "stop": "18:00"}
ALWAYS_ON = {
    "name": "always",
    "source": {"kind": "s3", "s3_uri": "s3://my-models/a/", "container": "djl-neuronx", "container_version": "0.29.0"},
}
SCHEDULED = {
    "name": "office",
    "source": {"kind": "s3", "s3_uri": "s3://my-models/b/", "container": "djl-neuronx", "container_version": "0.29.0"},
    "autoscaling": {"max_instances": 2},
    "schedule": SCHEDULE,
}


@pytest.fixture(scope="module")
def scheduled(synth: Callable[..., SynthResult]) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": {"endpoints": [ALWAYS_ON, SCHEDULED]}, "prod": {}})
    return result


@pytest.fixture(scope="module")
def inference(scheduled: SynthResult) -> Template:
    return scheduled.template("Inference")


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def test_only_the_unscheduled_endpoint_is_a_cloudformation_endpoint(inference: Template) -> None:
    endpoints = _resources(inference, "AWS::SageMaker::Endpoint")
    assert [r["Properties"]["EndpointName"] for r in endpoints.values()] == ["genai-kit-dev-always"]
    (custom,) = _resources(inference, "Custom::ScheduledEndpoint").values()
    properties = custom["Properties"]
    assert properties["EndpointName"] == "genai-kit-dev-office"
    assert json.loads(properties["Schedule"]) == SCHEDULE
    assert properties["EndpointConfigName"]["Fn::GetAtt"][1] == "EndpointConfigName"
    # the model and the endpoint config stay CloudFormation resources for both
    assert len(_resources(inference, "AWS::SageMaker::EndpointConfig")) == 2
    # before -> endpoint -> after, as for a CloudFormation endpoint
    scaling = _resources(inference, "Custom::EndpointScaling")
    (after,) = [r for r in scaling.values() if r["Properties"]["EndpointName"] == "genai-kit-dev-office"][1:]
    (custom_id,) = _resources(inference, "Custom::ScheduledEndpoint")
    assert custom_id in after["DependsOn"]


def test_two_schedules_in_the_endpoints_time_zone_invoke_the_scheduler(inference: Template) -> None:
    schedules = sorted(
        (r["Properties"] for r in _resources(inference, "AWS::Scheduler::Schedule").values()),
        key=lambda p: str(p["ScheduleExpression"]),
    )
    assert [s["ScheduleExpression"] for s in schedules] == [
        "cron(0 18 ? * MON,WED,FRI *)",
        "cron(30 7 ? * MON,WED,FRI *)",
    ]
    (function_id,) = [
        logical_id
        for logical_id, r in _resources(inference, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == "lambdas.endpoint_scheduler.handler.handler"
    ]
    for schedule in schedules:
        assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert "DeadLetterConfig" in schedule["Target"]
    assert [json.loads(s["Target"]["Input"])["action"] for s in schedules] == ["stop", "start"]


def test_the_schedules_role_may_only_invoke_the_scheduler(inference: Template) -> None:
    (role_id,) = [
        logical_id
        for logical_id, r in _resources(inference, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "scheduler.amazonaws.com"}
    ]
    (policy,) = [
        r for r in _resources(inference, "AWS::IAM::Policy").values() if r["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = [s["Action"] for s in statements]
    # invoke the function; the two others only deliver an event that failed every attempt to the dead-letter queue
    assert actions == ["lambda:InvokeFunction", "sqs:SendMessage", ["kms:Decrypt", "kms:GenerateDataKey"]]
    assert "Fn::GetAtt" in statements[0]["Resource"]


def test_the_scheduler_environment_is_what_the_function_reads(inference: Template) -> None:
    (function,) = [
        r
        for r in _resources(inference, "AWS::Lambda::Function").values()
        if r["Properties"]["Handler"] == "lambdas.endpoint_scheduler.handler.handler"
    ]

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Fn::Join" in value:
            return "".join(text(part) for part in value["Fn::Join"][1])
        return "TOKEN"

    variables = {k: text(v) for k, v in function["Properties"]["Environment"]["Variables"].items()}
    environment = SchedulerEnvironment.from_environment(variables)
    (settings,) = environment.endpoints.values()
    assert list(environment.endpoints) == ["genai-kit-dev-office"]
    assert settings.schedule.model_dump(mode="json") == SCHEDULE
    assert settings.endpoint_config_name == "TOKEN"
    assert settings.scaling.max_capacity == 2
    assert settings.deployment_config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert len(settings.deployment_config["AutoRollbackConfiguration"]["Alarms"]) == 3


def test_the_api_5xx_alarm_leaves_out_the_scheduled_503s(scheduled: SynthResult, dev: SynthResult) -> None:
    alarms = _resources(scheduled.template("Monitoring"), "AWS::CloudWatch::Alarm")
    (api_5xx,) = [
        a["Properties"]
        for a in alarms.values()
        if "API: " in a["Properties"]["AlarmDescription"] and "5XX responses" in a["Properties"]["AlarmDescription"]
    ]
    expressions = {m["Id"]: m for m in api_5xx["Metrics"]}
    assert expressions["expr_1"]["Expression"] == "FILL(errors, 0) - FILL(stopped, 0)"
    assert expressions["stopped"]["MetricStat"]["Metric"]["MetricName"] == "ScheduledEndpointUnavailable"
    # an unscheduled stage keeps its plain metric alarm
    plain = _resources(dev.template("Monitoring"), "AWS::CloudWatch::Alarm")
    assert any(a["Properties"].get("MetricName") == "5XXError" for a in plain.values())


def test_nag_and_cfn_lint_are_clean_with_a_scheduled_endpoint(scheduled: SynthResult) -> None:
    assert validation_findings(scheduled.assembly_dir) == []
    assert cfn_lint_problems(scheduled.assembly_dir) == []


def test_cost_prices_a_scheduled_endpoint_by_its_window_and_shows_the_saving(scheduled: SynthResult) -> None:
    # GIVEN a price of 1.0 per instance-hour (a test figure, not a real price) and 730 hours a month
    source = {"source": "https://example.com/test-prices", "retrieved": date(2026, 1, 1)}
    prices = PriceTable(
        about="test",
        currency="USD",
        as_of=date(2026, 1, 1),
        hours_per_month=730,
        sagemaker_hosting=(
            InstancePrice(region="us-east-1", instance_type="ml.inf2.xlarge", usd_per_hour=1.0, **source),
        ),
        sagemaker_training=(),
        bedrock_tokens=(),
        bedrock_images=(),
    )
    stacks = stage_stacks(scheduled.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=prices)
    # THEN the scheduled endpoint (3 days x 10.5 h = 31.5 h of 168) costs 730 x 31.5 / 168 = 136.875 a month
    office = next(e for e in result.endpoints if e.name == "genai-kit-dev-office")
    assert office.per_month(1, 730) == pytest.approx(136.875)
    assert result.monthly("min") == pytest.approx(730 + 136.875)
    text = render_text(result)
    assert "genai-kit-dev-office  mon,wed,fri 07:30-18:00 America/New_York  31.5 of 168" in text
    assert "$136.88    $730.00    $593.12" in text
    document = json.loads(render_json(result))
    (entry,) = [e for e in document["endpoints"] if e["name"] == "genai-kit-dev-office"]
    assert (entry["hours_per_week"], entry["always_on_per_month_min"]) == (31.5, 730.0)
