"""SageMaker's outcome of a rollout the function started: completed, rolled back, or failed, told to the topic.

The function returns as soon as SageMaker accepts CreateEndpoint or UpdateEndpoint; the new fleet then starts, bakes
and takes the traffic, or SageMaker rolls back to the old fleet when an auto-rollback alarm fires or the new fleet
does not start. SageMaker reports each status change of the endpoint as an EventBridge "SageMaker Endpoint State
Change" event, which invokes this function too. The event only says when to look: DescribeEndpoint gives the
status (``EndpointStatus``), the config served and ``FailureReason``, and the tag ``genai-kit:rollout-target`` the
config the rollout aimed at (:mod:`lambdas.training_deploy.endpoint`). A rollback leaves the endpoint InService on
its previous config, which is how it is told apart from a success.

Each rollout is reported once: the tag is removed after the notification (SageMaker may send several events per
change, and an InService after a system update is no rollout of the kit's). Statuses in between (Creating,
Updating, SystemUpdating, RollingBack, Deleting) are not reported.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from lambdas.shared.endpoints import describe_endpoint
from lambdas.training_deploy.endpoint import rollout_target, set_rollout_target
from lambdas.training_deploy.events import EndpointDetail
from lambdas.training_deploy.notifications import notify, retried_then_kept
from lambdas.training_deploy.settings import Environment

logger = Logger()
metrics = Metrics()

# The endpoint statuses (DescribeEndpoint) in which SageMaker is done with a deployment.
FINAL_STATUSES = ("InService", "Failed", "UpdateRollbackFailed")
SUBJECTS = {
    "SUCCEEDED": "GenAI kit rollout to {endpoint} succeeded",
    "ROLLED_BACK": "GenAI kit rollout to {endpoint} rolled back by SageMaker",
    "ENDPOINT_FAILED": "GenAI kit rollout to {endpoint} failed: endpoint Failed",
    "UPDATE_ROLLBACK_FAILED": "GenAI kit rollout to {endpoint} failed: update and rollback failed",
}


def on_endpoint_state_change(detail: EndpointDetail, env: Environment) -> dict[str, Any]:
    """Report the outcome of the rollout the endpoint awaits, if SageMaker is done with it.

    Returns ``{"status", "reason", "endpoint", "endpointConfig", "target"}``; ``status`` is one of ``SUCCEEDED``,
    ``ROLLED_BACK``, ``ENDPOINT_FAILED``, ``UPDATE_ROLLBACK_FAILED`` (each notified), ``IN_PROGRESS`` or
    ``NOT_AWAITED`` (not notified) or ``IGNORED`` (another endpoint, notified). Re-raises what SageMaker or SNS
    raise after an ``OUTCOME_UNKNOWN`` notification; the tag stays until the outcome is sent, so a retry reports it.
    """
    try:
        return report(detail, env)
    except Exception as error:
        reason = (
            f"the outcome of the latest rollout to endpoint {env.endpoint_name} could not be read or told "
            f"({type(error).__name__}: {error}); {retried_then_kept(env)}"
        )
        logger.exception("rollout outcome not reported")
        notify(env, "OUTCOME_UNKNOWN", f"GenAI kit rollout to {env.endpoint_name}: outcome unknown", reason)
        raise


def report(detail: EndpointDetail, env: Environment) -> dict[str, Any]:
    """What :func:`on_endpoint_state_change` does, without the notification of its own failure."""
    if detail.endpoint_name != env.endpoint_name:
        reason = f"a state change of endpoint {detail.endpoint_name}: the function follows {env.endpoint_name} only"
        notify(env, "IGNORED", f"GenAI kit deploy function ignored an event for {env.endpoint_name}", reason)
        return {"status": "IGNORED", "reason": reason, "endpoint": env.endpoint_name}
    endpoint = describe_endpoint(env.endpoint_name)
    if endpoint is None:
        return _quiet("NOT_AWAITED", f"endpoint {env.endpoint_name} no longer exists", env)
    status = endpoint.get("EndpointStatus")
    served = endpoint.get("EndpointConfigName")
    if status not in FINAL_STATUSES:
        return _quiet("IN_PROGRESS", f"endpoint {env.endpoint_name} is {status}", env, endpointConfig=served)
    target = rollout_target(endpoint["EndpointArn"])
    if target is None:
        return _quiet(
            "NOT_AWAITED", f"endpoint {env.endpoint_name} is {status} with no rollout of the kit to report", env
        )
    outcome, reason = _outcome(status, served, target, endpoint.get("FailureReason"), env)
    result = {"status": outcome, "reason": reason, "endpoint": env.endpoint_name, "endpointConfig": served}
    fields = {"endpointConfig": served, "target": target, "failureReason": endpoint.get("FailureReason")}
    notify(env, outcome, SUBJECTS[outcome].format(endpoint=env.endpoint_name), reason, **fields)
    metrics.add_metric(
        name=f"Rollout{''.join(p.capitalize() for p in outcome.split('_'))}", unit=MetricUnit.Count, value=1
    )
    logger.info("rollout outcome", extra=result)
    try:
        set_rollout_target(endpoint["EndpointArn"], None)
    except ClientError:
        # Reported already; a later state change of the endpoint may report it again.
        logger.exception("could not remove the rollout target tag")
    return {**result, "target": target}


def _outcome(status: str, served: str | None, target: str, failure: str | None, env: Environment) -> tuple[str, str]:
    """(status, reason) of a rollout SageMaker is done with."""
    because = f" ({failure})" if failure else ""
    if status == "InService" and served == target:
        return "SUCCEEDED", f"endpoint {env.endpoint_name} is InService on {target}"
    if status == "InService":
        why = (
            f": {failure}"
            if failure
            else f" (no FailureReason given: an alarm of {', '.join(env.rollback_alarms)} fired while the new fleet "
            f"baked, or the new fleet did not start; see the log group /aws/sagemaker/Endpoints/{env.endpoint_name})"
        )
        return "ROLLED_BACK", (
            f"SageMaker rolled back the update of endpoint {env.endpoint_name} to {target}{why}; the endpoint is "
            f"InService on {served} again. The endpoint config and model {target} stay: send that version's approval "
            "event again to retry it"
        )
    if status == "Failed":
        return "ENDPOINT_FAILED", (
            f"endpoint {env.endpoint_name} is Failed{because} after the rollout to {target} and serves nothing; "
            f"the next approval (that of {target} sent again included) deletes it and creates it on that version"
        )
    return "UPDATE_ROLLBACK_FAILED", (
        f"the update of endpoint {env.endpoint_name} to {target} and SageMaker's rollback both failed{because}: it "
        f"serves a mix of {served} and {target} and takes no update until it is InService again (restore it by hand, "
        "see 'Rolling deployments' in the SageMaker developer guide, then send the event again)"
    )


def _quiet(status: str, reason: str, env: Environment, **fields: Any) -> dict[str, Any]:
    logger.info("endpoint state change not reported", extra={"status": status, "reason": reason})
    return {"status": status, "reason": reason, "endpoint": env.endpoint_name, **fields}
