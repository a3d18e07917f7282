"""The inference stack's custom resources against moto: model preparation and the autoscaling registration.

moto 5.2.5 finishes a training job at once ("Completed") and refuses ``ml.inf2.*`` endpoint configs; the tests set
a job's status on moto's backend and let endpoint configs take Inferentia2 types, as SageMaker does.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.session import get_session
from botocore.validate import validate_parameters
from moto.sagemaker.models import FakeEndpointConfig, sagemaker_backends

from lambdas.endpoint_lifecycle import handler
from lambdas.endpoint_lifecycle.handler import PreparationError, is_complete, job_key, on_event
from tests.lambdas.conftest import ARTIFACTS_BUCKET, REGION
from tests.lambdas.fakes import FakeLambdaContext
from tests.service_model import violations

ACCOUNT = "123456789012"
PREFIX = "prepared-models/org/model/0123456789abcdef0123456789abcdef01234567/huggingface-llm-neuronx-0.3.0/tp2/"
JOB_PREFIX = "genai-kit-dev-tiny-prep"
REQUEST = {
    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/preparation",
    "AlgorithmSpecification": {
        "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.7.0",
        "TrainingInputMode": "File",
        "ContainerEntrypoint": ["bash", "-c", "exec python3 -m jobs.model_preparation.prepare"],
    },
    "OutputDataConfig": {"S3OutputPath": f"s3://{ARTIFACTS_BUCKET}/{PREFIX}jobs/", "CompressionType": "NONE"},
    "ResourceConfig": {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 14400},
    "EnableNetworkIsolation": False,
    "Environment": {"PREPARATION_PREFIX": PREFIX},
}
PREPARATION = {
    "Kind": "Preparation",
    "Bucket": ARTIFACTS_BUCKET,
    "Prefix": PREFIX,
    "JobNamePrefix": JOB_PREFIX,
    "WaitSeconds": "3300",
    "Request": json.dumps(REQUEST),
}
CONTEXT = cast(LambdaContext, FakeLambdaContext())


def _event(request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"RequestType": request_type, "ResourceProperties": properties, **extra}


def _jobs() -> dict[str, Any]:
    return dict(sagemaker_backends[ACCOUNT][REGION].training_jobs)


def _ready() -> None:
    boto3.client("s3", region_name=REGION).put_object(Bucket=ARTIFACTS_BUCKET, Key=f"{PREFIX}READY", Body=b"{}")


# --- preparation ---


def test_a_prepared_prefix_is_reused_without_a_job(aws: None) -> None:
    _ready()
    started = on_event(_event("Create", PREPARATION), CONTEXT)
    assert started == {"PhysicalResourceId": PREFIX}
    assert _jobs() == {}
    done = is_complete(_event("Create", PREPARATION, **started), CONTEXT)
    assert done == {"IsComplete": True, "Data": {"ModelS3Uri": f"s3://{ARTIFACTS_BUCKET}/{PREFIX}model/"}}


def test_an_unprepared_prefix_starts_its_job_and_completes_when_ready(aws: None) -> None:
    started = on_event(_event("Create", PREPARATION), CONTEXT)
    name = started["Data"]["TrainingJobName"]
    assert name.startswith(job_key(JOB_PREFIX, PREFIX) + "-")
    assert len(name) <= 63
    (job,) = _jobs().values()
    assert job.training_job_name == name
    assert job.role_arn == REQUEST["RoleArn"]
    job.training_job_status = "InProgress"
    assert is_complete(_event("Create", PREPARATION, **started), CONTEXT) == {"IsComplete": False}
    # the job publishes the model, then READY
    job.training_job_status = "Completed"
    _ready()
    assert is_complete(_event("Create", PREPARATION, **started), CONTEXT)["IsComplete"] is True


def test_the_request_sent_is_the_properties_with_a_name(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    monkeypatch.setattr(
        handler,
        "client",
        lambda service: sagemaker if service == "sagemaker" else boto3.client(service, region_name=REGION),
    )
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.append(params)
    )
    on_event(_event("Update", PREPARATION), CONTEXT)
    (request,) = sent
    assert {k: v for k, v in request.items() if k != "TrainingJobName"} == REQUEST
    shape = get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    validate_parameters(request, shape)
    assert violations(shape, request) == []


def test_a_job_still_running_for_the_prefix_is_joined_not_duplicated(aws: None) -> None:
    first = on_event(_event("Create", PREPARATION), CONTEXT)
    (job,) = _jobs().values()
    job.training_job_status = "InProgress"
    again = on_event(_event("Update", PREPARATION), CONTEXT)
    assert again["Data"]["TrainingJobName"] == first["Data"]["TrainingJobName"]
    assert len(_jobs()) == 1


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_job_fails_the_deploy_with_its_reason(aws: None, status: str) -> None:
    started = on_event(_event("Create", PREPARATION), CONTEXT)
    (job,) = _jobs().values()
    job.training_job_status = status
    job.failure_reason = "AlgorithmError: No cached version found for org/model"
    with pytest.raises(PreparationError) as caught:
        is_complete(_event("Create", PREPARATION, **started), CONTEXT)
    assert str(caught.value) == (
        f"preparation job {started['Data']['TrainingJobName']} {status.lower()}: "
        "AlgorithmError: No cached version found for org/model"
    )


def test_a_job_that_completed_without_ready_is_a_failure_not_a_success(aws: None) -> None:
    started = on_event(_event("Create", PREPARATION), CONTEXT)
    with pytest.raises(PreparationError, match="completed without writing"):
        is_complete(_event("Create", PREPARATION, **started), CONTEXT)


def test_a_job_outrunning_the_wait_fails_the_deploy_naming_the_job_and_the_next_step(aws: None) -> None:
    started = on_event(_event("Create", PREPARATION), CONTEXT)
    (job,) = _jobs().values()
    job.training_job_status = "InProgress"
    started["Data"]["StartedAt"] = str(time.time() - 3400)
    with pytest.raises(PreparationError) as caught:
        is_complete(_event("Create", PREPARATION, **started), CONTEXT)
    name = started["Data"]["TrainingJobName"]
    assert f"preparation job {name} is still running after 57 minutes" in str(caught.value)
    assert f"aws sagemaker wait training-job-completed-or-stopped --training-job-name {name}" in str(caught.value)


def test_deleting_a_preparation_changes_nothing(aws: None) -> None:
    on_event(_event("Create", PREPARATION), CONTEXT)
    (job,) = _jobs().values()
    job.training_job_status = "InProgress"
    assert on_event(_event("Delete", PREPARATION, PhysicalResourceId=PREFIX), CONTEXT) == {"PhysicalResourceId": PREFIX}
    assert is_complete(_event("Delete", PREPARATION, PhysicalResourceId=PREFIX), CONTEXT) == {"IsComplete": True}
    assert job.training_job_status == "InProgress"


# --- scaling ---

ENDPOINT = "genai-kit-dev-tiny"
RESOURCE_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"
SCALING = {
    "Kind": "Scaling",
    "EndpointName": ENDPOINT,
    "VariantName": "AllTraffic",
    "InstanceType": "ml.inf2.xlarge",
    "MinCapacity": "1",
    "MaxCapacity": "3",
    "TargetValue": "20",
    "ScaleInCooldown": "600",
    "ScaleOutCooldown": "300",
    "PolicyName": f"{ENDPOINT}-invocations-per-instance",
}


@pytest.fixture
def endpoint(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An endpoint on ml.inf2.xlarge; ``endpoint(instance_type)`` moves it to another config, as an update does."""
    original = FakeEndpointConfig.validate_instance_type
    monkeypatch.setattr(
        FakeEndpointConfig,
        "validate_instance_type",
        lambda self, t: None if t.startswith("ml.inf2.") else original(self, t),
    )
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(
        ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", PrimaryContainer={"Image": "i"}
    )

    def move_to(instance_type: str) -> None:
        name = f"config-{instance_type.replace('.', '-')}"
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": instance_type,
                    "InitialInstanceCount": 1,
                }
            ],
        )
        backend = sagemaker_backends[ACCOUNT][REGION]
        if ENDPOINT in backend.endpoints:
            backend.endpoints[ENDPOINT].endpoint_config_name = name
        else:
            sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=name)

    move_to("ml.inf2.xlarge")
    return move_to


def _targets() -> list[dict[str, Any]]:
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    return list(autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"])


def _scale(request_type: str, position: str, **changes: str) -> dict[str, Any]:
    return on_event(_event(request_type, {**SCALING, **changes, "Position": position}), CONTEXT)


def test_the_after_resource_registers_the_variant_with_its_policy(endpoint: Any) -> None:
    assert _scale("Create", "after") == {"PhysicalResourceId": f"{ENDPOINT}/AllTraffic/after"}
    (target,) = _targets()
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (RESOURCE_ID, 1, 3)
    policies = boto3.client("application-autoscaling", region_name=REGION).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE_ID
    )["ScalingPolicies"]
    (policy,) = policies
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 20.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
    }


def test_the_before_resource_does_nothing_while_there_is_no_endpoint(aws: None) -> None:
    assert _scale("Create", "before") == {"PhysicalResourceId": f"{ENDPOINT}/AllTraffic/before"}
    assert _targets() == []


def test_an_instance_type_change_deregisters_before_the_update_and_registers_after(endpoint: Any) -> None:
    _scale("Create", "after")
    # CloudFormation updates "before" (new type), then the endpoint, then "after"
    _scale("Update", "before", InstanceType="ml.inf2.24xlarge")
    assert _targets() == []  # SageMaker would refuse the instance-type change of a registered variant
    endpoint("ml.inf2.24xlarge")
    _scale("Update", "after", InstanceType="ml.inf2.24xlarge")
    assert [t["ResourceId"] for t in _targets()] == [RESOURCE_ID]


def test_a_rollback_of_an_instance_type_change_ends_registered_on_the_old_type(endpoint: Any) -> None:
    _scale("Create", "after")
    _scale("Update", "before", InstanceType="ml.inf2.24xlarge")
    endpoint("ml.inf2.24xlarge")
    # "after" failed, so CloudFormation rolls back: "after" (old type), the endpoint, then "before" (old type)
    _scale("Update", "after")
    assert _targets() == []  # the endpoint still runs the new type and is about to be rolled back
    endpoint("ml.inf2.xlarge")
    _scale("Update", "before")
    assert [t["ResourceId"] for t in _targets()] == [RESOURCE_ID]


def test_a_scaling_change_on_the_same_type_updates_the_registration(endpoint: Any) -> None:
    _scale("Create", "after")
    _scale("Update", "before", MaxCapacity="5")
    _scale("Update", "after", MaxCapacity="5")
    (target,) = _targets()
    assert target["MaxCapacity"] == 5


def test_deleting_the_after_resource_deregisters_and_the_before_resource_does_nothing(endpoint: Any) -> None:
    _scale("Create", "after")
    _scale("Delete", "before")
    assert len(_targets()) == 1
    _scale("Delete", "after")
    assert _targets() == []
    _scale("Delete", "after")  # already gone: still a success


def test_an_unknown_kind_is_refused(aws: None) -> None:
    with pytest.raises(ValueError, match="unknown custom resource kind"):
        on_event(_event("Create", {"Kind": "Other"}), CONTEXT)
