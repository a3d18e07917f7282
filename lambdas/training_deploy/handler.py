"""Deploy on approval: roll an approved fine-tuned version out to its Inferentia2 endpoint, and report how it went.

Two EventBridge events invoke the function (asynchronously):

"SageMaker Model Package State Change" for the kit's model package group (:mod:`lambdas.training_deploy.rollout`):

- ``Approved``: create the SageMaker model (the package's inference specification, network isolation on,
  the serving role) and an endpoint config (the configured inf2 type, KMS, Neuron timeouts, data capture),
  both named ``<prefix>-v<version>``; then update the endpoint blue/green with the auto-rollback alarms,
  or create it when it does not exist yet (``UPDATING``, ``CREATING``). Returns once SageMaker accepted the call.
- ``Rejected``: notify the topic; nothing changes.

Before anything is created, an approval is refused (``REFUSED``) when the version's model data is missing or
unreadable, and ignored (``SUPERSEDED``) when the endpoint serves or moves to a newer version that is still
Approved: the endpoint follows the newest approved version, so a late, out-of-order or repeated approval of an
older one never takes it back. Going back is deliberate: reject the newer version, then send the older one's
event again. Both outcomes are notified and leave the endpoint as it was.

A ``Failed`` endpoint (SageMaker allows only DeleteEndpoint on it) is deleted and created again on the approved
version, whatever version it failed on (``RECREATING``); the invocation waits for the deletion while its timeout
allows, and a later attempt with the same event finishes the job.

Names derive from the version, so a redelivered event finds the model and config it already made and an
endpoint already serving (or moving to) them, and changes nothing. On any failure the function deletes
what it created itself unless the endpoint uses it, publishes the reason to the topic and re-raises.

"SageMaker Endpoint State Change" for the fine-tuned endpoint (:mod:`lambdas.training_deploy.outcome`): once
SageMaker is done with the rollout the function started, the topic hears ``SUCCEEDED``, ``ROLLED_BACK`` (SageMaker
went back to the previous version), ``ENDPOINT_FAILED`` or ``UPDATE_ROLLBACK_FAILED``, once per rollout.

An event of another shape or detail-type is notified (``UNEXPECTED_EVENT``) and fails the invocation. Lambda runs
a failed invocation twice more, then sends its record to the failure queue (``FAILURE_QUEUE_URL``), whose alarm
pages the topic; handling an event again is safe (see the retry decision in ``stacks/constructs/model_rollout.py``).
Every notification is one JSON message: ``{"status", "reason", "subject", "endpoint", ...}``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from lambdas.training_deploy.events import (
    ENDPOINT_STATE_CHANGE,
    PACKAGE_STATE_CHANGE,
    EndpointStateChange,
    PackageStateChange,
)
from lambdas.training_deploy.notifications import notify, retried_then_kept
from lambdas.training_deploy.outcome import on_endpoint_state_change
from lambdas.training_deploy.rollout import on_package_state_change
from lambdas.training_deploy.settings import Environment, environment

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# What an invocation keeps after waiting for a deletion: CreateEndpoint, clean-up and the notification, with retries.
RESERVED_SECONDS = 60


class UnexpectedEventError(ValueError):
    """An event the function cannot handle: notified, then raised so that Lambda keeps it in the failure queue."""


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle one EventBridge event; raise after notifying on a failure or an event of another shape.

    Returns what the rollout reports (``{"status": ..., "reason": ..., "modelPackageArn": ..., "endpoint": ...}``).
    Raises :class:`UnexpectedEventError` for an event that is not a model package state change of the expected
    shape, and re-raises any error of the rollout, after publishing it to the topic.
    """
    env = environment()
    kind = event.get("detail-type") if isinstance(event, dict) else type(event).__name__
    if kind not in (PACKAGE_STATE_CHANGE, ENDPOINT_STATE_CHANGE):
        unexpected(
            event, f"detail-type {kind!r} is neither {PACKAGE_STATE_CHANGE!r} nor {ENDPOINT_STATE_CHANGE!r}", env
        )
    model: type[PackageStateChange | EndpointStateChange] = (
        EndpointStateChange if kind == ENDPOINT_STATE_CHANGE else PackageStateChange
    )
    try:
        change = parse(event=event, model=model)
    except (ValidationError, InvalidModelTypeError) as error:
        unexpected(event, _problems(error), env)
    if isinstance(change, EndpointStateChange):
        return on_endpoint_state_change(change.detail, env)
    # Replacing a Failed endpoint waits for its deletion; keep time to create it and to report a failure.
    wait_seconds = max(0.0, context.get_remaining_time_in_millis() / 1000 - RESERVED_SECONDS)
    return on_package_state_change(change.detail, env, wait_seconds=wait_seconds)


def unexpected(event: Any, problem: str, env: Environment) -> NoReturn:
    """Tell the topic about an event the function cannot handle (id, detail-type, source, problem), then raise."""
    fields = {key: event.get(key) for key in ("id", "detail-type", "source")} if isinstance(event, dict) else {}
    reason = f"event {fields.get('id')} was not handled: {problem}; {retried_then_kept(env)}"
    logger.error("unexpected event", extra={"reason": reason, "event": event})
    metrics.add_metric(name="UnexpectedEvent", unit=MetricUnit.Count, value=1)
    notify(
        env,
        "UNEXPECTED_EVENT",
        f"GenAI kit deploy function got an event it cannot handle ({env.endpoint_name})",
        reason,
        event=fields,
    )
    raise UnexpectedEventError(reason)


def _problems(error: Exception) -> str:
    """``detail.ModelPackageArn: Field required; ...`` for a pydantic error, the message otherwise."""
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
    return str(error)
