"""Custom resources of the inference stack, behind one CDK Provider (``on_event`` and ``is_complete``).

``Preparation``: the model an endpoint serves, prepared into the artifacts bucket by a SageMaker training job
that runs the preparation script (jobs/model_preparation) in the endpoint's serving image.

- Create/Update: nothing to do when ``<Prefix>READY`` exists (the same model, revision, container and settings
  were prepared before: the prefix is keyed by all of them); otherwise the job still running for this prefix is
  joined, or a new one started from the ``Request`` property (CreateTrainingJob without its name).
- ``is_complete``: done when ``READY`` exists (its ``ModelS3Uri`` is the endpoint's model data); the job's failure
  reason fails the deploy; a job still running after ``WaitSeconds`` (CloudFormation waits an hour at most for a
  custom resource) fails the deploy with the job's name: it keeps running and fills the prefix, which the next
  deploy then finds ready.
- Delete: nothing. A prepared model is content-addressed and reused; a running job finishes the same content.

``Scaling``: the endpoint variant's Application Auto Scaling target and target-tracking policy. SageMaker refuses
to change the instance type of a variant registered as a scalable target (developer guide, "Update endpoints that
use auto scaling"), so one resource of this kind comes before the endpoint (``Position: before``) and one after it
(``after``), with the same properties, and both make the registration match the endpoint: when the endpoint runs
another instance type than theirs, an update of the endpoint to their type is coming (forward, or in a
rollback) and the target is deregistered; otherwise it is registered with the policy. The ``after`` resource
deregisters on delete (SageMaker refuses to delete an endpoint with a registered variant).

``ScheduledEndpoint``: an endpoint with a schedule, which CloudFormation does not own (the scheduler deletes and
creates it): see ``lambdas/endpoint_lifecycle/scheduled.py``.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from lambdas.endpoint_lifecycle import scheduled
from lambdas.shared.aws import client
from lambdas.shared.endpoints import deregister, register

logger = Logger()

READY = "READY"
# A training job name: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
_JOB_NAME_MAX = 63


class PreparationError(RuntimeError):
    """The preparation job failed, stopped, or outran the deploy's wait; the message says which and why."""


def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Provider's onEvent: starts the work; returns the physical id (and Data for ``is_complete``)."""
    properties = event["ResourceProperties"]
    kind, request_type = properties["Kind"], event["RequestType"]
    logger.info("custom resource event", extra={"kind": kind, "request_type": request_type})
    if kind == "Preparation":
        return _prepare(properties, request_type)
    if kind == "Scaling":
        return _scale(properties, request_type)
    if kind == "ScheduledEndpoint":
        return scheduled.on_event(properties, request_type)
    raise ValueError(f"unknown custom resource kind {kind!r}")


def is_complete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The Provider's isComplete: ``{"IsComplete": bool, "Data": ...}``; raising fails the resource."""
    properties = event["ResourceProperties"]
    if properties["Kind"] == "ScheduledEndpoint":
        return scheduled.is_complete(properties, event["RequestType"])
    if properties["Kind"] != "Preparation" or event["RequestType"] == "Delete":
        return {"IsComplete": True}
    bucket, prefix = properties["Bucket"], properties["Prefix"]
    if _ready(bucket, prefix):
        return {"IsComplete": True, "Data": {"ModelS3Uri": f"s3://{bucket}/{prefix}model/"}}
    data = event.get("Data", {})
    name = data["TrainingJobName"]
    job = client("sagemaker").describe_training_job(TrainingJobName=name)
    status = job["TrainingJobStatus"]
    if status in ("Failed", "Stopped"):
        reason = job.get("FailureReason", "no reason given")
        raise PreparationError(f"preparation job {name} {status.lower()}: {reason}")
    if status == "Completed":
        raise PreparationError(
            f"preparation job {name} completed without writing s3://{bucket}/{prefix}{READY}; see its log in "
            "the /aws/sagemaker/TrainingJobs log group"
        )
    waited = time.time() - float(data["StartedAt"])
    if waited > float(properties["WaitSeconds"]):
        raise PreparationError(
            f"preparation job {name} is still running after {waited / 60:.0f} minutes, longer than CloudFormation "
            f"waits for a custom resource; it keeps running and stores the model under s3://{bucket}/{prefix}model/. "
            f"Deploy again once it has finished: aws sagemaker wait training-job-completed-or-stopped "
            f"--training-job-name {name}"
        )
    return {"IsComplete": False}


# ---- preparation -------------------------------------------------------------------------------------------


def _prepare(properties: dict[str, Any], request_type: str) -> dict[str, Any]:
    bucket, prefix = properties["Bucket"], properties["Prefix"]
    if request_type == "Delete" or _ready(bucket, prefix):
        return {"PhysicalResourceId": prefix}
    key = job_key(properties["JobNamePrefix"], prefix)
    running = client("sagemaker").list_training_jobs(NameContains=key, StatusEquals="InProgress")
    summaries = running.get("TrainingJobSummaries", [])
    if summaries:
        job = summaries[0]
        name, started = job["TrainingJobName"], job["CreationTime"].timestamp()
        logger.info("joining the running preparation job", extra={"job": name})
    else:
        name, started = f"{key}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}", time.time()
        request = {"TrainingJobName": name, **json.loads(properties["Request"])}
        client("sagemaker").create_training_job(**request)
        logger.info("started the preparation job", extra={"job": name, "prefix": prefix})
    return {"PhysicalResourceId": prefix, "Data": {"TrainingJobName": name, "StartedAt": str(started)}}


def job_key(job_name_prefix: str, prefix: str) -> str:
    """The part of a preparation job's name that identifies what it prepares (``<prefix>-<hash of the key>``);
    a timestamp follows it, so a new attempt gets a new name (SageMaker never reuses one)."""
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:10]
    return f"{job_name_prefix[: _JOB_NAME_MAX - 15 - 11].rstrip('-')}-{digest}"


def _ready(bucket: str, prefix: str) -> bool:
    try:
        client("s3").head_object(Bucket=bucket, Key=f"{prefix}{READY}")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


# ---- scaling -----------------------------------------------------------------------------------------------


def _scale(properties: dict[str, Any], request_type: str) -> dict[str, Any]:
    endpoint, variant = properties["EndpointName"], properties["VariantName"]
    position: Literal["before", "after"] = properties["Position"]
    physical_id = f"{endpoint}/{variant}/{position}"
    resource_id = f"endpoint/{endpoint}/variant/{variant}"
    if request_type == "Delete":
        if position == "after":
            deregister(resource_id)
        return {"PhysicalResourceId": physical_id}
    current = current_instance_type(endpoint, variant)
    if current is None:
        logger.info("no endpoint to scale yet", extra={"endpoint": endpoint})
    elif current != properties["InstanceType"]:
        # The endpoint is about to change to this resource's instance type: SageMaker refuses that while the
        # variant is registered.
        logger.info("releasing the scalable target", extra={"endpoint": endpoint, "from": current})
        deregister(resource_id)
    else:
        register(resource_id, properties)
        logger.info("registered the scalable target", extra={"resource_id": resource_id})
    return {"PhysicalResourceId": physical_id}


def current_instance_type(endpoint: str, variant: str) -> str | None:
    """The instance type the endpoint's variant runs on now, or None if there is no such endpoint."""
    sagemaker = client("sagemaker")
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            return None  # "Could not find endpoint"
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    for production_variant in config["ProductionVariants"]:
        if production_variant["VariantName"] == variant:
            return str(production_variant["InstanceType"])
    return None
