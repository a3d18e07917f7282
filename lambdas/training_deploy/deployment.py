"""The endpoint's deployment: CreateEndpoint, or a blue/green UpdateEndpoint with auto-rollback, on a version's
endpoint config; a Failed endpoint deleted and created again.

Before SageMaker starts a deployment, the endpoint is tagged with the config it moves to
(:mod:`lambdas.training_deploy.endpoint`), so that :mod:`lambdas.training_deploy.outcome` can tell its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lambdas.shared.aws import client
from lambdas.shared.endpoints import describe_endpoint, not_found
from lambdas.training_deploy.endpoint import (
    ROLLOUT_TARGET_TAG,
    already_exists,
    rollout_target,
    set_rollout_target,
    uses,
)
from lambdas.training_deploy.endpoint_config import resource_tags
from lambdas.training_deploy.settings import Environment

logger = Logger()

Status = Literal["CREATING", "RECREATING", "UPDATING", "UNCHANGED"]
# SageMaker allows only DeleteEndpoint on a Failed endpoint; these are the states in which the function replaces it.
REPLACED_STATUSES = ("Failed", "Deleting")
# How often the function looks whether the endpoint it deleted is gone.
DELETION_POLL_SECONDS = 10


class RolloutError(RuntimeError):
    """The approved version cannot be rolled out; the message says why and what was left unchanged."""


@dataclass
class Attempt:
    """What one invocation did to the endpoint, for the notification if it fails later."""

    endpoint_state: str


def deployment_config(env: Environment) -> dict[str, Any]:
    """Blue/green, all at once after the bake time, rolled back by any of the endpoint's alarms."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": env.wait_interval_seconds},
            "TerminationWaitInSeconds": env.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": env.maximum_execution_timeout_seconds,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in env.rollback_alarms]},
    }


def switch_endpoint(config_name: str, endpoint: dict[str, Any] | None, env: Environment) -> Status:
    """Create the endpoint on the config, or update it (InService, described just before) blue/green.

    Either way the endpoint is tagged with the config as its rollout target first, so that its state change events
    tell :mod:`lambdas.training_deploy.outcome` whether SageMaker completed the rollout or rolled it back.
    """
    sagemaker = client("sagemaker")
    target = {"Key": ROLLOUT_TARGET_TAG, "Value": config_name}
    if endpoint is None:
        try:
            sagemaker.create_endpoint(
                EndpointName=env.endpoint_name,
                EndpointConfigName=config_name,
                DeploymentConfig=deployment_config(env),
                Tags=[*resource_tags(env), target],
            )
        except ClientError as error:
            # A concurrent delivery of the same event created it first: fine if it is on this config.
            if not already_exists(error) or not uses(describe_endpoint(env.endpoint_name), config_name):
                raise
            return "UNCHANGED"
        return "CREATING"
    endpoint_arn = endpoint["EndpointArn"]
    previous = rollout_target(endpoint_arn)
    set_rollout_target(endpoint_arn, config_name)
    try:
        sagemaker.update_endpoint(
            EndpointName=env.endpoint_name, EndpointConfigName=config_name, DeploymentConfig=deployment_config(env)
        )
    except Exception:
        # SageMaker did not start this rollout: leave the tag as it was, or its outcome would be misreported.
        try:
            set_rollout_target(endpoint_arn, previous)
        except ClientError:
            logger.exception("could not restore the rollout target tag", extra={"previous": previous})
        raise
    return "UPDATING"


def replace_endpoint(
    config_name: str, endpoint: dict[str, Any], env: Environment, *, attempt: Attempt, wait_seconds: float
) -> Status:
    """Delete a Failed endpoint (or wait for one being deleted) and create it on the config.

    DeleteEndpoint is the only operation SageMaker allows on a Failed endpoint, and CreateEndpoint refuses the name
    until the deletion is over, so the function waits up to ``wait_seconds``; past that it raises, and handling the
    event again (a retry) finds the endpoint gone or still Deleting and goes on from there.
    """
    sagemaker = client("sagemaker")
    if endpoint.get("EndpointStatus") == "Failed":
        try:
            sagemaker.delete_endpoint(EndpointName=env.endpoint_name)
        except ClientError as error:
            if not not_found(error):
                raise
        attempt.endpoint_state = (
            f"endpoint {env.endpoint_name} was Failed ({endpoint.get('FailureReason') or 'no FailureReason given'}) "
            f"and has been deleted; it is created with {config_name} when the event is handled again"
        )
        logger.info("deleted the Failed endpoint", extra={"failureReason": endpoint.get("FailureReason")})
    if not wait_until_deleted(env.endpoint_name, wait_seconds):
        raise RolloutError(f"endpoint {env.endpoint_name} is still being deleted after {wait_seconds:.0f} s")
    return "RECREATING" if switch_endpoint(config_name, None, env) == "CREATING" else "UNCHANGED"


def wait_until_deleted(name: str, wait_seconds: float) -> bool:
    """Whether the endpoint is no longer Deleting (or still Failed just after DeleteEndpoint), normally gone.

    Looks every ten seconds for at most ``wait_seconds`` (once when 0). An endpoint in another state was created
    again meanwhile (a concurrent delivery of the event): CreateEndpoint then reports it as existing.
    """
    deadline = monotonic() + wait_seconds
    while (endpoint := describe_endpoint(name)) is not None and endpoint.get("EndpointStatus") in REPLACED_STATUSES:
        if monotonic() + DELETION_POLL_SECONDS > deadline:
            return False
        sleep(DELETION_POLL_SECONDS)
    return True
