"""Deploy on approval: roll an approved fine-tuned model version out to its Inferentia2 endpoint.

Triggered by EventBridge ("SageMaker Model Package State Change") for the kit's model package group:

- ``Approved``: create the SageMaker model (the package's inference specification, network isolation on,
  the serving role) and an endpoint config (the configured inf2 type, KMS, Neuron timeouts, data capture),
  both named ``<prefix>-v<version>``; then update the endpoint blue/green with the auto-rollback alarms,
  or create it when it does not exist yet. Returns once SageMaker accepted the update: the new fleet
  starts, bakes and takes the traffic (or rolls back on an alarm) on its own.
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
The logic is in :mod:`lambdas.training_deploy.rollout`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.training_deploy.events import PackageStateChange
from lambdas.training_deploy.rollout import on_package_state_change
from lambdas.training_deploy.settings import Environment

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# What an invocation keeps after waiting for a deletion: CreateEndpoint, clean-up and the notification, with retries.
RESERVED_SECONDS = 60


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Roll out an approved version, notify on a rejected one; re-raise any failure after notifying it."""
    change = parse(event=event, model=PackageStateChange)
    # Replacing a Failed endpoint waits for its deletion; keep time to create it and to report a failure.
    wait_seconds = max(0.0, context.get_remaining_time_in_millis() / 1000 - RESERVED_SECONDS)
    return on_package_state_change(change.detail, Environment.from_os(), wait_seconds=wait_seconds)
