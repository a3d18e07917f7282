"""A Bedrock model's row of the stage dashboard: its CloudWatch metrics (``AWS/Bedrock``, by ``ModelId``) and, for
an image model, the images the API returned under each of its aliases (the router's ``Images`` count)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from genai_kit.contracts.api_router import METRICS_NAMESPACE, SERVICE_NAME

BEDROCK_NAMESPACE = "AWS/Bedrock"
_FIVE_MINUTES = cdk.Duration.minutes(5)


def bedrock_metric(model_id: str, name: str, statistic: str = "Sum", *, labelled: bool = True) -> cloudwatch.Metric:
    """``AWS/Bedrock`` metric ``name`` of ``model_id`` over 5 minutes. A label turns an alarm's metric into a
    metric-math query, so alarms take the unlabelled metric."""
    return cloudwatch.Metric(
        namespace=BEDROCK_NAMESPACE,
        metric_name=name,
        dimensions_map={"ModelId": model_id},
        statistic=statistic,
        period=_FIVE_MINUTES,
        label=f"{name} ({statistic})" if labelled else None,
    )


def bedrock_widgets(model_id: str, *, image_aliases: Sequence[str] | None, width: int) -> list[cloudwatch.IWidget]:
    """The row of ``width`` grid units: a token model (``image_aliases`` None) graphs its token counts; an image
    model has none (InvokeModel image generation counts no tokens) and graphs the images the router returned under
    each of ``image_aliases`` instead."""
    images = image_aliases is not None
    graph = 6 if not images or image_aliases else 8
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.TextWidget(
            markdown=f"## Bedrock {model_id}" + (" (images)" if images else ""), width=width, height=1
        ),
        cloudwatch.GraphWidget(title="Invocations", left=[bedrock_metric(model_id, "Invocations")], width=graph),
        cloudwatch.GraphWidget(
            title="Invocation latency (ms)",
            left=[
                bedrock_metric(model_id, "InvocationLatency", "p50"),
                bedrock_metric(model_id, "InvocationLatency", "p90"),
            ],
            width=graph,
        ),
    ]
    if not images:
        tokens = [bedrock_metric(model_id, "InputTokenCount"), bedrock_metric(model_id, "OutputTokenCount")]
        widgets.append(cloudwatch.GraphWidget(title="Tokens", left=tokens, width=graph))
    errors = [
        bedrock_metric(model_id, name)
        for name in ("InvocationThrottles", "InvocationServerErrors", "InvocationClientErrors")
    ]
    widgets.append(cloudwatch.GraphWidget(title="Throttles and errors", left=errors, width=graph))
    if image_aliases:
        # The router's Images count, in its {service, model} dimension set (model: the API alias).
        returned = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="Images",
                dimensions_map={"service": SERVICE_NAME, "model": alias},
                statistic="Sum",
                period=_FIVE_MINUTES,
                label=alias,
            )
            for alias in image_aliases
        ]
        widgets.append(cloudwatch.GraphWidget(title="Images returned by the API", left=returned, width=graph))
    return widgets
