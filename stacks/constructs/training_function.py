"""A pipeline Lambda function: its code asset, Powertools layer, KMS-encrypted log group and its own role.

The asset mirrors the repository layout (``lambdas/<name>/``, ``lambdas/shared/`` and, where a function
validates against the catalog, ``genai_kit/catalog/``), so the handler imports the same modules in Lambda
as in the tests. It is staged into a temporary folder at synth (no Docker: plain Python files and JSON);
its content alone decides the asset hash, so synth stays deterministic.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.cdk_context import PROJECT_ROOT
from stacks.constructs.nag import acknowledge_wildcards

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.X86_64
# Powertools for AWS Lambda (Python) v3, published by AWS as a public layer in every commercial region:
# arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-{python_version}-x86_64:<version>.
# Version 27 is the one documented in aws-powertools/powertools-lambda-python docs/index.md (pull request
# #7757). The layer bundles Powertools with its extras (pydantic v2 among them), without boto3.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python313-x86_64"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def powertools_layer_arn() -> str:
    """The Powertools layer ARN in the stack's own region and partition."""
    return (
        f"arn:{cdk.Aws.PARTITION}:lambda:{cdk.Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    )


def stage_asset(name: str, *, with_catalog: bool = False, extra_files: Mapping[str, str] | None = None) -> Path:
    """Copy the function's code (and what it imports) into a fresh folder laid out like the repository."""
    root = Path(tempfile.mkdtemp(prefix=f"genai-kit-{name}-"))
    lambdas = PROJECT_ROOT / "lambdas"
    (root / "lambdas").mkdir()
    shutil.copy2(lambdas / "__init__.py", root / "lambdas" / "__init__.py")
    shutil.copytree(lambdas / "shared", root / "lambdas" / "shared", ignore=_IGNORE)
    shutil.copytree(lambdas / name, root / "lambdas" / name, ignore=_IGNORE)
    if with_catalog:
        package = PROJECT_ROOT / "genai_kit"
        (root / "genai_kit").mkdir()
        shutil.copy2(package / "__init__.py", root / "genai_kit" / "__init__.py")
        # The catalog's models and validators only: the refresh command and the catalog files stay out.
        shutil.copytree(
            package / "catalog",
            root / "genai_kit" / "catalog",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "refresh"),
        )
    for relative, content in (extra_files or {}).items():
        (root / relative).write_text(content, encoding="utf-8")
    return root


class TrainingFunction(Construct):
    """One pipeline Lambda: ``function``, ``role`` and ``log_group`` are exposed for grants and alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        environment: Mapping[str, str],
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        timeout: cdk.Duration,
        memory_mb: int = 256,
        with_catalog: bool = False,
        extra_files: Mapping[str, str] | None = None,
    ) -> None:
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
            handler=f"lambdas.{name}.handler.handler",
            code=lambda_.Code.from_asset(
                str(stage_asset(name, with_catalog=with_catalog, extra_files=extra_files)),
                exclude=["__pycache__", "*.pyc"],
            ),
            layers=[lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_layer_arn())],
            role=self.role,
            timeout=timeout,
            memory_size=memory_mb,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": "GenAiKit/FineTuning",
                **environment,
            },
        )
        cdk.Validations.of(self.function).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason="Pinned to Python 3.13, the newest runtime the pinned Powertools layer is documented for.",
            )
        )
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_wildcards(
            policy,
            resources=["*"],
            reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permission.",
        )
