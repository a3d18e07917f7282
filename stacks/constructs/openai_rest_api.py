"""The OpenAI-compatible REST API in front of the router: the API, its routes, usage plan and error responses.

Every error API Gateway answers itself is shaped as OpenAI's error object, so an ``openai`` client raises the same
exception types for the gateway's refusals as for the router's.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.config.api import ApiConfig, UsagePlanConfig
from genai_kit.names import StageNames
from stacks.constructs.checkov import skip_checks
from stacks.constructs.log_retention import retention


def rest_api(scope: Construct, *, names: StageNames, api_config: ApiConfig, key: kms.IKey) -> apigateway.RestApi:
    """The stage's regional REST API in ``scope``: IAM (SigV4) authorization on every method (and an API key
    where a usage plan is configured), stage throttling, X-Ray tracing, error-level execution logs and JSON
    access logs in a log group encrypted with ``key``; its cdk-nag and checkov findings reasoned. Routes are
    added by ``add_routes``."""
    access_logs = logs.LogGroup(
        scope,
        "AccessLogs",
        retention=retention(api_config.log_retention_days),
        encryption_key=key,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    api = apigateway.RestApi(
        scope,
        "Api",
        rest_api_name=names.prefix,
        description=f"OpenAI-compatible API of the generative AI kit ({names.stage})",
        endpoint_types=[apigateway.EndpointType.REGIONAL],
        # Execution and access logging need the account's API Gateway CloudWatch role.
        cloud_watch_role=True,
        deploy_options=_stage_options(names, api_config, access_logs),
        default_method_options=apigateway.MethodOptions(
            authorization_type=apigateway.AuthorizationType.IAM,
            api_key_required=api_config.usage_plan is not None,
        ),
    )
    skip_checks(
        api.deployment_stage,
        {
            "CKV_AWS_120": "Every answer is generated for its own request (and signed by its caller): a cache "
            "would serve one caller's generation to another, and a streaming integration supports no caching "
            '(API Gateway developer guide, "Stream the integration response").',
        },
    )
    validations = cdk.Validations.of(api)
    validations.acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-APIG2",
            reason="The router validates every request and answers in OpenAI's error format, which clients parse; "
            "API Gateway's validator would answer in its own.",
        ),
        cdk.Acknowledgment(
            id="AwsSolutions-APIG3",
            reason="Every method requires IAM (SigV4) authorization and the stage is throttled; a WAF web ACL "
            "can be associated by the account's edge policy.",
        ),
        cdk.Acknowledgment(
            id="AwsSolutions-COG4",
            reason="Callers are AWS principals authorized by IAM, not Cognito users.",
        ),
        cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            reason="AWS's policy for the account-wide API Gateway logging role: it only writes CloudWatch Logs.",
        ),
    )
    return api


def add_gateway_responses(api: apigateway.RestApi) -> None:
    """API Gateway's own errors (signature, permission, throttling, unknown route, payload size) in OpenAI's
    error object, with API Gateway's message, its error type as ``code`` and the request id.

    ``$context.error.messageString`` is the message already quoted and escaped for JSON (API Gateway developer
    guide, "Gateway response types" and the ``$context`` variables for data models and mapping templates).
    """
    responses = {
        "Default4xx": (apigateway.ResponseType.DEFAULT_4_XX, "invalid_request_error", None),
        "Default5xx": (apigateway.ResponseType.DEFAULT_5_XX, "api_error", None),
        # Stage and usage-plan throttling: the same type and Retry-After as the router's own 429.
        "Throttled": (apigateway.ResponseType.THROTTLED, "rate_limit_error", "'1'"),
        "QuotaExceeded": (apigateway.ResponseType.QUOTA_EXCEEDED, "rate_limit_error", None),
    }
    for construct_id, (response_type, error_type, retry_after) in responses.items():
        body = (
            '{"error": {"message": $context.error.messageString, "type": "' + error_type + '", "param": null, '
            '"code": "$context.error.responseType", "request_id": "$context.requestId"}}'
        )
        api.add_gateway_response(
            construct_id,
            type=response_type,
            templates={"application/json": body},
            response_headers={"Retry-After": retry_after} if retry_after else None,
        )
    # Lambda refusing an invocation (the router at its reserved concurrency, HTTP 429 from Lambda) reaches the
    # client as API Gateway's INTEGRATION_FAILURE, by default a 504 without a reason: a retryable 503 with
    # Retry-After says what happened.
    api.add_gateway_response(
        "IntegrationFailure",
        type=apigateway.ResponseType.INTEGRATION_FAILURE,
        status_code="503",
        templates={
            "application/json": '{"error": {"message": "The API could not run the request now (it is handling '
            'as many requests as it is configured for, or its function failed to start); retry shortly.", '
            '"type": "api_error", "param": null, "code": "$context.error.responseType", '
            '"request_id": "$context.requestId"}}'
        },
        response_headers={"Retry-After": "'1'"},
    )


def add_routes(
    api: apigateway.RestApi, function: lambda_.IFunction, api_config: ApiConfig, *, images: bool = False
) -> None:
    """The OpenAI routes the router serves (``GET /v1/models``, ``GET /v1/models/{model}``,
    ``POST /v1/chat/completions``, ``POST /v1/embeddings``, and ``POST /v1/images/generations`` when ``images``:
    an image model is configured), each a streaming Lambda proxy integration."""
    # STREAM on every method: the router's adapter answers in Lambda's response-stream format, which only a
    # streaming integration (InvokeWithResponseStream) reads; a whole answer simply arrives in one piece.
    integration = apigateway.LambdaIntegration(
        function,
        proxy=True,
        response_transfer_mode=apigateway.ResponseTransferMode.STREAM,
        timeout=cdk.Duration.millis(api_config.timeouts.integration_ms),
    )
    v1 = api.root.add_resource("v1")
    models = v1.add_resource("models")
    models.add_method("GET", integration)
    models.add_resource("{model}").add_method("GET", integration)
    v1.add_resource("chat").add_resource("completions").add_method("POST", integration)
    v1.add_resource("embeddings").add_method("POST", integration)
    if images:
        # Only with an image model: image models are opt-in, and a stage without one keeps its API unchanged.
        v1.add_resource("images").add_resource("generations").add_method("POST", integration)


def add_usage_plan(api: apigateway.RestApi, names: StageNames, plan: UsagePlanConfig) -> str:
    """A usage plan on ``api``'s stage (rate, burst, optional daily quota) with its first API key; returns the
    key's id (a token)."""
    usage_plan = api.add_usage_plan(
        "UsagePlan",
        name=names.prefix,
        throttle=apigateway.ThrottleSettings(rate_limit=plan.rate_limit, burst_limit=plan.burst_limit),
        quota=(
            apigateway.QuotaSettings(limit=plan.quota_per_day, period=apigateway.Period.DAY)
            if plan.quota_per_day
            else None
        ),
    )
    usage_plan.add_api_stage(stage=api.deployment_stage)
    key = api.add_api_key("DefaultKey", description="First key of the usage plan")
    usage_plan.add_api_key(key)
    return key.key_id


def _stage_options(names: StageNames, api_config: ApiConfig, access_logs: logs.ILogGroup) -> apigateway.StageOptions:
    """The deployment stage: throttled, traced, error-level execution logs without bodies, JSON access logs."""
    return apigateway.StageOptions(
        stage_name=names.stage,
        throttling_rate_limit=api_config.throttling_rate_limit,
        throttling_burst_limit=api_config.throttling_burst_limit,
        tracing_enabled=True,
        metrics_enabled=True,
        logging_level=apigateway.MethodLoggingLevel.ERROR,
        # Request and response bodies never reach the execution logs.
        data_trace_enabled=False,
        access_log_destination=apigateway.LogGroupLogDestination(access_logs),
        access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
            caller=True,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=True,
        ),
    )
