"""The SageMaker execution role of the fine-tuning jobs: what a training container reads, writes and logs.

One role for both kinds of fine-tuning: JumpStart's (its script and model objects, ``jumpstart_reads``) and the kit's
Hugging Face script (its ``sourcedir.tar.gz`` asset, an optional S3 model folder and an optional token secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3_assets as s3_assets
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
from stacks.constructs.training_source import asset_object_arn

# Where SageMaker training jobs write their logs and instance metrics (with the training role).
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
# What a job writes in the artifacts bucket: its model, its checkpoints and the Neuron compile cache.
WRITABLE_PREFIXES = (OUTPUT_PREFIX, CHECKPOINT_PREFIX, COMPILE_CACHE_PREFIX)
_STATEMENT_NAME = re.compile(r"^[A-Za-z0-9]+$")
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$")


@dataclass(frozen=True)
class S3Reads:
    """S3 objects, or folders, that the jobs read beyond their datasets, by ``s3://`` URI.

    ``name`` (letters and digits) makes the statement ids ``Read<name>`` and ``List<name>``. Objects
    (``folders=False``): ``s3:GetObject`` on exactly those keys and ``s3:ListBucket`` for exactly those prefixes (an
    ``S3Prefix`` channel lists its URI). Folders (``folders=True``, URIs ending in ``/``): every object under them, and
    listing under them.

    Raises ``ValueError`` (naming the value) for an empty list, a URI that is not ``s3://bucket/key``, or a folder URI
    without its trailing ``/``.
    """

    name: str
    uris: tuple[str, ...]
    folders: bool = False

    def __post_init__(self) -> None:
        if not _STATEMENT_NAME.match(self.name):
            raise ValueError(f"S3Reads.name: got {self.name!r}; expected letters and digits (a statement id)")
        if not self.uris:
            raise ValueError(f"S3Reads {self.name}: no URI to read")
        for uri in self.uris:
            bucket, key = split_s3_uri(uri)
            if not uri.startswith("s3://") or not bucket or not key:
                raise ValueError(f"S3Reads {self.name}: got {uri!r}; expected s3://<bucket>/<key>")
            if self.folders and not key.endswith("/"):
                raise ValueError(f"S3Reads {self.name}: got {uri!r}; a folder URI ends with '/'")


def jumpstart_reads(specs: Iterable[TrainingSpec]) -> S3Reads:
    """The JumpStart objects the jobs of ``specs`` read: each spec's script, and its model artifact or gated model."""
    uris = sorted(
        {uri for spec in specs for uri in (spec.script_uri, spec.gated_model_uri, spec.model_artifact_uri) if uri}
    )
    return S3Reads("JumpStartArtifacts", tuple(uris))


def training_job_role(
    scope: Construct,
    *,
    stage: str,
    job_prefix: str,
    datasets_bucket_name: str,
    artifacts_bucket_name: str,
    encryption_key: kms.IKey,
    specs: Mapping[str, TrainingSpec] | None = None,
    image_uris: Sequence[str] = (),
    reads: Sequence[S3Reads] = (),
    assets: Sequence[s3_assets.Asset] = (),
    token_secret_arn: str | None = None,
) -> iam.Role:
    """The role SageMaker assumes for the pipeline's training jobs, created in ``scope`` as ``TrainingRole``.

    What the jobs pull and read: ``image_uris`` (their images), ``reads`` (S3 objects or folders beyond the datasets)
    and ``assets`` (CDK file or folder assets, such as the Hugging Face script's ``sourcedir.tar.gz`` and the
    preparation job's code: ``s3:GetObject`` on each asset's own object only); ``specs`` (the JumpStart kind's specs
    by instance type) adds their images and :func:`jumpstart_reads`. ``token_secret_arn``: a Secrets Manager secret
    the jobs read (a Hugging Face token), see :func:`token_secret_statements`. ``job_prefix``: what every job's name
    starts with (its log streams are ``<job_prefix>-*``). The role reads the datasets folder, writes the output,
    checkpoint and compile-cache prefixes, and uses ``encryption_key`` for both.

    Raises ``ValueError`` when nothing names an image, or for a malformed ``token_secret_arn``.
    """
    images = [*(spec.image_uri for spec in (specs or {}).values()), *image_uris]
    all_reads = [*([jumpstart_reads(specs.values())] if specs else []), *reads]
    if not images:
        raise ValueError(f"training role of {stage}: no image to pull (give specs or image_uris)")
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
        *_data_statements(datasets, artifacts, all_reads, assets),
        *container_statements(
            image_uris=images,
            log_group_arn=log_group,
            log_streams=f"{job_prefix}-*",
            metrics_namespace=TRAINING_JOBS_NAMESPACE,
            image_sid="PullTrainingImage",
        ),
        *(token_secret_statements(token_secret_arn) if token_secret_arn else []),
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
    folders = [f"{bucket_arn(bucket)}/{key}*" for read in all_reads if read.folders for bucket, key in _split(read)]
    if folders:
        acknowledge_wildcards(
            policy,
            resources=folders,
            reason="A configured model folder holds the files of one model (config, weights, tokenizer) under names "
            "its owner chose; the jobs read that folder only.",
        )
    if token_secret_arn:
        acknowledge_wildcards(
            policy,
            resources=["*"],
            reason="kms:Decrypt of the token secret's key: the key is the secret's own (unknown at synth, possibly "
            "customer-managed), so it cannot be named; the statement is limited to Secrets Manager decrypting that "
            "one secret (kms:ViaService and kms:EncryptionContext:SecretARN conditions).",
        )
    return role


def token_secret_statements(secret_arn: str) -> list[iam.PolicyStatement]:
    """Read one Secrets Manager secret: ``secretsmanager:GetSecretValue`` on ``secret_arn`` only, and ``kms:Decrypt``
    of whatever key encrypts it (a customer-managed key needs this in the caller's policy) only when Secrets Manager
    calls it for that secret.

    Facts (AWS Secrets Manager User Guide, "Secret encryption and decryption", sections "Permissions for the KMS key"
    and "Secrets Manager encryption context"; awsdocs/aws-secrets-manager-docs ``doc_source/security-encryption.md``):
    ``kms:ViaService`` is ``secretsmanager.<Region>.amazonaws.com``, the secret's Region (here read from its ARN);
    Secrets Manager's Decrypt requests carry the encryption context pair ``SecretARN`` = the secret's ARN, which a
    policy matches with the ``kms:EncryptionContext:SecretARN`` condition key (AWS KMS Developer Guide,
    ``kms:EncryptionContext:`` condition key prefix). The key being unknown, the resource is ``*``.

    Raises ``ValueError`` when ``secret_arn`` is not a complete Secrets Manager secret ARN (a plain string).
    """
    match = _SECRET_ARN.match(secret_arn)
    if not match:
        raise ValueError(
            f"token secret: got {secret_arn!r}; "
            "expected arn:<partition>:secretsmanager:<region>:<account>:secret:<name>"
        )
    return [
        iam.PolicyStatement(sid="ReadTokenSecret", actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]),
        iam.PolicyStatement(
            sid="DecryptTokenSecretViaSecretsManager",
            actions=["kms:Decrypt"],
            resources=["*"],
            conditions={
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{match.group(1)}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret_arn,
                }
            },
        ),
    ]


def _split(read: S3Reads) -> list[tuple[str, str]]:
    return [split_s3_uri(uri) for uri in read.uris]


def _data_statements(
    datasets: str, artifacts: str, reads: Sequence[S3Reads], assets: Sequence[s3_assets.Asset]
) -> list[iam.PolicyStatement]:
    """Read the datasets folder, ``reads`` and ``assets``, write the job's prefixes of the artifacts."""
    statements = [
        iam.PolicyStatement(sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{datasets}/{DATASETS_PREFIX}*"]),
        iam.PolicyStatement(
            sid="ListDatasets",
            actions=["s3:ListBucket"],
            resources=[datasets],
            conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*"]}},
        ),
    ]
    for read in reads:
        located = _split(read)
        pattern = "*" if read.folders else ""
        statements += [
            iam.PolicyStatement(
                sid=f"Read{read.name}",
                actions=["s3:GetObject"],
                resources=[f"{bucket_arn(bucket)}/{key}{pattern}" for bucket, key in located],
            ),
            iam.PolicyStatement(
                sid=f"List{read.name}",
                actions=["s3:ListBucket"],
                resources=sorted({bucket_arn(bucket) for bucket, _ in located}),
                conditions={
                    "StringLike" if read.folders else "StringEquals": {
                        "s3:prefix": [f"{key}{pattern}" for _, key in located]
                    }
                },
            ),
        ]
    if assets:
        # boto3's download_file (the training toolkit's, files.py s3_download) and a channel's copy need GetObject.
        statements.append(
            iam.PolicyStatement(
                sid="ReadCodeAssets", actions=["s3:GetObject"], resources=[asset_object_arn(a) for a in assets]
            )
        )
    statements += [
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
    return statements
