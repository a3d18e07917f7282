"""The synthesized fine-tuning state machine, executed offline: success and each way it can end otherwise.

Every execution must end in a defined state, notify the topic with the reason, and change no endpoint.
"""

from __future__ import annotations

from typing import Any

from botocore.session import get_session
from botocore.validate import validate_parameters

from tests.pipeline.conftest import TRAIN_LOSS, Pipeline
from tests.pipeline.harness import SageMakerSync


def _input(dataset: str, **overrides: Any) -> dict[str, Any]:
    return {"dataset": dataset, "accept_eula": True, "hyperparameters": {"max_steps": 50}, **overrides}


def test_success_registers_a_version_pending_approval(pipeline: Pipeline) -> None:
    # GIVEN a valid dataset and a job that reports a training loss under the bar
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=0.42)
    # WHEN the pipeline runs
    execution = pipeline.run(_input(dataset))
    # THEN it succeeds with one model version awaiting approval, carrying the metrics
    assert execution["status"] == "SUCCEEDED"
    (package,) = pipeline.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"][f"metric:{TRAIN_LOSS}"] == "0.42"
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["Image"].endswith("/djl-inference:0.24.0-neuronx-sdk2.14.1")
    assert package["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == ["ml.inf2.xlarge"]
    (notification,) = pipeline.notifications()
    assert notification["status"] == "SUCCEEDED"
    assert package["ModelPackageArn"] in notification["reason"]
    assert pipeline.endpoints() == []


def test_training_request_matches_the_sagemaker_api(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained()
    pipeline.run(_input(dataset))
    (request,) = SageMakerSync.requests
    model = get_session().get_service_model("sagemaker")
    # Raises ParamValidationError on any unknown field, wrong type or missing required member.
    validate_parameters(request, model.operation_model("CreateTrainingJob").input_shape)
    assert request["RoleArn"].startswith("arn:aws:iam::")
    assert request["HyperParameters"]["max_steps"] == '"50"'
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == dataset


def test_bad_dataset_fails_naming_file_and_line(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("broken", "broken_line3.jsonl")
    execution = pipeline.run(_input(dataset))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "DatasetInvalid"
    assert f"{dataset}broken_line3.jsonl line 3: not valid JSON" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert notification["status"] == "FAILED"
    assert notification["error"] == "DatasetInvalid"
    assert pipeline.training_jobs() == []
    assert pipeline.endpoints() == []


def test_failed_training_job_fails_the_execution_with_its_reason(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(status="Failed", loss=None, reason="ClientError: out of Neuron device memory")
    execution = pipeline.run(_input(dataset))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "TrainingJobFailed"
    assert "out of Neuron device memory" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert "out of Neuron device memory" in notification["reason"]
    assert pipeline.model_packages() == []
    assert pipeline.endpoints() == []


def test_metrics_below_the_bar_reject_the_model_with_the_numbers(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=2.5)
    execution = pipeline.run(_input(dataset))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ModelRejected"
    assert f"{TRAIN_LOSS} 2.5 is above the maximum 1" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert notification["status"] == "REJECTED"
    assert pipeline.model_packages() == []
    assert pipeline.endpoints() == []


def test_gated_model_without_eula_fails_before_training(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    execution = pipeline.run(_input(dataset, accept_eula=False))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "EulaNotAccepted"
    assert '"accept_eula": true' in execution["cause"]
    assert "llamaEula.txt" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert notification["error"] == "EulaNotAccepted"
    assert pipeline.training_jobs() == []
    assert pipeline.endpoints() == []


def test_hyperparameter_out_of_range_fails_before_training(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    execution = pipeline.run(_input(dataset, hyperparameters={"learning_rate": 5}))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "HyperparameterInvalid"
    assert "'learning_rate'" in execution["cause"]
    assert "allowed <= 1" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert notification["error"] == "HyperparameterInvalid"
    assert pipeline.training_jobs() == []
    assert pipeline.endpoints() == []


def test_a_rerun_with_the_same_name_never_starts_a_second_job(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained()
    pipeline.run(_input(dataset), name="nightly")
    jobs = pipeline.training_jobs()
    assert len(jobs) == 1
    assert jobs[0].startswith("genai-kit-dev-ft-nightly-")
