"""``ScheduledEndpoint``: a scheduled endpoint at deploy time, in place of ``AWS::SageMaker::Endpoint``.

The endpoint is deleted outside its window and created again at each start (the scheduler function), so
CloudFormation must not own it: a resource it owns that disappears makes the next update or rollback fail
(CloudFormation user guide, troubleshooting "Update rollback failed"). The model and the endpoint config stay
CloudFormation resources; this resource makes the endpoint match them whenever a deploy runs.

- Create/Update: an endpoint that exists is moved to ``EndpointConfigName`` by a blue/green UpdateEndpoint (the
  ``DeploymentConfig`` an unscheduled endpoint has, keeping the instance count); an absent one is created when the
  window is open, and left absent when it is closed (the next start creates it from the config the scheduler's
  environment names). ``is_complete`` waits for InService on the config, and fails with SageMaker's reason on
  Failed or when a blue/green update rolled back.
- Create refuses an endpoint of the same name that the kit's schedule did not create (no ``OWNER_TAG``), e.g. the
  ``AWS::SageMaker::Endpoint`` of the same endpoint before a schedule was added: CloudFormation creates a new resource
  before it deletes the old one, so the deploy fails (and rolls back) before anything is deleted.
- Delete: DeleteEndpoint of an endpoint the schedule created; ``is_complete`` waits until it is gone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from genai_kit.contracts.schedule import EndpointSchedule
from lambdas.shared.endpoints import (
    BUSY,
    OWNER_TAG,
    create_endpoint,
    delete_endpoint,
    describe_endpoint,
    owned,
    update_endpoint,
)

logger = Logger()

VARIANT_NAME = "AllTraffic"


class ScheduledEndpointError(RuntimeError):
    """The endpoint cannot be brought to its configuration; the message says why and what to do."""


def on_event(properties: dict[str, Any], request_type: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Start the work of one event; returns the physical id (the endpoint's name) and, for ``is_complete``, what
    was done (``Data.Action``: ``created``, ``updated``, ``deleted`` or ``none``)."""
    name = properties["EndpointName"]
    endpoint = describe_endpoint(name)
    if request_type == "Delete":
        if endpoint is not None and owned(endpoint["EndpointArn"]):
            delete_endpoint(name, VARIANT_NAME)
            logger.info("deleting the scheduled endpoint", extra={"endpoint": name})
            return _result(name, "deleted")
        return _result(name, "none")
    if endpoint is not None and not owned(endpoint["EndpointArn"]):
        raise ScheduledEndpointError(
            f"endpoint {name} already exists and was not created by the kit's schedule (it has no "
            f"{OWNER_TAG} tag): most likely the CloudFormation endpoint of the same name from before its schedule "
            "was added. CloudFormation creates the new resource before it deletes the old one, so the two cannot "
            "share a name: give the scheduled endpoint a new name, or remove the endpoint from the configuration, "
            "deploy, then add it back with its schedule"
        )
    config_name = properties["EndpointConfigName"]
    deployment = json.loads(properties["DeploymentConfig"])
    if endpoint is None:
        schedule = EndpointSchedule.model_validate_json(properties["Schedule"])
        moment = now or datetime.now(UTC)
        if not schedule.is_open(moment):
            logger.info(
                "outside the window: the next start creates the endpoint",
                extra={"endpoint": name, "next_start": schedule.next_start(moment).isoformat()},
            )
            return _result(name, "none")
        create_endpoint(name, config_name, deployment, json.loads(properties["Tags"]))
        logger.info("creating the scheduled endpoint", extra={"endpoint": name, "config": config_name})
        return _result(name, "created")
    if endpoint.get("EndpointConfigName") == config_name:
        return _result(name, "none")
    status = endpoint.get("EndpointStatus")
    if status != "InService":
        raise ScheduledEndpointError(
            f"endpoint {name} is {status}, so it cannot be updated to {config_name} now; deploy again once it is "
            "InService (a Failed endpoint is deleted and created again by the next start of its schedule)"
        )
    update_endpoint(name, config_name, deployment)
    logger.info("updating the scheduled endpoint", extra={"endpoint": name, "config": config_name})
    return _result(name, "updated")


def is_complete(properties: dict[str, Any], request_type: str) -> dict[str, Any]:
    """``{"IsComplete": bool}``: the endpoint is gone (Delete), or InService on its config (Create/Update) or
    absent (outside its window); raises ``ScheduledEndpointError`` on Failed and on a rolled-back update."""
    name = properties["EndpointName"]
    endpoint = describe_endpoint(name)
    if request_type == "Delete":
        return {"IsComplete": endpoint is None or not owned(endpoint["EndpointArn"])}
    if endpoint is None:
        return {"IsComplete": True}
    status = endpoint.get("EndpointStatus")
    if status in BUSY:
        return {"IsComplete": False}
    if status == "Failed":
        raise ScheduledEndpointError(
            f"endpoint {name} failed: {endpoint.get('FailureReason', 'no reason given')}; the next start of its "
            "schedule deletes it and creates it again"
        )
    if status == "InService" and endpoint.get("EndpointConfigName") != properties["EndpointConfigName"]:
        raise ScheduledEndpointError(
            f"endpoint {name} stayed on {endpoint.get('EndpointConfigName')} instead of "
            f"{properties['EndpointConfigName']}: its blue/green update was rolled back "
            f"({endpoint.get('FailureReason', 'an alarm fired or the new fleet did not start')})"
        )
    # InService on the config, or Deleting (the schedule's stop came first): nothing left to wait for.
    return {"IsComplete": True}


def _result(name: str, action: str) -> dict[str, Any]:
    return {"PhysicalResourceId": name, "Data": {"Action": action}}
