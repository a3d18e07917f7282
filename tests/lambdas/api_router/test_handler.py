"""The router end to end through its Lambda handler: routing, both backends, streaming and every error status."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.api_router import backends, handler
from lambdas.api_router.settings import settings

CHAT = {"model": "nova-lite", "messages": [{"role": "user", "content": "Hello"}]}
CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi there"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
    "metrics": {"latencyMs": 120},
}


def _call(event: dict[str, Any], context: Any) -> tuple[int, dict[str, str], str]:
    response = handler.handler(event, context)
    # REST API (payload format 1.0) responses carry headers as multiValueHeaders.
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], {**headers, **(response.get("headers") or {})}, response["body"]


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the handler's logger writes (its handler was bound to stdout when the module was imported)."""
    stream = io.StringIO()
    previous = handler.logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    handler.logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture
def bedrock() -> Iterator[Stubber]:
    with Stubber(backends.client("bedrock-runtime")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sagemaker_results() -> Iterator[Callable[..., None]]:
    """Queue answers that moto's SageMaker runtime returns from invoke_endpoint, in order."""
    with mock_aws():

        def queue(*bodies: Any) -> None:
            results = [{"Body": json.dumps(body), "ContentType": "application/json"} for body in bodies]
            requests.post(
                "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
                json={"results": results, "region": "us-east-1"},
                timeout=5,
            )

        yield queue


def test_models_lists_every_alias(api_event: Any, lambda_context: Any) -> None:
    status, _, body = _call(api_event("GET", "/v1/models"), lambda_context)
    assert status == 200
    listing = json.loads(body)
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["tinyllama", "llama2-7b", "nova-lite"]


def test_bedrock_alias_goes_to_converse_with_the_guardrail(
    api_event: Any, lambda_context: Any, bedrock: Stubber
) -> None:
    # GIVEN a system prompt, two user turns in a row and generation parameters
    request = {
        "model": "nova-lite",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "Who are you?"}]},
        ],
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["\n\n"],
    }
    bedrock.add_response(
        "converse",
        CONVERSE_OK,
        {
            "modelId": "us.amazon.nova-lite-v1:0",
            "system": [{"text": "Be brief."}],
            "messages": [{"role": "user", "content": [{"text": "Hello"}, {"text": "Who are you?"}]}],
            "inferenceConfig": {"maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["\n\n"]},
            "guardrailConfig": {"guardrailIdentifier": "gr-123", "guardrailVersion": "1"},
        },
    )
    # WHEN it is sent
    status, headers, body = _call(api_event(body=request), lambda_context)
    # THEN the answer is an OpenAI chat completion with usage
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    completion = json.loads(body)
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "nova-lite"
    assert completion["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}
    ]
    assert completion["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_endpoint_alias_speaks_the_chat_schema(api_event: Any, lambda_context: Any, sagemaker_results: Any) -> None:
    sagemaker_results(
        {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Inferentia2 is a chip."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
        }
    )
    request = {"model": "tinyllama", "messages": [{"role": "user", "content": "What is Inferentia2?"}]}
    status, _, body = _call(api_event(body=request), lambda_context)
    assert status == 200
    completion = json.loads(body)
    assert completion["choices"][0]["message"]["content"] == "Inferentia2 is a chip."
    assert completion["usage"]["total_tokens"] == 18


def test_text_generation_endpoint_answer_is_translated(
    api_event: Any, lambda_context: Any, sagemaker_results: Any
) -> None:
    sagemaker_results([{"generated_text": " A chip.", "details": {"finish_reason": "length", "generated_tokens": 3}}])
    request = {"model": "llama2-7b", "messages": [{"role": "user", "content": "What is Inferentia2?"}]}
    status, _, body = _call(api_event(body=request), lambda_context)
    assert status == 200
    choice = json.loads(body)["choices"][0]
    assert choice["message"]["content"] == " A chip."
    assert choice["finish_reason"] == "length"


def test_stream_answers_in_server_sent_events(api_event: Any, lambda_context: Any, bedrock: Stubber) -> None:
    bedrock.add_response("converse", CONVERSE_OK)
    request = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    status, headers, body = _call(api_event(body=request), lambda_context)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    events = [line.removeprefix("data: ") for line in body.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "Hi there"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("{not json", None),
        ("", None),
        ("[1, 2]", None),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "nova-lite"}, "messages"),
        ({"model": "nova-lite", "messages": []}, "messages"),
        ({"model": "nova-lite", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"model": "nova-lite", "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"model": "nova-lite", "messages": [{"role": "system", "content": "only"}]}, "messages"),
        ({**CHAT, "temperature": 3}, "temperature"),
        ({**CHAT, "top_p": -0.1}, "top_p"),
        ({**CHAT, "max_tokens": 0}, "max_tokens"),
        ({**CHAT, "max_tokens": True}, "max_tokens"),
        ({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**CHAT, "stream": "yes"}, "stream"),
    ],
)
def test_malformed_request_is_a_400_naming_the_field(
    api_event: Any, lambda_context: Any, body: Any, param: str | None
) -> None:
    status, _, raw = _call(api_event(body=body), lambda_context)
    assert status == 400
    error = json.loads(raw)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert "52fdfc07-2182-154f-163f-5f0f9a621d72" in error["message"]


def test_body_over_the_limit_is_a_400(api_event: Any, lambda_context: Any) -> None:
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 70_000}]}
    status, _, raw = _call(api_event(body=big), lambda_context)
    assert status == 400
    assert "larger than the limit of 65536 bytes" in json.loads(raw)["error"]["message"]


def test_unknown_model_is_a_404_listing_the_models(api_event: Any, lambda_context: Any) -> None:
    status, _, raw = _call(api_event(body={**CHAT, "model": "gpt-4"}), lambda_context)
    assert status == 404
    error = json.loads(raw)["error"]
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert "available models: llama2-7b, nova-lite, tinyllama" in error["message"]


def test_unknown_route_is_a_404(api_event: Any, lambda_context: Any) -> None:
    status, _, raw = _call(api_event("GET", "/v1/embeddings"), lambda_context)
    assert status == 404
    assert json.loads(raw)["error"]["code"] == "unknown_url"


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        ("ThrottlingException", 429, "rate_limit_error"),
        ("ModelErrorException", 502, "api_error"),
        ("ModelTimeoutException", 504, "api_error"),
        ("ValidationException", 400, "invalid_request_error"),
        ("AccessDeniedException", 502, "api_error"),
    ],
)
def test_bedrock_errors_map_to_openai_statuses(
    api_event: Any, lambda_context: Any, bedrock: Stubber, code: str, status: int, error_type: str
) -> None:
    bedrock.add_client_error("converse", service_error_code=code, service_message="details", http_status_code=400)
    got, headers, raw = _call(api_event(body=CHAT), lambda_context)
    assert got == status
    assert json.loads(raw)["error"]["type"] == error_type
    if status == 429:
        assert headers["Retry-After"] == "2"


def test_read_timeout_is_a_504(api_event: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*_: Any, **__: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    monkeypatch.setattr(backends.client("bedrock-runtime"), "converse", slow)
    status, _, raw = _call(api_event(body=CHAT), lambda_context)
    assert status == 504
    assert json.loads(raw)["error"]["code"] == "timeout"


def test_container_error_for_bad_input_is_a_400(
    api_event: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**_: Any) -> None:
        response = {
            "Error": {"Code": "ModelError", "Message": "Input validation error: too long"},
            "OriginalStatusCode": 422,
        }
        raise ClientError(response, "InvokeEndpoint")

    monkeypatch.setattr(backends.client("sagemaker-runtime"), "invoke_endpoint", refuse)
    status, _, raw = _call(api_event(body={**CHAT, "model": "tinyllama"}), lambda_context)
    assert status == 400
    assert "too long" in json.loads(raw)["error"]["message"]


def test_unexpected_failure_is_a_500_without_a_trace(
    api_event: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handler, "complete", broken)
    status, _, raw = _call(api_event(body=CHAT), lambda_context)
    assert status == 500
    assert "secret internals" not in raw
    assert "Traceback" not in raw


def test_prompt_and_answer_stay_out_of_the_logs(
    api_event: Any, lambda_context: Any, bedrock: Stubber, logs: io.StringIO
) -> None:
    bedrock.add_response("converse", CONVERSE_OK)
    _call(api_event(body={**CHAT, "messages": [{"role": "user", "content": "my secret prompt"}]}), lambda_context)
    written = logs.getvalue()
    assert "chat completed" in written
    assert "my secret prompt" not in written
    assert "Hi there" not in written


def test_payload_logging_is_opt_in(
    api_event: Any, lambda_context: Any, bedrock: Stubber, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_PAYLOADS", "true")
    settings.cache_clear()
    bedrock.add_response("converse", CONVERSE_OK)
    _call(api_event(body={**CHAT, "messages": [{"role": "user", "content": "my secret prompt"}]}), lambda_context)
    assert "my secret prompt" in logs.getvalue()


def test_every_log_line_carries_the_request_id(
    api_event: Any, lambda_context: Any, bedrock: Stubber, logs: io.StringIO
) -> None:
    bedrock.add_response("converse", CONVERSE_OK)
    _call(api_event(body=CHAT), lambda_context)
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert lines
    assert all(line["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef" for line in lines)


def test_sdk_tracing_is_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def plain(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}

    monkeypatch.delenv("TRACE_MODEL_CALLS", raising=False)
    assert handler._traced(plain) is plain
    monkeypatch.setenv("TRACE_MODEL_CALLS", "true")
    assert handler._traced(plain) is not plain
