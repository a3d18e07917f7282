"""Dataset step of the fine-tuning pipeline: check the data before any Trainium instance starts.

The checks are in ``dataset.py``. Event: ``{"bucket": ..., "prefix": ...}`` (the prepare step's ``dataset``).
Returns ``{"ok": true, "files": n, "examples": n, "bytes": n, "contentSha256": hex}`` (the dataset's content hash,
``dataset.content_sha256``) or ``{"ok": false, "error": "DatasetInvalid" |
"DatasetTooLarge", "reason": <what and where>}``.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.training_validate_dataset.dataset import MIB, DatasetError, DatasetSummary, validate_dataset
from lambdas.training_validate_dataset.settings import rules

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# Stop checking this long before the function's timeout, to report why instead of being cut off.
STOP_BEFORE_TIMEOUT_SECONDS = 30


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the dataset folder ``s3://<bucket>/<prefix>``; refusals are results, not errors."""
    started = time.monotonic()
    try:
        summary = validate_dataset(
            event["bucket"],
            event["prefix"],
            rules(),
            time_left=lambda: context.get_remaining_time_in_millis() / 1000 - STOP_BEFORE_TIMEOUT_SECONDS,
        )
    except DatasetError as error:
        logger.warning("dataset refused", extra={"error": error.error, "reason": str(error)})
        metrics.add_metric(name="DatasetRefused", unit=MetricUnit.Count, value=1)
        return {"ok": False, "error": error.error, "reason": str(error)}
    seconds = time.monotonic() - started
    # The throughput seen in Lambda (S3 stream and parsing), to compare with scripts/bench_dataset.py.
    logger.info(
        "dataset accepted", extra={**summary, "seconds": round(seconds, 1), "mib_per_s": _rate(summary, seconds)}
    )
    metrics.add_metric(name="DatasetExamples", unit=MetricUnit.Count, value=summary["examples"])
    return {"ok": True, **summary}


def _rate(summary: DatasetSummary, seconds: float) -> float:
    return round(summary["bytes"] / MIB / seconds, 1) if seconds > 0 else 0.0
