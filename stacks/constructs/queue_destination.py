"""Failure queues: a KMS-encrypted SQS queue whose alarm pages the topic, and the queue as a Lambda function's
on-failure destination without the wildcard KMS actions CDK's own grants."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def failure_queue(
    scope: Construct,
    *,
    key: kms.IKey,
    topic: sns.ITopic,
    removal_policy: cdk.RemovalPolicy,
    ends_here: str,
    alarm_description: str,
) -> tuple[sqs.Queue, cloudwatch.Alarm]:
    """``FailureQueue`` and ``FailureQueueAlarm`` in ``scope``: the queue where events that failed every attempt
    (Lambda's invocation records) or could not be delivered end, and an alarm that pages (and clears on) ``topic``
    as soon as one waits there. SQS keeps them 14 days, its maximum. ``ends_here`` names what ends in the queue
    (for the cdk-nag acknowledgment that it has no dead-letter queue of its own)."""
    queue = sqs.Queue(
        scope,
        "FailureQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
        removal_policy=removal_policy,
    )
    cdk.Validations.of(queue).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-SQS3",
            reason=f"This queue is itself where {ends_here} end; its alarm pages the topic.",
        )
    )
    alarm = cloudwatch.Alarm(
        scope,
        "FailureQueueAlarm",
        metric=queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5), statistic="Maximum"),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=alarm_description,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
    return queue, alarm


@jsii.implements(lambda_.IDestination)
class QueueDestination:
    """An SQS queue as the function's on-failure destination, granted by the caller.

    ``aws_lambda_destinations.SqsDestination`` would also grant ``kms:Encrypt``, ``kms:ReEncrypt*`` and
    ``kms:GenerateDataKey*`` on the queue's key; sending to an SSE-KMS queue needs ``kms:GenerateDataKey`` and
    ``kms:Decrypt`` only (the SQS developer guide, key management), which the function has for the topic already.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType
    ) -> lambda_.DestinationConfig:
        """The queue's ARN, whatever the function and condition (IDestination's signature)."""
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


def grant_notify_and_keep_failed(role: iam.IRole, *, topic: sns.ITopic, queue: sqs.IQueue, key: kms.IKey) -> None:
    """What a function that reports to ``topic`` and whose failed invocations end in ``queue`` needs: publishing,
    sending the failure record (Lambda sends it with the function's role), and a data key from ``key`` for both."""
    # Not topic.grant_publish: for an encrypted topic it also grants kms:GenerateDataKey* (a wildcard action).
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="Notify", actions=["sns:Publish"], resources=[topic.topic_arn])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="KeepFailedEvents", actions=["sqs:SendMessage"], resources=[queue.queue_arn])
    )
    key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
