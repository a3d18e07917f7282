"""An SQS queue as a Lambda function's on-failure destination, without the wildcard KMS actions CDK's own grants."""

from __future__ import annotations

import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct


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
