"""API stack: an OpenAI-compatible REST API (API Gateway + router Lambda) over Bedrock and the endpoints.

The router streams: every method's integration uses API Gateway's STREAM response transfer mode (Lambda's
InvokeWithResponseStream), and the function runs the router's ASGI app behind the AWS Lambda Web Adapter
layer in response-stream mode. The integration, function and model-client timeouts all derive from
``api.model_timeout_seconds`` (``genai_kit.config.api.ApiTimeouts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.config.api import ApiConfig
from genai_kit.contracts.api_router import (
    METRICS_NAMESPACE,
    SERVICE_NAME,
    BedrockImageTarget,
    EndpointImageTarget,
    EndpointTarget,
    RouterEnvironment,
    Target,
)
from genai_kit.lambda_layers import powertools_layer_arn, web_adapter_layer_arn
from genai_kit.names import StageNames
from genai_kit.stage.api import bedrock_target
from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.lambda_code import function_code
from stacks.constructs.log_retention import retention
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.openai_rest_api import add_gateway_responses, add_routes, add_usage_plan, rest_api
from stacks.foundation_stack import API_IMAGES_PREFIX, FoundationStack

if TYPE_CHECKING:
    from stacks.bedrock_stack import BedrockStack

ROUTER_PACKAGE = "api_router"
# The AWS Lambda Web Adapter (aws-lambda-web-adapter docs/guide, getting-started/zip-packages.md and
# configuration/environment-variables.md): Lambda runs the layer's /opt/bootstrap, which starts the handler
# script and forwards each invocation over HTTP on AWS_LWA_PORT, streaming the response back; it waits for
# a healthy answer on the readiness path before the first invocation.
ROUTER_HANDLER = f"lambdas/{ROUTER_PACKAGE}/run.sh"
# The AWS services the router calls: their botocore models ship with it, and its role may call only these.
ROUTER_AWS_SERVICES = ("bedrock-runtime", "sagemaker-runtime", "s3")
# The kit modules the router imports besides its own package.
ROUTER_INCLUDE = ("genai_kit/contracts",)
ROUTER_PORT = 8080
ROUTER_READINESS_PATH = "/health"


class ApiStack(cdk.Stack):
    """REST API with IAM authorization, stage throttling, access logs and tracing, in front of the router."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        api: ApiConfig,
        endpoints: Mapping[str, EndpointTarget | EndpointImageTarget],
        foundation: FoundationStack,
        bedrock: BedrockStack | None = None,
        **kwargs: object,
    ) -> None:
        """``endpoints``: the endpoints the router calls, by alias (``genai_kit.stage.api.endpoint_targets``)."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.api_key_id: str | None = None
        self.stage_names = names
        models: dict[str, Target] = dict(endpoints)
        endpoint_names = [target.endpoint for target in endpoints.values()]
        guardrail: tuple[str, str] | None = None
        if bedrock is not None:
            models |= {alias: bedrock_target(model.config, model.invoke_id) for alias, model in bedrock.models.items()}
            if bedrock.guardrail_id is not None and bedrock.guardrail_version is not None:
                guardrail = (bedrock.guardrail_id, bedrock.guardrail_version)

        images = any(isinstance(target, BedrockImageTarget | EndpointImageTarget) for target in models.values())
        self.function = self._router(api, foundation, models, guardrail, images=images)
        if bedrock is not None:
            bedrock.grant_invoke(self.function)
        self._grant_endpoints(endpoint_names)
        if images:
            self._grant_image_storage(foundation)
        self.api = rest_api(self, names=names, api_config=api, key=foundation.key)
        add_routes(self.api, self.function, api, images=images)
        if api.usage_plan is not None:
            self.api_key_id = add_usage_plan(self.api, names, api.usage_plan)
        add_gateway_responses(self.api)
        self.invoke_policy = self._invoke_policy(images=images)
        self._outputs()

    def _router(
        self,
        api_config: ApiConfig,
        foundation: FoundationStack,
        models: dict[str, Target],
        guardrail: tuple[str, str] | None,
        *,
        images: bool,
    ) -> lambda_.Function:
        timeouts = api_config.timeouts
        log_group = logs.LogGroup(
            self,
            "RouterLogs",
            retention=retention(api_config.log_retention_days),
            encryption_key=foundation.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        contract = RouterEnvironment(
            models=models,
            guardrail_id=guardrail[0] if guardrail else None,
            guardrail_version=guardrail[1] if guardrail else None,
            max_body_bytes=api_config.max_body_kib * 1024,
            log_payloads=api_config.log_payloads,
            trace_model_calls=api_config.trace_model_calls,
            model_timeout_seconds=timeouts.request_seconds,
            model_wait_seconds=timeouts.model_wait_seconds,
            # Where response_format "url" stores the images, on a stage with an image model only.
            images_bucket=foundation.artifacts_bucket_name if images else None,
            images_prefix=API_IMAGES_PREFIX if images else None,
            image_url_seconds=api_config.image_url_seconds if images else None,
        )
        environment = {
            **contract.to_environment(),
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
            "AWS_LWA_INVOKE_MODE": "response_stream",
            "AWS_LWA_PORT": str(ROUTER_PORT),
            "AWS_LWA_READINESS_CHECK_PATH": ROUTER_READINESS_PATH,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        function = lambda_.Function(
            self,
            "Router",
            description=f"OpenAI-compatible router of the generative AI kit ({self.stage_names.stage})",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.X86_64,
            handler=ROUTER_HANDLER,
            code=function_code(ROUTER_PACKAGE, include=ROUTER_INCLUDE, aws_services=ROUTER_AWS_SERVICES),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_layer_arn(self.region)),
                lambda_.LayerVersion.from_layer_version_arn(self, "WebAdapter", web_adapter_layer_arn(self.region)),
            ],
            memory_size=512,
            # After the router's own deadline, so that the router, not Lambda, ends a slow request (504).
            timeout=cdk.Duration.seconds(timeouts.lambda_seconds),
            # A burst of slow model calls takes at most this much of the account's concurrency.
            reserved_concurrent_executions=api_config.concurrency,
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment_encryption=foundation.key,
        )
        _acknowledge_router_findings(function)
        return function

    def _grant_endpoints(self, endpoint_names: list[str]) -> None:
        if not endpoint_names:
            return
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="InvokeKitEndpoints",
                actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                resources=[
                    f"arn:{cdk.Aws.PARTITION}:sagemaker:{self.region}:{cdk.Aws.ACCOUNT_ID}:endpoint/{name}"
                    for name in endpoint_names
                ],
            )
        )

    def _grant_image_storage(self, foundation: FoundationStack) -> None:
        """Let the router store the images it answers with ``response_format: "url"`` and presign their GETs.

        ``s3:PutObject`` and ``s3:GetObject`` on the artifacts bucket's ``API_IMAGES_PREFIX`` alone: a presigned
        URL is authorized as the principal that signed it (Amazon S3 user guide, "Download and upload objects with
        presigned URLs"), so the role itself must be allowed the GET. The bucket's default encryption is SSE-KMS
        with the stage key: the put needs ``kms:GenerateDataKey`` and the presigned get ``kms:Decrypt``
        (Amazon S3 user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)"), both only through S3.
        """
        objects = f"arn:{cdk.Aws.PARTITION}:s3:::{foundation.artifacts_bucket_name}/{API_IMAGES_PREFIX}*"
        self.function.add_to_role_policy(
            iam.PolicyStatement(sid="StoreApiImages", actions=["s3:PutObject", "s3:GetObject"], resources=[objects])
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="EncryptApiImages",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[foundation.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
            )
        )
        acknowledge_wildcards(
            self.function.role.node.find_child("DefaultPolicy"),  # type: ignore[union-attr]
            resources=[objects],
            reason="The wildcard is the object keys under the API's images prefix of the artifacts bucket: the router "
            "names each image it stores with a fresh key.",
        )

    def _invoke_policy(self, *, images: bool) -> iam.ManagedPolicy:
        """A managed policy that lets a principal call every method of this API (``POST /v1/images/generations``
        where ``images``: the route exists), to attach to application roles."""
        stage = self.api.deployment_stage.stage_name
        # A path parameter is a wildcard in an execute-api ARN (API Gateway developer guide, "Resource format of
        # permissions for executing API in API Gateway"): /v1/models/{model} is /v1/models/*.
        one_model = self.api.arn_for_execute_api("GET", "/v1/models/*", stage)
        policy = iam.ManagedPolicy(
            self,
            "InvokeApiPolicy",
            description=f"Call the OpenAI-compatible API of the generative AI kit ({self.stage_names.stage})",
            statements=[
                iam.PolicyStatement(
                    sid="InvokeKitApi",
                    actions=["execute-api:Invoke"],
                    resources=[
                        self.api.arn_for_execute_api("GET", "/v1/models", stage),
                        one_model,
                        self.api.arn_for_execute_api("POST", "/v1/chat/completions", stage),
                        self.api.arn_for_execute_api("POST", "/v1/embeddings", stage),
                        *([self.api.arn_for_execute_api("POST", "/v1/images/generations", stage)] if images else []),
                    ],
                )
            ],
        )
        acknowledge_wildcards(
            policy,
            resources=[one_model],
            reason="The wildcard is the {model} path parameter of GET /v1/models/{model}, as execute-api ARNs "
            "write a path parameter; it allows that one method of this API only.",
        )
        return policy

    def _outputs(self) -> None:
        base = f"{self.api.url}v1"
        region = self.region
        api_key = self.api_key_id is not None
        outputs = {
            "ApiBaseUrl": (base, "Base URL for OpenAI clients (SigV4-signed requests)"),
            "ListModelsCommand": (
                cdk.Fn.join(
                    "",
                    [
                        f'curl --aws-sigv4 "aws:amz:{region}:execute-api" '
                        '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" '
                        '${AWS_SESSION_TOKEN:+-H "x-amz-security-token: $AWS_SESSION_TOKEN"} '
                        + ('-H "x-api-key: $API_KEY" ' if api_key else ""),
                        base,
                        "/models",
                    ],
                ),
                "List the models with curl and your AWS credentials"
                + (" (set API_KEY, see GetApiKeyCommand)" if api_key else ""),
            ),
            "ApiInvokePolicyArn": (
                self.invoke_policy.managed_policy_arn,
                "Managed policy that lets a role call the API (execute-api:Invoke on its methods)",
            ),
            "RouterFunctionName": (self.function.function_name, "Router Lambda function (logs, metrics)"),
        }
        if self.api_key_id is not None:
            outputs["GetApiKeyCommand"] = (
                cdk.Fn.join(
                    "",
                    [
                        f"aws apigateway get-api-key --region {region} --include-value --query value --output text "
                        "--api-key ",
                        self.api_key_id,
                    ],
                ),
                "Print the API key to send in the x-api-key header",
            )
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)


def _acknowledge_router_findings(function: lambda_.Function) -> None:
    """Reason the router function's cdk-nag and checkov findings on the function and its role."""
    skip_checks(
        function,
        {
            "CKV_AWS_117": NO_VPC,
            "CKV_AWS_116": "Invoked synchronously by API Gateway (a streaming proxy integration): every error "
            "reaches the client as an HTTP status; a dead-letter queue applies to asynchronous invocations only.",
        },
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
