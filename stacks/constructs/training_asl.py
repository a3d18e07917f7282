"""Amazon States Language building blocks shared by the fine-tuning pipeline's states (``training_states``) and
its optional tuning stage (``training_tuning_states``): the service integrations' ARNs, catchers, outcomes and
string literals inside intrinsic functions.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk

SUCCEEDED = "SUCCEEDED"
# "ResultPath": null discards a state's result (Amazon States Language). A Python None does not reach the document
# (jsii passes it as undefined, which is dropped); cdk.JsonNull is rendered as null.
DISCARD = cdk.JsonNull.INSTANCE
NOTIFY = "Notify"
DESCRIBE_FAILURE = "DescribeFailure"
# Lambda's transient service errors, retried as aws-cdk-lib's LambdaInvoke task does by default
# (retryOnServiceExceptions) and as "Handle transient Lambda service exceptions" advises (Step Functions developer
# guide, best practices).
LAMBDA_RETRY = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}

# A SageMaker .sync task's throttling and transient service errors, retried with backoff; a job that exists already
# (same name) is not created twice.
SAGEMAKER_SYNC_RETRY = {
    "ErrorEquals": ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"],
    "IntervalSeconds": 30,
    "MaxAttempts": 3,
    "BackoffRate": 2,
}


def integration_arn(integration: str) -> str:
    """The Resource of a Task state calling a service integration, e.g. ``sns:publish`` ->
    ``arn:<partition>:states:::sns:publish`` ("Integrating services with Step Functions", developer guide)."""
    return f"arn:{cdk.Aws.PARTITION}:states:::{integration}"


def catch(next_state: str, result_path: str | None = "$.error") -> list[dict[str, Any]]:
    """Catch every error (``States.ALL``), its output at ``result_path`` (None: discarded), and go to ``next_state``."""
    return [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": DISCARD if result_path is None else result_path,
            "Next": next_state,
        }
    ]


def outcome(status: str, error: str, reason: str, subject: str, group: str) -> dict[str, Any]:
    """A Pass state recording how the execution ends, at $.outcome, for the notification and the final state."""

    def field(name: str, value: str) -> dict[str, str]:
        # A path or an intrinsic function is evaluated ("name.$"), anything else is a literal.
        return {f"{name}.$": value} if value.startswith(("$", "States.")) else {name: value}

    return {
        "Type": "Pass",
        "Parameters": {
            "status": status,
            **field("error", error),
            **field("reason", reason),
            **field("subject", subject),
            "pipeline": group,
            "execution.$": "$$.Execution.Id",
        },
        "ResultPath": "$.outcome",
        "Next": NOTIFY,
    }


def literal(text: str) -> str:
    """``text`` as a string literal inside an intrinsic function: its reserved characters ' { } and \\ escaped
    with a backslash ("Intrinsic functions", Step Functions developer guide)."""
    return re.sub(r"([\\'{}])", r"\\\1", text)
