"""The Hugging Face kind in moto's Step Functions interpreter: the kit's script trains, the trained model is prepared
for its serving container, registered, and an approval rolls it out to the Inferentia2 endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.session import get_session
from botocore.validate import validate_parameters
from moto.sagemaker.models import FakeEndpointConfig, sagemaker_backends

from tests.pipeline.conftest import Pipeline
from tests.pipeline.harness import ACCOUNT, REGION, FakeContext, SageMakerSync, _environment

DEPLOY_HANDLER = "lambdas.training_deploy.handler.handler"
PACKAGE_EVENT = Path(__file__).parents[1] / "lambdas" / "events" / "model_package_state_change.json"
_CREATE_TRAINING_JOB = get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape


def _steer(pipeline: Pipeline, *, eval_loss: float | list[float], base_eval_loss: float) -> None:
    """The training job reports held-out losses; every job leaves uncompressed output (``CompressionType: NONE``:
    SageMaker uploads ``/opt/ml/model`` as files under ``<output>/<job>/output/model/``), which moto does not
    model, so the test writes what SageMaker would: the preparation job's compiled files, with the kit's key."""

    losses = list(eval_loss) if isinstance(eval_loss, list) else None

    def steer(job_name: str) -> None:
        job = sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name]
        output = f"{job.output_data_config['S3OutputPath']}{job_name}/output/model/"
        job.model_artifacts = {"S3ModelArtifacts": output}
        if job_name.startswith("genai-kit-dev-ft-run-1-serving-"):
            bucket, _, key = output.removeprefix("s3://").partition("/")
            boto3.client("s3", region_name=REGION).put_object(
                Bucket=bucket,
                Key=f"{key}model.safetensors",
                Body=b"compiled",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/kit",
            )
            return
        loss = losses.pop(0) if losses is not None else eval_loss
        job.final_metric_data_list = [
            {"MetricName": name, "Value": value, "Timestamp": job.creation_time}
            for name, value in (("eval_loss", loss), ("base_eval_loss", base_eval_loss), ("train_loss", 0.9))
        ]

    SageMakerSync.on_created = steer


def test_a_model_better_than_its_base_is_compiled_registered_and_rolled_out_on_approval(
    hf_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a dataset, and a job whose model scores better on the held-out set than the base model did
    dataset = hf_pipeline.upload_dataset("notes", "valid.jsonl")
    _steer(hf_pipeline, eval_loss=1.2, base_eval_loss=1.9)
    # WHEN the pipeline runs
    execution = hf_pipeline.run({"dataset": dataset, "hyperparameters": {"max_steps": 20}})
    # THEN the trained model is prepared for serving before it is registered
    assert execution["status"] == "SUCCEEDED"
    states = hf_pipeline.states_entered(execution)
    assert states[states.index("Train") :] == [
        "Train",
        "Evaluate",
        "ModelAccepted?",
        "PrepareServing",
        "Register",
        "Registered",
        "Notify",
        "OutcomeSucceeded?",
        "Succeeded",
    ]
    training_request, preparation_request = SageMakerSync.requests
    for request in (training_request, preparation_request):
        validate_parameters(request, _CREATE_TRAINING_JOB)
    training_job = training_request["TrainingJobName"]
    # The preparation runs the serving image on the training output's merged model, isolated.
    assert (
        preparation_request["AlgorithmSpecification"]["TrainingImage"]
        .split("/")[-1]
        .startswith("huggingface-vllm-inference-neuronx:")
    )
    (model_channel,) = (c for c in preparation_request["InputDataConfig"] if c["ChannelName"] == "model")
    assert model_channel["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{hf_pipeline.artifacts_bucket}/training/output/{training_job}/output/model/model/"
    )
    assert preparation_request["EnableNetworkIsolation"] is True
    assert preparation_request["Environment"]["PREPARATION_SOURCE_CHANNEL"] == "model"
    serving_job = preparation_request["TrainingJobName"]
    # The registered version is served by vLLM from the compiled model.
    (package,) = hf_pipeline.model_packages()
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["Environment"]["SM_ON_MODEL"] == "/opt/ml/model"
    assert container["ModelDataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{hf_pipeline.artifacts_bucket}/training/output/{serving_job}/output/model/"
    )
    assert package["CustomerMetadataProperties"]["metric:eval_loss"] == "1.2"

    # WHEN a reviewer approves it
    monkeypatch.setattr(
        FakeEndpointConfig,
        "validate_instance_type",
        lambda self, instance_type: None,  # moto 5.2 knows no ml.inf2 type; SageMaker serves on it
    )
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.update_model_package(ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved")
    event = json.loads(PACKAGE_EVENT.read_text())
    event["detail"].update(ModelPackageArn=package["ModelPackageArn"], ModelApprovalStatus="Approved")
    result = _deploy(hf_pipeline, event)
    # THEN the version is rolled out to the fine-tuned endpoint, from its package (image, environment, model data)
    assert result["status"] == "CREATING"
    assert hf_pipeline.endpoints() == ["genai-kit-dev-finetuned"]
    (model,) = sagemaker.list_models()["Models"]
    described = sagemaker.describe_model(ModelName=model["ModelName"])
    assert described["Containers"][0]["ModelPackageName"] == package["ModelPackageArn"]


def test_a_model_worse_than_its_base_is_rejected_with_both_numbers(hf_pipeline: Pipeline) -> None:
    dataset = hf_pipeline.upload_dataset("notes", "valid.jsonl")
    _steer(hf_pipeline, eval_loss=2.1, base_eval_loss=1.9)
    execution = hf_pipeline.run({"dataset": dataset})
    assert execution["status"] == "FAILED"
    assert "PrepareServing" not in hf_pipeline.states_entered(execution)
    (notification,) = hf_pipeline.notifications()
    assert notification["status"] == "REJECTED"
    assert "eval_loss 2.1" in notification["reason"]
    assert "base_eval_loss 1.9" in notification["reason"]
    assert hf_pipeline.model_packages() == []


def test_a_failed_preparation_is_notified_with_its_own_reason(hf_pipeline: Pipeline) -> None:
    dataset = hf_pipeline.upload_dataset("notes", "valid.jsonl")
    _steer(hf_pipeline, eval_loss=1.2, base_eval_loss=1.9)
    trained = SageMakerSync.on_created
    assert trained is not None

    def steer(job_name: str) -> None:
        trained(job_name)
        if job_name.startswith("genai-kit-dev-ft-run-1-serving-"):
            job = sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name]
            job.training_job_status = job.secondary_status = "Failed"
            job.failure_reason = "AlgorithmError: optimum-cli export neuron exited 1"  # type: ignore[attr-defined]

    SageMakerSync.on_created = steer
    execution = hf_pipeline.run({"dataset": dataset})
    assert execution["status"] == "FAILED"
    (notification,) = hf_pipeline.notifications()
    assert notification["error"] == "PreparationJobFailed"
    assert notification["reason"].startswith("Preparation job genai-kit-dev-ft-run-1-serving-")
    assert "AlgorithmError: optimum-cli export neuron exited 1" in notification["reason"]
    assert hf_pipeline.model_packages() == []


def _deploy(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """The deploy-on-approval function, with the environment the stack gives it, on SageMaker's approval event."""
    from lambdas.training_deploy import handler as deploy  # noqa: PLC0415
    from lambdas.training_deploy.settings import environment  # noqa: PLC0415

    environment.cache_clear()
    with _environment(pipeline.environment_of(DEPLOY_HANDLER)):
        try:
            return dict(deploy.handler(event, FakeContext("deploy")))
        finally:
            environment.cache_clear()


def test_with_tuning_the_best_job_by_held_out_loss_is_prepared_and_registered(hf_tuning_pipeline: Pipeline) -> None:
    # GIVEN a tuning job over the learning rate whose second training job scores the lower held-out loss
    dataset = hf_tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    _steer(hf_tuning_pipeline, eval_loss=[1.6, 1.1], base_eval_loss=1.9)
    SageMakerSync.tuning_jobs = 2
    # WHEN the pipeline runs
    execution = hf_tuning_pipeline.run({"dataset": dataset})
    # THEN that job's model is prepared for serving and registered, naming the tuning job
    assert execution["status"] == "SUCCEEDED"
    tuning_request, preparation_request = SageMakerSync.requests
    validate_parameters(
        tuning_request,
        get_session().get_service_model("sagemaker").operation_model("CreateHyperParameterTuningJob").input_shape,
    )
    definition = tuning_request["TrainingJobDefinition"]
    assert (
        definition["AlgorithmSpecification"]["TrainingImage"]
        .split("/")[-1]
        .startswith("huggingface-pytorch-training-neuronx:")
    )
    assert "learning_rate" not in definition["StaticHyperParameters"]
    assert definition["StaticHyperParameters"]["sagemaker_program"] == '"train.py"'
    tuning = tuning_request["HyperParameterTuningJobName"]
    best = sorted(j for j in hf_tuning_pipeline.training_jobs() if j.startswith(f"{tuning}-"))[-1]
    assert best.startswith(f"{tuning}-002-")
    (model_channel,) = (c for c in preparation_request["InputDataConfig"] if c["ChannelName"] == "model")
    assert model_channel["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{hf_tuning_pipeline.artifacts_bucket}/training/output/{best}/output/model/model/"
    )
    (package,) = hf_tuning_pipeline.model_packages()
    assert package["CustomerMetadataProperties"]["tuning-job"] == tuning
    assert package["CustomerMetadataProperties"]["metric:eval_loss"] == "1.1"
