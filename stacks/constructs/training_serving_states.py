"""The Hugging Face kind's step between Evaluate and Register: prepare the trained model for its serving container.

    ... Evaluate -> ModelAccepted? -> PrepareServing (createTrainingJob.sync in the serving image) -> Register

The merged model the training job leaves under ``<output>/model/`` is compiled for the configured Neuron serving
container and settings by the same job that prepares an endpoint's Hub model (``jobs/model_preparation``), run in
the serving image itself, so the export is made by exactly the optimum-neuron the server loads it with. Its input is
the training output (the ``model`` channel), its output the job's own model folder, uncompressed, which the
registered version names as its model data: an approved version then starts without compiling, and a model that
cannot be compiled for serving is never registered. It needs no network (the code and the model are channels,
SageMaker uploads the output), so it runs isolated.
"""

from __future__ import annotations

from typing import Any

from genai_kit.stage.hf_training import FinetunedServing
from stacks.constructs.model_preparation import PREPARATION_ENTRYPOINT
from stacks.constructs.training_asl import DESCRIBE_FAILURE, SAGEMAKER_SYNC_RETRY, catch, integration_arn

PREPARE_SERVING_STEP = "PrepareServing"
# Where the step writes its result (the preparation job's name and status).
SERVING_RESULT = "serving"
# The channel the trained model arrives in, and where the job leaves the prepared model for SageMaker to upload
# (jobs/model_preparation/prepare.py: PREPARATION_SOURCE_CHANNEL, PREPARATION_OUTPUT_DIR).
MODEL_CHANNEL = "model"
MODEL_DIR = "/opt/ml/model"
# The training script writes the merged model under this folder of its model directory
# (model_artifacts/training/kit_training/outputs.py MODEL_SUBDIR).
MERGED_MODEL_SUBDIR = "model"


def prepare_serving_state(
    serving: FinetunedServing,
    *,
    training_role_arn: str,
    code_s3_url: str,
    output_s3_url: str,
    kms_key_arn: str,
    model_label: str,
    local_storage_instance_types: tuple[str, ...],
) -> dict[str, Any]:
    """The PrepareServing Task (CreateTrainingJob.sync, SageMaker API reference shapes).

    ``code_s3_url``: the zipped ``jobs/model_preparation`` asset; ``output_s3_url``: the training output prefix
    (S3OutputPath; the serving role reads model data only there); ``kms_key_arn``: the key of the output and, where
    the instance has no local storage, the volume; ``model_label``: what was fine-tuned, recorded by the job."""
    resources: dict[str, Any] = {
        "InstanceType": serving.preparation_instance_type,
        "InstanceCount": 1,
        "VolumeSizeInGB": serving.preparation_volume_gb,
    }
    if serving.preparation_instance_type not in local_storage_instance_types:
        # SageMaker refuses a volume key for instance types with local NVMe storage (Trainium's).
        resources["VolumeKmsKeyId"] = kms_key_arn
    environment = {
        "PREPARATION_SOURCE_CHANNEL": MODEL_CHANNEL,
        "PREPARATION_OUTPUT_DIR": MODEL_DIR,
        "PREPARATION_MODEL_ID": model_label,
        "PREPARATION_LAYOUT": serving.layout,
        "PREPARATION_EXPORT_ARGUMENTS": " ".join(serving.export_arguments),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    return {
        "Type": "Task",
        "Resource": integration_arn("sagemaker:createTrainingJob.sync"),
        "Parameters": {
            "TrainingJobName.$": f"$.prepared.{SERVING_RESULT}.jobName",
            # Fixed here: the state machine can pass this role and no other.
            "RoleArn": training_role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": serving.image_uri,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": PREPARATION_ENTRYPOINT,
            },
            "InputDataConfig": [
                _channel("code", {"S3Uri": code_s3_url}),
                # The best (or only) training job's merged model, from its output folder (Evaluate's modelData).
                _channel(
                    MODEL_CHANNEL,
                    {"S3Uri.$": f"States.Format('{{}}{MERGED_MODEL_SUBDIR}/', $.evaluation.modelData.S3Uri)"},
                ),
            ],
            "OutputDataConfig": {"S3OutputPath": output_s3_url, "KmsKeyId": kms_key_arn, "CompressionType": "NONE"},
            "ResourceConfig": resources,
            "StoppingCondition": {"MaxRuntimeInSeconds": serving.preparation_max_runtime_seconds},
            "EnableNetworkIsolation": True,
            "Environment": environment,
        },
        "ResultSelector": {"TrainingJobName.$": "$.TrainingJobName", "TrainingJobStatus.$": "$.TrainingJobStatus"},
        "ResultPath": f"$.{SERVING_RESULT}",
        "Retry": [SAGEMAKER_SYNC_RETRY],
        "Catch": catch(DESCRIBE_FAILURE),
        "Next": "Register",
    }


def finetuned_inference_specification(serving: FinetunedServing, serving_instance_type: str) -> dict[str, Any]:
    """The registered version's InferenceSpecification: the serving image and environment (the model at
    ``/opt/ml/model``) with the prepared model as its model data, on the configured Inferentia2 type."""
    return {
        "Containers": [
            {
                "Image": serving.image_uri,
                "Environment": dict(serving.environment),
                "ModelDataSource": {"S3DataSource.$": f"$.prepared.{SERVING_RESULT}.modelData"},
            }
        ],
        "SupportedRealtimeInferenceInstanceTypes": [serving_instance_type],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }


def _channel(name: str, uri: dict[str, str]) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", **uri, "S3DataDistributionType": "FullyReplicated"}},
        "InputMode": "File",
    }
