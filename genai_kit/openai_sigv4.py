"""The official ``openai`` client for the kit's API: every request signed with AWS Signature Version 4.

The API authorizes callers with IAM (``execute-api:Invoke``), so a client signs each request with its AWS
credentials, as botocore signs AWS API calls. For an application, this module is one import (or one file to
copy): it needs ``openai`` (3.x, whose HTTP client is httpx2) and ``botocore`` (boto3's core)::

    from genai_kit.openai_sigv4 import sigv4_openai_client

    client = sigv4_openai_client("https://abc123.execute-api.us-east-1.amazonaws.com/dev/v1", region="us-east-1")
    for chunk in client.chat.completions.create(model="nova-lite", messages=[...], stream=True):
        ...

Credentials come from botocore's default chain (environment, profile, SSO, instance or task role) and are
refreshed as they expire. Streaming works unchanged: only the request is signed.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx2
import openai
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

SERVICE = "execute-api"


class SigV4(httpx2.Auth):
    """httpx2 authentication that signs each request for ``execute-api`` in ``region`` (SigV4 headers).

    Raises
    ------
    ValueError
        When no AWS credentials can be found.
    """

    requires_request_body = True

    def __init__(self, region: str, *, session: Session | None = None) -> None:
        credentials = (session or Session()).get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials found (environment, profile, SSO or role) to sign requests with")
        self._credentials: Any = credentials
        self._region = region

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        signed = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={name: value for name, value in request.headers.items() if name.lower() != "connection"},
        )
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request


def sigv4_openai_client(
    base_url: str, *, region: str, api_key: str | None = None, session: Session | None = None, **options: Any
) -> openai.OpenAI:
    """An ``openai.OpenAI`` for the API at ``base_url`` (the stack's ``ApiBaseUrl`` output), signing with SigV4.

    ``api_key`` is sent as ``x-api-key`` when the stage requires API keys (``api.usage_plan``); ``options`` go
    to ``openai.OpenAI`` (e.g. ``timeout``, ``max_retries``).
    """
    headers = {"x-api-key": api_key} if api_key else {}
    return openai.OpenAI(
        base_url=base_url,
        api_key="unused-with-sigv4",
        default_headers=headers,
        http_client=openai.DefaultHttpxClient(auth=SigV4(region, session=session)),
        **options,
    )
