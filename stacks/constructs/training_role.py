"""The SageMaker execution role of the fine-tuning jobs: what a training container reads, writes and logs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from genai_kit.catalog import TrainingSpec
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.neuron_endpoint import split_s3_uri
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements
from stacks.constructs.training_layout import (
    CHECKPOINT_PREFIX,
    COMPILE_CACHE_PREFIX,
    DATASETS_PREFIX,
    OUTPUT_PREFIX,
    bucket_arn,
)

# Where SageMaker training jobs write their logs and instance metrics (with the training role).
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
# What a job writes in the artifacts bucket: its model, its checkpoints and the Neuron compile cache.
WRITABLE_PREFIXES = (OUTPUT_PREFIX, CHECKPOINT_PREFIX, COMPILE_CACHE_PREFIX)


def training_job_role(
    scope: Construct,
    *,
    stage: str,
    job_prefix: str,
    specs: Mapping[str, TrainingSpec],
    datasets_bucket_name: str,
    artifacts_bucket_name: str,
    encryption_key: kms.IKey,
) -> iam.Role:
    """The role SageMaker assumes for the pipeline's training jobs, created in ``scope`` as ``TrainingRole``.

    ``specs``: the training specs by instance type (their images are pulled, their JumpStart script and model
    objects read); ``job_prefix``: what every job's name starts with (its log streams are ``<job_prefix>-*``).
    It reads the datasets folder, writes the output, checkpoint and compile-cache prefixes, and uses
    ``encryption_key`` for both.
    """
    role = iam.Role(
        scope,
        "TrainingRole",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description=f"SageMaker execution role of the {stage} fine-tuning jobs ({job_prefix}-*)",
    )
    datasets = bucket_arn(datasets_bucket_name)
    artifacts = bucket_arn(artifacts_bucket_name)
    log_group = (
        f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:{TRAINING_JOBS_NAMESPACE}"
    )
    statements = [
        *_data_statements(datasets, artifacts, specs.values()),
        *container_statements(
            image_uris=[spec.image_uri for spec in specs.values()],
            log_group_arn=log_group,
            log_streams=f"{job_prefix}-*",
            metrics_namespace=TRAINING_JOBS_NAMESPACE,
            image_sid="PullTrainingImage",
        ),
    ]
    for statement in statements:
        role.add_to_policy(statement)
    # Reads the SSE-KMS dataset, writes SSE-KMS output, checkpoints and the compile cache.
    encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
    policy = role.node.find_child("DefaultPolicy")
    acknowledge_container_wildcards(policy, metrics_namespace=TRAINING_JOBS_NAMESPACE)
    acknowledge_wildcards(
        policy,
        resources=[
            f"{datasets}/{DATASETS_PREFIX}*",
            *(f"{artifacts}/{prefix}*" for prefix in WRITABLE_PREFIXES),
            f"{log_group}:log-stream:{job_prefix}-*",
        ],
        reason="Object and log-stream names are created at run time under prefixes owned by the pipeline: "
        "its datasets folder, its output/checkpoint/compile-cache prefixes and its jobs' log streams.",
    )
    return role


def _data_statements(datasets: str, artifacts: str, specs: Iterable[TrainingSpec]) -> list[iam.PolicyStatement]:
    """Read the datasets folder and the JumpStart objects of ``specs``, write the job's prefixes of the artifacts."""
    jumpstart_objects = sorted(
        {uri for spec in specs for uri in (spec.script_uri, spec.gated_model_uri, spec.model_artifact_uri) if uri}
    )
    jumpstart = [split_s3_uri(uri) for uri in jumpstart_objects]
    return [
        iam.PolicyStatement(sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{datasets}/{DATASETS_PREFIX}*"]),
        iam.PolicyStatement(
            sid="ListDatasets",
            actions=["s3:ListBucket"],
            resources=[datasets],
            conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*"]}},
        ),
        iam.PolicyStatement(
            sid="ReadJumpStartArtifacts",
            actions=["s3:GetObject"],
            resources=[f"{bucket_arn(bucket)}/{key}" for bucket, key in jumpstart],
        ),
        iam.PolicyStatement(
            sid="ListJumpStartArtifacts",
            actions=["s3:ListBucket"],
            resources=sorted({bucket_arn(bucket) for bucket, _ in jumpstart}),
            conditions={"StringEquals": {"s3:prefix": [key for _, key in jumpstart]}},
        ),
        iam.PolicyStatement(
            sid="WriteTrainingOutput",
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[f"{artifacts}/{prefix}*" for prefix in WRITABLE_PREFIXES],
        ),
        iam.PolicyStatement(
            sid="ListTrainingOutput",
            actions=["s3:ListBucket"],
            resources=[artifacts],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in WRITABLE_PREFIXES]}},
        ),
    ]
