"""Evaluate step of the fine-tuning pipeline: compare the job's final metrics with the configured thresholds.

Reads the training job's ``FinalMetricDataList`` (the metric definitions from the catalog, scraped from the
job's logs by SageMaker), writes them as a JSON report next to the training output (the model package
links it as its model quality statistics), and says whether every threshold holds.

Returns ``{"ok": bool, "reason": ..., "metrics": {...}, "metadata": {...}, "report": {...}, "modelData": {...}}``;
``ok: false`` carries ``"error": "ModelRejected"`` and the numbers in ``reason``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.shared.aws import client
from lambdas.training_evaluate.settings import environment

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# CreateModelPackage CustomerMetadataProperties: at most 50 entries, values up to 256 characters.
_MAX_METADATA = 50


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: ``{"trainingJobName": ...}``, with ``"tuningJobName"`` when the job is a tuning job's best."""
    settings = environment()
    result = evaluate(
        event["trainingJobName"],
        tuning_job_name=event.get("tuningJobName"),
        # Every bound named, unset ones as null: the report lists the bars as the configuration gives them.
        thresholds=[threshold.model_dump() for threshold in settings.thresholds],
        bucket=settings.artifacts_bucket,
        report_prefix=settings.evaluation_prefix,
    )
    metrics.add_metric(name="ModelAccepted" if result["ok"] else "ModelRejected", unit=MetricUnit.Count, value=1)
    logger.info("evaluated", extra={"ok": result["ok"], "metrics": result["metrics"]})
    return result


def evaluate(
    job_name: str,
    *,
    thresholds: list[dict[str, Any]],
    bucket: str,
    report_prefix: str,
    tuning_job_name: str | None = None,
) -> dict[str, Any]:
    """Describe the job, check each threshold, write the metrics report; never raise for a missed bar.

    ``tuning_job_name``: the tuning job the training job is the best of, recorded in the report and the model
    package's metadata."""
    job = client("sagemaker").describe_training_job(TrainingJobName=job_name)
    final = {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])}
    problems = [problem for t in thresholds if (problem := _check(t, final)) is not None]
    report_key = f"{report_prefix}{job_name}/metrics.json"
    report: dict[str, Any] = {"trainingJobName": job_name}
    if tuning_job_name is not None:
        report["tuningJobName"] = tuning_job_name
    report.update(metrics=final, thresholds=thresholds, accepted=not problems)
    client("s3").put_object(
        Bucket=bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(), ContentType="application/json"
    )
    numbers = ", ".join(f"{name}={value:g}" for name, value in sorted(final.items())) or "no metrics reported"
    result: dict[str, Any] = {
        "ok": not problems,
        "metrics": final,
        "metadata": _metadata(job_name, final, tuning_job_name),
        "report": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{report_key}"},
        "modelData": model_data(job["ModelArtifacts"]["S3ModelArtifacts"]),
    }
    if problems:
        result["error"] = "ModelRejected"
        result["reason"] = f"training job {job_name} missed the bar: {'; '.join(problems)} (final metrics: {numbers})"
    else:
        result["reason"] = f"training job {job_name} passed: {numbers}"
    return result


def _check(threshold: dict[str, Any], final: dict[str, float]) -> str | None:
    name = threshold["metric"]
    value = final.get(name)
    if value is None or math.isnan(value):
        return f"{name} was not reported"
    if threshold.get("max") is not None and value > threshold["max"]:
        return f"{name} {value:g} is above the maximum {threshold['max']:g}"
    if threshold.get("min") is not None and value < threshold["min"]:
        return f"{name} {value:g} is below the minimum {threshold['min']:g}"
    return None


def _metadata(job_name: str, final: dict[str, float], tuning_job_name: str | None) -> dict[str, str]:
    """Model package metadata: the job (and the tuning job it is the best of) and its final metrics, searchable in
    the registry."""
    values = {"training-job": job_name}
    if tuning_job_name is not None:
        values["tuning-job"] = tuning_job_name
    for name, value in sorted(final.items())[: _MAX_METADATA - len(values)]:
        values[f"metric:{name}"[:128]] = f"{value:g}"
    return values


def model_data(uri: str) -> dict[str, str]:
    """A ModelDataSource.S3DataSource for the trained weights: an uncompressed prefix or one .tar.gz object."""
    if uri.endswith(".tar.gz"):
        return {"S3Uri": uri, "S3DataType": "S3Object", "CompressionType": "Gzip"}
    return {"S3Uri": uri if uri.endswith("/") else f"{uri}/", "S3DataType": "S3Prefix", "CompressionType": "None"}
