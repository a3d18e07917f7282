"""The first two steps of the fine-tuning pipeline, CheckInput and Prepare (the logic is in training_job.py).

``check_input`` is the state machine's first state and receives the execution input itself, whatever JSON value
it is: no path of the state machine reads the input before it has been checked. ``handler`` (Prepare) receives
the checked input with the execution's name and id, which the training job's name and the model package's
idempotency token derive from.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.training_prepare.settings import environment, load_settings
from lambdas.training_prepare.training_job import CheckedInput, PrepareError, check_execution_input, prepare

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def check_input(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Event: the execution input, any JSON value.

    Returns ``{"ok": true, "input": <CheckedInput>}`` or ``{"ok": false, "error": <name>, "reason": <message>}``
    (at most 2,000 characters whatever the input); the state machine turns a refusal into a notification and
    a failed execution.
    """
    try:
        checked = check_execution_input(event, settings=load_settings(), env=environment())
    except PrepareError as error:
        logger.warning("execution input refused", extra={"error": error.error, "reason": str(error)})
        metrics.add_metric(name="InputRefused", unit=MetricUnit.Count, value=1)
        return {"ok": False, "error": error.error, "reason": str(error)}
    metrics.add_metric(name="InputAccepted", unit=MetricUnit.Count, value=1)
    return {"ok": True, "input": checked.model_dump(mode="json")}


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: ``{"input": <CheckedInput>, "execution": {"name": ..., "id": ...}}``; returns what ``prepare`` does."""
    execution = event["execution"]
    result = prepare(
        CheckedInput.model_validate(event["input"]),
        execution_name=execution["name"],
        execution_id=execution["id"],
        settings=load_settings(),
        env=environment(),
    )
    metrics.add_metric(name="TrainingJobPrepared", unit=MetricUnit.Count, value=1)
    logger.info("training job prepared", extra={"training_job_name": result["trainingJobName"]})
    return result
