"""Streaming: chunks leave as the model produces them, failures end a stream with an error event, and every
wait for the model is bounded (the API's own 504 or timeout event, never a layer above cutting the call)."""

from __future__ import annotations

import json
import threading
import time

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from lambdas.api_router.settings import settings
from tests.lambdas.api_router.conftest import Http, adapter_headers, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws, event, exception

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


def _delta(text: str) -> bytes:
    return event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})


START = event("messageStart", {"role": "assistant"})
STOP = event("messageStop", {"stopReason": "end_turn"})
METADATA = event(
    "metadata", {"usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}, "metrics": {"latencyMs": 10}}
)


def _sse(text: str) -> list[str]:
    """The data of each server-sent event of a raw response body."""
    return [line.removeprefix("data: ") for line in text.split("\n\n") if line.startswith("data: ")]


def _set(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()


def _chat_chunk(content: str, finish: str | None = None) -> str:
    return json.dumps(
        {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
        }
    )


# Each streaming backend's first token and the rest, in its own framing (see test_endpoints.py for the sources).
FIRST_AND_REST: dict[str, tuple[str, list[bytes], list[bytes]]] = {
    "bedrock": ("nova-lite", [START, _delta("Hel")], [_delta("lo"), STOP, METADATA]),
    "tgi": (
        "tinyllama",
        [event("PayloadPart", f"data:{_chat_chunk('Hel')}\n\n".encode())],
        [event("PayloadPart", f"data:{_chat_chunk('lo', 'stop')}\n\ndata:[DONE]\n\n".encode())],
    ),
    "vllm": (
        "qwen",
        [event("PayloadPart", f"data: {_chat_chunk('Hel')}\n\n".encode())],
        [event("PayloadPart", f"data: {_chat_chunk('lo', 'stop')}\n\ndata: [DONE]\n\n".encode())],
    ),
    "lmi": (
        "mistral",
        [event("PayloadPart", f"{_chat_chunk('Hel')}\n".encode())],
        [event("PayloadPart", f"{_chat_chunk('lo', 'eos_token')}\n".encode())],
    ),
}


@pytest.mark.parametrize("backend", FIRST_AND_REST)
def test_first_chunk_reaches_the_client_before_the_model_sends_the_rest(
    openai_client: openai.OpenAI, fake_aws: FakeAws, backend: str
) -> None:
    # GIVEN a model that has sent its first token and holds the rest back
    model, first, rest = FIRST_AND_REST[backend]
    body = fake_aws.gated_stream("ConverseStream" if backend == "bedrock" else "InvokeEndpointWithResponseStream")
    body.release(*first)
    stream = openai_client.chat.completions.create(model=model, messages=HELLO, stream=True)
    chunks = iter(stream)
    # WHEN the client reads until the first text chunk (a router that buffered would never deliver it)
    first_text = next(c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content)
    # THEN it holds the first token, and only now does the model send the rest
    assert first_text == "Hel"
    body.release(*rest)
    body.finish()
    remaining = list(chunks)
    assert "".join(c.choices[0].delta.content or "" for c in remaining if c.choices) == "lo"
    assert [c.choices[0].finish_reason for c in remaining if c.choices][-1] == "stop"


def test_stream_is_role_then_one_chunk_per_token_then_finish_usage_and_done(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.stream("ConverseStream", START, _delta("Hel"), _delta("lo"), STOP, METADATA)
    body = {"model": "nova-lite", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    response = post_chat(http, body)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = _sse(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["delta"] if c["choices"] else "usage" for c in chunks] == [
        {"role": "assistant", "content": ""},
        {"content": "Hel"},
        {"content": "lo"},
        {},
        "usage",
    ]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}


def test_no_usage_chunk_unless_asked(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.stream("ConverseStream", START, _delta("Hi"), STOP, METADATA)
    events = _sse(post_chat(http, {"model": "nova-lite", "messages": HELLO, "stream": True}).text)
    assert all("usage" not in json.loads(e) for e in events[:-1])


@pytest.mark.parametrize(
    ("answer", "status", "error_type"),
    [
        ("call", 429, "rate_limit_error"),
        ("first-event", 429, "rate_limit_error"),
        ("first-event-model-error", 502, "api_error"),
    ],
)
def test_failure_before_the_first_token_keeps_its_status(
    http: Http, fake_aws: FakeAws, answer: str, status: int, error_type: str
) -> None:
    if answer == "call":
        fake_aws.error("ConverseStream", "ThrottlingException", "slow down")
    elif answer == "first-event":
        fake_aws.stream("ConverseStream", START, exception("throttlingException", "slow down"))
    else:
        fake_aws.stream("ConverseStream", START, exception("modelStreamErrorException", "the model broke"))
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO, "stream": True})
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type
    if status == 429:
        assert response.headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("failure", "error_type", "code", "message"),
    [
        (exception("modelStreamErrorException", "the model broke"), "api_error", "model_error", "the model broke"),
        (exception("throttlingException", "slow down"), "rate_limit_error", "rate_limit_exceeded", "too many"),
        (exception("internalServerException", "oops"), "api_error", "model_error", "internalServerException"),
        (exception("validationException", "too long"), "invalid_request_error", "invalid_value", "too long"),
    ],
)
def test_failure_after_the_first_token_ends_the_stream_with_an_error_event(
    http: Http, fake_aws: FakeAws, failure: bytes, error_type: str, code: str, message: str
) -> None:
    fake_aws.stream("ConverseStream", START, _delta("Hel"), failure)
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO, "stream": True})
    assert response.status_code == 200
    events = _sse(response.text)
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert (error["type"], error["code"]) == (error_type, code)
    assert message in error["message"]


def test_openai_client_raises_on_the_error_event(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.stream("ConverseStream", START, _delta("Hel"), exception("modelStreamErrorException", "it broke"))
    stream = openai_client.chat.completions.create(model="nova-lite", messages=HELLO, stream=True)
    received: list[str] = []

    def consume() -> None:
        for chunk in stream:
            received.extend(c.delta.content or "" for c in chunk.choices)

    with pytest.raises(openai.APIError, match="it broke"):
        consume()
    assert "".join(received) == "Hel"


def test_model_that_never_answers_is_the_apis_own_504(
    http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, MODEL_TIMEOUT_SECONDS="1", MODEL_WAIT_SECONDS="1")
    fake_aws.gated_json("Converse")  # never released
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO})
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "timeout"
    assert "time limit of 1 s" in error["message"]


def test_stream_that_never_starts_is_a_504(http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, MODEL_TIMEOUT_SECONDS="30", MODEL_WAIT_SECONDS="1")
    body = fake_aws.gated_stream("ConverseStream")
    body.release(START)  # the stream opened, but no token comes
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO, "stream": True})
    assert response.status_code == 504
    assert "sent nothing for 1 s" in response.json()["error"]["message"]


def test_stream_that_stalls_is_ended_with_a_timeout_event(
    http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, MODEL_TIMEOUT_SECONDS="30", MODEL_WAIT_SECONDS="1")
    body = fake_aws.gated_stream("ConverseStream")
    body.release(START, _delta("Hel"))  # then nothing
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO, "stream": True})
    events = _sse(response.text)
    assert json.loads(events[1])["choices"][0]["delta"] == {"content": "Hel"}
    error = json.loads(events[-1])["error"]
    assert error["code"] == "timeout"
    assert "sent nothing for 1 s" in error["message"]
    assert body.closed  # the model's stream is released, not left open


def test_the_lambda_deadline_bounds_the_request_when_it_comes_first(http: Http, fake_aws: FakeAws) -> None:
    # GIVEN an invocation with 2.5 s left (the router keeps 2 s of it for itself)
    fake_aws.gated_json("Converse")
    headers = adapter_headers(deadline_ms=int(time.time() * 1000) + 2500)
    response = post_chat(http, {"model": "nova-lite", "messages": HELLO}, headers=headers)
    assert response.status_code == 504
    assert "time limit" in response.json()["error"]["message"]


def test_client_that_goes_away_releases_the_models_stream(http: Http, fake_aws: FakeAws) -> None:
    body = fake_aws.gated_stream("ConverseStream")
    body.release(START, _delta("Hel"))
    response = http.post(
        "/v1/chat/completions", json={"model": "nova-lite", "messages": HELLO, "stream": True}, stream=True
    )
    lines = response.iter_lines()
    assert b'"Hel"' in next(line for line in lines if b"Hel" in line)
    response.close()  # the client disconnects
    closed = threading.Event()
    for _ in range(500):
        body.release(_delta("x"))  # the router notices the disconnect when it next writes
        if body.closed:
            closed.set()
            break
        time.sleep(0.01)
    assert closed.is_set()


@pytest.mark.parametrize("model", ["llama2-7b"])
def test_container_that_cannot_stream_answers_whole_in_stream_form(
    openai_client: openai.OpenAI, fake_aws: FakeAws, model: str
) -> None:
    fake_aws.json("InvokeEndpoint", {"generated_text": " A chip."})
    stream = openai_client.chat.completions.create(model=model, messages=HELLO, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == " A chip."
    assert "InvokeEndpointWithResponseStream" not in fake_aws.requests
    assert fake_aws.sent("InvokeEndpoint").get("stream") is None
