"""Parts of a CreateTrainingJob request both kinds of model build the same way (SageMaker API reference shapes)."""

from __future__ import annotations

from typing import Any

from genai_kit.contracts.training_prepare import PipelineSettings, PrepareEnvironment

# Where SageMaker syncs /opt/ml/checkpoints to and from S3 (where JumpStart scripts and the kit's script write them).
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
# SageMaker's limit of StoppingCondition.MaxWaitTimeInSeconds (28 days).
MAX_WAIT_LIMIT_SECONDS = 2_419_200


def channel(name: str, uri: str) -> dict[str, Any]:
    """An InputDataConfig channel of the S3 folder ``uri``, copied to every instance (``/opt/ml/input/data/<name>``)."""
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "InputMode": "File",
    }


def output_config(env: PrepareEnvironment, *, compressed: bool) -> dict[str, str]:
    """OutputDataConfig: the output prefix of the artifacts bucket, encrypted with the kit's key."""
    return {
        "S3OutputPath": f"s3://{env.artifacts_bucket}/{env.output_prefix}",
        "KmsKeyId": env.kms_key_arn,
        "CompressionType": "GZIP" if compressed else "NONE",
    }


def checkpoint_config(env: PrepareEnvironment, job_name: str) -> dict[str, str]:
    """CheckpointConfig: the job's own checkpoint folder, synced with CHECKPOINT_LOCAL_PATH."""
    return {
        "S3Uri": f"s3://{env.artifacts_bucket}/{env.checkpoint_prefix}{job_name}/",
        "LocalPath": CHECKPOINT_LOCAL_PATH,
    }


def resource_config(
    instance_type: str, instance_count: int, volume_size_gb: int, settings: PipelineSettings, env: PrepareEnvironment
) -> dict[str, Any]:
    """ResourceConfig: instances, their volume (KMS-encrypted unless local storage) and the warm pool."""
    resource: dict[str, Any] = {
        "InstanceType": instance_type,
        "InstanceCount": instance_count,
        "VolumeSizeInGB": volume_size_gb,
    }
    if instance_type not in settings.local_storage_instance_types:
        resource["VolumeKmsKeyId"] = env.kms_key_arn
    if settings.warm_pool_seconds:
        resource["KeepAlivePeriodInSeconds"] = settings.warm_pool_seconds
    return resource


def stopping_condition(max_runtime: int, settings: PipelineSettings) -> dict[str, int]:
    """StoppingCondition, in seconds: MaxRuntimeInSeconds and, with spot, MaxWaitTimeInSeconds (wait plus run)."""
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": max_runtime}
    if settings.spot:
        stopping["MaxWaitTimeInSeconds"] = settings.spot_max_wait_seconds or min(
            2 * max_runtime, MAX_WAIT_LIMIT_SECONDS
        )
    return stopping
