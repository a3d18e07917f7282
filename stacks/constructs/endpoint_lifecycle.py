"""What the inference stack runs around its endpoints: the model preparation jobs and the autoscaling registration.

One CDK Provider (``custom_resources.Provider``: onEvent, and isComplete polled every 30 s for at most the hour
CloudFormation waits for a custom resource) in front of the ``endpoint_lifecycle`` functions, which
``lambdas/endpoint_lifecycle/handler.py`` documents. Two kinds of resources:

- ``prepare(endpoint)``: a ``Preparation`` resource whose ``ModelS3Uri`` the endpoint's model reads, so the model
  (and the endpoint) is created only once the preparation job succeeded; the job runs with ``role`` (the
  preparation role: the serving image, the code asset, write access to the prepared prefix only);
- ``scale(...)``: the two ``Scaling`` resources around an endpoint (before and after it), which keep its
  Application Auto Scaling registration in step with instance-type changes;
- ``scheduled_endpoint(...)``: a ``ScheduledEndpoint`` resource in place of ``AWS::SageMaker::Endpoint`` for an
  endpoint with a schedule, created, updated and deleted through the SageMaker API.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.config.endpoints import AutoscalingConfig
from genai_kit.contracts.schedule import EndpointSchedule
from genai_kit.stage.endpoints import ResolvedEndpoint
from genai_kit.stage.preparation import Preparation
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.model_preparation import preparation_job_request
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.provider_framework import framework_provider
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements
from stacks.constructs.scaling_permissions import grant_scaling_registration, grant_variant_scaling
from stacks.constructs.training_source import asset_object_arn, preparation_code

METRICS_NAMESPACE = "GenAiKit/Endpoints"
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
# CloudFormation waits an hour at most for a custom resource (ServiceTimeout 1-3600 s); the handler reports a job
# that outruns its wait a little before, with the job's name.
PROVIDER_TOTAL_TIMEOUT = cdk.Duration.hours(1)
PROVIDER_QUERY_INTERVAL = cdk.Duration.seconds(30)
PREPARATION_WAIT_SECONDS = 55 * 60


class EndpointLifecycle(Construct):
    """The Provider, its two functions and the preparation role, shared by the stack's endpoints."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        artifacts_bucket_name: str,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        tags: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._bucket = artifacts_bucket_name
        self._key = encryption_key
        self._tags = tags
        self._partition_arn = f"arn:{cdk.Aws.PARTITION}"
        self._account_arn = f"{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        self.on_event, self.is_complete = self._functions(stage, encryption_key, removal_policy)
        self.provider = framework_provider(
            self,
            stage=stage,
            on_event=self.on_event.function,
            is_complete=self.is_complete.function,
            key=encryption_key,
            removal_policy=removal_policy,
            query_interval=PROVIDER_QUERY_INTERVAL,
            total_timeout=PROVIDER_TOTAL_TIMEOUT,
        )
        self.code = preparation_code(self)
        self.role = self._preparation_role(stage, encryption_key)
        self._images: set[str] = set()
        self._scaling_granted = False
        self._scheduled_granted = False
        # The permissions every use shares; prepare and scale add those of each endpoint.
        self.on_event.role.add_to_policy(
            iam.PolicyStatement(
                sid="FindRunningPreparationJobs",
                actions=["sagemaker:ListTrainingJobs"],
                # List actions support no resource-level permission (SageMaker service authorization reference).
                resources=["*"],
            )
        )
        self.on_event.role.add_to_policy(
            iam.PolicyStatement(
                sid="PassPreparationRole",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

    def _functions(
        self, stage: str, key: kms.IKey, removal_policy: cdk.RemovalPolicy
    ) -> tuple[KitFunction, KitFunction]:
        """The provider's two handlers (``lambdas/endpoint_lifecycle``): onEvent and isComplete."""
        common = {
            "name": "endpoint_lifecycle",
            "metrics_namespace": METRICS_NAMESPACE,
            "environment": {},
            "encryption_key": key,
            "log_retention": logs.RetentionDays.THREE_MONTHS,
            "removal_policy": removal_policy,
            "timeout": cdk.Duration.minutes(2),
            "invoked_by": "CDK's Provider framework during a CloudFormation deployment, once per custom resource "
            "event (and every 30 s while a preparation runs)",
        }
        on_event = KitFunction(
            self,
            "OnEvent",
            description=f"Endpoints of {stage}: start model preparation jobs, keep autoscaling in step with updates",
            handler="on_event",
            **common,  # type: ignore[arg-type]
        )
        is_complete = KitFunction(
            self,
            "IsComplete",
            description=f"Endpoints of {stage}: report when a model preparation job has finished",
            handler="is_complete",
            **common,  # type: ignore[arg-type]
        )
        return on_event, is_complete

    def _preparation_role(self, stage: str, key: kms.IKey) -> iam.Role:
        """The preparation jobs' SageMaker execution role: it reads the code asset and uses ``key``; ``prepare``
        adds what each endpoint's job writes and pulls."""
        role = iam.Role(
            self,
            "PreparationRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of the {stage} model preparation jobs",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPreparationCode",
                actions=["s3:GetObject"],
                resources=[asset_object_arn(self.code)],
            )
        )
        key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        return role

    # ---- preparation -----------------------------------------------------------------------------------------

    def prepare(self, scope: Construct, endpoint: ResolvedEndpoint) -> str:
        """The S3 URI of ``endpoint``'s prepared model (a token that resolves once the preparation succeeded); the
        ``Preparation`` resource is created in ``scope`` (the endpoint's construct)."""
        preparation = endpoint.preparation
        if preparation is None:
            raise ValueError(f"endpoint {endpoint.name} has no preparation")
        self._grant_preparation(endpoint.endpoint_name, preparation)
        resource = cdk.CustomResource(
            scope,
            "Preparation",
            service_token=self.provider.service_token,
            resource_type="Custom::ModelPreparation",
            properties={
                "Kind": "Preparation",
                "Bucket": self._bucket,
                "Prefix": preparation.prefix,
                "JobNamePrefix": f"{endpoint.endpoint_name}-prep",
                "WaitSeconds": str(PREPARATION_WAIT_SECONDS),
                "Request": cdk.Stack.of(self).to_json_string(
                    preparation_job_request(
                        preparation,
                        role_arn=self.role.role_arn,
                        code_s3_url=self.code.s3_object_url,
                        bucket=self._bucket,
                        key_arn=self._key.key_arn,
                        tags=self._tags,
                    )
                ),
            },
        )
        return resource.get_att_string("ModelS3Uri")

    def _grant_preparation(self, endpoint_name: str, preparation: Preparation) -> None:
        jobs = f"{self._partition_arn}:sagemaker:{self._account_arn}:training-job/{endpoint_name}-prep-*"
        ready = f"{self._partition_arn}:s3:::{self._bucket}/{preparation.prefix}READY"
        prefix = f"{self._partition_arn}:s3:::{self._bucket}/{preparation.prefix}*"
        for function, actions in (
            (self.on_event, ["sagemaker:CreateTrainingJob", "sagemaker:AddTags"]),
            (self.is_complete, ["sagemaker:DescribeTrainingJob"]),
        ):
            function.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[jobs]))
            # HeadObject of the READY marker (s3:GetObject authorizes it); its metadata needs no key.
            function.role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[ready]))
            acknowledge_wildcards(
                function.role.node.find_child("DefaultPolicy"),
                resources=[jobs],
                reason="Each attempt of an endpoint's preparation job gets a new name (SageMaker never reuses one) "
                "under the endpoint's job name prefix.",
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], resources=[prefix]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[f"{self._partition_arn}:s3:::{self._bucket}"],
                conditions={"StringLike": {"s3:prefix": [f"{preparation.prefix}*"]}},
            )
        )
        if preparation.token_secret_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[preparation.token_secret_arn])
            )
        if preparation.image_uri not in self._images:
            self._images.add(preparation.image_uri)
            for statement in container_statements(
                image_uris=[preparation.image_uri],
                log_group_arn=f"{self._partition_arn}:logs:{self._account_arn}:log-group:{TRAINING_JOBS_NAMESPACE}",
                log_streams=f"{endpoint_name}-prep-*",
                metrics_namespace=TRAINING_JOBS_NAMESPACE,
            ):
                self.role.add_to_policy(statement)
        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge_container_wildcards(policy, metrics_namespace=TRAINING_JOBS_NAMESPACE)
        acknowledge_wildcards(
            policy,
            resources=[
                prefix,
                f"{self._partition_arn}:logs:{self._account_arn}:log-group:{TRAINING_JOBS_NAMESPACE}:log-stream:"
                f"{endpoint_name}-prep-*",
            ],
            reason="A preparation job writes the files of one prepared model under its own key prefix, and its log "
            "streams, which SageMaker names after the job, under the endpoint's job name prefix.",
        )

    # ---- scaling ---------------------------------------------------------------------------------------------

    def scale(
        self, scope: Construct, *, endpoint_name: str, variant_name: str, instance_type: str, scaling: AutoscalingConfig
    ) -> tuple[cdk.CustomResource, cdk.CustomResource]:
        """The ``before`` and ``after`` Scaling resources of an endpoint (the caller orders them around it)."""
        self._grant_scaling(endpoint_name, variant_name)
        properties = {
            "Kind": "Scaling",
            "EndpointName": endpoint_name,
            "VariantName": variant_name,
            "InstanceType": instance_type,
            "MinCapacity": str(scaling.min_instances),
            "MaxCapacity": str(scaling.max_instances),
            "TargetValue": str(scaling.target_invocations_per_instance),
            "ScaleInCooldown": str(scaling.scale_in_cooldown_seconds),
            "ScaleOutCooldown": str(scaling.scale_out_cooldown_seconds),
            "PolicyName": f"{endpoint_name}-invocations-per-instance",
        }
        before, after = (
            cdk.CustomResource(
                scope,
                f"Scaling{position.capitalize()}Endpoint",
                service_token=self.provider.service_token,
                resource_type="Custom::EndpointScaling",
                properties={**properties, "Position": position},
            )
            for position in ("before", "after")
        )
        return before, after

    def _grant_scaling(self, endpoint_name: str, variant_name: str) -> None:
        grant_variant_scaling(self.on_event.role, endpoint_name=endpoint_name, variant_name=variant_name)
        if not self._scaling_granted:
            self._scaling_granted = True
            grant_scaling_registration(
                self.on_event.role,
                read_endpoint_configs=True,
                wildcard_reason="Endpoint configs get names CloudFormation generates, one per change; Application "
                "Auto Scaling assigns a scalable target's ARN when it registers it, so its actions cannot name it; "
                "sagemaker:ListTrainingJobs and X-Ray's PutTraceSegments/PutTelemetryRecords support no "
                "resource-level permission (service authorization reference).",
            )

    # ---- scheduled endpoints ---------------------------------------------------------------------------------

    def scheduled_endpoint(
        self,
        scope: Construct,
        *,
        endpoint_name: str,
        endpoint_config_name: str,
        deployment_config: dict[str, Any],
        schedule: EndpointSchedule,
    ) -> cdk.CustomResource:
        """The ``ScheduledEndpoint`` resource of an endpoint with a schedule, in ``scope`` (the endpoint's construct):
        CloudFormation does not own the endpoint, which the scheduler deletes and creates (see
        ``lambdas/endpoint_lifecycle/scheduled.py``). ``deployment_config``: SageMaker's DeploymentConfig."""
        self._grant_scheduled_endpoint(endpoint_name)
        stack = cdk.Stack.of(self)
        return cdk.CustomResource(
            scope,
            "ScheduledEndpoint",
            service_token=self.provider.service_token,
            resource_type="Custom::ScheduledEndpoint",
            properties={
                "Kind": "ScheduledEndpoint",
                "EndpointName": endpoint_name,
                "EndpointConfigName": endpoint_config_name,
                "DeploymentConfig": stack.to_json_string(deployment_config),
                "Tags": json.dumps(self._tags, sort_keys=True),
                "Schedule": schedule.model_dump_json(),
            },
        )

    def _grant_scheduled_endpoint(self, endpoint_name: str) -> None:
        endpoint = f"{self._partition_arn}:sagemaker:{self._account_arn}:endpoint/{endpoint_name}"
        endpoint_configs = f"{self._partition_arn}:sagemaker:{self._account_arn}:endpoint-config/*"
        self.on_event.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:ListTags",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=[endpoint],
            )
        )
        # CreateEndpoint and UpdateEndpoint authorize on the endpoint and on the endpoint config it runs.
        self.on_event.role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
                resources=[endpoint, endpoint_configs],
            )
        )
        self.is_complete.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint", "sagemaker:ListTags"], resources=[endpoint])
        )
        if not self._scheduled_granted:
            self._scheduled_granted = True
            # SageMaker encrypts the endpoint's storage volumes with the config's key through grants it creates as
            # the caller of CreateEndpoint/UpdateEndpoint; only grants for AWS resources are allowed.
            self.on_event.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[self._key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
            self.on_event.role.add_to_policy(
                iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[self._key.key_arn])
            )
        acknowledge_wildcards(
            self.on_event.role.node.find_child("DefaultPolicy"),
            resources=[endpoint_configs],
            reason="Endpoint configs get names CloudFormation generates, one per change; the function creates and "
            "updates this stack's scheduled endpoints on them.",
        )
