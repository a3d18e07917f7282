"""A Lambda function of the kit: its code asset, Powertools layer, KMS-encrypted log group and its own role.

The asset (``stacks.constructs.lambda_code``) holds ``lambdas/<name>/``, ``lambdas/shared/``,
``genai_kit/contracts/`` (the function's environment contract) and, where a function validates against the
catalog, ``genai_kit/catalog/`` (without its refresh command), so the handler imports the same modules in Lambda
as in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.lambda_layers import powertools_layer_arn
from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.lambda_code import function_code
from stacks.constructs.nag import acknowledge_wildcards

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.X86_64


class KitFunction(Construct):
    """One Lambda function: ``function``, ``role`` and ``log_group`` are exposed for grants and alarms.

    Its metrics go to ``metrics_namespace`` (Powertools), under the service ``name``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        metrics_namespace: str,
        environment: Mapping[str, str],
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        timeout: cdk.Duration,
        memory_mb: int = 256,
        with_catalog: bool = False,
        extra_files: Mapping[str, str] | None = None,
        handler: str = "handler",
        invoked_by: str | None = None,
        reserved_concurrency: int | None = None,
    ) -> None:
        """``handler``: the function of ``lambdas/<name>/handler.py`` Lambda calls. ``invoked_by``: who invokes it,
        synchronously, and how often (e.g. "a Step Functions Task state, once per execution"): the reason checkov's
        dead-letter-queue and concurrency-limit checks do not apply; leave it unset for a function invoked
        asynchronously, which then needs a failure destination of its own. ``reserved_concurrency``: the function's
        ReservedConcurrentExecutions (its maximum at once, taken from the account's unreserved pool); None reserves
        nothing."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        # An own role instead of the default one: no AWSLambdaBasicExecutionRole (it may write any log group).
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"lambdas.{name}.handler.{handler}",
            code=function_code(
                name,
                # Every function reads its environment with its contract (genai_kit.contracts).
                include=("lambdas/shared", "genai_kit/contracts", *(("genai_kit/catalog",) if with_catalog else ())),
                exclude=("genai_kit/catalog/refresh",),
                extra_files=extra_files,
            ),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(cdk.Stack.of(self).region)
                )
            ],
            role=self.role,
            timeout=timeout,
            memory_size=memory_mb,
            reserved_concurrent_executions=reserved_concurrency,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=encryption_key,
            environment={
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
                **environment,
            },
        )
        self._acknowledge_findings(invoked_by)

    def _acknowledge_findings(self, invoked_by: str | None) -> None:
        """Reason the function's cdk-nag and checkov findings: its pinned runtime, no VPC, X-Ray's wildcard, and
        (when ``invoked_by`` names a synchronous caller) no dead-letter queue or reserved concurrency."""
        cdk.Validations.of(self.function).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason="Pinned to Python 3.13, the newest runtime the pinned Powertools layer is documented for.",
            )
        )
        skips = {"CKV_AWS_117": NO_VPC}
        if invoked_by is not None:
            skips["CKV_AWS_116"] = (
                f"Invoked synchronously by {invoked_by}: the caller receives and handles every error; a dead-letter "
                "queue applies to asynchronous invocations only."
            )
            skips["CKV_AWS_115"] = (
                f"Invoked by {invoked_by}, which bounds how many run at once; a reserved concurrency would take from "
                "the account's unreserved pool (at least 100 must stay free)."
            )
        skip_checks(self.function, skips)
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_wildcards(
            policy,
            resources=["*"],
            reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permission.",
        )
