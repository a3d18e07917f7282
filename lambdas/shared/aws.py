"""AWS clients for the Lambdas: created on first use, cached per service, never at import time.

Tests reset the cache with ``client.cache_clear()`` after moto's ``mock_aws`` starts.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and transient errors, with a bounded number of attempts.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for ``service`` in the function's region."""
    return boto3.client(service, config=_CONFIG)
