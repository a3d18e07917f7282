"""Lambda tests: Powertools settings the functions get from their environment (set before any handler is
imported, as Lambda sets them), a moto account and a fresh client cache per test."""

from __future__ import annotations

import os

# X-Ray is not reachable in tests; the router's SDK tracing is off unless a test turns it on.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
# Metrics lines are written only where a test reads them (it sets this to false for its own duration).
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "genai-kit-test")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GenAiKit/Test")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")

from collections.abc import Iterator

import boto3
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
