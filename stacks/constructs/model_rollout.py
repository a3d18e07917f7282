"""Deploy on approval: EventBridge rules, the deploy Lambda, the serving role, the rollback alarms, a failure queue.

    model package Approved / Rejected (EventBridge) ─► deploy Lambda ─► CreateModel, CreateEndpointConfig,
                                                                        UpdateEndpoint blue/green (or CreateEndpoint)
    endpoint state change (EventBridge) ───────────► deploy Lambda ─► the rollout's outcome to the topic
    failed every attempt / undeliverable ──────────► failure queue (SQS, KMS) ─► alarm ─► topic

The endpoint has a fixed name (``genai-kit-<stage>-finetuned``) and does not exist until the first approval:
the Lambda creates it through the SageMaker API, not CloudFormation, so each approved version replaces the
previous one blue/green. Its alarms need only that name, so they exist from the start and roll back a bad
update; the Lambda names them in every update's DeploymentConfig.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genai_kit.config.training import ROLLOUT_RESERVED_CONCURRENCY, RolloutConfig
from genai_kit.contracts.training_deploy import DeployEnvironment
from stacks.constructs.checkov import skip_checks
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.neuron_endpoint import alarm_names, endpoint_alarms
from stacks.constructs.queue_destination import QueueDestination, failure_queue, grant_notify_and_keep_failed
from stacks.constructs.rollout_permissions import rollout_statements, serving_role
from stacks.constructs.training_layout import METRICS_NAMESPACE

# What SageMaker emits when a model package is created or its approval status changes (lambdas/training_deploy/events.py
# reads the same detail-types; synth does not import the function's code, which needs Powertools).
PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
# ... and when a real-time endpoint's status changes: how the function learns the outcome of each rollout.
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# Neuron containers compile the model at start-up: the longest timeouts SageMaker allows, when the catalog sets none.
NEURON_TIMEOUT_SECONDS = 3600
# Lambda retries a failed asynchronous invocation at most twice (after one, then two minutes); see below.
RETRY_ATTEMPTS = 2
# Events older than this are not run any more (a late approval is handled by then or kept in the failure queue).
MAXIMUM_EVENT_AGE = cdk.Duration.hours(1)


class ModelRollout(Construct):
    """Rolls each approved version of ``model_package_group_name`` out to ``endpoint_name``.

    Exposes ``endpoint_name``, ``function`` (the deploy Lambda), ``serving_role``, ``rule`` (approvals),
    ``endpoint_rule`` (the endpoint's state changes), ``alarms`` and ``failure_queue`` (with ``failure_alarm``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rollout: RolloutConfig,
        endpoint_name: str,
        resource_prefix: str,
        model_package_group_name: str,
        serving_instance_type: str,
        serving_image_uri: str,
        model_data_download_timeout: int | None,
        container_startup_health_check_timeout: int | None,
        volume_size_gb: int | None,
        model_artifacts_prefix: str,
        data_capture_prefix: str,
        artifacts_bucket_name: str,
        encryption_key: kms.IKey,
        topic: sns.ITopic,
        tags: Mapping[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name
        self._partition_arn = f"arn:{cdk.Aws.PARTITION}"
        self._sagemaker_arn = f"{self._partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        self._resource_prefix = resource_prefix
        self._group = model_package_group_name
        artifacts = f"{self._partition_arn}:s3:::{artifacts_bucket_name}"
        capture_prefix = f"{data_capture_prefix}{endpoint_name}/"

        self.alarms = endpoint_alarms(
            self,
            endpoint_name=endpoint_name,
            thresholds=rollout.alarms,
            topic=topic,
            alarm_name_prefix=endpoint_name,
        )
        self.serving_role = serving_role(
            self,
            endpoint_name=endpoint_name,
            partition_arn=self._partition_arn,
            image_uri=serving_image_uri,
            model_objects_prefix=f"{artifacts}/{model_artifacts_prefix}",
            artifacts=artifacts,
            model_artifacts_prefix=model_artifacts_prefix,
            capture_prefix=f"{artifacts}/{capture_prefix}",
            key=encryption_key,
        )

        self.failure_queue = self._failure_queue(encryption_key, topic, removal_policy)

        environment = self._environment(
            rollout,
            model_package_group_name=model_package_group_name,
            serving_instance_type=serving_instance_type,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
            volume_size_gb=volume_size_gb,
            encryption_key=encryption_key,
            artifacts_bucket_name=artifacts_bucket_name,
            capture_prefix=capture_prefix,
            model_artifacts_prefix=model_artifacts_prefix,
            topic=topic,
            tags=tags,
        )
        self.function = self._deploy_function(
            environment,
            group=model_package_group_name,
            key=encryption_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self._function_permissions(
            encryption_key, topic, artifacts=artifacts, model_artifacts_prefix=model_artifacts_prefix
        )

        self.rule, self.endpoint_rule = self._rules(model_package_group_name, endpoint_name)

    def _environment(
        self,
        rollout: RolloutConfig,
        *,
        model_package_group_name: str,
        serving_instance_type: str,
        model_data_download_timeout: int | None,
        container_startup_health_check_timeout: int | None,
        volume_size_gb: int | None,
        encryption_key: kms.IKey,
        artifacts_bucket_name: str,
        capture_prefix: str,
        model_artifacts_prefix: str,
        topic: sns.ITopic,
        tags: Mapping[str, str],
    ) -> dict[str, str]:
        """The deploy function's environment (``genai_kit.contracts.training_deploy``); a Neuron container's
        timeouts default to the most SageMaker allows (NEURON_TIMEOUT_SECONDS)."""
        return DeployEnvironment(
            model_package_group_name=model_package_group_name,
            resource_prefix=self._resource_prefix,
            endpoint_name=self.endpoint_name,
            execution_role_arn=self.serving_role.role_arn,
            instance_type=serving_instance_type,
            instance_count=rollout.instance_count,
            model_data_download_timeout=model_data_download_timeout or NEURON_TIMEOUT_SECONDS,
            container_startup_health_check_timeout=container_startup_health_check_timeout or NEURON_TIMEOUT_SECONDS,
            volume_size_gb=volume_size_gb,
            kms_key_arn=encryption_key.key_arn,
            data_capture_enabled=rollout.data_capture.enabled,
            data_capture_sampling_percentage=rollout.data_capture.sampling_percentage,
            data_capture_uri=f"s3://{artifacts_bucket_name}/{capture_prefix}",
            model_data_prefix=f"s3://{artifacts_bucket_name}/{model_artifacts_prefix}",
            wait_interval_seconds=rollout.blue_green.wait_interval_seconds,
            termination_wait_seconds=rollout.blue_green.termination_wait_seconds,
            maximum_execution_timeout_seconds=rollout.blue_green.maximum_execution_timeout_seconds,
            rollback_alarms=alarm_names(self.endpoint_name),
            topic_arn=topic.topic_arn,
            failure_queue_url=self.failure_queue.queue_url,
            tags=dict(tags),
        ).to_environment()

    def _deploy_function(
        self,
        environment: dict[str, str],
        *,
        group: str,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> KitFunction:
        """The deploy Lambda, invoked asynchronously by the rules, with its retries and failure destination."""
        function = KitFunction(
            self,
            "DeployFunction",
            name="training_deploy",
            description=f"Deploy on approval: roll approved {group} versions out to {self.endpoint_name}",
            metrics_namespace=METRICS_NAMESPACE,
            environment=environment,
            encryption_key=key,
            log_retention=log_retention,
            removal_policy=removal_policy,
            # Replacing a Failed endpoint waits for SageMaker to delete it before creating it again.
            timeout=cdk.Duration.minutes(5),
            reserved_concurrency=ROLLOUT_RESERVED_CONCURRENCY,
        )
        skip_checks(
            function.function,
            {
                "CKV_AWS_116": "Asynchronous invocations that fail every attempt go to the on-failure destination, the "
                "failure queue, with the error and the request context; a dead-letter queue would keep less, twice."
            },
        )
        # Retries: handling an event again is safe, because names derive from the version and an endpoint already
        # on (or moving to) the version is left alone, so a retry converges instead of duplicating. Lambda's two
        # retries let a throttled call, a timeout or a Failed endpoint still being deleted heal without a human; a
        # failure no retry fixes (a quota, a busy endpoint) is notified up to three times before the event goes
        # to the failure queue. Outcomes a retry cannot change (refused, superseded, ignored) return normally.
        function.function.configure_async_invoke(
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAXIMUM_EVENT_AGE,
            on_failure=QueueDestination(self.failure_queue),
        )
        return function

    def _rules(self, model_package_group_name: str, endpoint_name: str) -> tuple[events.Rule, events.Rule]:
        """The EventBridge rules that invoke the deploy function: the group's approvals and rejections, and every
        state change of the endpoint."""
        approvals = events.Rule(
            self,
            "ApprovalRule",
            description=f"Approved or rejected versions of {model_package_group_name} -> deploy Lambda",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[PACKAGE_STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": [model_package_group_name],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            ),
            # Delivery retries (throttling, Lambda unavailable) are EventBridge's; an event it cannot deliver goes to
            # the failure queue too.
            targets=[self._target()],
        )
        # Every status of the endpoint, not only the final ones: the event's EndpointStatus spelling is documented
        # for IN_SERVICE alone, and the function reads the status from DescribeEndpoint anyway.
        endpoint_states = events.Rule(
            self,
            "EndpointStateRule",
            description=f"State changes of {endpoint_name} -> deploy Lambda (the outcome of each rollout)",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[ENDPOINT_STATE_CHANGE],
                detail={"EndpointName": [endpoint_name]},
            ),
            targets=[self._target()],
        )
        return approvals, endpoint_states

    def _target(self) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            self.function.function,
            retry_attempts=2,
            max_event_age=MAXIMUM_EVENT_AGE,
            dead_letter_queue=self.failure_queue,
        )

    def _failure_queue(self, key: kms.IKey, topic: sns.ITopic, removal_policy: cdk.RemovalPolicy) -> sqs.Queue:
        """Events that failed every attempt or that EventBridge could not deliver (queue_destination)."""
        queue, self.failure_alarm = failure_queue(
            self,
            key=key,
            topic=topic,
            removal_policy=removal_policy,
            ends_here="failed deploy-on-approval events (Lambda's on-failure destination and the EventBridge target's "
            "dead-letter queue)",
            alarm_description=f"Deploy on approval ({self.endpoint_name}): an event failed every attempt or could "
            "not be delivered and waits in the failure queue; read it and send it again (docs/fine-tuning.md).",
        )
        return queue

    # ---- names -------------------------------------------------------------------------------------------

    def _arns(self) -> dict[str, str]:
        return {
            "model": f"{self._sagemaker_arn}:model/{self._resource_prefix}-*",
            "endpoint-config": f"{self._sagemaker_arn}:endpoint-config/{self._resource_prefix}-*",
            "endpoint": f"{self._sagemaker_arn}:endpoint/{self.endpoint_name}",
            "model-package": f"{self._sagemaker_arn}:model-package/{self._group}/*",
        }

    def _function_permissions(
        self, key: kms.IKey, topic: sns.ITopic, *, artifacts: str, model_artifacts_prefix: str
    ) -> None:
        role = self.function.role
        arns = self._arns()
        model_objects = f"{artifacts}/{model_artifacts_prefix}*"
        statements = rollout_statements(
            arns,
            artifacts=artifacts,
            model_artifacts_prefix=model_artifacts_prefix,
            serving_role_arn=self.serving_role.role_arn,
            key_arn=key.key_arn,
        )
        for statement in statements:
            role.add_to_policy(statement)
        grant_notify_and_keep_failed(role, topic=topic, queue=self.failure_queue, key=key)
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[arns["model"], arns["endpoint-config"], arns["model-package"]],
            reason="Models and endpoint configs are named per approved version under the kit's prefix "
            "(<prefix>-v<version>); versions are numbered by SageMaker inside the kit's model package group.",
        )
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[model_objects],
            reason="Each version's weights are written by its training job under the pipeline's output prefix; the "
            "function reads their metadata (HeadObject) to refuse a version whose weights are missing.",
        )
