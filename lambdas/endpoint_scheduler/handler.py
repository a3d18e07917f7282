"""Starts and stops the scheduled endpoints, and registers each for autoscaling once it is in service.

Invoked asynchronously by:

- EventBridge Scheduler, at each start and stop of an endpoint's window, with ``{"endpoint": <name>, "action":
  "start" | "stop"}`` (``stacks/constructs/endpoint_scheduler.py``):

  - ``stop``: DeleteEndpoint (after releasing the variant's scalable target). Nothing to do when it is gone or
    being deleted, or when the window is open (a late or repeated event).
  - ``start``: CreateEndpoint from the endpoint config CloudFormation manages (its current name is in the
    environment), with the deployment config and tags a deploy gives it. Nothing to do when it exists and is not
    Failed, or when the window is closed for more than ``START_EARLY_SECONDS``. A Failed endpoint (SageMaker lets
    nobody update it) is deleted, and the invocation fails so that Lambda's retry creates it once it is gone.

- EventBridge, on every "SageMaker Endpoint State Change" of a scheduled endpoint: once the endpoint is InService
  its variant is registered for autoscaling again (DeleteEndpoint deregistered it); a Failed endpoint is told to
  the topic. The function reads the status from DescribeEndpoint, so the event only says when to look.

Every failure publishes the reason to the topic and re-raises: Lambda runs the event twice more, then keeps its
record in the failure queue, whose alarm pages the topic. Handling an event again is safe: each action checks what
exists first. An endpoint of the same name the schedule did not create (no owner tag) is never deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from genai_kit.contracts.base import environment_reader
from genai_kit.contracts.endpoint_scheduler import ScheduledEndpointSettings, SchedulerEnvironment
from lambdas.shared.aws import client
from lambdas.shared.endpoints import (
    BUSY,
    OWNER_TAG,
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    owned,
    register,
)

logger = Logger()
environment = environment_reader(SchedulerEnvironment)

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# A start delivered this long before its window opens still starts the endpoint (Scheduler's precision is a minute).
START_EARLY_SECONDS = 300
# SNS limits a subject to 100 characters.
_SUBJECT_MAX = 100


class SchedulerError(RuntimeError):
    """The action did not reach its state; Lambda runs the event again (the message says why)."""


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route a schedule's event or an endpoint state change; returns ``{"endpoint", "result"}``."""
    env = environment()
    name = _endpoint_name(event)
    settings = env.endpoints.get(name)
    if settings is None:
        raise SchedulerError(f"endpoint {name!r} has no schedule in this stage; scheduled: {sorted(env.endpoints)}")
    action = "state" if event.get("detail-type") == ENDPOINT_STATE_CHANGE else str(event.get("action"))
    try:
        if action == "start":
            result = start(name, settings, env, now=datetime.now(UTC))
        elif action == "stop":
            result = stop(name, settings, now=datetime.now(UTC))
        elif action == "state":
            result = on_state_change(name, settings, env)
        else:
            raise SchedulerError(f"action {action!r} is not one of start, stop")
    except Exception as error:
        notify(env, f"{name}: scheduled {action} failed", f"{type(error).__name__}: {error}", endpoint=name)
        raise
    logger.info("done", extra={"endpoint": name, "action": action, "result": result})
    return {"endpoint": name, "result": result}


def start(name: str, settings: ScheduledEndpointSettings, env: SchedulerEnvironment, *, now: datetime) -> str:
    """Create the endpoint if it is absent (``creating``); see the module's docstring for the other outcomes."""
    schedule = settings.schedule
    if not schedule.is_open(now) and schedule.seconds_until_start(now) > START_EARLY_SECONDS:
        logger.warning("start outside the window: ignored", extra={"endpoint": name})
        return "outside-window"
    endpoint = describe_endpoint(name)
    if endpoint is not None:
        _require_owned(name, endpoint)
        status = endpoint.get("EndpointStatus")
        if status == "Deleting":
            raise SchedulerError(f"endpoint {name} is still being deleted; the next attempt creates it")
        if status == "Failed":
            reason = endpoint.get("FailureReason", "no reason given")
            delete_endpoint(name, settings.scaling.variant_name)
            raise SchedulerError(f"endpoint {name} was Failed ({reason}): deleted it; the next attempt creates it")
        if status == "InService":
            register(f"endpoint/{name}/variant/{settings.scaling.variant_name}", settings.scaling.registration())
            return "running"
        return "starting"
    create_endpoint(name, settings.endpoint_config_name, settings.deployment_config, env.tags)
    return "creating"


def stop(name: str, settings: ScheduledEndpointSettings, *, now: datetime) -> str:
    """Delete the endpoint (``deleting``); nothing when it is gone (``stopped``) or the window is open."""
    if settings.schedule.is_open(now):
        logger.warning("stop inside the window: ignored", extra={"endpoint": name})
        return "inside-window"
    endpoint = describe_endpoint(name)
    if endpoint is None:
        return "stopped"
    _require_owned(name, endpoint)
    if endpoint.get("EndpointStatus") == "Deleting":
        return "deleting"
    delete_endpoint(name, settings.scaling.variant_name)
    return "deleting"


def on_state_change(name: str, settings: ScheduledEndpointSettings, env: SchedulerEnvironment) -> str:
    """Register the variant of an InService endpoint (``registered``); tell the topic of a Failed one."""
    endpoint = describe_endpoint(name)
    if endpoint is None:
        return "absent"
    status = endpoint.get("EndpointStatus")
    if status == "InService":
        register(f"endpoint/{name}/variant/{settings.scaling.variant_name}", settings.scaling.registration())
        return "registered"
    if status == "Failed":
        reason = endpoint.get("FailureReason", "no reason given")
        notify(
            env, f"{name}: endpoint failed", f"{reason}; the next start deletes it and creates it again", endpoint=name
        )
        return "failed"
    return "busy" if status in BUSY else str(status).lower()


def notify(env: SchedulerEnvironment, subject: str, reason: str, **fields: Any) -> None:
    """Publish ``{"subject", "reason", **fields}`` to the alarm topic (``Subject`` cut to 100 characters)."""
    message = {"subject": subject, "reason": reason, **fields}
    client("sns").publish(TopicArn=env.topic_arn, Subject=subject[:_SUBJECT_MAX], Message=json.dumps(message))


def _require_owned(name: str, endpoint: dict[str, Any]) -> None:
    if not owned(endpoint["EndpointArn"]):
        raise SchedulerError(
            f"endpoint {name} exists without the {OWNER_TAG} tag: the schedule did not create it, so it leaves it alone"
        )


def _endpoint_name(event: dict[str, Any]) -> str:
    if event.get("detail-type") == ENDPOINT_STATE_CHANGE:
        name = event.get("detail", {}).get("EndpointName")
    else:
        name = event.get("endpoint")
    if not isinstance(name, str) or not name:
        raise SchedulerError(f"event names no endpoint: {json.dumps(event)[:500]}")
    return name
