"""Shared fixtures of the Lambda tests: a moto account and a fresh client cache per test."""

from __future__ import annotations

import os

# Powertools reads these when a handler module is imported (as Lambda sets them before the import).
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GenAiKit/FineTuning")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "fine-tuning")

from collections.abc import Iterator

import boto3  # type: ignore[import-untyped]
import pytest
from moto import mock_aws

from lambdas.shared.aws import client

REGION = "us-east-1"
DATASETS_BUCKET = "datasets-bucket"
ARTIFACTS_BUCKET = "artifacts-bucket"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        client.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DATASETS_BUCKET, ARTIFACTS_BUCKET):
            s3.create_bucket(Bucket=bucket)
        yield
    client.cache_clear()
