"""What the inference stack runs around its endpoints: the model preparation jobs and the autoscaling registration.

One CDK Provider (``custom_resources.Provider``: onEvent, and isComplete polled every 30 s for at most the hour
CloudFormation waits for a custom resource) in front of the ``endpoint_lifecycle`` functions, which
``lambdas/endpoint_lifecycle/handler.py`` documents. Two kinds of resources:

- ``prepare(endpoint)``: a ``Preparation`` resource whose ``ModelS3Uri`` the endpoint's model reads, so the model
  (and the endpoint) is created only once the preparation job succeeded; the job runs with ``role`` (the
  preparation role: the serving image, the code asset, write access to the prepared prefix only);
- ``scale(...)``: the two ``Scaling`` resources around an endpoint (before and after it), which keep its
  Application Auto Scaling registration in step with instance-type changes.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from genai_kit.config.endpoints import AutoscalingConfig
from genai_kit.stage.endpoints import Preparation, ResolvedEndpoint
from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.lambda_code import stage_package
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements

METRICS_NAMESPACE = "GenAiKit/Endpoints"
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
PREPARATION_PACKAGE = "jobs/model_preparation"
# The job unpacks its code asset (a zip the training channel copies as it is) and runs the script from there.
PREPARATION_ENTRYPOINT = [
    "bash",
    "-c",
    "set -eu; mkdir -p /opt/ml/code; python3 -m zipfile -e /opt/ml/input/data/code/*.zip /opt/ml/code; "
    "cd /opt/ml/code; exec python3 -m jobs.model_preparation.prepare",
]
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
        common = {
            "name": "endpoint_lifecycle",
            "metrics_namespace": METRICS_NAMESPACE,
            "environment": {},
            "encryption_key": encryption_key,
            "log_retention": logs.RetentionDays.THREE_MONTHS,
            "removal_policy": removal_policy,
            "timeout": cdk.Duration.minutes(2),
            "invoked_by": "CDK's Provider framework during a CloudFormation deployment, once per custom resource "
            "event (and every 30 s while a preparation runs)",
        }
        self.on_event = KitFunction(
            self,
            "OnEvent",
            description=f"Endpoints of {stage}: start model preparation jobs, keep autoscaling in step with updates",
            handler="on_event",
            **common,  # type: ignore[arg-type]
        )
        self.is_complete = KitFunction(
            self,
            "IsComplete",
            description=f"Endpoints of {stage}: report when a model preparation job has finished",
            handler="is_complete",
            **common,  # type: ignore[arg-type]
        )
        self.provider = self._provider(stage, encryption_key, removal_policy)
        staged = stage_package(PREPARATION_PACKAGE, aws_services=("s3", "secretsmanager"))
        # The staged folder's name is the digest of its content (stacks.constructs.lambda_code).
        self.code = s3_assets.Asset(
            self, "PreparationCode", path=str(staged), asset_hash=staged.name, asset_hash_type=cdk.AssetHashType.CUSTOM
        )
        self.role = iam.Role(
            self,
            "PreparationRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of the {stage} model preparation jobs",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPreparationCode",
                actions=["s3:GetObject"],
                resources=[f"{self._partition_arn}:s3:::{self.code.s3_bucket_name}/{self.code.s3_object_key}"],
            )
        )
        encryption_key.grant(self.role, "kms:GenerateDataKey", "kms:Decrypt")
        self._images: set[str] = set()
        self._scaling_granted = False
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

    def _provider(self, stage: str, key: kms.IKey, removal_policy: cdk.RemovalPolicy) -> cr.Provider:
        """CDK's Provider framework (its own Node.js functions and waiter state machine), logging to one encrypted
        group, its functions with roles of their own instead of the AWS managed basic execution policy."""
        log_group = logs.LogGroup(
            self,
            "ProviderLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            encryption_key=key,
            removal_policy=removal_policy,
        )
        roles = []
        for role_id in ("FrameworkOnEventRole", "FrameworkCompleteRole"):
            role = iam.Role(
                self,
                role_id,
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"CDK Provider framework of the {stage} endpoint lifecycle",
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
                )
            )
            roles.append(role)
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event.function,
            is_complete_handler=self.is_complete.function,
            query_interval=PROVIDER_QUERY_INTERVAL,
            total_timeout=PROVIDER_TOTAL_TIMEOUT,
            log_group=log_group,
            framework_on_event_role=roles[0],
            framework_complete_and_timeout_role=roles[1],
            provider_function_env_encryption=key,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        for role in roles:
            acknowledge_wildcards(
                role.node.find_child("DefaultPolicy"),
                resources=[f"{self.on_event.function.function_arn}:*", f"{self.is_complete.function.function_arn}:*"],
                reason="CDK's Provider framework invokes the kit's handlers through grantInvoke, which also allows "
                "their published versions (<function ARN>:*); the functions have none.",
            )
        for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout"):
            skip_checks(
                provider.node.find_child(name),
                {
                    "CKV_AWS_117": NO_VPC,
                    "CKV_AWS_116": "CDK's Provider framework function, invoked synchronously by CloudFormation or by "
                    "its waiter state machine, which report every error to CloudFormation; no asynchronous "
                    "invocation to dead-letter.",
                    "CKV_AWS_115": "CDK's Provider framework function: it runs once per custom resource event of a "
                    "deployment; a reserved concurrency would take from the account's unreserved pool.",
                },
            )
        waiter = provider.node.find_child("waiter-state-machine")
        waiter_policy = waiter.node.find_child("Role").node.find_child("DefaultPolicy")
        acknowledge_wildcards(
            waiter_policy,
            resources=[f"{fn.function_arn}:*" for fn in self._framework_functions(provider)],
            reason="CDK's waiter state machine invokes the Provider framework's functions, versions included.",
        )
        logging_reason = (
            "A state machine's logging needs the CloudWatch Logs delivery actions (logs:CreateLogDelivery and "
            "the like), which support no resource-level permission (Step Functions developer guide, logging)."
        )
        acknowledge_wildcards(waiter_policy, resources=["*"], reason=logging_reason)
        skip_checks(waiter_policy, {"CKV_AWS_111": logging_reason})
        cdk.Validations.of(waiter).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-SF2",
                reason="CDK's Provider framework creates its waiter state machine without an X-Ray tracing option; "
                "its executions log every event to the encrypted log group instead.",
            )
        )
        return provider

    @staticmethod
    def _framework_functions(provider: cr.Provider) -> list[lambda_.IFunction]:
        return [provider.node.find_child(name) for name in ("framework-isComplete", "framework-onTimeout")]  # type: ignore[misc]

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
                "Request": cdk.Stack.of(self).to_json_string(self.training_job_request(preparation)),
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

    def training_job_request(self, preparation: Preparation) -> dict[str, object]:
        """CreateTrainingJob's request for ``preparation``, without ``TrainingJobName`` (the handler names each
        attempt). The job runs the serving image with the kit's script; it needs the Hub, so no network isolation."""
        local_storage = preparation.instance_type.startswith("ml.trn1")
        resources: dict[str, object] = {
            "InstanceType": preparation.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": preparation.volume_size_gb,
        }
        if not local_storage:
            # SageMaker refuses a volume key for instance types with local NVMe storage (Trainium's).
            resources["VolumeKmsKeyId"] = self._key.key_arn
        environment = {
            "PREPARATION_MODEL_ID": preparation.model_id,
            "PREPARATION_REVISION": preparation.revision,
            "PREPARATION_LAYOUT": preparation.layout,
            "PREPARATION_EXPORT_ARGUMENTS": " ".join(preparation.export_arguments),
            "PREPARATION_BUCKET": self._bucket,
            "PREPARATION_PREFIX": preparation.prefix,
            "AWS_DEFAULT_REGION": cdk.Aws.REGION,
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        if preparation.token_secret_arn:
            environment["PREPARATION_TOKEN_SECRET_ARN"] = preparation.token_secret_arn
        return {
            "RoleArn": self.role.role_arn,
            "AlgorithmSpecification": {
                "TrainingImage": preparation.image_uri,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": PREPARATION_ENTRYPOINT,
            },
            "InputDataConfig": [
                {
                    "ChannelName": "code",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": self.code.s3_object_url,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "InputMode": "File",
                }
            ],
            "OutputDataConfig": {
                "S3OutputPath": f"s3://{self._bucket}/{preparation.prefix}jobs/",
                "KmsKeyId": self._key.key_arn,
                "CompressionType": "NONE",
            },
            "ResourceConfig": resources,
            "StoppingCondition": {"MaxRuntimeInSeconds": preparation.max_runtime_seconds},
            "EnableNetworkIsolation": False,
            "Environment": environment,
            "Tags": [{"Key": key, "Value": value} for key, value in sorted(self._tags.items())],
        }

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
        role = self.on_event.role
        endpoint = f"{self._partition_arn}:sagemaker:{self._account_arn}:endpoint/{endpoint_name}"
        # Application Auto Scaling checks these of the caller for a SageMaker variant (user guide, "Permissions
        # required for API actions on target services and CloudWatch"); the target-tracking alarms it creates are
        # named TargetTracking-<resource id>-...
        alarms = (
            f"{self._partition_arn}:cloudwatch:{self._account_arn}:alarm:"
            f"TargetTracking-endpoint/{endpoint_name}/variant/{variant_name}-*"
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                resources=[endpoint],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
                resources=[alarms],
            )
        )
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[alarms],
            reason="Application Auto Scaling names a target-tracking policy's alarms TargetTracking-<resource id>- "
            "with a suffix of its own; the pattern covers this endpoint variant's alarms only.",
        )
        if self._scaling_granted:
            return
        self._scaling_granted = True
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEndpointConfigs",
                actions=["sagemaker:DescribeEndpointConfig"],
                # CloudFormation names each endpoint config; a new one replaces it on every change.
                resources=[f"{self._partition_arn}:sagemaker:{self._account_arn}:endpoint-config/*"],
            )
        )
        skip_checks(
            role.node.find_child("DefaultPolicy"),
            {
                "CKV_AWS_111": "Application Auto Scaling assigns a scalable target's ARN when it registers it, so "
                "RegisterScalableTarget, DeregisterScalableTarget and PutScalingPolicy cannot name it in advance; "
                "the function calls them for this stack's endpoint variants only."
            },
        )
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[f"{self._partition_arn}:sagemaker:{self._account_arn}:endpoint-config/*", "*"],
            reason="Endpoint configs get names CloudFormation generates, one per change; Application Auto Scaling "
            "assigns a scalable target's ARN when it registers it, so its actions cannot name it; "
            "sagemaker:ListTrainingJobs and X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level "
            "permission (service authorization reference).",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterVariantsForScaling",
                actions=[
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:PutScalingPolicy",
                ],
                # A scalable target's ARN holds an id Application Auto Scaling assigns when it registers it.
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateScalingServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    f"{self._partition_arn}:iam::{cdk.Aws.ACCOUNT_ID}:role/aws-service-role/"
                    "sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                ],
                conditions={"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
            )
        )
