"""Logs, metrics and traces of the router: request ids on every line, no payloads unless asked, one EMF line
per request with the model dimension, time to first token for streams, and opt-in X-Ray subsegments."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.api_router import observability
from lambdas.api_router.observability import logger
from lambdas.api_router.settings import settings
from tests.lambdas.api_router.conftest import API_REQUEST_ID, LAMBDA_REQUEST_ID, Http, adapter_headers, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws, event, exception

CHAT = {"model": "nova-lite", "messages": [{"role": "user", "content": "my secret prompt"}]}
CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "the secret answer"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
    "metrics": {"latencyMs": 120},
}
STREAM = (
    event("messageStart", {"role": "assistant"}),
    event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "the secret answer"}}),
    event("messageStop", {"stopReason": "end_turn"}),
    event("metadata", {"usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}, "metrics": {}}),
)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the router's logger writes (its handler was bound to a stream when the module was imported)."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def _post(http: Http, body: dict[str, Any]) -> str:
    """Send a chat request under a fresh request id, and return the id."""
    request_id = str(uuid.uuid4())
    post_chat(http, body, headers=adapter_headers(request_id=request_id))
    return request_id


def _metrics(capsys: pytest.CaptureFixture[str], request_id: str) -> dict[str, Any]:
    """The request's EMF line (written once its response has been sent, so wait for it)."""
    seen: list[dict[str, Any]] = []
    for _ in range(500):
        seen += [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
        mine = [line for line in seen if line.get("function_request_id") == request_id]
        if mine:
            assert len(mine) == 1
            assert mine[0]["correlation_id"] == API_REQUEST_ID
            return mine[0]
        time.sleep(0.01)
    raise AssertionError("no metrics line was written")


def _names(emf: dict[str, Any]) -> set[str]:
    return {metric["Name"] for metric in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def _chat_logs(http: Http, fake_aws: FakeAws, logs: io.StringIO, *, stream: bool) -> str:
    """What the logs hold after one chat with a secret prompt and answer, streamed or not."""
    if stream:
        fake_aws.stream("ConverseStream", *STREAM)
    else:
        fake_aws.json("Converse", CONVERSE_OK)
    post_chat(http, {**CHAT, "stream": stream})
    return logs.getvalue()


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_and_answer_stay_out_of_the_logs(http: Http, fake_aws: FakeAws, logs: io.StringIO, stream: bool) -> None:
    written = _chat_logs(http, fake_aws, logs, stream=stream)
    assert "chat completed" in written
    assert "my secret prompt" not in written
    assert "the secret answer" not in written


@pytest.mark.parametrize("stream", [False, True])
def test_payload_logging_is_opt_in(
    http: Http, fake_aws: FakeAws, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("LOG_PAYLOADS", "true")
    settings.cache_clear()
    written = _chat_logs(http, fake_aws, logs, stream=stream)
    assert "my secret prompt" in written
    assert "the secret answer" in written


def test_every_log_line_carries_the_request_ids(http: Http, fake_aws: FakeAws, logs: io.StringIO) -> None:
    fake_aws.error("Converse", "ThrottlingException", "slow down")
    post_chat(http, CHAT)
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert len(lines) >= 1
    assert all(line["correlation_id"] == API_REQUEST_ID for line in lines)
    assert all(line["function_request_id"] == LAMBDA_REQUEST_ID for line in lines)


def test_a_completion_writes_one_metrics_line_with_the_model_dimension(
    http: Http, fake_aws: FakeAws, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_aws.json("Converse", CONVERSE_OK)
    emf = _metrics(capsys, _post(http, CHAT))
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "GenAiKit/Api"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "model"]]
    assert (emf["service"], emf["model"]) == ("genai-kit-api", "nova-lite")
    assert _names(emf) == {"Requests", "Latency", "InputTokens", "OutputTokens"}
    assert (emf["InputTokens"], emf["OutputTokens"]) == ([7.0], [3.0])


def test_a_stream_also_measures_time_to_first_token(
    http: Http, fake_aws: FakeAws, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_aws.stream("ConverseStream", *STREAM)
    emf = _metrics(capsys, _post(http, {**CHAT, "stream": True}))
    assert _names(emf) == {"Requests", "TimeToFirstToken", "Latency", "InputTokens", "OutputTokens"}
    assert emf["TimeToFirstToken"][0] <= emf["Latency"][0]


@pytest.mark.parametrize(
    ("arrange", "body", "expected"),
    [
        ("none", {"model": "nova-lite"}, {"Requests", "ClientErrors"}),
        ("throttled", CHAT, {"Requests", "ModelErrors", "ClientErrors"}),
        ("failed", CHAT, {"Requests", "ModelErrors", "ServerErrors"}),
        ("mid-stream", {**CHAT, "stream": True}, {"Requests", "TimeToFirstToken", "StreamErrors"}),
    ],
)
def test_failures_are_counted(
    http: Http,
    fake_aws: FakeAws,
    capsys: pytest.CaptureFixture[str],
    arrange: str,
    body: dict[str, Any],
    expected: set[str],
) -> None:
    if arrange == "throttled":
        fake_aws.error("Converse", "ThrottlingException", "slow down")
    elif arrange == "failed":
        fake_aws.error("Converse", "ModelErrorException", "broke", status=424)
    elif arrange == "mid-stream":
        fake_aws.stream("ConverseStream", *STREAM[:2], exception("modelStreamErrorException", "broke"))
    assert _names(_metrics(capsys, _post(http, body))) == expected


def test_tracing_parents_model_calls_on_the_invocations_trace(
    http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    fake_aws.json("Converse", CONVERSE_OK)
    post_chat(http, CHAT)
    assert "_X_AMZN_TRACE_ID" not in os.environ  # off by default
    monkeypatch.setenv("TRACE_MODEL_CALLS", "true")
    settings.cache_clear()
    fake_aws.json("Converse", CONVERSE_OK)
    post_chat(http, CHAT)
    assert os.environ["_X_AMZN_TRACE_ID"].startswith("Root=1-5759e988-bd862e3fe1be46a994272793")


def test_the_x_ray_sdk_is_loaded_only_when_tracing_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[object] = []
    monkeypatch.setattr("aws_lambda_powertools.Tracer", lambda: created.append(object()))
    monkeypatch.setenv("TRACE_MODEL_CALLS", "false")
    settings.cache_clear()
    observability.enable_tracing()
    assert created == []
    monkeypatch.setenv("TRACE_MODEL_CALLS", "true")
    settings.cache_clear()
    observability.enable_tracing()
    assert len(created) == 1


def test_token_counts_a_container_does_not_give_are_not_written_as_zero(
    http: Http, fake_aws: FakeAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a generate-schema container, which counts generated tokens but not the prompt's
    fake_aws.json("InvokeEndpoint", {"generated_text": "A chip.", "details": {"generated_tokens": 3}})
    emf = _metrics(capsys, _post(http, {**CHAT, "model": "llama2-7b"}))
    assert "InputTokens" not in _names(emf)
    assert emf["OutputTokens"] == [3.0]
