"""Assertions on the monitoring stack: dashboard per stage, paging alarms to the alarm topic, monthly budget."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from genai_kit.cdk_context import cdk_json_context
from genai_kit.config import StorageConfig
from genai_kit.config.operations import MonitoringConfig
from genai_kit.names import StageNames
from stacks.foundation_stack import FoundationStack
from stacks.monitoring_stack import MonitoringStack
from tests.synth import SynthResult


@pytest.fixture(scope="module")
def monitoring(dev: SynthResult) -> Template:
    return dev.template("Monitoring")


def _dashboard_body(template: Template) -> dict[str, Any]:
    [dashboard] = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else "".join(p if isinstance(p, str) else "0" for p in body["Fn::Join"][1])
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [metric for widget in body["widgets"] for metric in widget.get("properties", {}).get("metrics", [])]


def test_dashboard_is_named_after_the_stage(monitoring: Template) -> None:
    monitoring.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "genai-kit-dev"})


@pytest.mark.parametrize(
    ("namespace", "metric"),
    [
        ("AWS/SageMaker", "Invocations"),
        ("AWS/SageMaker", "ModelLatency"),
        ("AWS/SageMaker", "Invocation4XXErrors"),
        ("AWS/SageMaker", "Invocation5XXErrors"),
        ("/aws/sagemaker/Endpoints", "CPUUtilization"),
        ("/aws/sagemaker/Endpoints", "MemoryUtilization"),
    ],
)
def test_dashboard_graphs_each_endpoint(monitoring: Template, namespace: str, metric: str) -> None:
    metrics = _metrics(_dashboard_body(monitoring))
    assert [namespace, metric, "EndpointName", "genai-kit-dev-tinyllama", "VariantName", "AllTraffic"] in [
        m[:6] for m in metrics
    ]


def test_model_latency_shows_p50_p90_and_p99(monitoring: Template) -> None:
    metrics = _metrics(_dashboard_body(monitoring))
    stats = [m[-1].get("stat") for m in metrics if len(m) > 1 and m[1] == "ModelLatency"]
    assert stats == ["p50", "p90", "p99"]


def test_dashboard_url_is_an_output(monitoring: Template) -> None:
    monitoring.has_output(
        "DashboardUrl",
        {"Value": Match.string_like_regexp(r"#dashboards:name=genai-kit-dev$")},
    )


def test_monthly_budget_notifies_the_alarm_topic_at_the_configured_threshold(monitoring: Template) -> None:
    monitoring.has_resource_properties(
        "AWS::Budgets::Budget",
        {
            "Budget": {
                "BudgetName": "genai-kit-dev-monthly",
                "BudgetType": "COST",
                "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": 1000, "Unit": "USD"},
            },
            "NotificationsWithSubscribers": Match.array_with(
                [
                    {
                        "Notification": {
                            "NotificationType": "ACTUAL",
                            "ComparisonOperator": "GREATER_THAN",
                            "Threshold": 80,
                            "ThresholdType": "PERCENTAGE",
                        },
                        "Subscribers": [{"SubscriptionType": "SNS", "Address": Match.any_value()}],
                    }
                ]
            ),
        },
    )


def test_budget_limit_threshold_and_tag_filter_follow_the_config(synth: Any) -> None:
    budget = {
        "monthly_limit_usd": 250,
        "alert_threshold_percent": 50,
        "forecast_alert": False,
        "filter_by_stage_tag": True,
    }
    template = synth("dev", stages={"dev": {"monitoring": {"budget": budget}}}).template("Monitoring")
    [resource] = template.find_resources("AWS::Budgets::Budget").values()
    properties = resource["Properties"]
    assert properties["Budget"]["BudgetLimit"] == {"Amount": 250, "Unit": "USD"}
    assert properties["Budget"]["CostFilters"] == {"TagKeyValue": ["user:genai-kit:stage$dev"]}
    assert [n["Notification"]["Threshold"] for n in properties["NotificationsWithSubscribers"]] == [50]


def test_topic_policy_lets_budgets_publish_only_for_this_account(dev: SynthResult) -> None:
    dev.template("Foundation").has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowBudgetsToPublish",
                                "Effect": "Allow",
                                "Principal": {"Service": "budgets.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_budget_can_be_turned_off(synth: Any) -> None:
    template = synth("dev", stages={"dev": {"monitoring": {"budget": {"enabled": False}}}}).template("Monitoring")
    template.resource_count_is("AWS::Budgets::Budget", 0)


def test_default_stage_pages_on_bedrock_the_api_and_the_pipeline(monitoring: Template) -> None:
    alarms = monitoring.find_resources("AWS::CloudWatch::Alarm")
    assert sorted(a["Properties"]["MetricName"] for a in alarms.values()) == [
        "5XXError",
        "ExecutionsFailed",
        "InvocationServerErrors",  # the chat model's and the embedding model's
        "InvocationServerErrors",
        "InvocationThrottles",
        "InvocationThrottles",
        "StreamErrors",
        "Throttles",  # the router at its reserved concurrency
    ]


@pytest.fixture(scope="module")
def wired() -> Template:
    """The monitoring stack wired to a Bedrock chat model, an image model, an API and a training pipeline, as the
    stage will wire it."""
    app = cdk.App(context=cdk_json_context())  # the kit's feature flags
    names = StageNames("dev")
    foundation = FoundationStack(
        app, "Foundation", names=names, storage=StorageConfig(), removal_policy="destroy", alarm_emails=()
    )
    parts = cdk.Stack(app, "Parts")
    api = apigateway.RestApi(parts, "Api")
    api.root.add_method("GET")
    state_machine = sfn.StateMachine(
        parts, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(parts, "Pass"))
    )
    stack = MonitoringStack(
        app,
        "Monitoring",
        names=names,
        monitoring=MonitoringConfig(),
        foundation=foundation,
        inference=None,
        bedrock_model_ids=["us.amazon.nova-lite-v1:0"],
        bedrock_image_models={"amazon.nova-canvas-v1:0": ["nova-canvas"]},
        api=api,
        training_pipeline=state_machine,
        training_job_prefix="genai-kit-dev-",
    )
    return Template.from_stack(stack)


@pytest.mark.parametrize(
    ("metric", "namespace", "threshold"),
    [
        ("InvocationThrottles", "AWS/Bedrock", 10),
        ("InvocationServerErrors", "AWS/Bedrock", 5),
        ("5XXError", "AWS/ApiGateway", 5),
        ("StreamErrors", "GenAiKit/Api", 5),
        ("ExecutionsFailed", "AWS/States", 1),
    ],
)
def test_paging_alarms_notify_the_alarm_topic(wired: Template, metric: str, namespace: str, threshold: int) -> None:
    wired.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": metric,
            "Namespace": namespace,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [Match.any_value()],
            "OKActions": [Match.any_value()],
        },
    )


def test_failed_streams_page_on_the_routers_totals(wired: Template) -> None:
    # a stream that fails after it began is an HTTP 200: only the router's own metric sees it
    wired.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "StreamErrors",
            "Dimensions": [{"Name": "service", "Value": "genai-kit-api"}],
            "Statistic": "Sum",
        },
    )


def test_api_row_graphs_the_routers_time_to_first_token_errors_and_tokens(wired: Template) -> None:
    names = {m[1] for m in _metrics(_dashboard_body(wired)) if m[0] == "GenAiKit/Api"}
    assert names == {"TimeToFirstToken", "ModelErrors", "StreamErrors", "InputTokens", "OutputTokens", "Images"}


def test_bedrock_row_graphs_tokens_latency_and_throttles(wired: Template) -> None:
    names = {m[1] for m in _bedrock_metrics(wired, "us.amazon.nova-lite-v1:0")}
    assert {"Invocations", "InvocationLatency", "InputTokenCount", "OutputTokenCount", "InvocationThrottles"} <= names


def _bedrock_metrics(template: Template, model_id: str) -> list[list[Any]]:
    return [m for m in _metrics(_dashboard_body(template)) if m[0] == "AWS/Bedrock" and m[2:4] == ["ModelId", model_id]]


def test_image_model_row_graphs_invocations_latency_and_errors_but_no_tokens(wired: Template) -> None:
    names = {m[1] for m in _bedrock_metrics(wired, "amazon.nova-canvas-v1:0")}
    assert names == {
        "Invocations",
        "InvocationLatency",
        "InvocationThrottles",
        "InvocationServerErrors",
        "InvocationClientErrors",
    }
    titles = [w["properties"].get("markdown") for w in _dashboard_body(wired)["widgets"] if w["type"] == "text"]
    assert "## Bedrock amazon.nova-canvas-v1:0 (images)" in titles


def test_image_model_row_graphs_the_images_the_router_returned_per_alias(wired: Template) -> None:
    images = [m for m in _metrics(_dashboard_body(wired)) if m[:2] == ["GenAiKit/Api", "Images"]]
    assert [dict(zip(m[2:6:2], m[3:6:2], strict=True)) for m in images] == [
        {"service": "genai-kit-api", "model": "nova-canvas"}
    ]
    assert images[0][-1]["stat"] == "Sum"


@pytest.mark.parametrize("metric", ["InvocationThrottles", "InvocationServerErrors"])
def test_image_model_pages_on_throttles_and_server_errors(wired: Template, metric: str) -> None:
    wired.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": metric,
            "Namespace": "AWS/Bedrock",
            "Dimensions": [{"Name": "ModelId", "Value": "amazon.nova-canvas-v1:0"}],
            "AlarmActions": [Match.any_value()],
        },
    )


def test_pipeline_row_graphs_started_succeeded_and_failed(wired: Template) -> None:
    names = {m[1] for m in _metrics(_dashboard_body(wired)) if m[0] == "AWS/States"}
    assert {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"} <= names


def test_training_jobs_row_searches_the_stage_s_training_hosts(wired: Template) -> None:
    expressions = [m[0].get("expression", "") for m in _metrics(_dashboard_body(wired)) if isinstance(m[0], dict)]
    assert any("/aws/sagemaker/TrainingJobs" in e and "genai-kit-dev-" in e for e in expressions)


def test_a_stage_with_an_image_model_gives_it_an_image_row_not_a_token_row(synth: Any) -> None:
    models = [
        {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
    ]
    template = synth("dev", stages={"dev": {"bedrock": {"models": models}}}).template("Monitoring")
    assert "InputTokenCount" in {m[1] for m in _bedrock_metrics(template, "us.amazon.nova-lite-v1:0")}
    image_metrics = {m[1] for m in _bedrock_metrics(template, "amazon.nova-canvas-v1:0")}
    assert "Invocations" in image_metrics
    assert not image_metrics & {"InputTokenCount", "OutputTokenCount"}
    images = [m for m in _metrics(_dashboard_body(template)) if m[:2] == ["GenAiKit/Api", "Images"]]
    assert ["model", "nova-canvas"] in [m[2:4] for m in images] + [m[4:6] for m in images]
