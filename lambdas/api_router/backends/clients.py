"""botocore clients for the model calls: created on first use, one per service, never at import time.

botocore (shipped, pinned, in the function's code: the runtime's SDK may predate the Converse fields the router
sends) rather than boto3, which adds nothing a client needs here. The read timeout is the router's longest
single wait for the model (``MODEL_WAIT_SECONDS``) and the SDK makes one attempt: a retry would start a second
wait the request's deadline has no room for, and a throttled call is better answered at once with 429 and
Retry-After, which OpenAI clients retry. The S3 client (the images stored for ``response_format: "url"``) signs
with SigV4: requests for SSE-KMS objects must be (Amazon S3 user guide, "Using server-side encryption with AWS KMS
keys (SSE-KMS)"). Tests reset the cache with ``client.cache_clear()``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from lambdas.api_router.settings import settings

_CONNECT_TIMEOUT_SECONDS = 5


@cache
def _session() -> Any:
    """One botocore session per process: its loader caches the service models every client is built from."""
    return get_session()


@cache
def client(service: str) -> Any:
    """The client of ``service`` (``bedrock-runtime``, ``sagemaker-runtime`` or ``s3``) in the function's region."""
    wait = settings().model_wait_seconds
    config = Config(
        connect_timeout=min(_CONNECT_TIMEOUT_SECONDS, wait),
        read_timeout=wait,
        retries={"mode": "standard", "total_max_attempts": 1},
        signature_version="s3v4" if service == "s3" else None,
    )
    return _session().create_client(service, config=config)
