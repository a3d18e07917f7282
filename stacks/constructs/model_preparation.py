"""The model preparation job an endpoint's ``Preparation`` resource runs: its code package and its request.

The job (``jobs/model_preparation``) downloads and compiles a Hugging Face model for Neuron in the serving image
and writes it under the endpoint's prefix; ``stacks.constructs.endpoint_lifecycle`` starts it through its custom
resource with the request built here.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk

from genai_kit.stage.preparation import Preparation

PREPARATION_PACKAGE = "jobs/model_preparation"
# The job unpacks its code asset (a zip the training channel copies as it is) and runs the script from there.
PREPARATION_ENTRYPOINT = [
    "bash",
    "-c",
    "set -eu; mkdir -p /opt/ml/code; python3 -m zipfile -e /opt/ml/input/data/code/*.zip /opt/ml/code; "
    "cd /opt/ml/code; exec python3 -m jobs.model_preparation.prepare",
]


def preparation_job_request(
    preparation: Preparation, *, role_arn: str, code_s3_url: str, bucket: str, key_arn: str, tags: Mapping[str, str]
) -> dict[str, object]:
    """CreateTrainingJob's request for ``preparation``, without ``TrainingJobName`` (the handler names each
    attempt). The job runs the serving image with the kit's script; it needs the Hub, so no network isolation.

    ``role_arn``: the preparation role; ``code_s3_url``: ``s3://`` URL of the zipped ``jobs/model_preparation``
    asset; ``bucket``: where the prepared model is written under ``preparation.prefix``; ``key_arn``: the KMS key
    of the output and (where the instance has no local storage) the volume; ``tags``: the stage's tags. Shapes:
    SageMaker API reference, CreateTrainingJob."""
    local_storage = preparation.instance_type.startswith("ml.trn1")
    resources: dict[str, object] = {
        "InstanceType": preparation.instance_type,
        "InstanceCount": 1,
        "VolumeSizeInGB": preparation.volume_size_gb,
    }
    if not local_storage:
        # SageMaker refuses a volume key for instance types with local NVMe storage (Trainium's).
        resources["VolumeKmsKeyId"] = key_arn
    environment = {
        "PREPARATION_MODEL_ID": preparation.model_id,
        "PREPARATION_REVISION": preparation.revision,
        "PREPARATION_LAYOUT": preparation.layout,
        "PREPARATION_EXPORT_ARGUMENTS": " ".join(preparation.export_arguments),
        "PREPARATION_BUCKET": bucket,
        "PREPARATION_PREFIX": preparation.prefix,
        "AWS_DEFAULT_REGION": cdk.Aws.REGION,
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    if preparation.token_secret_arn:
        environment["PREPARATION_TOKEN_SECRET_ARN"] = preparation.token_secret_arn
    return {
        "RoleArn": role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": preparation.image_uri,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": PREPARATION_ENTRYPOINT,
        },
        "InputDataConfig": [
            {
                "ChannelName": "code",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": code_s3_url,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        ],
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{bucket}/{preparation.prefix}jobs/",
            "KmsKeyId": key_arn,
            "CompressionType": "NONE",
        },
        "ResourceConfig": resources,
        "StoppingCondition": {"MaxRuntimeInSeconds": preparation.max_runtime_seconds},
        "EnableNetworkIsolation": False,
        "Environment": environment,
        "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
    }
