"""Evaluate step of the fine-tuning pipeline: compare the job's final metrics with the configured thresholds.

Reads the training job's ``FinalMetricDataList`` (the metric definitions from the catalog, scraped from the
job's logs by SageMaker), looks up the version it would replace (the group's latest Approved one, ``predecessor``),
writes a JSON report next to the training output (the model package links it as its model quality statistics) and
says whether every threshold holds.

Event (the Evaluate state's Parameters): ``{"trainingJobName", "tuningJobName"?, "dataset": {"uri",
"contentSha256"}, "summary": {"model", "instanceType", "instanceCount", "hyperparameters"}}``.

Returns ``{"ok": bool, "reason": ..., "metrics": {...}, "metadata": {...}, "report": {...}, "modelData": {...}}``;
``ok: false`` carries ``"error": "ModelRejected"`` and the numbers in ``reason``.

The report (``<prefix><training job>/metrics.json``): ``trainingJobName``, ``tuningJobName`` (null without tuning),
``dataset`` ``{uri, contentSha256}``, ``model``, ``instanceType``, ``instanceCount``, ``hyperparameters``,
``metrics``, ``thresholds`` (each bar with ``passed`` and the ``missed`` reasons), ``accepted``, and ``predecessor``:
null when no version of the group was approved yet, else ``{modelPackageArn, metrics, differences}``. NaN and
infinite metric values are written as the strings "nan", "inf", "-inf" (JSON has no such numbers).
"""

from __future__ import annotations

import json
import math
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.shared.aws import client
from lambdas.training_evaluate.predecessor import METRIC_KEY_PREFIX, differences, json_number, latest_approved
from lambdas.training_evaluate.settings import environment

logger = Logger()
metrics = Metrics()
tracer = Tracer()

# CreateModelPackage CustomerMetadataProperties: at most 50 entries, keys up to 128 characters, values up to 256
# (botocore's SageMaker model: CustomerMetadataMap, CustomerMetadataKey, CustomerMetadataValue).
_MAX_METADATA = 50
_MAX_METADATA_KEY = 128
# The metadata value when no version of the group was approved yet (a value has at least 1 character).
NO_PREDECESSOR = "none"


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Evaluate the training job the event names (see the module's docstring for the event)."""
    settings = environment()
    result = evaluate(
        event["trainingJobName"],
        tuning_job_name=event.get("tuningJobName"),
        dataset=event["dataset"],
        summary=event["summary"],
        # Every bound named, unset ones as null: the report lists the bars as the configuration gives them.
        thresholds=[threshold.model_dump() for threshold in settings.thresholds],
        bucket=settings.artifacts_bucket,
        report_prefix=settings.evaluation_prefix,
        group=settings.model_package_group_name,
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
    group: str,
    dataset: dict[str, str],
    summary: dict[str, Any],
    tuning_job_name: str | None = None,
) -> dict[str, Any]:
    """Describe the job, check each threshold, compare with the predecessor, write the report; never raise for a
    missed bar.

    ``group``: the model package group whose latest Approved version is the predecessor; ``dataset``: ``{"uri",
    "contentSha256"}`` of the validated dataset; ``summary``: the Prepare step's summary (model, instance type and
    count, hyperparameters); ``tuning_job_name``: the tuning job the training job is the best of. Errors of the AWS
    calls propagate (the state catches them)."""
    job = client("sagemaker").describe_training_job(TrainingJobName=job_name)
    final = {m["MetricName"]: float(m["Value"]) for m in job.get("FinalMetricDataList", [])}
    outcomes = [{**t, "passed": not (missed := check(t, final)), "missed": missed} for t in thresholds]
    problems = [problem for outcome in outcomes for problem in outcome["missed"]]
    previous = latest_approved(group)
    report_key = f"{report_prefix}{job_name}/metrics.json"
    report = {
        "trainingJobName": job_name,
        "tuningJobName": tuning_job_name,
        "dataset": {"uri": dataset["uri"], "contentSha256": dataset["contentSha256"]},
        "model": summary.get("model"),
        "instanceType": summary.get("instanceType"),
        "instanceCount": summary.get("instanceCount"),
        "hyperparameters": summary.get("hyperparameters"),
        "metrics": _json_metrics(final),
        "thresholds": outcomes,
        "accepted": not problems,
        "predecessor": None
        if previous is None
        else {
            "modelPackageArn": previous["modelPackageArn"],
            "metrics": _json_metrics(previous["metrics"]),
            "differences": differences(final, previous["metrics"]),
        },
    }
    client("s3").put_object(
        Bucket=bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(), ContentType="application/json"
    )
    numbers = ", ".join(f"{name}={value:g}" for name, value in sorted(final.items())) or "no metrics reported"
    result: dict[str, Any] = {
        "ok": not problems,
        "metrics": _json_metrics(final),
        "metadata": _metadata(
            job_name,
            final,
            tuning_job_name=tuning_job_name,
            dataset_sha256=dataset["contentSha256"],
            predecessor=None if previous is None else previous["modelPackageArn"],
        ),
        "report": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{report_key}"},
        "modelData": model_data(job["ModelArtifacts"]["S3ModelArtifacts"]),
    }
    if problems:
        result["error"] = "ModelRejected"
        result["reason"] = f"training job {job_name} missed the bar: {'; '.join(problems)} (final metrics: {numbers})"
    else:
        result["reason"] = f"training job {job_name} passed: {numbers}"
    return result


def check(threshold: dict[str, Any], final: dict[str, float]) -> list[str]:
    """Every way the job's ``final`` metrics miss one bar (empty when it holds), each naming the numbers compared.

    A bar on a metric that is missing or NaN is missed; so is a bar against another metric (``max_metric``,
    ``min_metric``) that is missing or NaN."""
    name = threshold["metric"]
    value = final.get(name)
    if value is None or math.isnan(value):
        return [f"{name} was {'not reported' if value is None else 'NaN'}"]
    missed = []
    if threshold.get("max") is not None and value > threshold["max"]:
        missed.append(f"{name} {value:g} is above the maximum {threshold['max']:g}")
    if threshold.get("min") is not None and value < threshold["min"]:
        missed.append(f"{name} {value:g} is below the minimum {threshold['min']:g}")
    for key, bound in (("max_metric", "maximum"), ("min_metric", "minimum")):
        other_name = threshold.get(key)
        if other_name is None:
            continue
        other = final.get(other_name)
        if other is None or math.isnan(other):
            state = "not reported" if other is None else "NaN"
            missed.append(f"{other_name}, the {bound} of {name} ({value:g}), was {state}")
        elif key == "max_metric" and value > other:
            missed.append(f"{name} {value:g} is above {other_name} {other:g}")
        elif key == "min_metric" and value < other:
            missed.append(f"{name} {value:g} is below {other_name} {other:g}")
    return missed


def _json_metrics(values: dict[str, float]) -> dict[str, float | str]:
    return {name: json_number(value) for name, value in values.items()}


def _metadata(
    job_name: str,
    final: dict[str, float],
    *,
    tuning_job_name: str | None,
    dataset_sha256: str,
    predecessor: str | None,
) -> dict[str, str]:
    """Model package metadata, searchable in the registry: the job (and the tuning job it is the best of), the
    dataset's content hash, the predecessor's ARN (``none`` without one) and the final metrics, as many as fit."""
    values = {"training-job": job_name}
    if tuning_job_name is not None:
        values["tuning-job"] = tuning_job_name
    values["dataset-sha256"] = dataset_sha256
    values["predecessor"] = predecessor or NO_PREDECESSOR
    for name, value in sorted(final.items())[: _MAX_METADATA - len(values)]:
        values[f"{METRIC_KEY_PREFIX}{name}"[:_MAX_METADATA_KEY]] = f"{value:g}"
    return values


def model_data(uri: str) -> dict[str, str]:
    """A ModelDataSource.S3DataSource for the trained weights: an uncompressed prefix or one .tar.gz object."""
    if uri.endswith(".tar.gz"):
        return {"S3Uri": uri, "S3DataType": "S3Object", "CompressionType": "Gzip"}
    return {"S3Uri": uri if uri.endswith("/") else f"{uri}/", "S3DataType": "S3Prefix", "CompressionType": "None"}
