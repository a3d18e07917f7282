"""What every SageMaker execution role of the kit needs for its container: pull, authenticate, log, publish."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from stacks.constructs.nag import acknowledge_wildcards


def ecr_repository_arn(image_uri: str) -> str:
    """ARN of the ECR repository an image URI points into (``<account>.dkr.ecr.<region>.<suffix>/<repo>:<tag>``)."""
    registry, _, repository_and_tag = image_uri.partition("/")
    account, _, rest = registry.partition(".dkr.ecr.")
    region = rest.split(".", 1)[0]
    repository = repository_and_tag.split("@", 1)[0].rsplit(":", 1)[0]
    return f"arn:{cdk.Aws.PARTITION}:ecr:{region}:{account}:repository/{repository}"


def container_statements(
    *,
    image_uris: Iterable[str],
    log_group_arn: str,
    log_streams: str,
    metrics_namespace: str,
    image_sid: str = "PullServingImage",
) -> list[iam.PolicyStatement]:
    """Pull only the given images' repositories, write only the given log streams, publish only one namespace."""
    return [
        iam.PolicyStatement(
            sid=image_sid,
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resources=sorted({ecr_repository_arn(uri) for uri in image_uris}),
        ),
        iam.PolicyStatement(
            sid="AuthenticateToEcr",
            actions=["ecr:GetAuthorizationToken"],
            # GetAuthorizationToken is account-wide: ECR supports no resource-level permission for it.
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[log_group_arn, f"{log_group_arn}:log-stream:{log_streams}"],
        ),
        iam.PolicyStatement(
            sid="PublishOwnMetrics",
            actions=["cloudwatch:PutMetricData"],
            # PutMetricData supports no resource-level permission; the namespace condition scopes it.
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": metrics_namespace}},
        ),
    ]


def acknowledge_container_wildcards(policy: IConstruct, *, metrics_namespace: str) -> None:
    """Acknowledge the two ``Resource: *`` statements of :func:`container_statements` on the role's policy."""
    acknowledge_wildcards(
        policy,
        resources=["*"],
        reason="ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permission; "
        f"PutMetricData is limited to the {metrics_namespace} namespace by condition.",
    )
