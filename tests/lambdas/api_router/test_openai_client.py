"""The official openai client, pointed at a local server that turns HTTP into API Gateway events for the handler."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
import requests
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.api_router import backends, handler
from tests.lambdas.fakes import FakeLambdaContext

CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello from Bedrock"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9},
    "metrics": {"latencyMs": 50},
}
ENDPOINT_OK = {
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello from Inferentia2"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10},
}


@pytest.fixture
def api_url(api_event: Any) -> Iterator[str]:
    """A loopback HTTP server that hands each request to the Lambda handler as API Gateway would."""

    class Gateway(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else None
            response = handler.handler(api_event(self.command, self.path, body), FakeLambdaContext())
            self.send_response(response["statusCode"])
            headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
            for name, value in {**headers, **(response.get("headers") or {})}.items():
                self.send_header(name, value)
            payload = response["body"].encode("utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve  # noqa: N815  (http.server's method names)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def client(api_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=api_url, api_key="unused-with-iam-auth", max_retries=0, timeout=10)


@pytest.fixture
def backends_ready() -> Iterator[Stubber]:
    with mock_aws(), Stubber(backends.client("bedrock-runtime")) as bedrock:
        yield bedrock


def _queue_endpoint_answer(answer: dict[str, Any]) -> None:
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"results": [{"Body": json.dumps(answer), "ContentType": "application/json"}], "region": "us-east-1"},
        timeout=5,
    )


def test_client_lists_models(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["tinyllama", "llama2-7b", "nova-lite"]


def test_client_chats_with_bedrock(client: openai.OpenAI, backends_ready: Stubber) -> None:
    backends_ready.add_response("converse", CONVERSE_OK)
    completion = client.chat.completions.create(model="nova-lite", messages=[{"role": "user", "content": "Hi"}])
    assert completion.choices[0].message.content == "Hello from Bedrock"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 9


def test_client_chats_with_an_endpoint(client: openai.OpenAI, backends_ready: Stubber) -> None:
    _queue_endpoint_answer(ENDPOINT_OK)
    completion = client.chat.completions.create(model="tinyllama", messages=[{"role": "user", "content": "Hi"}])
    assert completion.choices[0].message.content == "Hello from Inferentia2"


@pytest.mark.parametrize("model", ["nova-lite", "tinyllama"])
def test_client_streams_from_both_backends(client: openai.OpenAI, backends_ready: Stubber, model: str) -> None:
    if model == "nova-lite":
        backends_ready.add_response("converse", CONVERSE_OK)
    else:
        _queue_endpoint_answer(ENDPOINT_OK)
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == ("Hello from Bedrock" if model == "nova-lite" else "Hello from Inferentia2")


def test_client_raises_its_own_errors_for_ours(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="nova-lite", messages=[{"role": "user", "content": "Hi"}], temperature=5)
    assert bad.value.param == "temperature"
