"""Dataset step of the fine-tuning pipeline: check the data before any Trainium instance starts.

The dataset is a folder in the datasets bucket holding JSON Lines files (``*.jsonl``, one JSON object per
line with the fields the model's training script reads) and optionally the JumpStart ``template.json``.
The check streams every file and stops at the first problem, naming the file and line.

Returns ``{"ok": true, "files": n, "examples": n, "bytes": n}`` or ``{"ok": false, "error": "DatasetInvalid",
"reason": <what and where>}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.shared.aws import client

logger = Logger()
metrics = Metrics()
tracer = Tracer()

DATA_SUFFIX = ".jsonl"
# JumpStart text-generation scripts accept a prompt template next to the data.
TEMPLATE_FILE = "template.json"
MIB = 1024 * 1024


class DatasetError(ValueError):
    """The dataset is not usable; the message says what is wrong and where."""


@dataclass(frozen=True)
class Rules:
    """The stage's dataset rules (``training.dataset`` in the configuration)."""

    required_fields: tuple[str, ...]
    min_examples: int
    max_files: int
    max_file_mb: int
    max_record_kb: int

    @classmethod
    def from_env(cls) -> Rules:
        raw = json.loads(os.environ["DATASET_RULES"])
        return cls(
            required_fields=tuple(raw["required_fields"]),
            min_examples=raw["min_examples"],
            max_files=raw["max_files"],
            max_file_mb=raw["max_file_mb"],
            max_record_kb=raw["max_record_kb"],
        )


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: ``{"bucket": ..., "prefix": ...}`` (the prepare step's ``dataset``)."""
    try:
        summary = validate_dataset(event["bucket"], event["prefix"], Rules.from_env())
    except DatasetError as error:
        logger.warning("dataset refused", extra={"reason": str(error)})
        metrics.add_metric(name="DatasetRefused", unit=MetricUnit.Count, value=1)
        return {"ok": False, "error": "DatasetInvalid", "reason": str(error)}
    metrics.add_metric(name="DatasetExamples", unit=MetricUnit.Count, value=summary["examples"])
    return {"ok": True, **summary}


def validate_dataset(bucket: str, prefix: str, rules: Rules) -> dict[str, int]:
    """Check every file under ``s3://bucket/prefix``; return counts or raise DatasetError."""
    location = f"s3://{bucket}/{prefix}"
    objects = list(_objects(bucket, prefix))
    if not objects:
        raise DatasetError(f"{location}: no files found; upload the JSON Lines files there first")
    data_files = [o for o in objects if o["Key"].endswith(DATA_SUFFIX)]
    for obj in objects:
        name = obj["Key"].removeprefix(prefix)
        if not name.endswith(DATA_SUFFIX) and name != TEMPLATE_FILE:
            raise DatasetError(
                f"s3://{bucket}/{obj['Key']}: unexpected file; expected only *{DATA_SUFFIX} data files "
                f"(and an optional {TEMPLATE_FILE}) in {location}"
            )
        if obj["Size"] > rules.max_file_mb * MIB:
            raise DatasetError(
                f"s3://{bucket}/{obj['Key']}: {obj['Size'] / MIB:.1f} MiB is above the {rules.max_file_mb} MiB limit "
                "(training.dataset.max_file_mb); split it into several files"
            )
    if not data_files:
        raise DatasetError(f"{location}: no *{DATA_SUFFIX} data files found")
    if len(data_files) > rules.max_files:
        raise DatasetError(
            f"{location}: {len(data_files)} data files is above the limit of {rules.max_files} "
            "(training.dataset.max_files)"
        )
    if any(o["Key"].removeprefix(prefix) == TEMPLATE_FILE for o in objects):
        _check_template(bucket, f"{prefix}{TEMPLATE_FILE}")

    examples = sum(_check_data_file(bucket, o["Key"], rules) for o in data_files)
    if examples < rules.min_examples:
        raise DatasetError(
            f"{location}: {examples} examples is below the minimum of {rules.min_examples} "
            "(training.dataset.min_examples)"
        )
    return {"files": len(data_files), "examples": examples, "bytes": sum(o["Size"] for o in data_files)}


def _objects(bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    try:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            # Zero-byte "folder" markers created by the console are not files.
            yield from (o for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    except client("s3").exceptions.NoSuchBucket:
        raise DatasetError(f"s3://{bucket}: bucket does not exist") from None


def _check_template(bucket: str, key: str) -> None:
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        template = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"s3://{bucket}/{key}: not valid JSON ({error})") from None
    if not isinstance(template, dict) or not {"prompt", "completion"} <= set(template):
        raise DatasetError(f"s3://{bucket}/{key}: expected a JSON object with 'prompt' and 'completion' templates")


def _check_data_file(bucket: str, key: str, rules: Rules) -> int:
    """Stream one JSON Lines file; return its record count."""
    where = f"s3://{bucket}/{key}"
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    max_bytes = rules.max_record_kb * 1024
    count = 0
    for number, raw in enumerate(body.iter_lines(keepends=True), start=1):
        if len(raw) > max_bytes:
            raise DatasetError(
                f"{where} line {number}: record of {len(raw) / 1024:.0f} KiB is above the {rules.max_record_kb} KiB "
                "limit (training.dataset.max_record_kb)"
            )
        line = raw.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DatasetError(f"{where} line {number}: not valid JSON ({error})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{where} line {number}: expected a JSON object, got {type(record).__name__}")
        for field in rules.required_fields:
            value = record.get(field)
            if not isinstance(value, str) or not value.strip():
                problem = "missing" if field not in record else "not a non-empty string"
                raise DatasetError(f"{where} line {number}: field '{field}' is {problem}")
        count += 1
    return count
