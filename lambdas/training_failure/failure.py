"""Why a step of the fine-tuning pipeline failed, in the words a person needs: what the notification says.

A step's error output (``{"Error": ..., "Cause": ...}``) is written for machines: a failed ``.sync`` training job's
cause is the whole DescribeTrainingJob response, a Lambda's is a JSON object with a stack trace. This turns it
into one line: for the training step, the job's own ``FailureReason`` (or why it stopped, or why SageMaker did not
create it); for a Lambda, its error type and message; otherwise the error name and its cause, cut to a length.

Which step failed is read from the state: the steps write their results under known keys, in order, so the
failed one is the first whose result is missing (``Step``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The reason is part of the state machine's data, the Fail state's cause (at most 32,768 characters) and the
# notification: a cause is cut here, SageMaker's FailureReason is at most 1,024 characters (botocore's model).
CAUSE_MAX_CHARS = 1000
TRAINING_JOB_FAILED = "TrainingJobFailed"
TUNING_JOB_FAILED = "TuningJobFailed"
PREPARATION_JOB_FAILED = "PreparationJobFailed"
PIPELINE_ERROR = "PipelineError"
TRAINING_JOBS_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class JobNotDescribed(Exception):  # noqa: N818  (a state, as SageMaker's ResourceNotFound)
    """The training job exists or may exist, but its description could not be read (permissions, throttling)."""


@dataclass(frozen=True)
class Step:
    """A step of the pipeline: its state name and the key its result is written under."""

    state: str
    result: str


@dataclass(frozen=True)
class Failure:
    """What the notification says: the step, the error name the execution fails with, and the reason."""

    step: str
    error: str
    reason: str

    def as_output(self) -> dict[str, str]:
        return {"step": self.step, "error": self.error, "reason": self.reason}


def failed_step(state: Mapping[str, Any], steps: Sequence[Step]) -> str:
    """The first step whose result the state lacks (the last one if it has them all)."""
    return next((step.state for step in steps if step.result not in state), steps[-1].state)


def describe_failure(
    state: Mapping[str, Any],
    *,
    steps: Sequence[Step],
    training_step: str,
    describe_training_job: Callable[[str], Mapping[str, Any] | None],
    describe_tuning_job: Callable[[str], Mapping[str, Any] | None] | None = None,
    preparation_step: str | None = None,
) -> Failure:
    """Explain the error at ``state["error"]`` of the step that failed.

    ``describe_training_job(name)`` returns the job's description, None when SageMaker has no such job, or raises
    JobNotDescribed; the reason then rests on the step's error alone. ``describe_tuning_job`` does the same for a
    tuning job (DescribeHyperParameterTuningJob): the training step ran one when Prepare named it.
    ``preparation_step``: the state that prepares a trained model for serving (a training job Prepare named
    ``serving.jobName``), explained from that job's description like the training step.
    """
    step = failed_step(state, steps)
    error = state.get("error") or {}
    name = str(error.get("Error") or "Unknown")
    cause = error.get("Cause")
    prepared = state.get("prepared")
    if step == training_step and isinstance(prepared, Mapping) and "tuningJobName" in prepared and describe_tuning_job:
        tuning_name = str(prepared["tuningJobName"])
        try:
            job = describe_tuning_job(tuning_name)
        except JobNotDescribed as problem:
            reason = f"{step} failed for tuning job {tuning_name}: {error_text(name, cause)} (not described: {problem})"
            return Failure(step, TUNING_JOB_FAILED, reason)
        return Failure(step, TUNING_JOB_FAILED, tuning_reason(step, tuning_name, job, name, cause))
    if step == training_step and isinstance(prepared, Mapping):
        return _job_failure(step, str(prepared["trainingJobName"]), describe_training_job, name, cause)
    serving = prepared.get("serving") if isinstance(prepared, Mapping) else None
    if step == preparation_step and isinstance(serving, Mapping):
        return _job_failure(step, str(serving["jobName"]), describe_training_job, name, cause, kind="Preparation job")
    return Failure(step, PIPELINE_ERROR, f"{step} failed: {error_text(name, cause)}")


def _job_failure(
    step: str,
    job_name: str,
    describe: Callable[[str], Mapping[str, Any] | None],
    error: str,
    cause: Any,
    *,
    kind: str = "Training job",
) -> Failure:
    """The failure of ``step``, explained from the description of the training job it ran (see training_reason)."""
    failed = TRAINING_JOB_FAILED if kind == "Training job" else PREPARATION_JOB_FAILED
    try:
        job = describe(job_name)
    except JobNotDescribed as problem:
        reason = f"{step} failed for {kind.lower()} {job_name}: {error_text(error, cause)} (not described: {problem})"
        return Failure(step, failed, reason)
    return Failure(step, failed, training_reason(step, job_name, job, error, cause, kind=kind))


def training_reason(
    step: str, job_name: str, job: Mapping[str, Any] | None, error: str, cause: Any, *, kind: str = "Training job"
) -> str:
    """One line on how training job ``job_name`` ended, from its description (DescribeTrainingJob), or on why
    ``step`` failed (with ``error`` and ``cause``) when the job did not end that way or was never created.
    ``kind``: what the job is called ("Training job", or "Preparation job" for the job that compiles a trained
    model for serving, whose time limit is not the configured training one)."""
    if job is None:
        return f"SageMaker did not create {kind.lower()} {job_name}: {error_text(error, cause)}"
    status = job.get("TrainingJobStatus")
    secondary = job.get("SecondaryStatus")
    stopping = job.get("StoppingCondition") or {}
    reason = job.get("FailureReason")
    logs = f"its log streams are {TRAINING_JOBS_LOG_GROUP} {job_name}/*"
    if status == "Failed":
        return f"{kind} {job_name} failed: {reason or secondary or 'no reason given'} ({logs})"
    if status == "Stopped" and secondary == "MaxRuntimeExceeded":
        setting = " (training.max_runtime_seconds)" if kind == "Training job" else ""
        return (
            f"{kind} {job_name} was stopped at its maximum run time of {stopping.get('MaxRuntimeInSeconds')} s"
            f"{setting} ({logs})"
        )
    if status == "Stopped" and secondary == "MaxWaitTimeExceeded":
        return (
            f"Training job {job_name} was stopped: waiting for spot capacity and training took more than "
            f"{stopping.get('MaxWaitTimeInSeconds')} s (training.spot.max_wait_seconds) ({logs})"
        )
    if status == "Stopped":
        return f"{kind} {job_name} was stopped{': ' + reason if reason else ''} ({logs})"
    running = (
        f"; it still runs and bills: aws sagemaker stop-training-job --training-job-name {job_name}"
        if status == "InProgress"
        else ""
    )
    return (
        f"{step} failed while {kind.lower()} {job_name} is {status} ({secondary}): {error_text(error, cause)}{running}"
    )


def tuning_reason(step: str, job_name: str, job: Mapping[str, Any] | None, error: str, cause: Any) -> str:
    """One line on how tuning job ``job_name`` ended, from its description (DescribeHyperParameterTuningJob): its
    FailureReason (e.g. no training job succeeded) and how many training jobs ended how."""
    if job is None:
        return f"SageMaker did not create tuning job {job_name}: {error_text(error, cause)}"
    status = job.get("HyperParameterTuningJobStatus")
    counters = job.get("TrainingJobStatusCounters") or {}
    jobs = ", ".join(f"{key} {value}" for key, value in sorted(counters.items()) if value) or "none"
    listing = (
        f"aws sagemaker list-training-jobs-for-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {job_name}"
    )
    if status in ("Failed", "Stopped"):
        reason = job.get("FailureReason")
        ended = f"{status.lower()}: {reason}" if reason else status.lower()
        return f"Tuning job {job_name} {ended} (training jobs: {jobs}; {listing})"
    running = (
        f"; it still runs and bills: aws sagemaker stop-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name "
        f"{job_name}"
        if status == "InProgress"
        else ""
    )
    return f"{step} failed while tuning job {job_name} is {status}: {error_text(error, cause)}{running}"


def error_text(error: str, cause: Any) -> str:
    """``<error>: <message>``: a Lambda's error type and message without its stack trace, an API's message cut to
    a length; a cause that is a JSON document of another kind (an integration's whole response) is left out."""
    if not isinstance(cause, str) or not cause.strip():
        return error
    try:
        parsed = json.loads(cause)
    except ValueError:
        return _cut(f"{error}: {cause.strip()}")
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return _cut(f"{parsed.get('errorType') or error}: {parsed['errorMessage']}")
    if isinstance(parsed, dict | list):
        return f"{error} (its cause, a JSON document, is in the execution's history)"
    return _cut(f"{error}: {cause.strip()}")


def _cut(text: str) -> str:
    return text if len(text) <= CAUSE_MAX_CHARS else f"{text[: CAUSE_MAX_CHARS - 3]}..."
