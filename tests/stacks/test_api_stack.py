"""Assertions on the API stack: IAM-authorized REST API, router wiring, least privilege, logs, usage plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.synth import SynthResult


@pytest.fixture(scope="module")
def api(dev: SynthResult) -> Template:
    return dev.template("Api")


def _router(template: Template) -> dict[str, Any]:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "lambdas.api_router.handler.handler"}}
    )
    assert len(functions) == 1
    return dict(next(iter(functions.values()))["Properties"])


def test_every_method_requires_iam_authorization(api: Template) -> None:
    methods = api.find_resources("AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"GET", "POST"}
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"


def test_routes_are_the_openai_paths(api: Template) -> None:
    parts = sorted(r["Properties"]["PathPart"] for r in api.find_resources("AWS::ApiGateway::Resource").values())
    assert parts == ["chat", "completions", "models", "v1"]


def test_stage_is_throttled_traced_and_access_logged_without_bodies(api: Template) -> None:
    api.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
            "MethodSettings": [
                {
                    "HttpMethod": "*",
                    "ResourcePath": "/*",
                    "ThrottlingRateLimit": 50,
                    "ThrottlingBurstLimit": 100,
                    "DataTraceEnabled": False,
                    "LoggingLevel": "ERROR",
                    "MetricsEnabled": True,
                }
            ],
        },
    )


def test_logs_are_kms_encrypted_with_retention(api: Template) -> None:
    groups = api.find_resources("AWS::Logs::LogGroup")
    assert len(groups) == 2
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 90
        assert "KmsKeyId" in group["Properties"]


def test_router_configuration_lists_the_endpoints(api: Template) -> None:
    router = _router(api)
    assert router["Runtime"] == "python3.13"
    assert router["Timeout"] == 28
    assert router["TracingConfig"] == {"Mode": "Active"}
    environment = router["Environment"]["Variables"]
    # The Bedrock model's target is its application inference profile ARN, from the Bedrock stack.
    before, profile_arn, after = environment["MODELS"]["Fn::Join"][1]
    assert "PublishOutputFnGetAttModelsNovaLiteProfile" in profile_arn["Fn::GetStackOutput"]["OutputName"]
    assert json.loads(f"{before}PROFILE{after}") == {
        "finetuned": {"backend": "sagemaker", "endpoint": "genai-kit-dev-finetuned", "format": "prompt"},
        "nova-lite": {"backend": "bedrock", "model": "PROFILE"},
        "tinyllama": {"backend": "sagemaker", "endpoint": "genai-kit-dev-tinyllama", "format": "messages"},
    }
    assert {"GUARDRAIL_ID", "GUARDRAIL_VERSION"} <= set(environment)
    assert environment["LOG_PAYLOADS"] == "false"
    assert environment["MAX_BODY_BYTES"] == str(1024 * 1024)
    assert router["Layers"] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
    ]


def test_router_may_invoke_only_the_configured_endpoints(api: Template) -> None:
    (policy,) = api.find_resources("AWS::IAM::Policy").values()
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    invoke = statements["InvokeKitEndpoints"]
    assert invoke["Action"] == "sagemaker:InvokeEndpoint"
    suffixes = [resource["Fn::Join"][1][-1] for resource in invoke["Resource"]]
    assert sorted(suffixes) == [":endpoint/genai-kit-dev-finetuned", ":endpoint/genai-kit-dev-tinyllama"]
    others = [s for sid, s in statements.items() if sid != "InvokeKitEndpoints"]
    assert [sorted(s["Action"]) for s in others] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]


def test_router_gets_the_bedrock_invoke_policy(api: Template) -> None:
    role = api.find_resources("AWS::IAM::Role", {"Properties": {"Description": Match.absent()}})
    managed = [
        arn
        for r in role.values()
        for arn in r["Properties"].get("ManagedPolicyArns", [])
        if "Fn::GetStackOutput" in arn
    ]
    assert len(managed) == 1
    assert "InvokePolicy" in managed[0]["Fn::GetStackOutput"]["OutputName"]


def test_fine_tuned_endpoint_is_routed_only_while_rollout_is_on(synth: Callable[..., SynthResult]) -> None:
    template = synth("dev", stages={"dev": {"training": {"rollout": {"enabled": False}}}}).template("Api")
    assert "finetuned" not in json.dumps(_router(template)["Environment"]["Variables"]["MODELS"])


def test_no_usage_plan_by_default(api: Template) -> None:
    api.resource_count_is("AWS::ApiGateway::UsagePlan", 0)
    api.resource_count_is("AWS::ApiGateway::ApiKey", 0)


def test_usage_plan_requires_keys_with_throttle_and_quota(synth: Callable[..., SynthResult]) -> None:
    stages = {"dev": {"api": {"usage_plan": {"rate_limit": 5, "burst_limit": 10, "quota_per_day": 1000}}}}
    template = synth("dev", stages=stages).template("Api")
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {"Throttle": {"RateLimit": 5, "BurstLimit": 10}, "Quota": {"Limit": 1000, "Period": "DAY"}},
    )
    template.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["ApiKeyRequired"] is True


def test_outputs_give_the_base_url_and_a_curl_line(api: Template) -> None:
    outputs = api.find_outputs("*")
    assert {"ApiBaseUrl", "ListModelsCommand", "RouterFunctionName"} <= set(outputs)
    command = json.dumps(outputs["ListModelsCommand"]["Value"])
    assert "--aws-sigv4" in command
    assert "aws:amz:us-east-1:execute-api" in command


def test_api_can_be_turned_off(synth: Callable[..., SynthResult]) -> None:
    assert "Api" not in synth("dev", stages={"dev": {"api": {"enabled": False}}}).templates


def test_api_deploys_after_the_endpoints(dev: SynthResult) -> None:
    assert dev.stage.api is not None
    assert dev.stage.inference is not None
    assert dev.stage.inference in dev.stage.api.dependencies
