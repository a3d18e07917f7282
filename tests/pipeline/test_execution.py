"""The synthesized fine-tuning state machine, executed offline: success and each way it can end otherwise.

Every execution must end in a defined state, notify the topic with the reason a person needs, and leave in the
account only what its path created.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import validate_parameters
from moto.sagemaker.exceptions import SagemakerClientError
from moto.sagemaker.models import sagemaker_backends

from tests.pipeline.conftest import DATASETS, TRAIN_LOSS, Pipeline, content_sha256
from tests.pipeline.harness import ACCOUNT, REGION, SageMakerSync
from tests.service_model import violations

EXAMPLE = '{"dataset": "my-dataset", "accept_eula": true}'


def _input(dataset: str, **overrides: Any) -> dict[str, Any]:
    return {"dataset": dataset, "accept_eula": True, "hyperparameters": {"max_steps": 50}, **overrides}


def _assert_nothing_created(pipeline: Pipeline) -> None:
    assert pipeline.training_jobs() == []
    assert pipeline.model_packages() == []
    assert pipeline.artifacts() == []
    assert pipeline.endpoints() == []


def _failed(pipeline: Pipeline, execution: dict[str, Any], *, error: str, reason: str, subject: str) -> None:
    """The execution failed in the Failed state after one notification saying ``error`` and ``reason``."""
    assert execution["status"] == "FAILED"
    assert (execution["error"], execution["cause"]) == (error, reason)
    assert pipeline.states_entered(execution)[-3:] == ["Notify", "OutcomeSucceeded?", "Failed"]
    (notification,) = pipeline.notifications()
    assert notification == {
        "subject": subject,
        "status": "FAILED",
        "error": error,
        "reason": reason,
        "pipeline": "genai-kit-dev-finetuned",
        "execution": execution["executionArn"],
    }


def test_success_registers_a_version_pending_approval(pipeline: Pipeline) -> None:
    # GIVEN a valid dataset and a job that reports a training loss under the bar
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=0.42)
    # WHEN the pipeline runs
    execution = pipeline.run(_input(dataset))
    # THEN it succeeds with one model version awaiting approval, carrying the metrics
    assert execution["status"] == "SUCCEEDED"
    assert pipeline.states_entered(execution)[-3:] == ["Notify", "OutcomeSucceeded?", "Succeeded"]
    (package,) = pipeline.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"][f"metric:{TRAIN_LOSS}"] == "0.42"
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["Image"].endswith("/djl-inference:0.24.0-neuronx-sdk2.14.1")
    assert package["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == ["ml.inf2.xlarge"]
    (notification,) = pipeline.notifications()
    assert notification["status"] == "SUCCEEDED"
    assert package["ModelPackageArn"] in notification["reason"]
    (job,) = pipeline.training_jobs()
    assert pipeline.artifacts() == [f"training/evaluation/{job}/metrics.json"]
    assert pipeline.endpoints() == []


def test_the_report_records_the_dataset_the_run_and_no_predecessor_for_a_first_version(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=0.42)
    pipeline.run(_input(dataset))
    (job,) = pipeline.training_jobs()
    report = pipeline.report(job)
    assert report["dataset"] == {
        "uri": dataset,
        "contentSha256": content_sha256({"valid.jsonl": (DATASETS / "valid.jsonl").read_bytes()}),
    }
    assert (report["trainingJobName"], report["tuningJobName"]) == (job, None)
    assert (report["model"], report["instanceType"], report["instanceCount"]) == (
        "meta-textgenerationneuron-llama-2-7b@1.0.0",
        "ml.trn1.32xlarge",
        1,
    )
    # The Prepare step's summary: the merged hyperparameters, as strings.
    assert report["hyperparameters"]["max_steps"] == "50"
    assert report["thresholds"] == [
        {
            "metric": TRAIN_LOSS,
            "max": 1.0,
            "min": None,
            "max_metric": None,
            "min_metric": None,
            "passed": True,
            "missed": [],
        }
    ]
    assert report["predecessor"] is None
    (package,) = pipeline.model_packages()
    assert package["CustomerMetadataProperties"]["predecessor"] == "none"
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"].endswith(f"/{job}/metrics.json")


def test_a_version_after_an_approved_one_is_compared_with_it(pipeline: Pipeline) -> None:
    # GIVEN a first version, registered and then approved by a reviewer
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=0.42)
    assert pipeline.run(_input(dataset), name="run-1")["status"] == "SUCCEEDED"
    (first,) = pipeline.model_packages()
    pipeline.approve(first["ModelPackageArn"])
    # WHEN a second run on a changed dataset trains a model with a lower loss
    pipeline.upload_dataset("notes", ("extra.jsonl", b'{"text": "one more example"}\n'))
    pipeline.when_trained(loss=0.3)
    assert pipeline.run(_input(dataset), name="run-2")["status"] == "SUCCEEDED"
    # THEN its report names the approved version, its metrics and the difference
    (second_job,) = (job for job in pipeline.training_jobs() if "-run-2-" in job)
    report = pipeline.report(second_job)
    assert report["predecessor"]["modelPackageArn"] == first["ModelPackageArn"]
    assert report["predecessor"]["metrics"] == {TRAIN_LOSS: 0.42}
    (compared,) = report["predecessor"]["differences"].values()
    assert (compared["current"], compared["predecessor"]) == (0.3, 0.42)
    assert compared["difference"] == pytest.approx(-0.12)
    # AND the new version's metadata names it and the changed dataset's hash, as CreateModelPackage accepts them
    (second,) = (p for p in pipeline.model_packages() if p["ModelPackageArn"] != first["ModelPackageArn"])
    metadata = second["CustomerMetadataProperties"]
    assert metadata["predecessor"] == first["ModelPackageArn"]
    assert metadata["dataset-sha256"] == report["dataset"]["contentSha256"]
    assert metadata["dataset-sha256"] != first["CustomerMetadataProperties"]["dataset-sha256"]
    shape = get_session().get_service_model("sagemaker").operation_model("CreateModelPackage").input_shape
    assert violations(shape.members["CustomerMetadataProperties"], metadata) == []


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


@pytest.mark.parametrize(
    ("execution_input", "reason"),
    [
        ("[1, 2]", f"execution input must be a JSON object such as {EXAMPLE}; got an array"),
        ('"run"', f"execution input must be a JSON object such as {EXAMPLE}; got a string"),
        ("3", f"execution input must be a JSON object such as {EXAMPLE}; got a number"),
        ("true", f"execution input must be a JSON object such as {EXAMPLE}; got a boolean"),
        ("{}", "execution input is not valid: dataset: Field required"),
        ('{"dataset": 5}', "execution input is not valid: dataset: Input should be a valid string"),
        ('{"dataset": "notes", "epochs": 2}', "execution input is not valid: epochs: Extra inputs are not permitted"),
    ],
)
def test_an_input_of_any_shape_is_refused_by_name_and_notified(
    pipeline: Pipeline, execution_input: str, reason: str
) -> None:
    # WHEN an execution starts with an input that is not the documented object
    execution = pipeline.run_raw(execution_input)
    # THEN it is refused by the first state, notified and failed, and nothing was created
    _failed(pipeline, execution, error="InvalidInput", reason=reason, subject="GenAI kit fine-tuning refused its input")
    assert pipeline.states_entered(execution)[:3] == ["CheckInput", "InputAccepted?", "InputRefused"]
    _assert_nothing_created(pipeline)


def test_an_input_near_the_size_limit_is_refused_with_a_short_reason(pipeline: Pipeline) -> None:
    # GIVEN an input just under Step Functions' 256 KiB, all of it echoed by a naive message
    execution = pipeline.run({"dataset": "d" * 250_000, "accept_eula": True})
    assert execution["error"] == "InvalidInput"
    assert execution["cause"] == (
        f"dataset: got '{'d' * 100}...' (250,000 characters); SageMaker accepts S3 URIs of at most 1024 characters"
    )
    (notification,) = pipeline.notifications()
    assert notification["reason"] == execution["cause"]
    _assert_nothing_created(pipeline)


def test_bad_dataset_fails_naming_file_and_line(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("broken", "broken_line3.jsonl")
    execution = pipeline.run(_input(dataset))
    _failed(
        pipeline,
        execution,
        error="DatasetInvalid",
        reason=f"{dataset}broken_line3.jsonl line 3: not valid JSON (Expecting ',' delimiter: line 1 column 32 "
        "(char 31))",
        subject="GenAI kit fine-tuning refused the dataset",
    )
    _assert_nothing_created(pipeline)


def test_a_json_array_saved_as_jsonl_is_refused_at_its_first_line(pipeline: Pipeline) -> None:
    # GIVEN a 3 MiB dataset file that is one JSON array on one line (the record limit is 1,024 KiB)
    array = json.dumps([json.loads(line) for line in (DATASETS / "valid.jsonl").read_text().splitlines()] * 300)
    dataset = pipeline.upload_dataset("array", ("data.jsonl", array.encode()))
    # WHEN the pipeline runs THEN line 1 is refused for its length
    execution = pipeline.run(_input(dataset))
    _failed(
        pipeline,
        execution,
        error="DatasetInvalid",
        reason=f"{dataset}data.jsonl line 1 exceeds the record limit of 1,024 KiB (training.dataset.max_record_kb): "
        "more than 1,024 KiB so far; it starts with '[': a JSON array is not JSON Lines (write one object per line)",
        subject="GenAI kit fine-tuning refused the dataset",
    )
    _assert_nothing_created(pipeline)


def test_failed_training_job_notifies_its_failure_reason_not_the_api_response(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(status="Failed", loss=None, reason="ClientError: out of Neuron device memory")
    execution = pipeline.run(_input(dataset))
    (job,) = pipeline.training_jobs()
    _failed(
        pipeline,
        execution,
        error="TrainingJobFailed",
        reason=f"Training job {job} failed: ClientError: out of Neuron device memory (its log streams are "
        f"/aws/sagemaker/TrainingJobs {job}/*)",
        subject="GenAI kit fine-tuning failed at Train",
    )
    assert pipeline.model_packages() == []
    assert pipeline.artifacts() == []
    assert pipeline.endpoints() == []


def test_a_job_stopped_at_its_maximum_run_time_says_so(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(status="Stopped", secondary="MaxRuntimeExceeded", loss=None)
    execution = pipeline.run(_input(dataset))
    (job,) = pipeline.training_jobs()
    assert execution["error"] == "TrainingJobFailed"
    assert execution["cause"] == (
        f"Training job {job} was stopped at its maximum run time of 360000 s (training.max_runtime_seconds) "
        f"(its log streams are /aws/sagemaker/TrainingJobs {job}/*)"
    )
    assert pipeline.notifications()[0]["reason"] == execution["cause"]
    assert pipeline.model_packages() == []


class ResourceLimitExceededError(SagemakerClientError):
    code = "ResourceLimitExceeded"


def test_a_job_sagemaker_refuses_to_create_is_notified_with_sagemakers_message(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an account whose Trainium training quota is 0
    quota = "The account-level service limit 'ml.trn1.32xlarge for training job usage' is 0 Instances"

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ResourceLimitExceededError(quota)

    monkeypatch.setattr(sagemaker_backends[ACCOUNT][REGION], "create_training_job", refuse)
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    # WHEN the pipeline runs
    execution = pipeline.run(_input(dataset))
    # THEN it fails at Train with SageMaker's message (moto names the error States.Runtime; Step Functions names it
    # SageMaker.AmazonSageMakerException and retries it first), and nothing was created
    assert execution["error"] == "TrainingJobFailed"
    job = SageMakerSync.requests[0]["TrainingJobName"]
    assert execution["cause"].startswith(f"SageMaker did not create training job {job}: ")
    assert "(ResourceLimitExceeded) when calling the CreateTrainingJob operation" in execution["cause"]
    assert execution["cause"].endswith(quota)
    (notification,) = pipeline.notifications()
    assert (notification["subject"], notification["reason"]) == (
        "GenAI kit fine-tuning failed at Train",
        execution["cause"],
    )
    _assert_nothing_created(pipeline)


def test_an_error_in_a_step_notifies_the_step_and_the_error_without_its_trace(pipeline: Pipeline) -> None:
    # GIVEN a run whose evaluation report cannot be written (the artifacts bucket is gone)
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained()
    pipeline.environment_of("lambdas.training_evaluate.handler.handler")["ARTIFACTS_BUCKET"] = "gone-bucket"
    # WHEN the pipeline runs
    execution = pipeline.run(_input(dataset))
    # THEN it fails at Evaluate with the Lambda's error type and message, after training, registering nothing
    _failed(
        pipeline,
        execution,
        error="PipelineError",
        reason="Evaluate failed: NoSuchBucket: An error occurred (NoSuchBucket) when calling the PutObject "
        "operation: The specified bucket does not exist",
        subject="GenAI kit fine-tuning failed at Evaluate",
    )
    assert len(pipeline.training_jobs()) == 1
    assert pipeline.model_packages() == []
    assert pipeline.endpoints() == []


def test_a_crash_of_the_input_check_on_an_odd_input_still_notifies(pipeline: Pipeline) -> None:
    # GIVEN a check that cannot read its settings, and an input no path could be read from
    pipeline.environment_of("lambdas.training_prepare.handler.check_input")["PIPELINE_SETTINGS_PATH"] = "/missing.json"
    # WHEN an execution starts
    execution = pipeline.run_raw("[1, 2]")
    # THEN the error is caught, described and notified
    _failed(
        pipeline,
        execution,
        error="PipelineError",
        reason="CheckInput failed: FileNotFoundError: [Errno 2] No such file or directory: '/missing.json'",
        subject="GenAI kit fine-tuning failed at CheckInput",
    )
    assert pipeline.states_entered(execution)[:3] == ["CheckInput", "CheckInputErrored", "DescribeFailure"]
    _assert_nothing_created(pipeline)


def test_when_describing_the_failure_fails_too_the_error_itself_is_notified(pipeline: Pipeline) -> None:
    pipeline.environment_of("lambdas.training_prepare.handler.check_input")["PIPELINE_SETTINGS_PATH"] = "/missing.json"
    pipeline.environment_of("lambdas.training_failure.handler.handler")["STEPS"] = "not JSON"
    execution = pipeline.run_raw('"run"')
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PipelineError"
    assert json.loads(execution["cause"])["Error"] == "FileNotFoundError"
    assert pipeline.states_entered(execution)[-5:] == [
        "DescribeFailure",
        "FailureNotDescribed",
        "Notify",
        "OutcomeSucceeded?",
        "Failed",
    ]
    (notification,) = pipeline.notifications()
    assert (notification["subject"], notification["reason"]) == (
        "GenAI kit fine-tuning failed (pipeline error)",
        execution["cause"],
    )
    _assert_nothing_created(pipeline)


def test_a_notification_that_cannot_be_sent_fails_the_execution_by_name(pipeline: Pipeline) -> None:
    pipeline.delete_topic()
    execution = pipeline.run_raw("[1, 2]")
    assert execution["status"] == "FAILED"
    assert execution["error"] == "NotificationFailed"
    assert pipeline.states_entered(execution)[-2:] == ["Notify", "NotificationFailed"]
    _assert_nothing_created(pipeline)


def test_metrics_below_the_bar_reject_the_model_with_the_numbers(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained(loss=2.5)
    execution = pipeline.run(_input(dataset))
    (job,) = pipeline.training_jobs()
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ModelRejected"
    assert execution["cause"] == (
        f"training job {job} missed the bar: {TRAIN_LOSS} 2.5 is above the maximum 1 (final metrics: {TRAIN_LOSS}=2.5)"
    )
    (notification,) = pipeline.notifications()
    assert (notification["status"], notification["reason"]) == ("REJECTED", execution["cause"])
    assert pipeline.model_packages() == []
    assert pipeline.artifacts() == [f"training/evaluation/{job}/metrics.json"]
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
    _assert_nothing_created(pipeline)


def test_hyperparameter_out_of_range_fails_before_training(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    execution = pipeline.run(_input(dataset, hyperparameters={"learning_rate": 5}))
    assert execution["status"] == "FAILED"
    assert execution["error"] == "HyperparameterInvalid"
    assert "'learning_rate'" in execution["cause"]
    assert "allowed <= 1" in execution["cause"]
    (notification,) = pipeline.notifications()
    assert notification["error"] == "HyperparameterInvalid"
    _assert_nothing_created(pipeline)


def test_a_rerun_with_the_same_name_never_starts_a_second_job(pipeline: Pipeline) -> None:
    dataset = pipeline.upload_dataset("notes", "valid.jsonl")
    pipeline.when_trained()
    pipeline.run(_input(dataset), name="nightly")
    jobs = pipeline.training_jobs()
    assert len(jobs) == 1
    assert jobs[0].startswith("genai-kit-dev-ft-nightly-")
