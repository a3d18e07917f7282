"""Deploy on approval against moto SageMaker and SNS: create, blue/green update, rejection, failure, redelivery.

moto 5.2.5 refuses ``ml.inf2.*`` endpoint configs (its instance list ends at inf1) and has no UpdateEndpoint:
the fixtures lift the first and stand in for the second, validating each request against botocore's model.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.session import get_session
from botocore.validate import validate_parameters
from moto.sagemaker.models import FakeEndpointConfig, sagemaker_backends
from moto.sns.models import sns_backends

from lambdas.shared.aws import client
from lambdas.training_deploy import deployment
from lambdas.training_deploy.deployment import RolloutError, deployment_config
from lambdas.training_deploy.events import EndpointDetail, PackageDetail
from lambdas.training_deploy.handler import UnexpectedEventError, handler
from lambdas.training_deploy.outcome import on_endpoint_state_change
from lambdas.training_deploy.rollout import on_package_state_change
from lambdas.training_deploy.settings import Environment, environment
from tests.lambdas.conftest import ARTIFACTS_BUCKET, DATASETS_BUCKET, REGION
from tests.lambdas.fakes import FakeLambdaContext
from tests.synth import SynthResult

ACCOUNT = "123456789012"
GROUP = "genai-kit-dev-finetuned"
ENDPOINT = "genai-kit-dev-finetuned"
EVENT = Path(__file__).parent / "events" / "model_package_state_change.json"
ENDPOINT_EVENT = Path(__file__).parent / "events" / "endpoint_state_change.json"
ALARMS = (f"{ENDPOINT}-invocation-5xx", f"{ENDPOINT}-model-errors", f"{ENDPOINT}-model-latency-p90")
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.24.0-neuronx-sdk2.14.1"
VARIABLES = {
    "MODEL_PACKAGE_GROUP_NAME": GROUP,
    "RESOURCE_PREFIX": "genai-kit-dev-ft",
    "ENDPOINT_NAME": ENDPOINT,
    "EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/serving",
    "INSTANCE_TYPE": "ml.inf2.xlarge",
    "INSTANCE_COUNT": "1",
    "MODEL_DATA_DOWNLOAD_TIMEOUT": "3600",
    "CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT": "3600",
    "VOLUME_SIZE_GB": "256",
    "KMS_KEY_ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/kit",
    "DATA_CAPTURE_ENABLED": "true",
    "DATA_CAPTURE_SAMPLING_PERCENTAGE": "10",
    "DATA_CAPTURE_URI": f"s3://{ARTIFACTS_BUCKET}/data-capture/{ENDPOINT}/",
    "MODEL_DATA_PREFIX": f"s3://{ARTIFACTS_BUCKET}/training/output/",
    "WAIT_INTERVAL_SECONDS": "600",
    "TERMINATION_WAIT_SECONDS": "300",
    "MAXIMUM_EXECUTION_TIMEOUT_SECONDS": "14400",
    "ROLLBACK_ALARMS": json.dumps(list(ALARMS)),
    "TAGS": '{"genai-kit:stage":"dev"}',
    "FAILURE_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/failures",
}
WEIGHTS = f"s3://{ARTIFACTS_BUCKET}/training/output/job/output/model/"
WEIGHTS_SOURCE = {"S3Uri": WEIGHTS, "S3DataType": "S3Prefix", "CompressionType": "None"}
_SAGEMAKER_MODEL = get_session().get_service_model("sagemaker")


@pytest.fixture(autouse=True)
def _inf2_endpoint_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let moto's endpoint configs accept Inferentia2 instance types, like SageMaker does."""
    original = FakeEndpointConfig.validate_instance_type

    def validate(self: FakeEndpointConfig, instance_type: str) -> None:
        if not instance_type.startswith("ml.inf2."):
            original(self, instance_type)

    monkeypatch.setattr(FakeEndpointConfig, "validate_instance_type", validate)


@dataclass
class Account:
    """The moto account of one test: the topic, the registry, the endpoint and every SageMaker call made."""

    env: Environment
    calls: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    update_error: ClientError | None = None

    @property
    def backend(self) -> Any:
        return sagemaker_backends[ACCOUNT][REGION]

    def register(self, model_data: dict[str, Any] | None = None, *, upload: bool = True) -> str:
        """A new version in the group, pending approval, as the pipeline's Register step writes it.

        ``model_data`` replaces the container's ModelDataSource; ``upload`` writes the weights it names (SSE-KMS
        with the kit's key, as the training job writes them).
        """
        if model_data is None:
            model_data = {"ModelDataSource": {"S3DataSource": dict(WEIGHTS_SOURCE)}}
        if upload:
            self.upload(model_data)
        return str(
            boto3.client("sagemaker", region_name=REGION).create_model_package(
                ModelPackageGroupName=GROUP,
                ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [
                        {"Image": IMAGE, "Environment": {"OPTION_TENSOR_PARALLEL_DEGREE": "2"}, **model_data}
                    ],
                    "SupportedRealtimeInferenceInstanceTypes": ["ml.inf2.xlarge"],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            )["ModelPackageArn"]
        )

    @staticmethod
    def upload(model_data: dict[str, Any], kms_key_id: str = VARIABLES["KMS_KEY_ARN"]) -> None:
        """Write the object a container's model data names (a file under an S3Prefix)."""
        source = model_data.get("ModelDataSource", {}).get("S3DataSource", {})
        uri = source.get("S3Uri") or model_data["ModelDataUrl"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if source.get("S3DataType") == "S3Prefix":
            key += "model.safetensors"
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=bucket, Key=key, Body=b"weights", ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id
        )

    def set_status(self, package_arn: str, status: str) -> PackageDetail:
        """Approve or reject a version, and the event SageMaker sends for it."""
        boto3.client("sagemaker", region_name=REGION).update_model_package(
            ModelPackageArn=package_arn, ModelApprovalStatus=status
        )
        event = json.loads(EVENT.read_text())
        event["detail"].update(ModelPackageArn=package_arn, ModelApprovalStatus=status)
        return PackageDetail.model_validate(event["detail"])

    def deploy(self, status: str = "Approved", package_arn: str | None = None) -> tuple[str, dict[str, Any]]:
        """Register (unless given), set the status and handle the event."""
        arn = package_arn or self.register()
        return arn, on_package_state_change(self.set_status(arn, status), self.env)

    def endpoint_changed(self, endpoint_name: str = ENDPOINT) -> dict[str, Any]:
        """SageMaker's state change event for the endpoint, handled (the function reads the state itself)."""
        event = json.loads(ENDPOINT_EVENT.read_text())
        event["detail"]["EndpointName"] = endpoint_name
        return on_endpoint_state_change(EndpointDetail.model_validate(event["detail"]), self.env)

    def rollout_target(self) -> str | None:
        """The endpoint's genai-kit:rollout-target tag (moto appends on AddTags: the last one counts, as in AWS)."""
        tags = {tag["Key"]: tag["Value"] for tag in self.backend.endpoints[ENDPOINT].tags}
        return tags.get("genai-kit:rollout-target")

    def endpoint_config_name(self) -> str | None:
        endpoint = self.backend.endpoints.get(ENDPOINT)
        return None if endpoint is None else str(endpoint.endpoint_config_name)

    def notifications(self) -> list[dict[str, Any]]:
        topic = sns_backends[ACCOUNT][REGION].topics[self.env.topic_arn]
        return [json.loads(message) for _, message, *_ in topic.sent_notifications]


@pytest.fixture
def account(aws: None, monkeypatch: pytest.MonkeyPatch) -> Account:
    topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alarms")["TopicArn"]
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    for name, value in {**VARIABLES, "TOPIC_ARN": topic_arn}.items():
        monkeypatch.setenv(name, value)
    environment.cache_clear()  # the handler parses its environment once per execution environment
    state = Account(env=Environment.from_environment(os.environ))
    sagemaker = client("sagemaker")
    sagemaker.meta.events.register("before-call.sagemaker", lambda model, **_: state.calls.append(model.name))

    def update_endpoint(**request: Any) -> dict[str, Any]:
        """UpdateEndpoint as SageMaker takes it: a valid request switches the endpoint (moto has none)."""
        validate_parameters(request, _SAGEMAKER_MODEL.operation_model("UpdateEndpoint").input_shape)
        state.calls.append("UpdateEndpoint")
        state.updates.append(copy.deepcopy(request))
        if state.update_error is not None:
            raise state.update_error
        state.backend.endpoints[request["EndpointName"]].endpoint_config_name = request["EndpointConfigName"]
        return {"EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{request['EndpointName']}"}

    monkeypatch.setattr(sagemaker, "update_endpoint", update_endpoint)
    return state


@pytest.fixture
def serving_v1(account: Account) -> str:
    """The endpoint already serves version 1 (created by an earlier approval)."""
    arn, result = account.deploy()
    assert result["status"] == "CREATING"
    account.calls.clear()
    return arn


def test_approval_without_an_endpoint_creates_model_config_and_endpoint(account: Account) -> None:
    arn, result = account.deploy()

    assert result["status"] == "CREATING"
    assert account.calls == [
        "DescribeModelPackage",
        "DescribeEndpoint",
        "DescribeModel",
        "CreateModel",
        "DescribeEndpointConfig",
        "CreateEndpointConfig",
        "CreateEndpoint",
    ]
    model = client("sagemaker").describe_model(ModelName="genai-kit-dev-ft-v1")
    assert model["Containers"] == [{"ModelPackageName": arn}]
    assert model["ExecutionRoleArn"] == VARIABLES["EXECUTION_ROLE_ARN"]
    config = client("sagemaker").describe_endpoint_config(EndpointConfigName="genai-kit-dev-ft-v1")
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == "ml.inf2.xlarge"
    assert (
        variant["ModelDataDownloadTimeoutInSeconds"] == variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 3600
    )
    assert config["KmsKeyId"] == VARIABLES["KMS_KEY_ARN"]
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{ARTIFACTS_BUCKET}/data-capture/{ENDPOINT}/"
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"
    assert [n["status"] for n in account.notifications()] == ["CREATING"]


def test_model_is_tagged_with_the_stage_and_its_package(account: Account) -> None:
    arn, _ = account.deploy()
    model = account.backend._models["genai-kit-dev-ft-v1"]
    tags = {t["Key"]: t["Value"] for t in model.tags}
    assert tags == {"genai-kit:stage": "dev", "genai-kit:model-package": arn}


def test_create_model_request_turns_network_isolation_on(account: Account) -> None:
    requests: list[dict[str, Any]] = []
    sagemaker = client("sagemaker")
    sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateModel", lambda params, **_: requests.append(dict(params))
    )
    account.deploy()
    assert requests[0]["EnableNetworkIsolation"] is True


@pytest.mark.usefixtures("serving_v1")
def test_approval_with_an_endpoint_updates_it_blue_green_with_the_rollback_alarms(account: Account) -> None:
    _, result = account.deploy()

    assert result["status"] == "UPDATING"
    assert account.updates == [
        {
            "EndpointName": ENDPOINT,
            "EndpointConfigName": "genai-kit-dev-ft-v2",
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
                    "TerminationWaitInSeconds": 300,
                    "MaximumExecutionTimeoutInSeconds": 14400,
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in ALARMS]},
            },
        }
    ]
    assert "CreateEndpoint" not in account.calls
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v2"
    assert account.notifications()[-1]["status"] == "UPDATING"


@pytest.mark.usefixtures("serving_v1")
def test_rejected_version_only_notifies(account: Account) -> None:
    _, result = account.deploy("Rejected")

    assert result["status"] == "REJECTED"
    assert account.calls == []
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"
    assert "genai-kit-dev-ft-v2" not in account.backend._models
    notification = account.notifications()[-1]
    assert notification["status"] == "REJECTED"
    assert f"endpoint {ENDPOINT} is unchanged" in notification["reason"]


@pytest.mark.usefixtures("serving_v1")
def test_failed_update_removes_what_it_created_notifies_and_raises(account: Account) -> None:
    account.update_error = ClientError(
        {"Error": {"Code": "ResourceLimitExceeded", "Message": "ml.inf2.xlarge for endpoint usage: 1"}},
        "UpdateEndpoint",
    )

    with pytest.raises(ClientError, match="ResourceLimitExceeded"):
        account.deploy()

    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"
    assert set(account.backend._models) == {"genai-kit-dev-ft-v1"}
    assert set(account.backend.endpoint_configs) == {"genai-kit-dev-ft-v1"}
    assert account.calls[-2:] == ["DeleteEndpointConfig", "DeleteModel"]
    notification = account.notifications()[-1]
    assert notification["status"] == "FAILED"
    assert "ResourceLimitExceeded" in notification["reason"]
    assert f"endpoint {ENDPOINT} keeps serving what it served" in notification["reason"]
    assert notification["reason"].endswith(
        "when invoked asynchronously (EventBridge), Lambda runs the event again, then keeps it in the failure queue "
        f"{VARIABLES['FAILURE_QUEUE_URL']}"
    )


@pytest.mark.usefixtures("serving_v1")
def test_endpoint_busy_with_another_deployment_is_refused_and_cleaned_up(account: Account) -> None:
    account.backend.endpoints[ENDPOINT].endpoint_status = "Updating"

    with pytest.raises(RolloutError, match="is Updating; SageMaker updates an endpoint only when it is InService"):
        account.deploy()

    assert account.updates == []
    assert set(account.backend._models) == {"genai-kit-dev-ft-v1"}
    assert account.notifications()[-1]["status"] == "FAILED"


_OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other"
OTHER_WEIGHTS = f"s3://{ARTIFACTS_BUCKET}/training/output/job-2/output/model/"


@pytest.mark.parametrize(
    ("model_data", "uploaded_with", "problem"),
    [
        pytest.param(
            {"ModelDataSource": {"S3DataSource": {**WEIGHTS_SOURCE, "S3Uri": OTHER_WEIGHTS}}},
            None,
            f"{OTHER_WEIGHTS}: no object under this prefix",
            id="prefix-empty",
        ),
        pytest.param(
            {"ModelDataUrl": f"s3://{ARTIFACTS_BUCKET}/training/output/job/output/model.tar.gz"},
            None,
            f"s3://{ARTIFACTS_BUCKET}/training/output/job/output/model.tar.gz: no such object",
            id="object-missing",
        ),
        pytest.param(
            {"ModelDataSource": {"S3DataSource": {**WEIGHTS_SOURCE, "S3Uri": f"s3://{DATASETS_BUCKET}/weights/"}}},
            VARIABLES["KMS_KEY_ARN"],
            f"s3://{DATASETS_BUCKET}/weights/: outside s3://{ARTIFACTS_BUCKET}/training/output/, the only model data "
            "the serving role may read",
            id="outside-the-serving-role-prefix",
        ),
        pytest.param(
            {"ModelDataSource": {"S3DataSource": {**WEIGHTS_SOURCE, "S3Uri": OTHER_WEIGHTS}}},
            _OTHER_KEY,
            f"{OTHER_WEIGHTS}: {OTHER_WEIGHTS}model.safetensors is encrypted with KMS key {_OTHER_KEY}; "
            f"the serving role may decrypt only {VARIABLES['KMS_KEY_ARN']}",
            id="encrypted-with-another-key",
        ),
        pytest.param({}, None, f"container {IMAGE} names no model data (ModelDataSource or ModelDataUrl)", id="none"),
    ],
)
@pytest.mark.usefixtures("serving_v1")
def test_version_whose_model_data_cannot_be_served_is_refused_before_anything_is_created(
    account: Account, model_data: dict[str, Any], uploaded_with: str | None, problem: str
) -> None:
    # GIVEN a version whose container names weights that are missing, elsewhere, or under another key
    if uploaded_with is not None:
        account.upload(model_data, kms_key_id=uploaded_with)
    arn = account.register(model_data, upload=False)

    # WHEN it is approved
    _, result = account.deploy(package_arn=arn)

    # THEN it is refused after reading the package only, and the topic names the package and the location
    assert result["status"] == "REFUSED"
    assert account.calls == ["DescribeModelPackage"]
    assert set(account.backend._models) == set(account.backend.endpoint_configs) == {"genai-kit-dev-ft-v1"}
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"
    notification = account.notifications()[-1]
    assert notification["status"] == "REFUSED"
    assert notification["modelPackageArn"] == arn
    assert notification["modelData"] == [problem]
    assert arn in notification["reason"]
    assert f"nothing was created and endpoint {ENDPOINT} is unchanged" in notification["reason"]


def test_weights_under_the_prefix_are_enough(account: Account) -> None:
    arn = account.register()

    _, result = account.deploy(package_arn=arn)

    assert result["status"] == "CREATING"
    assert account.notifications()[-1]["modelPackageArn"] == arn


@pytest.mark.parametrize("with_endpoint", [False, True], ids=["created", "updated"])
def test_redelivered_event_changes_nothing(account: Account, with_endpoint: bool) -> None:
    if with_endpoint:
        account.deploy()
    arn, first = account.deploy()
    calls = len(account.calls)
    notifications = len(account.notifications())

    _, again = account.deploy(package_arn=arn)

    assert first["status"] in {"CREATING", "UPDATING"}
    assert again["status"] == "UNCHANGED"
    assert account.calls[calls:] == ["DescribeModelPackage", "DescribeEndpoint"]
    assert len(account.updates) == int(with_endpoint)
    assert len(account.notifications()) == notifications


def _pending(account: Account, monkeypatch: pytest.MonkeyPatch, serving: str, moving_to: str) -> None:
    """The endpoint serves ``serving`` while a blue/green deployment moves it to ``moving_to`` (as DescribeEndpoint
    reports it; moto has no PendingDeploymentSummary)."""
    endpoint = account.backend.endpoints[ENDPOINT]
    endpoint.endpoint_config_name = serving
    endpoint.endpoint_status = "Updating"
    original = client("sagemaker").describe_endpoint

    def describe_endpoint(**request: Any) -> dict[str, Any]:
        response: dict[str, Any] = original(**request)
        response["PendingDeploymentSummary"] = {"EndpointConfigName": moving_to}
        return response

    monkeypatch.setattr(client("sagemaker"), "describe_endpoint", describe_endpoint)


@pytest.mark.usefixtures("serving_v1")
def test_redelivery_during_the_blue_green_deployment_changes_nothing(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, _ = account.deploy()
    # SageMaker keeps serving v1 while v2 bakes: DescribeEndpoint reports v2 as the pending deployment.
    _pending(account, monkeypatch, serving="genai-kit-dev-ft-v1", moving_to="genai-kit-dev-ft-v2")

    _, again = account.deploy(package_arn=arn)

    assert again["status"] == "UNCHANGED"
    assert len(account.updates) == 1


def test_late_approval_of_an_older_version_is_superseded_and_notified(account: Account) -> None:
    # GIVEN v1 registered, then v2 registered, approved and rolled out first
    v1 = account.register()
    account.deploy()
    account.calls.clear()

    # WHEN v1's approval arrives after v2 went out
    _, result = account.deploy(package_arn=v1)

    # THEN the endpoint stays on v2, nothing is created for v1, and the topic says why and how to serve v1
    assert result["status"] == "SUPERSEDED"
    assert account.calls == ["DescribeModelPackage", "DescribeEndpoint", "DescribeModelPackage"]
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v2"
    assert set(account.backend._models) == {"genai-kit-dev-ft-v2"}
    notification = account.notifications()[-1]
    assert notification["status"] == "SUPERSEDED"
    assert notification["modelPackageArn"] == v1
    assert notification["servedVersion"] == 2
    assert (
        f"endpoint {ENDPOINT} serves or moves to genai-kit-dev-ft-v2, a newer version that is still Approved"
        in (notification["reason"])
    )
    assert "to serve v1, reject v2 first, then send v1's event again" in notification["reason"]


@pytest.mark.usefixtures("serving_v1")
def test_older_approval_during_the_newer_versions_deployment_is_superseded_not_failed(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    v2 = account.register()
    account.deploy()
    _pending(account, monkeypatch, serving="genai-kit-dev-ft-v1", moving_to="genai-kit-dev-ft-v3")

    _, result = account.deploy(package_arn=v2)

    assert result["status"] == "SUPERSEDED"
    assert result["servedVersion"] == 3
    assert len(account.updates) == 1


def test_older_version_goes_out_once_the_newer_one_is_rejected(account: Account) -> None:
    # GIVEN v2 served and v1 approved late (superseded)
    v1 = account.register()
    v2, _ = account.deploy()
    assert account.deploy(package_arn=v1)[1]["status"] == "SUPERSEDED"

    # WHEN the operator rejects v2 and sends v1's event again
    account.deploy("Rejected", package_arn=v2)
    _, result = account.deploy(package_arn=v1)

    # THEN v1 goes out blue/green
    assert result["status"] == "UPDATING"
    assert account.updates[-1]["EndpointConfigName"] == "genai-kit-dev-ft-v1"
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"


FAILURE = "The primary container for production variant AllTraffic did not pass the ping health check."


def _fail(account: Account) -> None:
    endpoint = account.backend.endpoints[ENDPOINT]
    endpoint.endpoint_status = "Failed"
    endpoint.failure_reason = FAILURE


@pytest.mark.usefixtures("serving_v1")
def test_approval_while_the_endpoint_is_failed_deletes_and_recreates_it(account: Account) -> None:
    # GIVEN an endpoint that failed (SageMaker allows only DeleteEndpoint on it)
    _fail(account)

    # WHEN a version is approved
    arn, result = account.deploy()

    # THEN the function deletes the endpoint, creates it on the new version and says what it replaced
    assert result["status"] == "RECREATING"
    assert account.calls[-3:] == ["DeleteEndpoint", "DescribeEndpoint", "CreateEndpoint"]
    assert "UpdateEndpoint" not in account.calls
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v2"
    assert account.backend.endpoints[ENDPOINT].endpoint_status == "InService"
    assert set(account.backend._models) == {"genai-kit-dev-ft-v1", "genai-kit-dev-ft-v2"}
    notification = account.notifications()[-1]
    assert notification["status"] == "RECREATING"
    assert notification["failureReason"] == FAILURE
    assert notification["reason"] == (
        f"endpoint {ENDPOINT} was Failed ({FAILURE}): deleted it and creating it with genai-kit-dev-ft-v2 ({arn})"
    )


def test_approval_of_the_version_the_endpoint_failed_on_tries_it_again(account: Account) -> None:
    arn, _ = account.deploy()
    _fail(account)

    _, result = account.deploy(package_arn=arn)

    assert result["status"] == "RECREATING"
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v1"
    assert account.backend.endpoints[ENDPOINT].endpoint_status == "InService"


@pytest.mark.usefixtures("serving_v1")
def test_failed_endpoint_still_deleting_fails_the_attempt_and_the_next_one_creates_it(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a Failed endpoint whose deletion takes longer than the invocation may wait
    _fail(account)
    endpoint = account.backend.endpoints[ENDPOINT]

    def delete_endpoint(**request: Any) -> dict[str, Any]:
        account.calls.append("DeleteEndpoint")
        endpoint.endpoint_status = "Deleting"
        return {}

    monkeypatch.setattr(client("sagemaker"), "delete_endpoint", delete_endpoint)

    # WHEN v2 is approved, THEN the attempt fails after deleting, and says the endpoint is gone and what comes next
    arn = account.register()
    with pytest.raises(RolloutError, match="is still being deleted after 0 s"):
        account.deploy(package_arn=arn)
    assert account.calls.count("DeleteEndpoint") == 1
    assert set(account.backend._models) == {"genai-kit-dev-ft-v1"}
    notification = account.notifications()[-1]
    assert notification["status"] == "FAILED"
    assert (
        f"endpoint {ENDPOINT} was Failed ({FAILURE}) and has been deleted; it is created with genai-kit-dev-ft-v2 "
        "when the event is handled again"
    ) in notification["reason"]

    # WHEN SageMaker finished deleting and the event is handled again, THEN the endpoint is created on v2
    del account.backend.endpoints[ENDPOINT]
    _, result = account.deploy(package_arn=arn)
    assert result["status"] == "CREATING"
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v2"


def test_endpoint_being_deleted_is_waited_for_then_created(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an endpoint that SageMaker is deleting, and is gone at the second look
    account.deploy()
    account.backend.endpoints[ENDPOINT].endpoint_status = "Deleting"
    original = client("sagemaker").describe_endpoint
    looks: list[str] = []

    def describe_endpoint(**request: Any) -> dict[str, Any]:
        looks.append(request["EndpointName"])
        if len(looks) == 3:  # the rollout's look, the first wait, then gone
            account.backend.endpoints.pop(ENDPOINT, None)
        return dict(original(**request))

    monkeypatch.setattr(client("sagemaker"), "describe_endpoint", describe_endpoint)
    sleeps: list[float] = []
    monkeypatch.setattr("lambdas.training_deploy.deployment.sleep", sleeps.append)

    # WHEN v2 is approved with time to wait
    result = on_package_state_change(account.set_status(account.register(), "Approved"), account.env, wait_seconds=60)

    # THEN the function waited one poll and created the endpoint on v2
    assert result["status"] == "RECREATING"
    assert sleeps == [deployment.DELETION_POLL_SECONDS]
    assert "DeleteEndpoint" not in account.calls
    assert account.endpoint_config_name() == "genai-kit-dev-ft-v2"
    assert result["reason"].startswith(
        f"endpoint {ENDPOINT} was being deleted: creating it again with genai-kit-dev-ft-v2"
    )


def test_version_no_longer_approved_is_ignored_and_notified(account: Account) -> None:
    arn = account.register()
    detail = account.set_status(arn, "Approved")
    account.set_status(arn, "Rejected")

    result = on_package_state_change(detail, account.env)

    assert result["status"] == "IGNORED"
    assert account.calls == ["DescribeModelPackage"]
    assert account.backend._models == {}
    assert account.endpoint_config_name() is None
    assert account.notifications()[-1]["reason"] == (
        f"{arn} is Rejected now, no longer Approved: the function rolls out Approved versions of {GROUP} only; ignored"
    )


@pytest.mark.parametrize(
    ("group", "status", "why"),
    [
        ("other", "Approved", "belongs to group other"),
        (GROUP, "PendingManualApproval", "is PendingManualApproval"),
    ],
    ids=["another-group", "not-approved-nor-rejected"],
)
def test_event_the_rule_does_not_send_is_ignored_and_notified(
    account: Account, group: str, status: str, why: str
) -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/1"
    detail = PackageDetail.model_validate(
        {"ModelPackageArn": arn, "ModelPackageGroupName": group, "ModelApprovalStatus": status}
    )

    result = on_package_state_change(detail, account.env)

    assert result["status"] == "IGNORED"
    assert account.calls == []
    notification = account.notifications()[-1]
    assert notification["status"] == "IGNORED"
    assert notification["reason"] == (f"{arn} {why}: the function rolls out Approved versions of {GROUP} only; ignored")


def test_concurrently_created_model_counts_as_existing(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    sagemaker = client("sagemaker")
    original = sagemaker.create_model

    def create_model(**request: Any) -> dict[str, Any]:
        original(**request)
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "Cannot create already existing model"}}, "CreateModel"
        )

    monkeypatch.setattr(sagemaker, "create_model", create_model)

    _, result = account.deploy()

    assert result["status"] == "CREATING"


def test_handler_parses_the_eventbridge_event(account: Account) -> None:
    arn = account.register()
    account.set_status(arn, "Approved")
    event = json.loads(EVENT.read_text())
    event["detail"]["ModelPackageArn"] = arn

    result = handler(event, FakeLambdaContext(function_name="training-deploy"))

    assert result["status"] == "CREATING"
    assert result["endpoint"] == ENDPOINT


# ---- SageMaker's outcome of a rollout (endpoint state change events) ----------------------------------------


def test_endpoint_created_and_in_service_is_reported_once(account: Account) -> None:
    # GIVEN the first approval created the endpoint, tagged with the config it rolls out
    account.deploy()
    assert account.rollout_target() == "genai-kit-dev-ft-v1"

    # WHEN SageMaker reports it InService (twice: SageMaker may send several events per change)
    first = account.endpoint_changed()
    again = account.endpoint_changed()

    # THEN the success is told once and the tag is gone
    assert first["status"] == "SUCCEEDED"
    assert again["status"] == "NOT_AWAITED"
    assert [n["status"] for n in account.notifications()] == ["CREATING", "SUCCEEDED"]
    notification = account.notifications()[-1]
    assert notification["reason"] == f"endpoint {ENDPOINT} is InService on genai-kit-dev-ft-v1"
    assert (notification["endpointConfig"], notification["target"]) == ("genai-kit-dev-ft-v1", "genai-kit-dev-ft-v1")
    assert account.rollout_target() is None


@pytest.mark.usefixtures("serving_v1")
def test_blue_green_update_completed_by_sagemaker_is_reported(account: Account) -> None:
    account.endpoint_changed()
    account.deploy()
    assert account.rollout_target() == "genai-kit-dev-ft-v2"

    result = account.endpoint_changed()

    assert result["status"] == "SUCCEEDED"
    assert account.notifications()[-1]["reason"] == f"endpoint {ENDPOINT} is InService on genai-kit-dev-ft-v2"
    assert account.rollout_target() is None


@pytest.mark.parametrize("failure", [None, "Alarm genai-kit-dev-finetuned-model-errors went into ALARM state"])
@pytest.mark.usefixtures("serving_v1")
def test_update_rolled_back_by_sagemaker_is_reported(account: Account, failure: str | None) -> None:
    # GIVEN an update to v2 that SageMaker accepted
    account.endpoint_changed()
    account.deploy()
    # WHEN an alarm fires while v2 bakes and SageMaker returns the endpoint to v1 (InService)
    endpoint = account.backend.endpoints[ENDPOINT]
    endpoint.endpoint_config_name = "genai-kit-dev-ft-v1"
    endpoint.failure_reason = failure
    result = account.endpoint_changed()

    # THEN the topic hears of the rollback, with SageMaker's reason or where to look; v2 stays to be retried
    assert result["status"] == "ROLLED_BACK"
    notification = account.notifications()[-1]
    assert notification["status"] == "ROLLED_BACK"
    assert (notification["endpointConfig"], notification["target"]) == ("genai-kit-dev-ft-v1", "genai-kit-dev-ft-v2")
    assert notification["failureReason"] == failure
    expected = f": {failure};" if failure else f"see the log group /aws/sagemaker/Endpoints/{ENDPOINT});"
    assert expected in notification["reason"]
    assert "the endpoint is InService on genai-kit-dev-ft-v1 again" in notification["reason"]
    assert {"genai-kit-dev-ft-v1", "genai-kit-dev-ft-v2"} == set(account.backend.endpoint_configs)
    assert account.rollout_target() is None


@pytest.mark.parametrize(
    ("status", "outcome", "says"),
    [
        ("Failed", "ENDPOINT_FAILED", "serves nothing; the next approval (that of genai-kit-dev-ft-v1 sent again"),
        ("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED", "takes no update until it is InService again"),
    ],
)
def test_endpoint_left_failed_is_reported(account: Account, status: str, outcome: str, says: str) -> None:
    account.deploy()
    endpoint = account.backend.endpoints[ENDPOINT]
    endpoint.endpoint_status = status
    endpoint.failure_reason = FAILURE

    result = account.endpoint_changed()

    assert result["status"] == outcome
    notification = account.notifications()[-1]
    assert notification["status"] == outcome
    assert notification["failureReason"] == FAILURE
    assert says in notification["reason"]


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
def test_endpoint_still_changing_is_not_reported(account: Account, status: str) -> None:
    account.deploy()
    account.backend.endpoints[ENDPOINT].endpoint_status = status

    result = account.endpoint_changed()

    assert result["status"] == "IN_PROGRESS"
    assert [n["status"] for n in account.notifications()] == ["CREATING"]
    assert account.rollout_target() == "genai-kit-dev-ft-v1"


def test_state_change_of_another_endpoint_is_ignored_and_notified(account: Account) -> None:
    result = account.endpoint_changed("someone-elses")

    assert result["status"] == "IGNORED"
    assert account.calls == []
    assert account.notifications()[-1]["reason"] == (
        f"a state change of endpoint someone-elses: the function follows {ENDPOINT} only"
    )


@pytest.mark.usefixtures("serving_v1")
def test_update_sagemaker_refuses_keeps_the_awaited_rollout_as_it_was(account: Account) -> None:
    account.update_error = ClientError(
        {"Error": {"Code": "ResourceLimitExceeded", "Message": "ml.inf2.xlarge for endpoint usage: 1"}},
        "UpdateEndpoint",
    )
    with pytest.raises(ClientError):
        account.deploy()

    assert account.rollout_target() == "genai-kit-dev-ft-v1"


def test_outcome_that_cannot_be_read_is_notified_and_fails_the_invocation(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    account.deploy()

    def list_tags(**request: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "ListTags")

    monkeypatch.setattr(client("sagemaker"), "list_tags", list_tags)

    with pytest.raises(ClientError, match="AccessDeniedException"):
        account.endpoint_changed()

    notification = account.notifications()[-1]
    assert notification["status"] == "OUTCOME_UNKNOWN"
    assert "AccessDeniedException" in notification["reason"]
    assert VARIABLES["FAILURE_QUEUE_URL"] in notification["reason"]
    assert account.rollout_target() == "genai-kit-dev-ft-v1"


def test_handler_routes_an_endpoint_state_change(account: Account) -> None:
    account.deploy()
    event = json.loads(ENDPOINT_EVENT.read_text())

    result = handler(event, FakeLambdaContext(function_name="training-deploy"))

    assert result["status"] == "SUCCEEDED"


def _event() -> dict[str, Any]:
    return dict(json.loads(EVENT.read_text()))


def _without_package_arn() -> dict[str, Any]:
    event = _event()
    del event["detail"]["ModelPackageArn"]
    return event


def _other_detail_type() -> dict[str, Any]:
    return {**_event(), "detail-type": "SageMaker Training Job State Change"}


@pytest.mark.parametrize(
    ("make_event", "problem"),
    [
        (_without_package_arn, "detail.ModelPackageArn: Field required"),
        (
            _other_detail_type,
            "detail-type 'SageMaker Training Job State Change' is neither 'SageMaker Model Package State Change' "
            "nor 'SageMaker Endpoint State Change'",
        ),
        (lambda: ["not", "an", "event"], "detail-type 'list' is neither"),
    ],
    ids=["malformed", "another-detail-type", "not-an-object"],
)
def test_event_the_function_cannot_handle_is_notified_and_fails_the_invocation(
    account: Account, make_event: Any, problem: str
) -> None:
    event = make_event()

    with pytest.raises(UnexpectedEventError, match=problem):
        handler(event, FakeLambdaContext(function_name="training-deploy"))

    assert account.calls == []
    notification = account.notifications()[-1]
    assert notification["status"] == "UNEXPECTED_EVENT"
    assert problem in notification["reason"]
    assert notification["reason"].endswith(f"then keeps it in the failure queue {VARIABLES['FAILURE_QUEUE_URL']}")
    if isinstance(event, dict):
        assert notification["event"] == {k: event[k] for k in ("id", "detail-type", "source")}


def test_deployment_config_is_valid_for_create_and_update(account: Account) -> None:
    config = deployment_config(account.env)
    for operation in ("CreateEndpoint", "UpdateEndpoint"):
        request = {"EndpointName": ENDPOINT, "EndpointConfigName": "c", "DeploymentConfig": config}
        validate_parameters(request, _SAGEMAKER_MODEL.operation_model(operation).input_shape)


def test_synthesized_environment_is_the_one_the_function_reads(
    dev: SynthResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    functions = dev.templates["Training"]["Resources"]
    (function,) = [r for k, r in functions.items() if "DeployFunction" in k and r["Type"] == "AWS::Lambda::Function"]
    for name, value in function["Properties"]["Environment"]["Variables"].items():
        # Deploy-time values (role, key and topic ARNs, the bucket) are CloudFormation tokens here.
        monkeypatch.setenv(name, value if isinstance(value, str) else "token")
    env = Environment.from_environment(os.environ)
    assert env.rollback_alarms == ALARMS
    assert env.tags == {"genai-kit:stage": "dev"}


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VARIABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TOPIC_ARN", raising=False)
    with pytest.raises(ValueError, match="TOPIC_ARN: Field required"):
        Environment.from_environment(os.environ)
