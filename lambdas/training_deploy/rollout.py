"""Roll an approved version out: its model and endpoint config, then the endpoint created or updated blue/green.

A version whose model data is missing or unreadable (:mod:`lambdas.training_deploy.model_data`) is refused before
anything is created.

Names derive from the version (``<prefix>-v<version>``), so a redelivered event finds the model and config it
already made and an endpoint already serving (or moving to) them, and changes nothing. On any failure the
function deletes what it created itself unless the endpoint uses it, publishes the reason to the topic and
re-raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from lambdas.shared.aws import client
from lambdas.training_deploy.endpoint import (
    ROLLOUT_TARGET_TAG,
    already_exists,
    config_name,
    describe_endpoint,
    endpoint_versions,
    not_found,
    rollout_target,
    set_rollout_target,
    uses,
)
from lambdas.training_deploy.events import PackageDetail
from lambdas.training_deploy.model_data import model_data_problems
from lambdas.training_deploy.notifications import notify, retried_then_kept
from lambdas.training_deploy.settings import Environment

logger = Logger()
metrics = Metrics()

VARIANT_NAME = "AllTraffic"
APPROVED = "Approved"
REJECTED = "Rejected"

Status = Literal["CREATING", "RECREATING", "UPDATING", "UNCHANGED"]
# The subject of each result's notification; UNCHANGED (a redelivered event) notifies nothing.
SUBJECTS = {
    "CREATING": "GenAI kit rollout to {endpoint} started",
    "RECREATING": "GenAI kit rollout to {endpoint} started: failed endpoint replaced",
    "UPDATING": "GenAI kit rollout to {endpoint} started",
    "REFUSED": "GenAI kit rollout to {endpoint} refused: model data",
    "SUPERSEDED": "GenAI kit rollout to {endpoint} skipped: a newer version is served",
}
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


def ensure_model(name: str, package_arn: str, env: Environment) -> bool:
    """Create the model from the package unless it exists; True when this call created it."""
    sagemaker = client("sagemaker")
    if _exists(lambda: sagemaker.describe_model(ModelName=name)):
        return False
    return _create(
        lambda: sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=env.execution_role_arn,
            # Image, environment and weights come from the package's inference specification.
            Containers=[{"ModelPackageName": package_arn}],
            EnableNetworkIsolation=True,
            Tags=_tags(env, package_arn),
        )
    )


def ensure_endpoint_config(name: str, env: Environment) -> bool:
    """Create the endpoint config for the model unless it exists; True when this call created it."""
    sagemaker = client("sagemaker")
    if _exists(lambda: sagemaker.describe_endpoint_config(EndpointConfigName=name)):
        return False
    return _create(
        lambda: sagemaker.create_endpoint_config(EndpointConfigName=name, **endpoint_config_request(name, env))
    )


def endpoint_config_request(model_name: str, env: Environment) -> dict[str, Any]:
    """CreateEndpointConfig's arguments besides the name: one inf2 variant, KMS and data capture."""
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "ModelName": model_name,
        "InstanceType": env.instance_type,
        "InitialInstanceCount": env.instance_count,
        "InitialVariantWeight": 1.0,
        # Neuron containers compile the model at start-up: allow the full download and health check time.
        "ModelDataDownloadTimeoutInSeconds": env.model_data_download_timeout,
        "ContainerStartupHealthCheckTimeoutInSeconds": env.container_startup_health_check_timeout,
    }
    if env.volume_size_gb is not None:
        variant["VolumeSizeInGB"] = env.volume_size_gb
    return {
        "ProductionVariants": [variant],
        "KmsKeyId": env.kms_key_arn,
        "DataCaptureConfig": {
            "EnableCapture": env.data_capture_enabled,
            "InitialSamplingPercentage": env.data_capture_sampling_percentage,
            "DestinationS3Uri": env.data_capture_uri,
            "KmsKeyId": env.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
        "Tags": _tags(env),
    }


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
                Tags=[*_tags(env), target],
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


def clean_up(created: list[tuple[str, str]], env: Environment) -> None:
    """Delete what this invocation created, newest first, unless the endpoint already uses it."""
    if not created:
        return
    try:
        endpoint = describe_endpoint(env.endpoint_name)
    except ClientError:
        logger.exception("cannot tell whether the endpoint uses the new resources; kept them", extra={"kept": created})
        return
    sagemaker = client("sagemaker")
    for kind, name in reversed(created):
        if uses(endpoint, name):
            continue
        try:
            if kind == "endpoint-config":
                sagemaker.delete_endpoint_config(EndpointConfigName=name)
            else:
                sagemaker.delete_model(ModelName=name)
            logger.info("deleted after the failed rollout", extra={"kind": kind, "resource": name})
        except ClientError:
            logger.exception("could not delete after the failed rollout", extra={"kind": kind, "resource": name})


def _exists(describe: Any) -> bool:
    try:
        describe()
    except ClientError as error:
        if not_found(error):
            return False
        raise
    return True


def _create(create: Any) -> bool:
    """Run a create call; a concurrent delivery that created the same name first is not an error."""
    try:
        create()
    except ClientError as error:
        if already_exists(error):
            return False
        raise
    return True


def _tags(env: Environment, package_arn: str | None = None) -> list[dict[str, str]]:
    tags = dict(env.tags)
    if package_arn is not None:
        tags["genai-kit:model-package"] = package_arn[-256:]
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]
