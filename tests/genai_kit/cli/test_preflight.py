"""preflight: every check's PASS, and each FAIL path with its fix, against moto and botocore Stubbers."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from genai_kit.cli.bedrock_checks import Check
from genai_kit.cli.needs import QuotaNeed, concurrency_reservations, endpoint_needs
from genai_kit.cli.preflight import Preflight, has_failures
from genai_kit.stage import ResolvedStage
from tests.genai_kit.cli.conftest import MOTO_ACCOUNT, REGION, FakeAws

QUOTAS = {"ServiceCode": "sagemaker"}
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.1.2-optimum0.0.27-neuronx-py310-ubuntu22.04"
)


def preflight(aws: Any, **overrides: Any) -> Preflight:
    options: dict[str, Any] = {
        "clients": aws,
        "region": REGION,
        "expected_account": None,
        "endpoints": (),
        "settings": SimpleNamespace(),
        "bootstrap_version": 6,
        "bootstrap_parameter": "/cdk-bootstrap/hnb659fds/version",
        **overrides,
    }
    return Preflight(**options)


def quota(name: str, value: float, code: str = "L-TEST0001") -> dict[str, Any]:
    return {"QuotaName": name, "QuotaCode": code, "Value": value, "ServiceCode": "sagemaker"}


def endpoint_need(count: int = 1) -> QuotaNeed:
    return QuotaNeed("ml.inf2.xlarge", count, "endpoint usage", "max instances of tinyllama")


# credentials


def test_credentials_pass_names_the_account(aws: FakeAws) -> None:
    check = preflight(aws).check_credentials()
    assert (check.status, check.detail.split(" as ")[0]) == ("PASS", f"account {MOTO_ACCOUNT}")


def test_missing_credentials_fail_with_how_to_log_in() -> None:
    class NoCredentials:
        def get_caller_identity(self) -> None:
            raise NoCredentialsError()

    checks = preflight(lambda service: NoCredentials()).run()
    assert [(c.name, c.status) for c in checks] == [("credentials", "FAIL")]
    assert "aws sso login" in checks[0].fix


def test_expired_credentials_fail(aws: FakeAws) -> None:
    aws.stub("sts").add_client_error("get_caller_identity", service_error_code="ExpiredToken")
    assert preflight(aws).check_credentials().status == "FAIL"


def test_credentials_of_another_account_fail(aws: FakeAws) -> None:
    check = preflight(aws, expected_account="999999999999").check_credentials()
    assert check.status == "FAIL"
    assert "the stage deploys to 999999999999" in check.detail


# quotas


@pytest.mark.parametrize(("value", "status"), [(2, "PASS"), (1, "WARN"), (0, "FAIL")])
def test_endpoint_quota_against_the_maximum_instances(aws: FakeAws, value: float, status: str) -> None:
    # GIVEN an endpoint that scales to 1 instance and an account quota of `value`
    aws.stub("service-quotas").add_response(
        "list_service_quotas", {"Quotas": [quota("ml.inf2.xlarge for endpoint usage", value)]}, QUOTAS
    )
    # WHEN preflight checks it THEN a second fleet's room (blue/green) is a WARN, no room at all a FAIL
    [check] = preflight(aws).check_quotas([endpoint_need(1)])
    assert check.status == status


def test_quota_fail_tells_how_to_request_an_increase_by_the_code_found_by_name(aws: FakeAws) -> None:
    aws.stub("service-quotas").add_response(
        "list_service_quotas", {"Quotas": [quota("ml.inf2.xlarge for endpoint usage", 1, code="L-ABCD1234")]}, QUOTAS
    )
    [check] = preflight(aws).check_quotas([endpoint_need(3)])
    assert check.detail.startswith("quota 1, needed 3")
    assert "--quota-code L-ABCD1234 --desired-value 3" in check.fix


def test_quota_missing_from_applied_values_falls_back_to_the_default(aws: FakeAws) -> None:
    stub = aws.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, QUOTAS)
    stub.add_response(
        "list_aws_default_service_quotas", {"Quotas": [quota("ml.inf2.xlarge for endpoint usage", 4)]}, QUOTAS
    )
    [check] = preflight(aws).check_quotas([endpoint_need(1)])
    assert (check.status, check.detail.split(" (")[0]) == ("PASS", "quota 4, needed 1")


def test_instance_type_without_a_quota_in_the_region_fails_as_not_offered(aws: FakeAws) -> None:
    stub = aws.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, QUOTAS)
    stub.add_response("list_aws_default_service_quotas", {"Quotas": []}, QUOTAS)
    [check] = preflight(aws).check_quotas([endpoint_need(1)])
    assert check.status == "FAIL"
    assert check.detail == "SageMaker offers no ml.inf2.xlarge for endpoints in us-east-1 (no such quota)"


def test_spot_training_is_checked_against_the_spot_training_quota(aws: FakeAws) -> None:
    # GIVEN a stage that trains on two spot ml.trn1.32xlarge
    settings = SimpleNamespace(training=SimpleNamespace(instance_type="ml.trn1.32xlarge", instance_count=2, spot=True))
    aws.stub("service-quotas").add_response(
        "list_service_quotas",
        {
            "Quotas": [
                quota("ml.trn1.32xlarge for training job usage", 8),
                quota("ml.trn1.32xlarge for spot training job usage", 1),
            ]
        },
        QUOTAS,
    )
    # WHEN preflight runs its quota checks
    checks = preflight(aws, settings=settings).run()
    # THEN the spot quota decides
    [check] = [c for c in checks if c.name.startswith("quota")]
    assert (check.name, check.status) == ("quota ml.trn1.32xlarge for spot training job usage", "FAIL")


def test_endpoint_needs_sum_max_instances_per_type(dev_config: ResolvedStage) -> None:
    endpoint = dev_config.endpoints[0]
    twice = [endpoint, endpoint]
    [need] = endpoint_needs(twice)
    assert (need.quota_name, need.count) == ("ml.inf2.xlarge for endpoint usage", 2)


# images


def test_existing_image_passes(aws: FakeAws) -> None:
    aws.stub("ecr").add_response(
        "batch_get_image",
        {"images": [{"imageId": {"imageTag": "x"}}], "failures": []},
        {
            "registryId": "763104351884",
            "repositoryName": "huggingface-pytorch-tgi-inference",
            "imageIds": [{"imageTag": IMAGE.rsplit(":", 1)[1]}],
        },
    )
    assert preflight(aws).check_image("tinyllama", IMAGE).status == "PASS"


def test_missing_image_tag_fails(aws: FakeAws) -> None:
    aws.stub("ecr").add_response("batch_get_image", {"images": [], "failures": [{"failureCode": "ImageNotFound"}]})
    check = preflight(aws).check_image("tinyllama", IMAGE)
    assert (check.status, check.detail.endswith("ImageNotFound")) == ("FAIL", True)


def test_missing_image_repository_fails(aws: FakeAws) -> None:
    aws.stub("ecr").add_client_error("batch_get_image", service_error_code="RepositoryNotFoundException")
    assert preflight(aws).check_image("tinyllama", IMAGE).status == "FAIL"


def test_image_that_cannot_be_read_is_a_warning(aws: FakeAws) -> None:
    aws.stub("ecr").add_client_error("batch_get_image", service_error_code="AccessDeniedException")
    check = preflight(aws).check_image("tinyllama", IMAGE)
    assert (check.status, check.fix) == ("WARN", "allow ecr:BatchGetImage on the image's repository")


def test_image_of_another_region_fails(aws: FakeAws) -> None:
    check = preflight(aws).check_image("tinyllama", IMAGE.replace("us-east-1", "eu-west-1"))
    assert check.status == "FAIL"


# Bedrock


def availability(**overrides: Any) -> dict[str, Any]:
    return {
        "modelId": "amazon.nova-lite-v1:0",
        "agreementAvailability": {"status": "AVAILABLE"},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "AVAILABLE",
        "regionAvailability": "AVAILABLE",
        **overrides,
    }


PROFILE = {
    "inferenceProfileName": "US Nova Lite",
    "inferenceProfileArn": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
    "models": [{"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"}],
    "inferenceProfileId": "us.amazon.nova-lite-v1:0",
    "status": "ACTIVE",
    "type": "SYSTEM_DEFINED",
}


def foundation_model(model_id: str = "amazon.nova-lite-v1:0", **lifecycle: Any) -> dict[str, Any]:
    """GetFoundationModel's answer, with ``modelDetails.modelLifecycle`` (API reference, FoundationModelLifecycle)."""
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
            "modelId": model_id,
            "modelLifecycle": {"status": "ACTIVE", **lifecycle},
        }
    }


def test_profile_and_its_model_available_pass(aws: FakeAws) -> None:
    stub = aws.stub("bedrock")
    stub.add_response("get_inference_profile", PROFILE, {"inferenceProfileIdentifier": "us.amazon.nova-lite-v1:0"})
    stub.add_response("get_foundation_model_availability", availability(), {"modelId": "amazon.nova-lite-v1:0"})
    stub.add_response("get_foundation_model", foundation_model(), {"modelIdentifier": "amazon.nova-lite-v1:0"})
    check = preflight(aws).check_bedrock_model("us.amazon.nova-lite-v1:0")
    assert (check.status, check.detail) == (
        "PASS",
        "amazon.nova-lite-v1:0 available through profile us.amazon.nova-lite-v1:0",
    )


def test_a_legacy_model_warns_with_its_end_of_life_and_one_past_it_fails(aws: FakeAws) -> None:
    canvas = "amazon.nova-canvas-v1:0"
    stub = aws.stub("bedrock")
    end_of_life = datetime(2099, 9, 30, tzinfo=UTC)
    legacy = foundation_model(
        canvas, status="LEGACY", legacyTime=datetime(2026, 3, 31, tzinfo=UTC), endOfLifeTime=end_of_life
    )
    stub.add_response("get_foundation_model_availability", availability(modelId=canvas), {"modelId": canvas})
    stub.add_response("get_foundation_model", legacy, {"modelIdentifier": canvas})
    check = preflight(aws).check_bedrock_model(canvas)
    assert (check.status, check.detail) == (
        "WARN",
        f"{canvas} available, but Legacy until 2099-09-30: new accounts cannot use it and calls fail after its end "
        "of life",
    )
    assert "modelLifecycle.status=='ACTIVE'" in check.fix

    ended = foundation_model(canvas, status="LEGACY", endOfLifeTime=datetime(2026, 9, 30, tzinfo=UTC))
    stub.add_response("get_foundation_model_availability", availability(modelId=canvas), {"modelId": canvas})
    stub.add_response("get_foundation_model", ended, {"modelIdentifier": canvas})
    check = preflight(aws).check_bedrock_model(canvas)
    assert (check.status, check.detail) == ("FAIL", f"{canvas} reached its end of life on 2026-09-30: calls to it fail")


def test_a_lifecycle_that_cannot_be_read_is_a_warning_naming_the_permission(aws: FakeAws) -> None:
    stub = aws.stub("bedrock")
    stub.add_response("get_foundation_model_availability", availability())
    stub.add_client_error("get_foundation_model", service_error_code="AccessDeniedException")
    check = preflight(aws).check_bedrock_model("amazon.nova-lite-v1:0")
    assert (check.status, check.fix) == ("WARN", "allow bedrock:GetFoundationModel")


def test_unknown_profile_fails(aws: FakeAws) -> None:
    aws.stub("bedrock").add_client_error("get_inference_profile", service_error_code="ResourceNotFoundException")
    check = preflight(aws).check_bedrock_model("eu.amazon.nova-lite-v1:0")
    assert check.status == "FAIL"
    assert "list-inference-profiles" in check.fix


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"entitlementAvailability": "NOT_AVAILABLE"}, "no access to amazon.nova-lite-v1:0 in this account"),
        ({"authorizationStatus": "NOT_AUTHORIZED"}, "this account is not authorized to use amazon.nova-lite-v1:0"),
        (
            {"agreementAvailability": {"status": "NOT_AVAILABLE"}},
            "no accepted agreement (EULA) for amazon.nova-lite-v1:0: NOT_AVAILABLE",
        ),
        ({"regionAvailability": "NOT_AVAILABLE"}, "amazon.nova-lite-v1:0 is not offered in us-east-1"),
    ],
)
def test_model_without_access_fails(aws: FakeAws, overrides: dict[str, Any], detail: str) -> None:
    aws.stub("bedrock").add_response("get_foundation_model_availability", availability(**overrides))
    check = preflight(aws).check_bedrock_model("amazon.nova-lite-v1:0")
    assert (check.status, check.detail) == ("FAIL", detail)


def test_stable_image_core_where_the_region_does_not_offer_it_fails_with_the_fix(aws: FakeAws) -> None:
    core = "stability.stable-image-core-v1:1"
    answer = availability(modelId=core, regionAvailability="NOT_AVAILABLE")
    aws.stub("bedrock").add_response("get_foundation_model_availability", answer, {"modelId": core})
    check = preflight(aws).check_bedrock_model(core)
    assert (check.status, check.detail) == ("FAIL", f"{core} is not offered in us-east-1")
    assert "use a region that offers the model" in check.fix
    assert "image models are called by foundation model id only" in check.fix


def test_models_come_from_the_bedrock_section_when_the_stage_has_one(aws: FakeAws) -> None:
    settings = SimpleNamespace(
        bedrock=SimpleNamespace(models=[SimpleNamespace(alias="lite", id="amazon.nova-lite-v1:0")])
    )
    aws.stub("bedrock").add_response("get_foundation_model_availability", availability())
    aws.bootstrap()
    names = [check.name for check in preflight(aws, settings=settings).run()]
    assert "bedrock amazon.nova-lite-v1:0" in names


# bootstrap


def test_bootstrapped_account_passes(aws: FakeAws) -> None:
    aws.bootstrap(version="21")
    check = preflight(aws).check_bootstrap()
    assert (check.status, check.detail) == ("PASS", "CDKToolkit CREATE_COMPLETE, version 21 (need >= 6)")


def test_account_without_bootstrap_stack_fails_with_the_bootstrap_command(aws: FakeAws) -> None:
    check = preflight(aws).check_bootstrap()
    assert check.status == "FAIL"
    assert check.fix == 'make cdk ARGS="bootstrap aws://<account>/us-east-1"'


def test_bootstrap_older_than_the_templates_need_fails(aws: FakeAws) -> None:
    aws.bootstrap(version="5")
    check = preflight(aws, bootstrap_version=6).check_bootstrap()
    assert (check.status, check.detail) == ("FAIL", "bootstrap version 5; the templates need 6 or newer")


def test_bootstrap_without_version_parameter_fails(aws: FakeAws) -> None:
    aws("cloudformation").create_stack(
        StackName="CDKToolkit", TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}'
    )
    assert preflight(aws).check_bootstrap().status == "FAIL"


# the whole run


def test_run_checks_credentials_quotas_images_and_bootstrap_in_order(aws: FakeAws, dev_config: ResolvedStage) -> None:
    aws.bootstrap()
    aws.stub("service-quotas").add_response(
        "list_service_quotas",
        {
            "Quotas": [
                quota("ml.inf2.xlarge for endpoint usage", 2),
                quota("ml.trn1.2xlarge for training job usage", 1),
            ]
        },
        QUOTAS,
    )
    aws.stub("ecr").add_response("batch_get_image", {"images": [{"imageId": {"imageTag": "x"}}]})
    checks = preflight(aws, endpoints=dev_config.endpoints).run()
    assert [(c.name, c.status) for c in checks] == [
        ("credentials", "PASS"),
        ("quota ml.inf2.xlarge for endpoint usage", "PASS"),
        # the default endpoint's model preparation job
        ("quota ml.trn1.2xlarge for training job usage", "PASS"),
        ("image of tinyllama", "PASS"),
        ("cdk bootstrap", "PASS"),
    ]
    assert not has_failures(checks)


def test_any_fail_is_a_failure() -> None:
    assert has_failures([Check("a", "PASS", ""), Check("b", "WARN", ""), Check("c", "FAIL", "")])
    assert not has_failures([Check("a", "PASS", ""), Check("b", "WARN", "")])


def test_the_router_and_the_rollout_reserve_concurrency_only_when_enabled(dev_config: ResolvedStage) -> None:
    settings = dev_config.settings
    assert concurrency_reservations(settings) == {"the API router": 100, "the deploy-on-approval function": 1}
    no_rollout = settings.model_copy(
        update={
            "training": settings.training.model_copy(
                update={"rollout": settings.training.rollout.model_copy(update={"enabled": False})}
            )
        }
    )
    assert concurrency_reservations(no_rollout) == {"the API router": 100}
    no_api = no_rollout.model_copy(update={"api": settings.api.model_copy(update={"enabled": False})})
    assert concurrency_reservations(no_api) == {}


@pytest.mark.parametrize(
    ("total", "unreserved", "status", "says"),
    [
        (1000, 1000, "PASS", "reserves 100 for the API router, 1 for the rollout: 101 of 1000 unreserved (1000 in the"),
        # The limits are inclusive: exactly 100 left unreserved passes, 99 does not.
        (1000, 201, "PASS", "101 of 201 unreserved"),
        (
            1000,
            200,
            "WARN",
            "200 of 1000 concurrent executions are unreserved; reserving 100 for the API router, 1 for",
        ),
        (201, 201, "PASS", "101 of 201 unreserved (201 in the account)"),
        (200, 200, "FAIL", "the account allows 200 concurrent executions; reserving 100 for the API router, 1 for the"),
    ],
)
def test_the_stages_reserved_concurrency_must_fit_the_account(
    aws: FakeAws, total: int, unreserved: int, status: str, says: str
) -> None:
    aws.stub("lambda").add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}},
    )
    check = preflight(aws).check_lambda_concurrency({"the API router": 100, "the rollout": 1})
    assert check.status == status
    assert says in check.detail
    if status != "PASS":
        assert "'Concurrent executions' quota" in check.fix


# Amazon Q Developer: the account's IAM Identity Center instance

AMAZON_Q = SimpleNamespace(amazon_q_developer=SimpleNamespace(enabled=True))
INSTANCE = {
    "InstanceArn": "arn:aws:sso:::instance/ssoins-1234567890abcdef",
    "IdentityStoreId": "d-1234567890",
    "OwnerAccountId": "123456789012",
    "Name": "kit",
    "Status": "ACTIVE",
}


def test_identity_center_instance_passes_naming_where_pro_users_are_subscribed(aws: FakeAws) -> None:
    aws.stub("sso-admin").add_response("list_instances", {"Instances": [INSTANCE]}, {})
    check = preflight(aws, settings=AMAZON_Q).check_identity_center()
    assert (check.status, check.detail) == (
        "PASS",
        "arn:aws:sso:::instance/ssoins-1234567890abcdef: subscribe Amazon Q Developer Pro users and groups there",
    )


def test_no_identity_center_instance_is_a_warning_with_what_it_limits(aws: FakeAws) -> None:
    aws.stub("sso-admin").add_response("list_instances", {"Instances": []}, {})
    check = preflight(aws, settings=AMAZON_Q).check_identity_center()
    assert check.status == "WARN"
    assert check.detail.startswith(f"no IAM Identity Center instance in {REGION}")
    assert "enable IAM Identity Center" in check.fix


def test_identity_center_that_cannot_be_listed_names_the_permission(aws: FakeAws) -> None:
    aws.stub("sso-admin").add_client_error("list_instances", service_error_code="AccessDeniedException")
    check = preflight(aws, settings=AMAZON_Q).check_identity_center()
    assert (check.status, check.fix) == ("WARN", "allow sso:ListInstances")


def test_identity_center_is_checked_only_when_the_amazon_q_policy_is_enabled(aws: FakeAws) -> None:
    aws.bootstrap()
    without = [check.name for check in preflight(aws).run()]
    aws.stub("sso-admin").add_response("list_instances", {"Instances": [INSTANCE]}, {})
    with_q = [check.name for check in preflight(aws, settings=AMAZON_Q).run()]
    assert "IAM Identity Center" not in without
    assert with_q[-2:] == ["IAM Identity Center", "cdk bootstrap"]
