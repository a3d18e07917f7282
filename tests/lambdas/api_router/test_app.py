"""The router's HTTP contract: routes, request validation and every error status, in OpenAI's error format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.lambdas.api_router.conftest import API_REQUEST_ID, MODELS, Http, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws

CHAT = {"model": "nova-lite", "messages": [{"role": "user", "content": "Hello"}]}
CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi there"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
    "metrics": {"latencyMs": 120},
}


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert API_REQUEST_ID in error["message"]
    assert response.headers["x-request-id"] == API_REQUEST_ID
    return error


def test_models_lists_every_alias(http: Http) -> None:
    response = http.get("/v1/models")
    assert response.status_code == 200
    listing = response.json()
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == list(MODELS)


def test_health_answers_the_adapters_readiness_check(http: Http) -> None:
    response = http.get("/health")
    assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("{not json", None),
        ("", None),
        (b"\xff\xfe{}", None),
        ("[1, 2]", None),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "nova-lite"}, "messages"),
        ({"model": "nova-lite", "messages": []}, "messages"),
        ({"model": "nova-lite", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "nova-lite", "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"model": "nova-lite", "messages": [{"role": "system", "content": "only"}]}, "messages"),
        ({**CHAT, "temperature": 3}, "temperature"),
        ({**CHAT, "top_p": -0.1}, "top_p"),
        ({**CHAT, "max_tokens": 0}, "max_tokens"),
        ({**CHAT, "max_tokens": True}, "max_tokens"),
        ({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**CHAT, "stream": "yes"}, "stream"),
        ({**CHAT, "stream_options": []}, "stream_options"),
    ],
)
def test_malformed_request_is_a_400_naming_the_field(http: Http, body: Any, param: str | None) -> None:
    response = post_chat(http, body)
    assert response.status_code == 400
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_body_over_the_limit_is_a_400(http: Http) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = post_chat(http, big)
    assert response.status_code == 400
    assert "larger than the limit of 65536 bytes" in _error(response)["message"]


def test_unknown_model_is_a_404_listing_the_models(http: Http) -> None:
    response = post_chat(http, {**CHAT, "model": "gpt-4"})
    assert response.status_code == 404
    error = _error(response)
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert f"available models: {', '.join(sorted(MODELS))}" in error["message"]


def test_unknown_route_is_a_404(http: Http) -> None:
    response = http.get("/v1/images/edits")
    assert response.status_code == 404
    assert _error(response)["code"] == "unknown_url"


def test_wrong_method_is_a_405(http: Http) -> None:
    response = http.get("/v1/chat/completions")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        ("ThrottlingException", 429, "rate_limit_error"),
        ("ServiceQuotaExceededException", 429, "rate_limit_error"),
        ("ModelErrorException", 502, "api_error"),
        ("ModelTimeoutException", 504, "api_error"),
        ("ValidationException", 400, "invalid_request_error"),
        ("AccessDeniedException", 502, "api_error"),
        ("ServiceUnavailableException", 502, "api_error"),
    ],
)
def test_bedrock_errors_map_to_openai_statuses(
    http: Http, fake_aws: FakeAws, code: str, status: int, error_type: str
) -> None:
    fake_aws.error("Converse", code, "details")
    response = post_chat(http, CHAT)
    assert response.status_code == status
    assert _error(response)["type"] == error_type
    if status == 429:
        assert response.headers["Retry-After"] == "2"


def test_a_read_timeout_of_the_model_client_is_a_504(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.raises("Converse", ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"))
    response = post_chat(http, CHAT)
    assert response.status_code == 504
    assert _error(response)["code"] == "timeout"


def test_container_refusing_the_input_is_a_400(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.error(
        "InvokeEndpoint", "ModelError", "Input validation error: too long", status=424, OriginalStatusCode=422
    )
    response = post_chat(http, {**CHAT, "model": "tinyllama"})
    assert response.status_code == 400
    assert "too long" in _error(response)["message"]


def test_an_endpoint_that_does_not_exist_yet_is_a_404_naming_the_model(http: Http, fake_aws: FakeAws) -> None:
    # GIVEN the fine-tuned alias before any version was approved (its endpoint is created on the first approval)
    fake_aws.error("InvokeEndpoint", "ValidationError", "Endpoint genai-kit-dev-tinyllama of account 1 not found.")
    response = post_chat(http, {**CHAT, "model": "tinyllama"})
    assert response.status_code == 404
    error = _error(response)
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert "does not exist (yet)" in error["message"]


def test_container_failing_is_a_502(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.error("InvokeEndpoint", "ModelError", "CUDA out of memory", status=424, OriginalStatusCode=500)
    response = post_chat(http, {**CHAT, "model": "tinyllama"})
    assert response.status_code == 502
    assert _error(response)["code"] == "model_error"


def test_unexpected_failure_is_a_500_without_a_trace(http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdas.api_router import chat  # noqa: PLC0415

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(chat, "complete", broken)
    response = post_chat(http, CHAT)
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert _error(response)["code"] == "internal_error"


def test_non_streaming_answer_is_a_chat_completion(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.json("Converse", CONVERSE_OK)
    response = post_chat(http, CHAT)
    assert response.status_code == 200
    completion = json.loads(response.text)
    assert completion["id"] == f"chatcmpl-{API_REQUEST_ID}"
    assert response.headers["x-request-id"] == API_REQUEST_ID
    assert completion["object"] == "chat.completion"
    assert completion["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}
    ]
    assert completion["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
