"""The SigV4 helper for the openai client: each request carries a signature over its method, path and body."""

from __future__ import annotations

import openai
import pytest
from botocore.session import Session

from genai_kit.openai_sigv4 import SigV4, sigv4_openai_client


def _signed(body: bytes) -> dict[str, str]:
    request = openai.DefaultHttpxClient().build_request(
        "POST", "https://abc.execute-api.us-east-1.amazonaws.com/dev/v1/chat/completions", content=body
    )
    signed = next(SigV4("us-east-1", session=Session()).auth_flow(request))
    return dict(signed.headers)


def test_requests_are_signed_for_execute_api_with_the_session_token() -> None:
    headers = _signed(b'{"model": "m"}')
    authorization = headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/execute-api/aws4_request" in authorization
    assert "host" in authorization.split("SignedHeaders=")[1]
    assert headers["x-amz-security-token"] == "testing"
    assert headers["x-amz-date"]


def test_the_signature_covers_the_body() -> None:
    signature = _signed(b'{"model": "a"}')["authorization"].split("Signature=")[1]
    assert _signed(b'{"model": "b"}')["authorization"].split("Signature=")[1] != signature


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="no AWS credentials found"):
        SigV4("us-east-1", session=Session())


def test_the_client_sends_the_api_key_when_the_stage_requires_one() -> None:
    client = sigv4_openai_client("https://example.invalid/dev/v1", region="us-east-1", api_key="k-123")
    assert client.default_headers["x-api-key"] == "k-123"
