"""What the model rollout's two roles may do: the serving role of the fine-tuned versions and the deploy function's.

Resource shapes: Service Authorization Reference (Amazon SageMaker, Amazon S3, AWS KMS, IAM).
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.neuron_endpoint import ENDPOINT_METRICS_NAMESPACE
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements


def serving_role(
    scope: Construct,
    *,
    endpoint_name: str,
    partition_arn: str,
    image_uri: str,
    model_objects_prefix: str,
    artifacts: str,
    model_artifacts_prefix: str,
    capture_prefix: str,
    key: kms.IKey,
) -> iam.Role:
    """The SageMaker execution role of every fine-tuned version on ``endpoint_name``: the serving image
    (``image_uri``), the version's weights under ``model_objects_prefix`` (an S3 object ARN prefix) of the
    ``artifacts`` bucket (ARN), logs and metrics of the endpoint, data capture under ``capture_prefix``, and
    ``key`` for the SSE-KMS objects it reads and writes. Created in ``scope`` with the id ``ServingRole``."""
    role = iam.Role(
        scope,
        "ServingRole",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description=f"SageMaker execution role of the fine-tuned model versions on {endpoint_name}",
    )
    log_group = (
        f"{partition_arn}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:"
        f"{ENDPOINT_METRICS_NAMESPACE}/{endpoint_name}"
    )
    model_objects = f"{model_objects_prefix}*"
    capture_objects = f"{capture_prefix}*"
    statements = [
        iam.PolicyStatement(sid="ReadFineTunedWeights", actions=["s3:GetObject"], resources=[model_objects]),
        iam.PolicyStatement(
            sid="ListFineTunedWeights",
            actions=["s3:ListBucket"],
            resources=[artifacts],
            conditions={"StringLike": {"s3:prefix": [f"{model_artifacts_prefix}*"]}},
        ),
        *container_statements(
            image_uris=[image_uri],
            log_group_arn=log_group,
            log_streams="*",
            metrics_namespace=ENDPOINT_METRICS_NAMESPACE,
        ),
        iam.PolicyStatement(sid="WriteDataCapture", actions=["s3:PutObject"], resources=[capture_objects]),
    ]
    for statement in statements:
        role.add_to_policy(statement)
    # Reads the SSE-KMS training output; writes SSE-KMS data capture.
    key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
    policy = role.node.find_child("DefaultPolicy")
    acknowledge_container_wildcards(policy, metrics_namespace=ENDPOINT_METRICS_NAMESPACE)
    acknowledge_wildcards(
        policy,
        resources=[model_objects, f"{log_group}:log-stream:*", capture_objects],
        reason="Each version's weights are written by its training job under the pipeline's output prefix; "
        "log streams and data capture objects are named at run time under this endpoint's own prefixes.",
    )
    return role


def rollout_statements(
    arns: Mapping[str, str], *, artifacts: str, model_artifacts_prefix: str, serving_role_arn: str, key_arn: str
) -> list[iam.PolicyStatement]:
    """The deploy function's SageMaker, S3, IAM and KMS permissions: ``arns`` maps ``model``, ``endpoint-config``,
    ``endpoint`` and ``model-package`` to the ARN (patterns) of what it manages; ``artifacts`` is the bucket's ARN,
    ``model_artifacts_prefix`` the key prefix of the versions' weights."""
    model_objects = f"{artifacts}/{model_artifacts_prefix}*"
    return [
        # Before creating anything, the function checks that an approved version's weights exist under the
        # prefix the serving role reads: ListObjectsV2 for an S3Prefix, HeadObject (s3:GetObject) for an object.
        iam.PolicyStatement(sid="CheckModelData", actions=["s3:GetObject"], resources=[model_objects]),
        iam.PolicyStatement(
            sid="ListModelData",
            actions=["s3:ListBucket"],
            resources=[artifacts],
            conditions={"StringLike": {"s3:prefix": [f"{model_artifacts_prefix}*"]}},
        ),
        iam.PolicyStatement(
            sid="ReadModelPackages", actions=["sagemaker:DescribeModelPackage"], resources=[arns["model-package"]]
        ),
        iam.PolicyStatement(
            sid="ManageVersionModels",
            actions=["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel"],
            resources=[arns["model"]],
        ),
        iam.PolicyStatement(
            sid="ManageVersionEndpointConfigs",
            actions=[
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
            ],
            resources=[arns["endpoint-config"]],
        ),
        iam.PolicyStatement(
            sid="RollOutEndpoint",
            actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DescribeEndpoint"],
            resources=[arns["endpoint"], arns["endpoint-config"]],
        ),
        # DeleteEndpoint is the only operation SageMaker allows on a Failed endpoint: the function replaces it.
        iam.PolicyStatement(
            sid="ReplaceFailedEndpoint", actions=["sagemaker:DeleteEndpoint"], resources=[arns["endpoint"]]
        ),
        # The endpoint's tag genai-kit:rollout-target names the rollout awaiting its outcome (read, then removed).
        iam.PolicyStatement(
            sid="TrackRolloutOutcome",
            actions=["sagemaker:ListTags", "sagemaker:DeleteTags"],
            resources=[arns["endpoint"]],
        ),
        iam.PolicyStatement(
            sid="TagOwnResources",
            actions=["sagemaker:AddTags"],
            resources=[arns["model"], arns["endpoint-config"], arns["endpoint"]],
        ),
        iam.PolicyStatement(
            sid="PassServingRoleToSageMaker",
            actions=["iam:PassRole"],
            resources=[serving_role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        # SageMaker encrypts the endpoint's storage volumes with the config's key through grants it creates
        # as the caller of CreateEndpoint/UpdateEndpoint; only grants for AWS resources are allowed.
        iam.PolicyStatement(
            sid="GrantKeyToEndpointStorage",
            actions=["kms:CreateGrant"],
            resources=[key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        iam.PolicyStatement(sid="DescribeStorageKey", actions=["kms:DescribeKey"], resources=[key_arn]),
    ]
