"""CheckInput and Prepare for the Hugging Face kind (``training.huggingface``): the kit's own training script.

``check_hf_input`` checks what an execution may change (instance type and count, the script's hyperparameters)
against the ranges fixed at synth (``HfTrainingSettings.specs``, the same as ``genai_kit.config.hf_training``'s) and
against the instances: the tensor-parallel degree must divide the NeuronCores of one instance, since torchrun starts
one process per NeuronCore and a tensor-parallel group spans consecutive ranks of one instance.

``hf_training_job_request`` builds the CreateTrainingJob request: the training image with the source archive
(``sagemaker_submit_directory``), the dataset folder as the ``train`` channel the script reads (``SM_CHANNEL_TRAIN``),
S3 weights as the ``model`` channel when configured, uncompressed output (the preparation step reads the merged
model's files), checkpoints, the compile cache in S3 and, multi-node, the EFA variables. No network isolation: the
job downloads the hub model, reads the token secret and syncs the compile cache (genai_kit.stage.hf_training_job).
"""

from __future__ import annotations

import json
from typing import Any

from genai_kit.catalog import CatalogError, validate_hyperparameters
from genai_kit.contracts.training_prepare import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    EFA_ENVIRONMENT,
    HfTrainingSettings,
    HyperparameterValue,
    PipelineSettings,
    PrepareEnvironment,
)
from lambdas.training_prepare.errors import PrepareError, quote
from lambdas.training_prepare.request_parts import (
    channel,
    checkpoint_config,
    output_config,
    resource_config,
    stopping_condition,
)

TENSOR_PARALLEL = "tensor_parallel_size"


def check_hf_input(
    hf: HfTrainingSettings, *, instance_type: str, instance_count: int, requested: dict[str, HyperparameterValue]
) -> dict[str, str]:
    """The script's hyperparameters: configured < ``requested``, each requested value checked against its range.

    Returns the merged values as strings. Raises PrepareError ``InvalidInput`` for an instance type the script does
    not train on here, ``HyperparameterInvalid`` for an unknown key, a bad value or a tensor-parallel degree the
    instance's NeuronCores cannot be divided by.
    """
    cores = hf.instance_types.get(instance_type)
    if cores is None:
        raise PrepareError(
            "InvalidInput",
            f"instance_type: got {quote(instance_type)}; the kit's training script trains on: "
            f"{', '.join(sorted(hf.instance_types))}",
        )
    try:
        checked = validate_hyperparameters(hf.specs, requested, model="the kit's training script")
    except CatalogError as error:
        raise PrepareError("HyperparameterInvalid", f"hyperparameters: {error}") from None
    merged = {**hf.hyperparameters, **checked}
    degree = int(merged[TENSOR_PARALLEL])
    if cores % degree:
        valid = ", ".join(str(d) for d in range(1, cores + 1) if cores % d == 0)
        key = f"hyperparameters.{TENSOR_PARALLEL}" if TENSOR_PARALLEL in checked else "instance_type"
        raise PrepareError(
            "HyperparameterInvalid",
            f"{key}: tensor_parallel_size {degree} does not divide the {cores} NeuronCores of {instance_type}; "
            f"expected one of {valid}",
        )
    return merged


def hf_training_job_request(
    hf: HfTrainingSettings,
    *,
    settings: PipelineSettings,
    env: PrepareEnvironment,
    job_name: str,
    dataset_uri: str,
    instance_type: str,
    instance_count: int,
    hyperparameters: dict[str, str],
) -> dict[str, Any]:
    """The full CreateTrainingJob request of one job of the script (shapes: SageMaker API reference)."""
    if env.source_archive_uri is None:
        raise ValueError("SOURCE_ARCHIVE_URI is not set: the pipeline's construct sets it for the Hugging Face kind")
    channels = [channel("train", dataset_uri)]
    if hf.model_s3_uri is not None:
        channels.append(channel("model", hf.model_s3_uri))
    environment = {
        **hf.environment,
        "NEURON_COMPILE_CACHE_URL": f"s3://{env.artifacts_bucket}/{env.compile_cache_prefix}",
    }
    if instance_count > 1:
        environment.update(EFA_ENVIRONMENT)
    return {
        "TrainingJobName": job_name,
        "RoleArn": env.training_role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": hf.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": [dict(definition) for definition in hf.metric_definitions],
        },
        "HyperParameters": {
            **{name: json.dumps(value) for name, value in sorted(hyperparameters.items())},
            **hf.container_hyperparameters,
            "sagemaker_submit_directory": json.dumps(env.source_archive_uri),
        },
        "InputDataConfig": channels,
        # Uncompressed: the merged model's files are read as they are by the step that prepares it for serving.
        "OutputDataConfig": output_config(env, compressed=False),
        "ResourceConfig": resource_config(instance_type, instance_count, settings.volume_size_gb, settings, env),
        "StoppingCondition": stopping_condition(settings.max_runtime_seconds or DEFAULT_MAX_RUNTIME_SECONDS, settings),
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": settings.spot,
        "CheckpointConfig": checkpoint_config(env, job_name),
        "Environment": dict(sorted(environment.items())),
    }


def serving_preparation(*, env: PrepareEnvironment, job_name: str) -> dict[str, Any]:
    """The preparation job of the trained model, named ``job_name``, and the model data it leaves for serving: its
    output folder, uncompressed, under the output prefix the serving role reads (``{"jobName", "modelData"}``, the
    latter a ModelDataSource.S3DataSource)."""
    uri = f"s3://{env.artifacts_bucket}/{env.output_prefix}{job_name}/output/model/"
    return {"jobName": job_name, "modelData": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}}
