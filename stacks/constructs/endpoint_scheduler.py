"""Stops scheduled endpoints outside their window and starts them at its start: no instance charges while stopped.

    EventBridge Scheduler (cron in the endpoint's IANA time zone) ─► scheduler Lambda ─► DeleteEndpoint / CreateEndpoint
    endpoint state change (EventBridge) ─────────────────────────► scheduler Lambda ─► autoscaling registration
    undeliverable / failed every attempt ─► failure queue (SQS, KMS) ─► alarm ─► alarm topic

A real-time endpoint cannot scale below one instance ("--min-capacity ... must be set to at least 1", developer guide,
"Define a scaling policy"; scaling to zero needs inference components, "An endpoint can scale to and from zero
instances only if it hosts inference components"), so stopping deletes the endpoint and starting creates it again
from the endpoint config CloudFormation manages ("Deleting an endpoint will not delete the endpoint configuration
or the SageMaker model"). The endpoint itself is not a CloudFormation resource (``Custom::ScheduledEndpoint``, see
``lambdas/endpoint_lifecycle/scheduled.py``), so a stopped endpoint is no drift for the next deploy.

Two schedules per endpoint (``AWS::Scheduler::Schedule``, the ``aws_scheduler`` L2), flexible time window off,
``ScheduleExpressionTimezone`` the configured IANA zone; their role may only invoke the function. The function is
invoked asynchronously; it tells the alarm topic of every failure, and an event that failed every attempt (or that
Scheduler or EventBridge could not deliver) waits in the failure queue, whose alarm pages the topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genai_kit.config.endpoints import SCHEDULER_RESERVED_CONCURRENCY, BlueGreenConfig
from genai_kit.contracts.endpoint_scheduler import ScheduledEndpointSettings, SchedulerEnvironment
from stacks.constructs.checkov import skip_checks
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.queue_destination import QueueDestination, failure_queue, grant_notify_and_keep_failed
from stacks.constructs.scaling_permissions import grant_scaling_registration, grant_variant_scaling

METRICS_NAMESPACE = "GenAiKit/Endpoints"
# What SageMaker emits when a real-time endpoint's status changes (lambdas/endpoint_scheduler reads the same).
ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# Retries of an event the target refused or could not take (Scheduler's and EventBridge's), and its age limit:
# a start or stop an hour late is no longer worth running (the function ignores it outside its window anyway).
DELIVERY_RETRIES = 2
MAXIMUM_EVENT_AGE = cdk.Duration.hours(1)


def deployment_config(blue_green: BlueGreenConfig, alarms: Sequence[cloudwatch.IAlarm]) -> dict[str, Any]:
    """SageMaker's DeploymentConfig (CreateEndpoint/UpdateEndpoint shape) of an endpoint: blue/green, all at once,
    rolled back by ``alarms``, the same the ``AWS::SageMaker::Endpoint`` of an unscheduled endpoint gets."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "ALL_AT_ONCE",
                "WaitIntervalInSeconds": blue_green.wait_interval_seconds,
            },
            "TerminationWaitInSeconds": blue_green.termination_wait_seconds,
            "MaximumExecutionTimeoutInSeconds": blue_green.maximum_execution_timeout_seconds,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm.alarm_name} for alarm in alarms]},
    }


class EndpointScheduler(Construct):
    """The schedules, the function and its failure queue for ``endpoints`` (by endpoint name).

    Exposes ``function``, ``schedules`` (endpoint name -> (start, stop)), ``state_rule``, ``failure_queue`` and
    ``failure_alarm``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        endpoints: Mapping[str, ScheduledEndpointSettings],
        encryption_key: kms.IKey,
        topic: sns.ITopic,
        tags: Mapping[str, str],
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.failure_queue = self._failure_queue(stage, encryption_key, topic, removal_policy)
        self.function = KitFunction(
            self,
            "Function",
            name="endpoint_scheduler",
            description=f"Scheduled endpoints of {stage}: delete outside the window, create at its start",
            metrics_namespace=METRICS_NAMESPACE,
            environment=SchedulerEnvironment(
                endpoints=dict(endpoints), tags=dict(tags), topic_arn=topic.topic_arn
            ).to_environment(),
            encryption_key=encryption_key,
            log_retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=removal_policy,
            timeout=cdk.Duration.minutes(1),
            reserved_concurrency=SCHEDULER_RESERVED_CONCURRENCY,
        )
        skip_checks(
            self.function.function,
            {
                "CKV_AWS_116": "Asynchronous invocations that fail every attempt go to the on-failure destination, the "
                "failure queue, with the error and the request context; a dead-letter queue would keep less, twice."
            },
        )
        self.function.function.configure_async_invoke(
            retry_attempts=2, max_event_age=MAXIMUM_EVENT_AGE, on_failure=QueueDestination(self.failure_queue)
        )
        self._permissions(endpoints, encryption_key, topic)
        self.schedules = {
            name: self._schedules(name, settings, index) for index, (name, settings) in enumerate(endpoints.items())
        }
        self.state_rule = events.Rule(
            self,
            "EndpointStateRule",
            description=f"State changes of the scheduled endpoints of {stage} -> scheduler Lambda (autoscaling)",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[ENDPOINT_STATE_CHANGE],
                detail={"EndpointName": sorted(endpoints)},
            ),
            targets=[
                events_targets.LambdaFunction(
                    self.function.function,
                    retry_attempts=DELIVERY_RETRIES,
                    max_event_age=MAXIMUM_EVENT_AGE,
                    dead_letter_queue=self.failure_queue,
                )
            ],
        )

    def _schedules(
        self, name: str, settings: ScheduledEndpointSettings, index: int
    ) -> tuple[scheduler.CfnSchedule, scheduler.CfnSchedule]:
        """The start and stop schedules of one endpoint (L1: the L2 target would grant lambda:InvokeFunction on
        every version and alias of the function, ``<arn>:*``; this role gets the function's ARN only)."""
        role = iam.Role(
            self,
            f"Role{index}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            ),
            description=f"EventBridge Scheduler: start and stop {name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function.function_arn])
        )
        # Scheduler delivers an event it could not deliver to the dead-letter queue with this role ("your schedule
        # execution role needs ... sqs:SendMessage", Scheduler user guide, "Configuring a schedule's dead-letter
        # queue"); the queue is SSE-KMS, so sending needs a data key from the kit's key.
        role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.failure_queue.queue_arn]))
        if self.failure_queue.encryption_master_key is not None:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.failure_queue.encryption_master_key.key_arn],
                )
            )
        schedule = settings.schedule
        made = []
        for transition in ("start", "stop"):
            made.append(
                scheduler.CfnSchedule(
                    self,
                    f"{transition.capitalize()}{index}",
                    description=f"{transition} {name} ({schedule.start}-{schedule.stop} {','.join(schedule.days)}, "
                    f"{schedule.time_zone})",
                    schedule_expression=schedule.cron(transition),
                    schedule_expression_timezone=schedule.time_zone,
                    flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                    state="ENABLED",
                    target=scheduler.CfnSchedule.TargetProperty(
                        arn=self.function.function.function_arn,
                        role_arn=role.role_arn,
                        input=cdk.Stack.of(self).to_json_string({"endpoint": name, "action": transition}),
                        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                            maximum_event_age_in_seconds=MAXIMUM_EVENT_AGE.to_seconds(),
                            maximum_retry_attempts=DELIVERY_RETRIES,
                        ),
                        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                            arn=self.failure_queue.queue_arn
                        ),
                    ),
                )
            )
        return made[0], made[1]

    def _permissions(
        self, endpoints: Mapping[str, ScheduledEndpointSettings], key: kms.IKey, topic: sns.ITopic
    ) -> None:
        role = self.function.role
        partition_arn = f"arn:{cdk.Aws.PARTITION}"
        sagemaker_arn = f"{partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        endpoint_arns = [f"{sagemaker_arn}:endpoint/{name}" for name in sorted(endpoints)]
        endpoint_configs = f"{sagemaker_arn}:endpoint-config/*"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartAndStopScheduledEndpoints",
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:ListTags",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=endpoint_arns,
            )
        )
        # CreateEndpoint authorizes on the endpoint and on the endpoint config it runs.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateScheduledEndpoints",
                actions=["sagemaker:CreateEndpoint"],
                resources=[*endpoint_arns, endpoint_configs],
            )
        )
        # SageMaker encrypts the endpoint's storage volumes with the config's key through grants it creates as the
        # caller of CreateEndpoint; only grants for AWS resources are allowed.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="GrantKeyToEndpointStorage",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="DescribeStorageKey", actions=["kms:DescribeKey"], resources=[key.key_arn])
        )
        for name, settings in endpoints.items():
            grant_variant_scaling(role, endpoint_name=name, variant_name=settings.scaling.variant_name)
        grant_scaling_registration(
            role,
            read_endpoint_configs=False,
            wildcard_reason="Endpoint configs get names CloudFormation generates, one per change; Application Auto "
            "Scaling assigns a scalable target's ARN when it registers it, so its actions cannot name it; X-Ray's "
            "PutTraceSegments/PutTelemetryRecords support no resource-level permission (service authorization "
            "reference).",
        )
        grant_notify_and_keep_failed(role, topic=topic, queue=self.failure_queue, key=key)
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[endpoint_configs],
            reason="Endpoint configs get names CloudFormation generates, one per change; the function creates this "
            "stack's scheduled endpoints on the one each names (CreateEndpoint authorizes on the config too).",
        )

    def _failure_queue(
        self, stage: str, key: kms.IKey, topic: sns.ITopic, removal_policy: cdk.RemovalPolicy
    ) -> sqs.Queue:
        """Events that failed every attempt or that Scheduler or EventBridge could not deliver (queue_destination)."""
        queue, self.failure_alarm = failure_queue(
            self,
            key=key,
            topic=topic,
            removal_policy=removal_policy,
            ends_here="failed schedule events (Lambda's on-failure destination, the schedules' and the EventBridge "
            "target's dead-letter queue)",
            alarm_description=f"Endpoint schedules of {stage}: a start, stop or state change failed every attempt or "
            "could not be delivered and waits in the failure queue; read it, fix the cause, start or stop by hand "
            "(README, 'Scheduled endpoints').",
        )
        return queue
