"""The DescribeFailure step: which step failed and why, in one line; the training job's reason from moto SageMaker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.training_failure.failure import (
    CAUSE_MAX_CHARS,
    JobNotDescribed,
    Step,
    describe_failure,
    error_text,
    failed_step,
)
from lambdas.training_failure.handler import describe_training_job
from stacks.constructs.training_layout import STEPS as PIPELINE_STEPS
from stacks.constructs.training_layout import TRAIN_STEP
from tests.lambdas.conftest import REGION

STEPS = [Step(state, result) for state, result in PIPELINE_STEPS]
EVALUATE_FAILED = json.loads((Path(__file__).parent / "events" / "pipeline_state_evaluate_failed.json").read_text())
JOB = "genai-kit-dev-ft-run-1-0d3c0c1e"
QUOTA = (
    "The account-level service limit 'ml.trn1.32xlarge for training job usage' is 0 Instances, with current "
    "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request an "
    "increase for this quota."
)


def _training_failed(error: str = "States.TaskFailed", cause: str = "{}") -> dict[str, Any]:
    state = {key: value for key, value in EVALUATE_FAILED.items() if key in ("checked", "prepared", "dataset")}
    return {**state, "error": {"Error": error, "Cause": cause}}


def _describe(state: dict[str, Any], job: dict[str, Any] | None = None) -> dict[str, str]:
    return describe_failure(
        state, steps=STEPS, training_step=TRAIN_STEP, describe_training_job=lambda name: job
    ).as_output()


def test_the_failed_step_is_the_first_without_a_result() -> None:
    assert failed_step({"error": {}}, STEPS) == "CheckInput"
    assert failed_step({"checked": {}, "error": {}}, STEPS) == "Prepare"
    assert failed_step(EVALUATE_FAILED, STEPS) == "Evaluate"


def test_a_lambda_error_is_its_type_and_message_without_the_stack_trace() -> None:
    assert _describe(EVALUATE_FAILED) == {
        "step": "Evaluate",
        "error": "PipelineError",
        "reason": "Evaluate failed: NoSuchBucket: An error occurred (NoSuchBucket) when calling the PutObject "
        "operation: The specified bucket does not exist",
    }


@pytest.mark.parametrize(
    ("cause", "text"),
    [
        (None, "States.Timeout"),
        ("", "States.Timeout"),
        ("Task timed out after 900.00 seconds", "States.Timeout: Task timed out after 900.00 seconds"),
        ("x" * 5000, f"States.Timeout: {'x' * (CAUSE_MAX_CHARS - 19)}..."),
    ],
)
def test_any_other_error_is_its_name_and_its_cause_cut_to_a_length(cause: str | None, text: str) -> None:
    assert error_text("States.Timeout", cause) == text
    assert len(error_text("States.Timeout", cause)) <= CAUSE_MAX_CHARS


@pytest.mark.parametrize(
    ("job", "reason"),
    [
        (
            {"TrainingJobStatus": "Failed", "SecondaryStatus": "Failed", "FailureReason": "AlgorithmError: OOM"},
            f"Training job {JOB} failed: AlgorithmError: OOM (its log streams are /aws/sagemaker/TrainingJobs {JOB}/*)",
        ),
        (
            {
                "TrainingJobStatus": "Stopped",
                "SecondaryStatus": "MaxWaitTimeExceeded",
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
            },
            f"Training job {JOB} was stopped: waiting for spot capacity and training took more than 7200 s "
            f"(training.spot.max_wait_seconds) (its log streams are /aws/sagemaker/TrainingJobs {JOB}/*)",
        ),
        (
            {"TrainingJobStatus": "Stopped", "SecondaryStatus": "Stopped"},
            f"Training job {JOB} was stopped (its log streams are /aws/sagemaker/TrainingJobs {JOB}/*)",
        ),
        (
            {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training"},
            f"Train failed while training job {JOB} is InProgress (Training): States.TaskFailed (its cause, a JSON "
            f"document, is in the execution's history); it still runs and bills: aws sagemaker stop-training-job "
            f"--training-job-name {JOB}",
        ),
    ],
)
def test_a_training_failure_is_told_from_the_job_itself(job: dict[str, Any], reason: str) -> None:
    # GIVEN the Train step failed with a cause that is the whole API response
    state = _training_failed(cause=json.dumps({**job, "HyperParameters": {"a": "1"}, "RoleArn": "arn"}))
    # THEN the reason is the job's own, and none of the response
    assert _describe(state, job) == {"step": "Train", "error": "TrainingJobFailed", "reason": reason}


def test_a_job_sagemaker_refused_to_create_is_told_with_sagemakers_message() -> None:
    state = _training_failed(
        "SageMaker.AmazonSageMakerException", f"{QUOTA} (Service: AmazonSageMaker; Status Code: 400)"
    )
    assert _describe(state, None)["reason"] == (
        f"SageMaker did not create training job {JOB}: SageMaker.AmazonSageMakerException: {QUOTA} (Service: "
        "AmazonSageMaker; Status Code: 400)"
    )


def test_a_job_that_cannot_be_described_is_told_from_the_step_error() -> None:
    def denied(name: str) -> dict[str, Any]:
        raise JobNotDescribed("AccessDeniedException")

    failure = describe_failure(
        _training_failed("States.TaskFailed", "Training job failed"),
        steps=STEPS,
        training_step=TRAIN_STEP,
        describe_training_job=denied,
    )
    assert failure.reason == (
        f"Train failed for training job {JOB}: States.TaskFailed: Training job failed "
        "(not described: AccessDeniedException)"
    )


@pytest.mark.usefixtures("aws")
def test_sagemaker_is_asked_for_the_job_and_a_missing_one_is_none() -> None:
    assert describe_training_job(JOB) is None
    boto3.client("sagemaker", region_name=REGION).create_training_job(
        TrainingJobName=JOB,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/training",
        OutputDataConfig={"S3OutputPath": "s3://artifacts/training/output/"},
        ResourceConfig={"InstanceType": "ml.trn1.32xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    sagemaker_backends["123456789012"][REGION].training_jobs[JOB].training_job_status = "Failed"
    job = describe_training_job(JOB)
    assert job is not None
    assert job["TrainingJobStatus"] == "Failed"


TUNING_JOB = "genai-kit-dev-ft-0d3c0c1e"


def _tuning_failed(job: dict[str, Any] | None, raises: Exception | None = None) -> dict[str, str]:
    state = _training_failed()
    state["prepared"] = {**state["prepared"], "tuningJobName": TUNING_JOB}

    def describe(name: str) -> dict[str, Any] | None:
        assert name == TUNING_JOB
        if raises is not None:
            raise raises
        return job

    return describe_failure(
        state,
        steps=STEPS,
        training_step=TRAIN_STEP,
        describe_training_job=lambda name: pytest.fail("a tuning run's training job is not described"),
        describe_tuning_job=describe,
    ).as_output()


LISTING = (
    f"aws sagemaker list-training-jobs-for-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {TUNING_JOB}"
)


def test_a_failed_tuning_job_gives_its_reason_and_how_its_training_jobs_ended() -> None:
    job = {
        "HyperParameterTuningJobStatus": "Failed",
        "FailureReason": "No training job succeeded after 5 attempts.",
        "TrainingJobStatusCounters": {"Completed": 0, "NonRetryableError": 5, "Stopped": 1},
    }
    assert _tuning_failed(job) == {
        "step": "Train",
        "error": "TuningJobFailed",
        "reason": f"Tuning job {TUNING_JOB} failed: No training job succeeded after 5 attempts. (training jobs: "
        f"NonRetryableError 5, Stopped 1; {LISTING})",
    }


def test_a_stopped_tuning_job_without_a_reason_says_so() -> None:
    job = {"HyperParameterTuningJobStatus": "Stopped", "TrainingJobStatusCounters": {}}
    assert _tuning_failed(job)["reason"] == f"Tuning job {TUNING_JOB} stopped (training jobs: none; {LISTING})"


def test_a_tuning_job_still_running_when_the_step_failed_gives_the_command_that_stops_it() -> None:
    reason = _tuning_failed({"HyperParameterTuningJobStatus": "InProgress"})["reason"]
    assert reason == (
        f"Train failed while tuning job {TUNING_JOB} is InProgress: States.TaskFailed (its cause, a JSON document, is "
        "in the execution's history); it still runs and bills: aws sagemaker stop-hyper-parameter-tuning-job "
        f"--hyper-parameter-tuning-job-name {TUNING_JOB}"
    )


def test_a_tuning_job_sagemaker_did_not_create_or_that_cannot_be_described() -> None:
    assert _tuning_failed(None)["reason"].startswith(f"SageMaker did not create tuning job {TUNING_JOB}: ")
    described = _tuning_failed(None, raises=JobNotDescribed("AccessDeniedException"))
    assert described["error"] == "TuningJobFailed"
    assert described["reason"].endswith("(not described: AccessDeniedException)")
