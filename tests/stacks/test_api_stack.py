"""Assertions on the API stack: IAM-authorized REST API, router wiring, least privilege, logs, usage plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from genai_kit.contracts.api_router import (
    BedrockEmbeddingTarget,
    BedrockImageTarget,
    BedrockTarget,
    RouterEnvironment,
)
from genai_kit.stage import load_stage
from genai_kit.stage.api import endpoint_targets
from tests.synth import SynthResult, kit_context


@pytest.fixture(scope="module")
def api(dev: SynthResult) -> Template:
    return dev.template("Api")


def _router(template: Template) -> dict[str, Any]:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "lambdas/api_router/run.sh"}}
    )
    assert len(functions) == 1
    return dict(next(iter(functions.values()))["Properties"])


def _variables(router: dict[str, Any]) -> dict[str, str]:
    """The router's environment with every CloudFormation value (another stack's output) shown as TOKEN."""

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Fn::Join" in value:
            return "".join(text(part) for part in value["Fn::Join"][1])
        return "TOKEN"

    return {name: text(value) for name, value in router["Environment"]["Variables"].items()}


def test_every_method_requires_iam_authorization(api: Template) -> None:
    methods = api.find_resources("AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"GET", "POST"}
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"


def test_every_method_streams_through_lambdas_streaming_invocation(api: Template) -> None:
    (function_id,) = api.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "lambdas/api_router/run.sh"}}
    )
    for method in api.find_resources("AWS::ApiGateway::Method").values():
        integration = method["Properties"]["Integration"]
        assert integration["ResponseTransferMode"] == "STREAM"
        assert integration["Uri"] == {
            "Fn::Join": [
                "",
                [
                    "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/",
                    {"Fn::GetAtt": [function_id, "Arn"]},
                    "/response-streaming-invocations",
                ],
            ]
        }


def test_router_runs_behind_the_lambda_web_adapter_in_response_stream_mode(api: Template) -> None:
    router = _router(api)
    assert router["Layers"] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27",
        "arn:aws:lambda:us-east-1:753240598075:layer:LambdaAdapterLayerX86:26",
    ]
    variables = router["Environment"]["Variables"]
    assert {name: variables[name] for name in variables if name.startswith("AWS_")} == {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": "8080",
        "AWS_LWA_READINESS_CHECK_PATH": "/health",
    }


@pytest.mark.parametrize(
    ("seconds", "wait", "function", "integration"), [(300, 280, 305, 308_000), (20, 20, 25, 28_000)]
)
def test_timeouts_are_derived_from_the_model_timeout(
    synth: Callable[..., SynthResult], seconds: int, wait: int, function: int, integration: int
) -> None:
    template = synth("dev", stages={"dev": {"api": {"model_timeout_seconds": seconds}}}).template("Api")
    router = _router(template)
    assert router["Timeout"] == function
    variables = router["Environment"]["Variables"]
    assert (variables["MODEL_TIMEOUT_SECONDS"], variables["MODEL_WAIT_SECONDS"]) == (str(seconds), str(wait))
    for method in template.find_resources("AWS::ApiGateway::Method").values():
        assert method["Properties"]["Integration"]["TimeoutInMillis"] == integration


def test_the_synthesized_environment_is_what_the_router_reads(api: Template) -> None:
    environment = RouterEnvironment.from_environment(_variables(_router(api)))
    # the endpoints' targets as genai_kit.stage.api resolves them (tested there)
    assert {alias: environment.models[alias] for alias in ("tinyllama", "finetuned")} == endpoint_targets(
        load_stage(kit_context())
    )
    assert environment.models["nova-lite"] == BedrockTarget(model="TOKEN")
    assert environment.models["titan-embed"] == BedrockEmbeddingTarget(
        model="amazon.titan-embed-text-v2:0", family="titan-v2"
    )
    assert (environment.guardrail_id, environment.guardrail_version) == ("TOKEN", "TOKEN")


def test_routes_are_the_openai_paths(api: Template) -> None:
    parts = sorted(r["Properties"]["PathPart"] for r in api.find_resources("AWS::ApiGateway::Resource").values())
    assert parts == ["chat", "completions", "embeddings", "models", "v1", "{model}"]


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
    assert router["TracingConfig"] == {"Mode": "Active"}
    environment = router["Environment"]["Variables"]
    # The Bedrock model's target is its application inference profile ARN, from the Bedrock stack.
    before, profile_arn, after = environment["MODELS"]["Fn::Join"][1]
    assert "PublishOutputFnGetAttModelsNovaLiteProfile" in profile_arn["Fn::GetStackOutput"]["OutputName"]
    assert sorted(json.loads(f"{before}PROFILE{after}")) == ["finetuned", "nova-lite", "tinyllama", "titan-embed"]
    assert environment["LOG_PAYLOADS"] == "false"
    assert environment["MAX_BODY_BYTES"] == str(1024 * 1024)


def test_router_may_invoke_only_the_configured_endpoints(api: Template) -> None:
    (policy,) = api.find_resources("AWS::IAM::Policy").values()
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    invoke = statements["InvokeKitEndpoints"]
    assert invoke["Action"] == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
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
    outputs = template.find_outputs("*")
    assert "--include-value" in json.dumps(outputs["GetApiKeyCommand"]["Value"])
    assert '-H \\"x-api-key: $API_KEY\\"' in json.dumps(outputs["ListModelsCommand"]["Value"])


def test_outputs_give_the_base_url_a_curl_line_and_the_invoke_policy(api: Template) -> None:
    outputs = api.find_outputs("*")
    assert {"ApiBaseUrl", "ListModelsCommand", "ApiInvokePolicyArn", "RouterFunctionName"} <= set(outputs)
    assert "GetApiKeyCommand" not in outputs
    command = json.dumps(outputs["ListModelsCommand"]["Value"])
    assert "--aws-sigv4" in command
    assert "aws:amz:us-east-1:execute-api" in command
    # the session token header only when there is one (long-term keys have none)
    assert '${AWS_SESSION_TOKEN:+-H \\"x-amz-security-token: $AWS_SESSION_TOKEN\\"}' in command
    assert "x-api-key" not in command


def test_the_invoke_policy_allows_exactly_the_apis_methods(api: Template) -> None:
    (policy,) = api.find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert [r["Fn::Join"][1][-1] for r in statement["Resource"]] == [
        "/GET/v1/models",
        "/GET/v1/models/*",
        "/POST/v1/chat/completions",
        "/POST/v1/embeddings",
    ]


@pytest.fixture(scope="module")
def with_images(synth: Callable[..., SynthResult]) -> Template:
    models = [
        {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
    ]
    return synth("dev", stages={"dev": {"bedrock": {"models": models}}}).template("Api")


def test_an_image_model_adds_the_images_route_and_its_invoke_permission(with_images: Template) -> None:
    parts = {r["Properties"]["PathPart"] for r in with_images.find_resources("AWS::ApiGateway::Resource").values()}
    assert {"images", "generations"} <= parts
    (policy,) = with_images.find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [r["Fn::Join"][1][-1] for r in statement["Resource"]][-1] == "/POST/v1/images/generations"
    environment = RouterEnvironment.from_environment(_variables(_router(with_images)))
    assert environment.models["nova-canvas"] == BedrockImageTarget(
        model="amazon.nova-canvas-v1:0", family="nova-canvas"
    )


def test_stable_image_core_is_routed_in_its_request_format(synth: Callable[..., SynthResult]) -> None:
    models = [
        {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "core", "id": "stability.stable-image-core-v1:1", "kind": "image"},
    ]
    stage = {"region": "us-west-2", "bedrock": {"models": models}}
    template = synth("dev", stages={"dev": stage}).template("Api")
    environment = RouterEnvironment.from_environment(_variables(_router(template)))
    assert environment.models["core"] == BedrockImageTarget(
        model="stability.stable-image-core-v1:1", family="stable-image-core"
    )
    assert environment.image_urls


def _statements(template: Template) -> dict[str, dict[str, Any]]:
    """The router role's policy statements, by Sid (those with one)."""
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s}


def test_an_image_model_lets_the_router_store_and_presign_images_under_their_prefix_only(
    with_images: Template,
) -> None:
    statements = _statements(with_images)
    store = statements["StoreApiImages"]
    assert sorted(store["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert store["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":s3:::genai-kit-dev-artifacts-",
                {"Ref": "AWS::AccountId"},
                "-",
                {"Ref": "AWS::Region"},
                "/api-images/*",
            ],
        ]
    }
    encrypt = statements["EncryptApiImages"]
    assert sorted(encrypt["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert encrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    # the stage's key, from the foundation stack
    assert "Fn::GetStackOutput" in encrypt["Resource"] or "Fn::ImportValue" in encrypt["Resource"]


def test_an_image_model_gives_the_router_its_image_storage(with_images: Template) -> None:
    environment = RouterEnvironment.from_environment(_variables(_router(with_images)))
    assert environment.images_bucket == "genai-kit-dev-artifacts-TOKEN-TOKEN"
    assert (environment.images_prefix, environment.image_url_seconds) == ("api-images/", 3600)


def test_the_url_lifetime_is_the_configured_one(synth: Callable[..., SynthResult]) -> None:
    models = [{"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"}]
    stages = {"dev": {"bedrock": {"models": models}, "api": {"image_url_seconds": 900}}}
    template = synth("dev", stages=stages).template("Api")
    assert RouterEnvironment.from_environment(_variables(_router(template))).image_url_seconds == 900


def test_without_an_image_model_the_router_stores_no_image(api: Template) -> None:
    assert not {"StoreApiImages", "EncryptApiImages"} & set(_statements(api))
    assert not {"IMAGES_BUCKET", "IMAGES_PREFIX", "IMAGE_URL_SECONDS"} & set(_router(api)["Environment"]["Variables"])


@pytest.mark.parametrize(
    ("response_type", "error_type", "retry_after"),
    [
        ("DEFAULT_4XX", "invalid_request_error", None),
        ("DEFAULT_5XX", "api_error", None),
        ("THROTTLED", "rate_limit_error", "'1'"),
        ("QUOTA_EXCEEDED", "rate_limit_error", None),
    ],
)
def test_api_gateways_own_errors_are_openai_error_objects(
    api: Template, response_type: str, error_type: str, retry_after: str | None
) -> None:
    (response,) = api.find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": response_type}}
    ).values()
    template = response["Properties"]["ResponseTemplates"]["application/json"]
    # with API Gateway's values filled in, the body is OpenAI's error object
    filled = template.replace("$context.error.messageString", '"Missing Authentication Token"')
    body = json.loads(filled.replace("$context.error.responseType", "MISSING").replace("$context.requestId", "r-1"))
    assert body == {
        "error": {
            "message": "Missing Authentication Token",
            "type": error_type,
            "param": None,
            "code": "MISSING",
            "request_id": "r-1",
        }
    }
    headers = response["Properties"].get("ResponseParameters", {})
    assert headers.get("gatewayresponse.header.Retry-After") == retry_after


def test_api_can_be_turned_off(synth: Callable[..., SynthResult]) -> None:
    assert "Api" not in synth("dev", stages={"dev": {"api": {"enabled": False}}}).templates


def test_api_deploys_after_the_endpoints(dev: SynthResult) -> None:
    assert dev.stage.api is not None
    assert dev.stage.inference is not None
    assert dev.stage.inference in dev.stage.api.dependencies


def test_api_gateway_may_invoke_the_router_only_through_this_api(api: Template) -> None:
    (api_id,) = api.find_resources("AWS::ApiGateway::RestApi")
    permissions = api.find_resources("AWS::Lambda::Permission").values()
    assert len(permissions) == 8  # each of the four methods, and its console test invocation
    for permission in permissions:
        properties = permission["Properties"]
        assert (properties["Action"], properties["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
        assert {"Ref": api_id} in properties["SourceArn"]["Fn::Join"][1]


def test_the_router_holds_at_most_its_reserved_concurrency(api: Template) -> None:
    # default: the stage's burst limit, so slow model calls cannot take the account's whole concurrency
    assert _router(api)["ReservedConcurrentExecutions"] == 100


def test_a_request_lambda_refuses_is_a_retryable_503_in_openais_format(api: Template) -> None:
    (response,) = api.find_resources(
        "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": "INTEGRATION_FAILURE"}}
    ).values()
    properties = response["Properties"]
    assert (properties["StatusCode"], properties["ResponseParameters"]) == (
        "503",
        {"gatewayresponse.header.Retry-After": "'1'"},
    )
    body = json.loads(
        properties["ResponseTemplates"]["application/json"]
        .replace("$context.error.responseType", "INTEGRATION_FAILURE")
        .replace("$context.requestId", "r-1")
    )
    assert body["error"]["type"] == "api_error"
    assert "retry shortly" in body["error"]["message"]
