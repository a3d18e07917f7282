"""API stack: an OpenAI-compatible REST API (API Gateway + router Lambda) over Bedrock and the endpoints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.cdk_context import PROJECT_ROOT
from genai_kit.config import KitConfig
from genai_kit.endpoints import ResolvedEndpoint
from stacks.constructs.log_retention import retention
from stacks.constructs.nag import acknowledge_wildcards
from stacks.foundation_stack import FoundationStack

if TYPE_CHECKING:
    from stacks.bedrock_stack import BedrockStack

ROUTER_PACKAGE = "api_router"
# Powertools for AWS Lambda (Python) v3 public layer, version 27 (docs/index.md of
# aws-powertools/powertools-lambda-python): Logger, Metrics, Tracer and the event handler.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"


# The alias of the endpoint that serves approved fine-tuned versions (it exists after the first approval).
FINE_TUNED_ALIAS = "finetuned"


def endpoint_targets(endpoints: tuple[ResolvedEndpoint, ...]) -> dict[str, dict[str, str]]:
    """The router's MODELS entries for the endpoints: name, and whether the container speaks the chat schema."""
    return {
        endpoint.name: {
            "backend": "sagemaker",
            "endpoint": endpoint.endpoint_name,
            # JumpStart text-generation containers of the catalog take one prompt; the others the chat schema.
            "format": "messages" if endpoint.config.source.kind != "jumpstart" else "prompt",
        }
        for endpoint in endpoints
    }


class ApiStack(cdk.Stack):
    """REST API with IAM authorization, stage throttling, access logs and tracing, in front of the router."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: KitConfig,
        foundation: FoundationStack,
        bedrock: BedrockStack | None = None,
        fine_tuned_endpoint: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        models: dict[str, dict[str, str]] = endpoint_targets(config.endpoints)
        endpoint_names = [endpoint.endpoint_name for endpoint in config.endpoints]
        if fine_tuned_endpoint is not None:
            # Fine-tuned versions are served by the catalog's text-generation container: one plain prompt.
            models[FINE_TUNED_ALIAS] = {"backend": "sagemaker", "endpoint": fine_tuned_endpoint, "format": "prompt"}
            endpoint_names.append(fine_tuned_endpoint)
        guardrail: tuple[str, str] | None = None
        if bedrock is not None:
            models |= {alias: {"backend": "bedrock", "model": m.invoke_id} for alias, m in bedrock.models.items()}
            if bedrock.guardrail_id is not None and bedrock.guardrail_version is not None:
                guardrail = (bedrock.guardrail_id, bedrock.guardrail_version)

        self.function = self._router(config, foundation, models, guardrail)
        if bedrock is not None:
            bedrock.grant_invoke(self.function)
        self._grant_endpoints(endpoint_names)
        self.api = self._rest_api(config, foundation)
        self._outputs(config)

    def _router(
        self,
        config: KitConfig,
        foundation: FoundationStack,
        models: dict[str, dict[str, str]],
        guardrail: tuple[str, str] | None,
    ) -> lambda_.Function:
        api_config = config.settings.api
        log_group = logs.LogGroup(
            self,
            "RouterLogs",
            retention=retention(api_config.log_retention_days),
            encryption_key=foundation.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        environment = {
            "MODELS": json.dumps(models, sort_keys=True),
            "MAX_BODY_BYTES": str(api_config.max_body_kib * 1024),
            "MODEL_TIMEOUT_SECONDS": str(api_config.model_timeout_seconds),
            "LOG_PAYLOADS": str(api_config.log_payloads).lower(),
            "TRACE_MODEL_CALLS": str(api_config.trace_model_calls).lower(),
            "POWERTOOLS_SERVICE_NAME": "genai-kit-api",
            "POWERTOOLS_METRICS_NAMESPACE": "GenAiKit/Api",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if guardrail is not None:
            environment |= {"GUARDRAIL_ID": guardrail[0], "GUARDRAIL_VERSION": guardrail[1]}
        function = lambda_.Function(
            self,
            "Router",
            description=f"OpenAI-compatible router of the generative AI kit ({config.stage})",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.X86_64,
            handler=f"lambdas.{ROUTER_PACKAGE}.handler.handler",
            # Only the router's package, importable as lambdas.api_router exactly as the tests import it.
            code=lambda_.Code.from_asset(
                str(PROJECT_ROOT),
                ignore_mode=cdk.IgnoreMode.GIT,
                exclude=[
                    "/*",
                    "!/lambdas/",
                    "/lambdas/*",
                    "!/lambdas/__init__.py",
                    f"!/lambdas/{ROUTER_PACKAGE}/",
                    "__pycache__/",
                    "*.pyc",
                ],
            ),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", POWERTOOLS_LAYER.format(region=self.region)
                )
            ],
            memory_size=512,
            # Longer than the model timeout so the router, not Lambda, answers a slow model with a 504.
            timeout=cdk.Duration.seconds(api_config.model_timeout_seconds + 3),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
        )
        cdk.Validations.of(function).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason="Pinned to Python 3.13, the runtime of the pinned Powertools layer build (python313); "
                "the two move together.",
            )
        )
        acknowledge_wildcards(
            function.role.node.find_child("DefaultPolicy"),  # type: ignore[union-attr]
            resources=["*"],
            reason="X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permission.",
        )
        cdk.Validations.of(function.role).acknowledge(  # type: ignore[arg-type]
            cdk.Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="AWS's basic execution policy lets the function write its own logs; it grants nothing else.",
            )
        )
        return function

    def _grant_endpoints(self, endpoint_names: list[str]) -> None:
        if not endpoint_names:
            return
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="InvokeKitEndpoints",
                actions=["sagemaker:InvokeEndpoint"],
                resources=[
                    f"arn:{cdk.Aws.PARTITION}:sagemaker:{self.region}:{cdk.Aws.ACCOUNT_ID}:endpoint/{name}"
                    for name in endpoint_names
                ],
            )
        )

    def _rest_api(self, config: KitConfig, foundation: FoundationStack) -> apigateway.RestApi:
        api_config = config.settings.api
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(api_config.log_retention_days),
            encryption_key=foundation.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=f"genai-kit-{config.stage}",
            description=f"OpenAI-compatible API of the generative AI kit ({config.stage})",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # Execution and access logging need the account's API Gateway CloudWatch role.
            cloud_watch_role=True,
            deploy_options=apigateway.StageOptions(
                stage_name=config.stage,
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
            ),
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM,
                api_key_required=api_config.usage_plan is not None,
            ),
        )
        integration = apigateway.LambdaIntegration(self.function, proxy=True)
        v1 = api.root.add_resource("v1")
        v1.add_resource("models").add_method("GET", integration)
        v1.add_resource("chat").add_resource("completions").add_method("POST", integration)
        if api_config.usage_plan is not None:
            plan = api_config.usage_plan
            usage_plan = api.add_usage_plan(
                "UsagePlan",
                name=f"genai-kit-{config.stage}",
                throttle=apigateway.ThrottleSettings(rate_limit=plan.rate_limit, burst_limit=plan.burst_limit),
                quota=(
                    apigateway.QuotaSettings(limit=plan.quota_per_day, period=apigateway.Period.DAY)
                    if plan.quota_per_day
                    else None
                ),
            )
            usage_plan.add_api_stage(stage=api.deployment_stage)
            usage_plan.add_api_key(api.add_api_key("DefaultKey", description="First key of the usage plan"))

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

    def _outputs(self, config: KitConfig) -> None:
        base = f"{self.api.url}v1"
        region = self.region
        outputs = {
            "ApiBaseUrl": (base, "Base URL for OpenAI clients (SigV4-signed requests)"),
            "ListModelsCommand": (
                cdk.Fn.join(
                    "",
                    [
                        f'curl --aws-sigv4 "aws:amz:{region}:execute-api" '
                        '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" '
                        '-H "x-amz-security-token: $AWS_SESSION_TOKEN" ',
                        base,
                        "/models",
                    ],
                ),
                "List the models with curl and your AWS credentials",
            ),
            "RouterFunctionName": (self.function.function_name, "Router Lambda function (logs, metrics)"),
        }
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
