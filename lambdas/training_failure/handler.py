"""DescribeFailure step of the fine-tuning pipeline: say why a step failed before the pipeline notifies.

Every step's Catch leads here with the error output at ``$.error``; this step receives the whole state and
returns ``{"step": <state name>, "error": "TrainingJobFailed" | "TuningJobFailed" | "PipelineError",
"reason": <one line>}`` (the logic is in failure.py). Its environment (the pipeline's steps and the one that
trains) is the contract in ``genai_kit.contracts.training_failure``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from lambdas.shared.aws import client
from lambdas.training_failure.failure import JobNotDescribed, Step, describe_failure
from lambdas.training_failure.settings import environment

# DescribeTrainingJob for a name SageMaker does not know: ResourceNotFound in its API model, ValidationException
# ("Requested resource not found") in its answers.
_NOT_FOUND = ("ResourceNotFound", "ValidationException")

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: the state machine's state when a step failed (``error`` holds the step's error output)."""
    settings = environment()
    failure = describe_failure(
        event,
        steps=[Step(state, result) for state, result in settings.steps],
        training_step=settings.training_step,
        describe_training_job=describe_training_job,
        describe_tuning_job=describe_tuning_job,
        preparation_step=settings.preparation_step,
    )
    logger.warning("pipeline step failed", extra=failure.as_output())
    metrics.add_metric(name="StepFailed", unit=MetricUnit.Count, value=1)
    return failure.as_output()


def describe_tuning_job(name: str) -> dict[str, Any] | None:
    """The tuning job's description, or None when SageMaker has no such job; raises JobNotDescribed otherwise."""
    try:
        return dict(client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))
    except ClientError as error:
        if error.response["Error"]["Code"] in _NOT_FOUND:
            return None
        raise JobNotDescribed(error.response["Error"]["Code"]) from None


def describe_training_job(name: str) -> dict[str, Any] | None:
    """The job's description, or None when SageMaker has no such job; raises JobNotDescribed otherwise."""
    try:
        return dict(client("sagemaker").describe_training_job(TrainingJobName=name))
    except ClientError as error:
        if error.response["Error"]["Code"] in _NOT_FOUND:
            return None
        raise JobNotDescribed(error.response["Error"]["Code"]) from None
