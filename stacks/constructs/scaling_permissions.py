"""What a function that registers SageMaker endpoint variants with Application Auto Scaling is allowed to do.

Shared by the endpoint lifecycle's ``Scaling`` resources (at deploy time) and the endpoint scheduler (which
registers a scheduled endpoint's variant again after each start, since DeleteEndpoint deregistered it).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks.constructs.checkov import skip_checks
from stacks.constructs.nag import acknowledge_wildcards


def _arns() -> tuple[str, str]:
    return f"arn:{cdk.Aws.PARTITION}", f"{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"


def grant_variant_scaling(role: iam.Role, *, endpoint_name: str, variant_name: str) -> None:
    """What registering one endpoint variant needs (its endpoint and its target-tracking alarms)."""
    partition_arn, account_arn = _arns()
    endpoint = f"{partition_arn}:sagemaker:{account_arn}:endpoint/{endpoint_name}"
    # Application Auto Scaling checks these of the caller for a SageMaker variant (user guide, "Permissions
    # required for API actions on target services and CloudWatch"); the target-tracking alarms it creates are
    # named TargetTracking-<resource id>-...
    alarms = (
        f"{partition_arn}:cloudwatch:{account_arn}:alarm:"
        f"TargetTracking-endpoint/{endpoint_name}/variant/{variant_name}-*"
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
            resources=[endpoint],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
            resources=[alarms],
        )
    )
    acknowledge_wildcards(
        role.node.find_child("DefaultPolicy"),
        resources=[alarms],
        reason="Application Auto Scaling names a target-tracking policy's alarms TargetTracking-<resource id>- "
        "with a suffix of its own; the pattern covers this endpoint variant's alarms only.",
    )


def grant_scaling_registration(role: iam.Role, *, wildcard_reason: str, read_endpoint_configs: bool) -> None:
    """What registering any variant needs, once per role: Application Auto Scaling's actions (on ``*``, reasoned
    by ``wildcard_reason`` with the role's other wildcards) and its service-linked role; with
    ``read_endpoint_configs``, DescribeEndpointConfig of any endpoint config (to compare instance types)."""
    partition_arn, account_arn = _arns()
    endpoint_configs = f"{partition_arn}:sagemaker:{account_arn}:endpoint-config/*"
    if read_endpoint_configs:
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEndpointConfigs",
                actions=["sagemaker:DescribeEndpointConfig"],
                # CloudFormation names each endpoint config; a new one replaces it on every change.
                resources=[endpoint_configs],
            )
        )
    skip_checks(
        role.node.find_child("DefaultPolicy"),
        {
            "CKV_AWS_111": "Application Auto Scaling assigns a scalable target's ARN when it registers it, so "
            "RegisterScalableTarget, DeregisterScalableTarget and PutScalingPolicy cannot name it in advance; "
            "the function calls them for this stack's endpoint variants only."
        },
    )
    acknowledge_wildcards(
        role.node.find_child("DefaultPolicy"), resources=[endpoint_configs, "*"], reason=wildcard_reason
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="RegisterVariantsForScaling",
            actions=[
                "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:RegisterScalableTarget",
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:PutScalingPolicy",
            ],
            # A scalable target's ARN holds an id Application Auto Scaling assigns when it registers it.
            resources=["*"],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="CreateScalingServiceLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[
                f"{partition_arn}:iam::{cdk.Aws.ACCOUNT_ID}:role/aws-service-role/"
                "sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
            ],
            conditions={"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
        )
    )
