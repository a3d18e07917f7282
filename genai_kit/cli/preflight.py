"""``preflight``: checks a stage's account and region before a deploy, so a 30-minute deploy does not fail on
something a few API calls could have told.

Each check is PASS, WARN or FAIL, with what was found and how to fix it:

- credentials: whose they are, and that they belong to the stage's account if the stage names one;
- per endpoint instance type: the region offers it for endpoints, and the ``<type> for endpoint usage`` quota
  covers the endpoints' maximum instance counts (a blue/green update briefly needs a second fleet: WARN);
- per training instance type: the ``<type> for training job usage`` (or spot) quota covers the job, and the
  model preparation jobs a deploy starts (one per prepared endpoint, all at once at worst);
- per endpoint image: the serving image exists in the region's registry;
- per Bedrock model or inference profile: it exists in the region, the account has access to it, and it is not
  past its end of life (FAIL) or Legacy (WARN);
- the router's reserved concurrency fits the account: Lambda keeps at least 100 of the account's concurrent
  executions unreserved and refuses a reservation that would leave fewer (Lambda developer guide, "Configuring
  reserved concurrency");
- the CDK bootstrap stack exists and is at least the version the synthesized templates need.

What the stage needs (instances per quota, reserved concurrency, Bedrock models) is read by ``genai_kit.cli.needs``.
Quotas are looked up by name (``list_service_quotas``), never by hard-coded quota codes.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from genai_kit.cli.aws import NO_CREDENTIALS_FIX, ClientFactory, error_code, is_credentials_error
from genai_kit.cli.bedrock_checks import Check, Status, availability_check, lifecycle_check
from genai_kit.cli.needs import (
    QuotaNeed,
    bedrock_model_ids,
    concurrency_reservations,
    endpoint_needs,
    finetuned_preparation_needs,
    preparation_needs,
    training_needs,
)
from genai_kit.pricing import foundation_model_of

SAGEMAKER_QUOTAS = "sagemaker"
BOOTSTRAP_STACK = "CDKToolkit"
# Lambda refuses a reserved concurrency that leaves fewer unreserved concurrent executions in the account.
UNRESERVED_MINIMUM = 100
# Imported by name: botocore ships no type information. Both are all a boto3 call raises for AWS-side problems.
_botocore = importlib.import_module("botocore.exceptions")
AWS_ERRORS: tuple[type[Exception], ...] = (_botocore.ClientError, _botocore.BotoCoreError)
_IMAGE_URI_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.[a-z0-9.]+/(?P<repository>[^:@]+)[:@](?P<tag>.+)$"
)


class Preflight:
    """Runs every check against one account and region through the given boto3 client factory."""

    def __init__(
        self,
        *,
        clients: ClientFactory,
        region: str,
        expected_account: str | None,
        endpoints: Iterable[Any],
        settings: Any,
        bootstrap_version: int,
        bootstrap_parameter: str,
        training: Any = None,
    ) -> None:
        """``training``: the stage's resolved training section (its Hugging Face kind's preparation job needs a
        quota of its own), None without training."""
        self.clients = clients
        self.region = region
        self.expected_account = expected_account
        self.endpoints = tuple(endpoints)
        self.settings = settings
        self.bootstrap_version = bootstrap_version
        self.bootstrap_parameter = bootstrap_parameter
        self.training = training
        self.account = expected_account or "<account>"

    def run(self) -> list[Check]:
        """All checks, in order; without valid credentials only the credentials check (the rest cannot run)."""
        credentials = self.check_credentials()
        if credentials.status == "FAIL":
            return [credentials]
        checks = [credentials]
        needs = [
            *endpoint_needs(self.endpoints),
            *preparation_needs(self.endpoints),
            *training_needs(self.settings),
            *finetuned_preparation_needs(self.training),
        ]
        checks += self.check_quotas(needs)
        checks += [self.check_image(endpoint.name, endpoint.image_uri) for endpoint in self.endpoints]
        checks += [self.check_bedrock_model(model_id) for model_id in bedrock_model_ids(self.settings)]
        reservations = concurrency_reservations(self.settings)
        if reservations:
            checks.append(self.check_lambda_concurrency(reservations))
        if _amazon_q_developer_enabled(self.settings):
            checks.append(self.check_identity_center())
        checks.append(self.check_bootstrap())
        return checks

    def check_credentials(self) -> Check:
        try:
            identity = self.clients("sts").get_caller_identity()
        except AWS_ERRORS as error:
            if is_credentials_error(error):
                return Check("credentials", "FAIL", f"no valid AWS credentials ({error})", NO_CREDENTIALS_FIX)
            return self._api_problem("credentials", error, "sts:GetCallerIdentity")
        account, arn = identity["Account"], identity["Arn"]
        if self.expected_account and account != self.expected_account:
            return Check(
                "credentials",
                "FAIL",
                f"credentials are for account {account} ({arn}); the stage deploys to {self.expected_account}",
                f"use credentials of account {self.expected_account} (--profile <name> or AWS_PROFILE)",
            )
        self.account = account
        return Check("credentials", "PASS", f"account {account} as {arn}, region {self.region}")

    def check_quotas(self, needs: list[QuotaNeed]) -> list[Check]:
        if not needs:
            return []
        try:
            applied = self._quotas("list_service_quotas")
            missing = [need for need in needs if need.quota_name not in applied]
            defaults = self._quotas("list_aws_default_service_quotas") if missing else {}
        except AWS_ERRORS as error:
            return [self._api_problem("SageMaker quotas", error, "servicequotas:ListServiceQuotas")]
        return [
            self._quota_check(need, applied.get(need.quota_name) or defaults.get(need.quota_name)) for need in needs
        ]

    def _quotas(self, operation: str) -> dict[str, tuple[str, float]]:
        paginator = self.clients("service-quotas").get_paginator(operation)
        return {
            quota["QuotaName"]: (quota["QuotaCode"], float(quota["Value"]))
            for page in paginator.paginate(ServiceCode=SAGEMAKER_QUOTAS)
            for quota in page.get("Quotas", [])
        }

    def _quota_check(self, need: QuotaNeed, quota: tuple[str, float] | None) -> Check:
        name = f"quota {need.quota_name}"
        if quota is None:
            what = "endpoints" if need.usage == "endpoint usage" else "training jobs"
            return Check(
                name,
                "FAIL",
                f"SageMaker offers no {need.instance_type} for {what} in {self.region} (no such quota)",
                "choose a region that offers it (stage 'region') or another instance type",
            )
        code, value = quota
        detail = f"quota {value:g}, needed {need.count} ({need.why})"
        request = (
            f"aws service-quotas request-service-quota-increase --region {self.region} --service-code "
            f"{SAGEMAKER_QUOTAS} --quota-code {code} --desired-value {{}}"
        )
        if value < need.count:
            return Check(name, "FAIL", detail, "request an increase: " + request.format(need.count))
        if need.usage == "endpoint usage" and value < 2 * need.count:
            return Check(
                name,
                "WARN",
                detail + "; a blue/green update runs a second fleet of the same size until it completes",
                "for updates without a quota error, request: " + request.format(2 * need.count),
            )
        return Check(name, "PASS", detail)

    def check_image(self, endpoint: str, image_uri: str) -> Check:
        name = f"image of {endpoint}"
        match = _IMAGE_URI_RE.match(image_uri)
        if match is None:
            return Check(name, "WARN", f"{image_uri} is not an ECR image URI; not checked")
        if match["region"] != self.region:
            return Check(
                name,
                "FAIL",
                f"{image_uri} is in {match['region']}, the endpoint in {self.region}",
                "use an image of the stage's region",
            )
        tag_or_digest = (
            {"imageDigest": match["tag"]} if match["tag"].startswith("sha256:") else {"imageTag": match["tag"]}
        )
        try:
            response = self.clients("ecr").batch_get_image(
                registryId=match["account"], repositoryName=match["repository"], imageIds=[tag_or_digest]
            )
        except AWS_ERRORS as error:
            if error_code(error) == "RepositoryNotFoundException":
                return Check(name, "FAIL", f"repository of {image_uri} does not exist", _IMAGE_FIX)
            return self._api_problem(name, error, "ecr:BatchGetImage on the image's repository", status="WARN")
        if response.get("images"):
            return Check(name, "PASS", f"{image_uri} exists")
        reasons = ", ".join(f.get("failureCode", "?") for f in response.get("failures", [])) or "not returned"
        return Check(name, "FAIL", f"{image_uri}: {reasons}", _IMAGE_FIX)

    def check_bedrock_model(self, model_id: str) -> Check:
        name = f"bedrock {model_id}"
        bedrock = self.clients("bedrock")
        foundation_model = foundation_model_of(model_id)
        is_profile = foundation_model != model_id
        if is_profile:
            try:
                bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
            except AWS_ERRORS as error:
                if error_code(error) in ("ResourceNotFoundException", "ValidationException"):
                    return Check(
                        name,
                        "FAIL",
                        f"inference profile {model_id} does not exist in {self.region}",
                        f"use a profile of {self.region}'s geography (aws bedrock list-inference-profiles "
                        f"--region {self.region}) or the foundation model id {foundation_model}",
                    )
                return self._api_problem(name, error, "bedrock:GetInferenceProfile")
        try:
            availability = bedrock.get_foundation_model_availability(modelId=foundation_model)
        except AWS_ERRORS as error:
            if error_code(error) in ("ResourceNotFoundException", "ValidationException"):
                return Check(
                    name,
                    "FAIL",
                    f"foundation model {foundation_model} does not exist in {self.region}",
                    f"check the id (aws bedrock list-foundation-models --region {self.region})",
                )
            return self._api_problem(name, error, "bedrock:GetFoundationModelAvailability")
        check = availability_check(
            name,
            model_id=model_id,
            foundation_model=foundation_model,
            is_profile=is_profile,
            availability=availability,
            region=self.region,
        )
        return self._with_lifecycle(bedrock, check, foundation_model) if check.status == "PASS" else check

    def _with_lifecycle(self, bedrock: Any, available: Check, foundation_model: str) -> Check:
        """``available`` as the model's lifecycle (GetFoundationModel) leaves it (``bedrock_checks``)."""
        try:
            details = bedrock.get_foundation_model(modelIdentifier=foundation_model).get("modelDetails", {})
        except AWS_ERRORS as error:
            return self._api_problem(available.name, error, "bedrock:GetFoundationModel", status="WARN")
        return lifecycle_check(available, foundation_model, details.get("modelLifecycle", {}), datetime.now(UTC))

    def check_lambda_concurrency(self, reservations: dict[str, int]) -> Check:
        """Whether the account can give ``reservations`` (function -> reserved concurrency) and keep the
        ``UNRESERVED_MINIMUM`` unreserved executions Lambda requires ("Configuring reserved concurrency", Lambda
        developer guide): FAIL when its total quota cannot, WARN when today's unreserved pool cannot (which a
        redeploy, already holding them, may still pass)."""
        name = "lambda concurrency"
        reserved = sum(reservations.values())
        what = ", ".join(f"{count} for {owner}" for owner, count in reservations.items())
        fix = (
            f"request a higher 'Concurrent executions' quota (service code lambda) in {self.region}, or lower "
            "api.reserved_concurrency"
        )
        try:
            limits = self.clients("lambda").get_account_settings()["AccountLimit"]
        except AWS_ERRORS as error:
            return self._api_problem(name, error, "lambda:GetAccountSettings")
        total, unreserved = int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"])
        if total - reserved < UNRESERVED_MINIMUM:
            detail = (
                f"the account allows {total} concurrent executions; reserving {what} would leave fewer than the "
                f"{UNRESERVED_MINIMUM} Lambda keeps unreserved, so the deploy would fail"
            )
            return Check(name, "FAIL", detail, fix)
        if unreserved - reserved < UNRESERVED_MINIMUM:
            detail = (
                f"{unreserved} of {total} concurrent executions are unreserved; reserving {what} leaves fewer "
                f"than {UNRESERVED_MINIMUM} unless the stage's functions already hold their reservations (a redeploy)"
            )
            return Check(name, "WARN", detail, fix)
        return Check(name, "PASS", f"reserves {what}: {reserved} of {unreserved} unreserved ({total} in the account)")

    def check_bootstrap(self) -> Check:
        name = "cdk bootstrap"
        bootstrap = f'make cdk ARGS="bootstrap aws://{self.account}/{self.region}"'
        try:
            stacks = self.clients("cloudformation").describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"]
        except AWS_ERRORS as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                detail = f"no {BOOTSTRAP_STACK} stack in {self.region}: the account is not bootstrapped"
                return Check(name, "FAIL", detail, bootstrap)
            return self._api_problem(name, error, "cloudformation:DescribeStacks")
        status = stacks[0]["StackStatus"]
        if status.endswith("_FAILED") or status in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
            return Check(name, "FAIL", f"{BOOTSTRAP_STACK} is {status}", f"fix or delete the stack, then {bootstrap}")
        return self._check_bootstrap_version(name, status, bootstrap)

    def _check_bootstrap_version(self, name: str, status: str, bootstrap: str) -> Check:
        try:
            parameter = self.clients("ssm").get_parameter(Name=self.bootstrap_parameter)["Parameter"]
        except AWS_ERRORS as error:
            if error_code(error) == "ParameterNotFound":
                return Check(name, "FAIL", f"{self.bootstrap_parameter} is missing: bootstrap is incomplete", bootstrap)
            return self._api_problem(name, error, "ssm:GetParameter on the bootstrap version parameter")
        version = int(parameter["Value"])
        if version < self.bootstrap_version:
            return Check(
                name,
                "FAIL",
                f"bootstrap version {version}; the templates need {self.bootstrap_version} or newer",
                f"upgrade it: {bootstrap}",
            )
        return Check(name, "PASS", f"{BOOTSTRAP_STACK} {status}, version {version} (need >= {self.bootstrap_version})")

    def check_identity_center(self) -> Check:
        """Whether the region has an IAM Identity Center instance: Amazon Q Developer's Pro tier subscribes its users
        and groups, and IDE plugins sign in through it; the kit's policy alone serves IAM identities. Identity Center
        lives in one region per organization, so an absent instance here is a warning, not a failure."""
        name = "IAM Identity Center"
        try:
            instances = self.clients("sso-admin").list_instances().get("Instances", [])
        except AWS_ERRORS as error:
            return self._api_problem(name, error, "sso:ListInstances", status="WARN")
        if not instances:
            return Check(
                name,
                "WARN",
                f"no IAM Identity Center instance in {self.region}: the Amazon Q Developer policy serves IAM "
                "identities only (console chat, code suggestions in AWS coding environments)",
                "for the Pro tier and IDE sign-in, enable IAM Identity Center (console; if it runs in another region, "
                "check there) and subscribe users in the Amazon Q Developer console",
            )
        arns = ", ".join(instance["InstanceArn"] for instance in instances)
        return Check(name, "PASS", f"{arns}: subscribe Amazon Q Developer Pro users and groups there")

    def _api_problem(self, name: str, error: Exception, permission: str, status: Status = "FAIL") -> Check:
        if is_credentials_error(error):
            return Check(name, "FAIL", f"credentials refused ({error})", NO_CREDENTIALS_FIX)
        if error_code(error) in ("AccessDenied", "AccessDeniedException"):
            return Check(name, status, f"not allowed to check ({error_code(error)})", f"allow {permission}")
        return Check(name, status, f"could not check: {error}", "retry; if it persists, check the service's health")


_IMAGE_FIX = "choose another container_version / catalog version available in the region (see docs/catalog.md)"


def _amazon_q_developer_enabled(settings: Any) -> bool:
    section = getattr(settings, "amazon_q_developer", None)
    return bool(section is not None and section.enabled)


def has_failures(checks: Iterable[Check]) -> bool:
    """True if any check failed (preflight then exits non-zero)."""
    return any(check.status == "FAIL" for check in checks)


def render(checks: list[Check], table: Callable[[list[str], list[list[str]]], str]) -> str:
    """The report table, then a one-line verdict."""
    rows = [[check.name, check.status, check.detail, check.fix] for check in checks]
    counts = Counter(check.status for check in checks)
    verdict = ", ".join(f"{counts[status]} {status}" for status in ("PASS", "WARN", "FAIL"))
    return f"{table(['CHECK', 'STATUS', 'DETAIL', 'FIX'], rows)}\n\n{verdict}"
