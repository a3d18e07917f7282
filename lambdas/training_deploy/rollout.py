"""Roll an approved version out: its model and endpoint config (:mod:`lambdas.training_deploy.endpoint_config`), then
the endpoint created or updated blue/green (:mod:`lambdas.training_deploy.deployment`), and the topic told.

A version whose model data is missing or unreadable (:mod:`lambdas.training_deploy.model_data`) is refused before
anything is created.

Names derive from the version (``<prefix>-v<version>``), so a redelivered event finds the model and config it
already made and an endpoint already serving (or moving to) them, and changes nothing. On any failure the
function deletes what it created itself unless the endpoint uses it, publishes the reason to the topic and
re-raises.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from lambdas.shared.aws import client
from lambdas.shared.endpoints import describe_endpoint
from lambdas.training_deploy.deployment import (
    REPLACED_STATUSES,
    Attempt,
    RolloutError,
    Status,
    replace_endpoint,
    switch_endpoint,
)
from lambdas.training_deploy.endpoint import config_name, endpoint_versions, uses
from lambdas.training_deploy.endpoint_config import clean_up, ensure_endpoint_config, ensure_model
from lambdas.training_deploy.events import PackageDetail
from lambdas.training_deploy.model_data import model_data_problems
from lambdas.training_deploy.notifications import notify, retried_then_kept
from lambdas.training_deploy.settings import Environment

logger = Logger()
metrics = Metrics()

APPROVED = "Approved"
REJECTED = "Rejected"

# The subject of each result's notification; UNCHANGED (a redelivered event) notifies nothing.
SUBJECTS = {
    "CREATING": "GenAI kit rollout to {endpoint} started",
    "RECREATING": "GenAI kit rollout to {endpoint} started: failed endpoint replaced",
    "UPDATING": "GenAI kit rollout to {endpoint} started",
    "REFUSED": "GenAI kit rollout to {endpoint} refused: model data",
    "SUPERSEDED": "GenAI kit rollout to {endpoint} skipped: a newer version is served",
}


def on_package_state_change(detail: PackageDetail, env: Environment, *, wait_seconds: float = 0) -> dict[str, Any]:
    """Roll out an approved version, notify on a rejected one; re-raise any failure after notifying it.

    ``wait_seconds`` bounds how long the function waits for a Failed endpoint it deleted to be gone before it
    creates it again (the handler passes what the invocation's timeout leaves).
    """
    package_arn = detail.model_package_arn
    logger.append_keys(model_package_arn=package_arn)
    if detail.model_package_group_name != env.model_package_group_name:
        # The rule matches the kit's group only: such an event was sent by hand, so say why nothing happened.
        return _ignored(f"{package_arn} belongs to group {detail.model_package_group_name}", package_arn, env)
    if detail.model_approval_status == REJECTED:
        reason = f"{package_arn} was rejected; endpoint {env.endpoint_name} is unchanged"
        notify(env, "REJECTED", f"GenAI kit fine-tuned model rejected (endpoint {env.endpoint_name} unchanged)", reason)
        metrics.add_metric(name="ModelPackageRejected", unit=MetricUnit.Count, value=1)
        return {"status": "REJECTED", "modelPackageArn": package_arn, "endpoint": env.endpoint_name}
    if detail.model_approval_status != APPROVED:
        return _ignored(f"{package_arn} is {detail.model_approval_status}", package_arn, env)
    attempt = Attempt(endpoint_state=f"endpoint {env.endpoint_name} keeps serving what it served")
    try:
        result = roll_out(package_arn, env, attempt=attempt, wait_seconds=wait_seconds)
    except Exception as error:
        reason = (
            f"{package_arn} was not rolled out ({type(error).__name__}: {error}); {attempt.endpoint_state}; "
            f"{retried_then_kept(env)}"
        )
        logger.exception("rollout failed")
        metrics.add_metric(name="RolloutFailed", unit=MetricUnit.Count, value=1)
        notify(env, "FAILED", f"GenAI kit rollout to {env.endpoint_name} failed", reason)
        raise
    status = result["status"]
    metrics.add_metric(name=f"Rollout{status.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("rollout handled", extra=result)
    if status in SUBJECTS:
        fields = {k: v for k, v in result.items() if k not in ("status", "reason", "endpoint")}
        notify(env, status, SUBJECTS[status].format(endpoint=env.endpoint_name), result["reason"], **fields)
    return result


def _ignored(why: str, package_arn: str, env: Environment) -> dict[str, Any]:
    reason = f"{why}: the function rolls out Approved versions of {env.model_package_group_name} only; ignored"
    logger.warning("event ignored", extra={"reason": reason})
    notify(env, "IGNORED", f"GenAI kit deploy function ignored an event for {env.endpoint_name}", reason)
    return {"status": "IGNORED", "reason": reason, "modelPackageArn": package_arn, "endpoint": env.endpoint_name}


def roll_out(package_arn: str, env: Environment, *, attempt: Attempt, wait_seconds: float = 0) -> dict[str, Any]:
    """Model and endpoint config for the version, then the endpoint switched to them (blue/green).

    ``IGNORED`` when the registry says the version is no longer Approved (or not in the kit's group); ``REFUSED``
    (nothing created or changed) when its model data is missing or unreadable; ``SUPERSEDED`` when a newer approved
    version is served. A Failed endpoint, which SageMaker lets nobody update, is deleted and created again on the
    version (``RECREATING``); one being deleted is waited for and created.
    """
    package = client("sagemaker").describe_model_package(ModelPackageName=package_arn)
    # The event may be late or sent by hand: the registry decides (no retry would change these).
    if package.get("ModelApprovalStatus") != APPROVED:
        return _ignored(
            f"{package_arn} is {package.get('ModelApprovalStatus')} now, no longer Approved", package_arn, env
        )
    if package.get("ModelPackageGroupName") != env.model_package_group_name:
        return _ignored(f"{package_arn} belongs to group {package.get('ModelPackageGroupName')}", package_arn, env)
    # Before any SageMaker call that creates or changes something: an endpoint on missing weights would only fail
    # its start-up health check after the download and health check timeouts (up to two hours on Neuron).
    problems = model_data_problems(package, readable_prefix=env.model_data_prefix, kms_key_arn=env.kms_key_arn)
    version = int(package["ModelPackageVersion"])
    name = config_name(env.resource_prefix, version)
    if problems:
        reason = (
            f"{package_arn} was not rolled out: its model data cannot be served ({'; '.join(problems)}); "
            f"nothing was created and endpoint {env.endpoint_name} is unchanged"
        )
        return _result("REFUSED", reason, package_arn, None, env, modelData=problems)
    endpoint = describe_endpoint(env.endpoint_name)
    replaced = endpoint is not None and endpoint.get("EndpointStatus") in REPLACED_STATUSES
    # A Failed endpoint serves nothing: whatever version it was on, the approved one replaces it.
    if endpoint is not None and not replaced:
        skipped = _skipped(endpoint, version, package_arn, env)
        if skipped is not None:
            return skipped
    created: list[tuple[str, str]] = []
    try:
        if ensure_model(name, package_arn, env):
            created.append(("model", name))
        if ensure_endpoint_config(name, env):
            created.append(("endpoint-config", name))
        if endpoint is not None and replaced:
            status = replace_endpoint(name, endpoint, env, attempt=attempt, wait_seconds=wait_seconds)
        else:
            status = switch_endpoint(name, endpoint, env)
    except Exception:
        clean_up(created, env)
        raise
    fields = {"failureReason": (endpoint or {}).get("FailureReason")} if status == "RECREATING" else {}
    return _result(status, _started(status, name, package_arn, endpoint, env), package_arn, name, env, **fields)


def _skipped(endpoint: dict[str, Any], version: int, package_arn: str, env: Environment) -> dict[str, Any] | None:
    """UNCHANGED or SUPERSEDED for an endpoint that exists and is not Failed; raises while it is busy."""
    name = config_name(env.resource_prefix, version)
    if uses(endpoint, name):
        return _result(
            "UNCHANGED", f"endpoint {env.endpoint_name} already serves or moves to {name}", package_arn, name, env
        )
    newer = superseding_version(endpoint, version, package_arn, env)
    if newer is not None:
        reason = (
            f"{package_arn} was not rolled out: endpoint {env.endpoint_name} serves or moves to "
            f"{config_name(env.resource_prefix, newer)}, a newer version that is still Approved, and an approval "
            f"older than the version served is ignored (a late or repeated event); to serve v{version}, reject "
            f"v{newer} first, then send v{version}'s event again"
        )
        return _result("SUPERSEDED", reason, package_arn, name, env, servedVersion=newer)
    status = endpoint.get("EndpointStatus")
    if status != "InService":
        # Checked before anything is created: there would be nothing to do with it.
        raise RolloutError(
            f"endpoint {env.endpoint_name} is {status}; SageMaker updates an endpoint only when it is InService "
            "(once the deployment in progress is over, send the event again)"
        )
    return None


def _started(status: Status, name: str, package_arn: str, endpoint: dict[str, Any] | None, env: Environment) -> str:
    """The notification's reason for a rollout SageMaker accepted."""
    if status == "RECREATING":
        endpoint = endpoint or {}
        if endpoint.get("EndpointStatus") == "Failed":
            failure = endpoint.get("FailureReason") or "no FailureReason given"
            return (
                f"endpoint {env.endpoint_name} was Failed ({failure}): deleted it and creating it with {name} "
                f"({package_arn})"
            )
        return f"endpoint {env.endpoint_name} was being deleted: creating it again with {name} ({package_arn})"
    if status == "UPDATING":
        return (
            f"updating endpoint {env.endpoint_name} to {name} ({package_arn}) blue/green: the new fleet bakes "
            f"{env.wait_interval_seconds} s watching {', '.join(env.rollback_alarms)} and rolls back if one fires"
        )
    if status == "UNCHANGED":
        return f"endpoint {env.endpoint_name} already serves or moves to {name}"
    return f"creating endpoint {env.endpoint_name} with {name} ({package_arn})"


def superseding_version(endpoint: dict[str, Any], version: int, package_arn: str, env: Environment) -> int | None:
    """The newest version above ``version`` that the endpoint serves or moves to and that is still Approved.

    An approval that arrives after a newer version went out (EventBridge delivers late, out of order, or twice)
    must not take the endpoint back; a newer version that was rejected since no longer counts, which is how an
    operator goes back to an older version on purpose. Versions of one group share the ARN up to the version.
    """
    sagemaker = client("sagemaker")
    group_arn = package_arn.rsplit("/", 1)[0]
    for newer in sorted((v for v in endpoint_versions(endpoint, env.resource_prefix) if v > version), reverse=True):
        try:
            package = sagemaker.describe_model_package(ModelPackageName=f"{group_arn}/{newer}")
        except ClientError as error:
            # A version deleted from the registry is not an approved one.
            if error.response["Error"].get("Code") == "ValidationException":
                continue
            raise
        if package.get("ModelApprovalStatus") == APPROVED:
            return newer
    return None


def _result(
    status: str, reason: str, package_arn: str, name: str | None, env: Environment, **fields: Any
) -> dict[str, Any]:
    """The function's response, and the notification's fields: ``model`` and ``endpointConfig`` when named."""
    names = {"model": name, "endpointConfig": name} if name else {}
    return {
        "status": status,
        "reason": reason,
        "modelPackageArn": package_arn,
        **names,
        "endpoint": env.endpoint_name,
        **fields,
    }
