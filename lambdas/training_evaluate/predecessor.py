"""The predecessor of a new model version: the latest Approved version of the pipeline's model package group.

A reviewer approving a version compares it with the one it would replace: the report names that version and the
difference per metric both report. The predecessor's metrics are read from its model package metadata
(``CustomerMetadataProperties`` ``metric:<name>``, written by the Evaluate step that registered it, each value
formatted with 6 significant digits, so a difference is exact to about that).
"""

from __future__ import annotations

import math
from typing import Any

from lambdas.shared.aws import client

METRIC_KEY_PREFIX = "metric:"


def latest_approved(group: str) -> dict[str, Any] | None:
    """The group's latest Approved version as ``{"modelPackageArn": ..., "metrics": {name: float}}``, None when
    no version was approved yet.

    ListModelPackages (ModelApprovalStatus Approved, SortBy CreationTime, SortOrder Descending, MaxResults 1), then
    DescribeModelPackage for its metadata (SageMaker API reference). A metadata value that is not a number is left
    out of ``metrics``.
    """
    sagemaker = client("sagemaker")
    summaries = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    if not summaries:
        return None
    arn = summaries[0]["ModelPackageArn"]
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    return {"modelPackageArn": arn, "metrics": metadata_metrics(package.get("CustomerMetadataProperties", {}))}


def metadata_metrics(metadata: dict[str, str]) -> dict[str, float]:
    """The ``metric:<name>`` entries of model package metadata as numbers, by metric name."""
    values: dict[str, float] = {}
    for key, text in metadata.items():
        if not key.startswith(METRIC_KEY_PREFIX):
            continue
        try:
            values[key.removeprefix(METRIC_KEY_PREFIX)] = float(text)
        except ValueError:
            continue
    return values


def differences(current: dict[str, float], previous: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per metric both report: ``{"current", "predecessor", "difference"}`` (current less predecessor; null when
    either value is not finite, since no difference of NaN or infinity says anything)."""
    compared: dict[str, dict[str, Any]] = {}
    for name in sorted(current.keys() & previous.keys()):
        now, before = current[name], previous[name]
        finite = math.isfinite(now) and math.isfinite(before)
        compared[name] = {
            "current": json_number(now),
            "predecessor": json_number(before),
            "difference": now - before if finite else None,
        }
    return compared


def json_number(value: float) -> float | str:
    """``value`` as JSON allows it: a finite number as is, NaN and infinities as the strings "nan", "inf", "-inf"
    (JSON has no such numbers; Step Functions and strict parsers refuse Python's NaN)."""
    return value if math.isfinite(value) else str(value)
