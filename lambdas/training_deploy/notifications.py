"""What the deploy function tells the alarm topic: one JSON message per outcome, in the pipeline's shape."""

from __future__ import annotations

import json
from typing import Any

from lambdas.shared.aws import client
from lambdas.training_deploy.settings import Environment

# SNS limits a subject to 100 characters.
_SUBJECT_MAX = 100


def notify(env: Environment, status: str, subject: str, reason: str, **fields: Any) -> None:
    """Publish ``{"status", "reason", "subject", "endpoint", **fields}`` to the topic (``Subject`` cut to 100)."""
    message = {"status": status, "reason": reason, "subject": subject, "endpoint": env.endpoint_name, **fields}
    client("sns").publish(TopicArn=env.topic_arn, Subject=subject[:_SUBJECT_MAX], Message=json.dumps(message))


def retried_then_kept(env: Environment) -> str:
    """What happens to the event of a failed invocation (the function's asynchronous invocation settings).

    A synchronous invocation (``aws lambda invoke`` by hand) gets the error back instead.
    """
    return (
        "when invoked asynchronously (EventBridge), Lambda runs the event again, then keeps it in the failure queue "
        f"{env.failure_queue_url}"
    )
