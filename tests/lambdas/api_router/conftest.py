"""Fixtures for the router: its environment, the app served by uvicorn on a loopback port, a fake AWS.

The app is the one Lambda runs (``create_app``), served by the same server; the adapter's two headers
(``x-amzn-lambda-context``, ``x-amzn-request-context``) are added to every request as the AWS Lambda Web
Adapter adds them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import openai
import pytest
import requests
import uvicorn

from lambdas.api_router import chat, embeddings
from lambdas.api_router.app import create_app
from lambdas.api_router.backends.bedrock_embeddings import Embeddings
from lambdas.api_router.backends.clients import client as aws_client
from lambdas.api_router.events import Completion, Finish, ModelEvent, TextDelta
from lambdas.api_router.settings import settings
from tests.lambdas.api_router.fake_aws import FakeAws

LAMBDA_REQUEST_ID = "52fdfc07-2182-154f-163f-5f0f9a621d72"
API_REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
# One alias per kind of backend: TGI 0.3.0 (chat schema, streams with usage), vLLM (likewise), LMI 0.29 (chat
# schema, streams without usage), TGI 0.0.25 (generate schema, streams), LMI 0.24 (generate schema, no stream);
# Bedrock chat models (Nova, with a forced tool for structured output; Claude, with native structured output and
# effort; Nova 2, with its reasoningConfig), embedding models (Titan V2, Cohere v4), image models (Nova Canvas,
# Stable Image Core) and a text-to-image endpoint (JumpStart Stable Diffusion XL on Neuron).
MODELS = {
    "tinyllama": {
        "backend": "sagemaker",
        "endpoint": "genai-kit-dev-tinyllama",
        "format": "messages",
        "family": "tgi",
        "streams": True,
        "stream_usage": True,
        "max_total_tokens": 2048,
    },
    "qwen": {
        "backend": "sagemaker",
        "endpoint": "genai-kit-dev-qwen",
        "format": "messages",
        "family": "vllm",
        "streams": True,
        "stream_usage": True,
    },
    "mistral": {
        "backend": "sagemaker",
        "endpoint": "genai-kit-dev-mistral",
        "format": "messages",
        "family": "lmi",
        "streams": True,
    },
    "falcon": {
        "backend": "sagemaker",
        "endpoint": "genai-kit-dev-falcon",
        "format": "prompt",
        "family": "tgi",
        "streams": True,
    },
    "llama2-7b": {"backend": "sagemaker", "endpoint": "genai-kit-dev-llama2-7b", "format": "prompt", "family": "lmi"},
    "nova-lite": {"backend": "bedrock", "model": "us.amazon.nova-lite-v1:0", "max_output_tokens": 5000},
    "sonnet": {
        "backend": "bedrock",
        "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "structured_output": "json_schema",
        "reasoning": "effort",
    },
    "nova-2-lite": {"backend": "bedrock", "model": "us.amazon.nova-2-lite-v1:0", "reasoning": "nova"},
    "titan-embed": {"backend": "bedrock-embedding", "model": "amazon.titan-embed-text-v2:0", "family": "titan-v2"},
    "cohere-embed": {"backend": "bedrock-embedding", "model": "cohere.embed-v4:0", "family": "cohere-v4"},
    "nova-canvas": {"backend": "bedrock-image", "model": "amazon.nova-canvas-v1:0", "family": "nova-canvas"},
    "stable-image-core": {
        "backend": "bedrock-image",
        "model": "stability.stable-image-core-v1:1",
        "family": "stable-image-core",
    },
    "sdxl": {
        "backend": "sagemaker-image",
        "endpoint": "genai-kit-dev-sdxl",
        "family": "jumpstart-txt2img",
        "sizes": ["1024x1024", "768x768"],
        "max_images": 2,
    },
}


ENVIRONMENT = {
    "MODELS": json.dumps(MODELS),
    "GUARDRAIL_ID": "a1b2c3d4e5f6",
    "GUARDRAIL_VERSION": "1",
    "MAX_BODY_BYTES": "65536",
    "LOG_PAYLOADS": "false",
    "TRACE_MODEL_CALLS": "false",
    "MODEL_TIMEOUT_SECONDS": "30",
    "MODEL_WAIT_SECONDS": "30",
    "IMAGES_BUCKET": "genai-kit-dev-artifacts-123456789012-us-east-1",
    "IMAGES_PREFIX": "api-images/",
    "IMAGE_URL_SECONDS": "3600",
    "POWERTOOLS_SERVICE_NAME": "genai-kit-api",
    "POWERTOOLS_METRICS_NAMESPACE": "GenAiKit/Api",
}


@pytest.fixture(autouse=True)
def router_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The variables the API stack sets (see genai_kit.contracts.api_router), with short timeouts.

    A test may change them with ``monkeypatch.setenv`` followed by ``settings.cache_clear()``.
    """
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    aws_client.cache_clear()
    yield
    settings.cache_clear()
    aws_client.cache_clear()


@pytest.fixture
def fake_aws(router_environment: None) -> Iterator[FakeAws]:
    """Answers the router's Bedrock and SageMaker calls from a script (see fake_aws.py)."""
    fake = FakeAws()
    for service in ("bedrock-runtime", "sagemaker-runtime"):
        fake.attach(aws_client(service))
    yield fake
    fake.close()
    assert fake.invalid == [], "the router sent requests the service model refuses"


def adapter_headers(deadline_ms: int | None = None, request_id: str = LAMBDA_REQUEST_ID) -> dict[str, str]:
    """The headers the AWS Lambda Web Adapter adds to each request it forwards."""
    lambda_context = {
        "request_id": request_id,
        "deadline": deadline_ms or int(time.time() * 1000) + 300_000,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:router",
        "xray_trace_id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }
    request_context = {"requestId": API_REQUEST_ID, "stage": "dev", "httpMethod": "POST"}
    return {"x-amzn-lambda-context": json.dumps(lambda_context), "x-amzn-request-context": json.dumps(request_context)}


@pytest.fixture(scope="session")
def _server() -> Iterator[str]:
    """The router served by uvicorn on a free loopback port, once for the session (it reads its settings per
    request, so each test's environment applies)."""
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    os.environ.update(ENVIRONMENT)
    settings.cache_clear()
    try:
        app = create_app()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.cache_clear()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", http="h11", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the router's server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def base_url(_server: str, router_environment: None) -> str:
    return _server


class Http:
    """A plain HTTP client to the router, sending the adapter's headers."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update(adapter_headers())

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base_url + path, timeout=30, **kwargs)


@pytest.fixture
def http(base_url: str) -> Iterator[Http]:
    client = Http(base_url)
    yield client
    client.session.close()


@pytest.fixture
def openai_client(base_url: str) -> openai.OpenAI:
    """The official client, as an application uses it (no retries, so each test sees one call)."""
    return openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key="unused-with-iam-auth",
        max_retries=0,
        timeout=30,
        default_headers=adapter_headers(),
    )


def post_chat(http: Http, body: Any, *, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    """POST a chat request (a dict is sent as JSON, a str or bytes as they are)."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Content-Type": "application/json", **(headers or {})}
    return http.post("/v1/chat/completions", data=data, headers=headers, **kwargs)


class _Instant:
    def __iter__(self) -> Iterator[ModelEvent]:
        yield TextDelta("ok")
        yield Finish("stop")

    def close(self) -> None:
        pass


@pytest.fixture
def instant_backend(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Answers every model call at once ("ok", or one 1-dimensional vector per input); the list collects the
    requests the backends got (a ``ChatRequest``, or an embeddings request's inputs)."""
    calls: list[Any] = []

    def complete(request: Any, target: Any) -> Completion:
        calls.append(request)
        return Completion("ok", "stop", 1, 1)

    def open_stream(request: Any, target: Any) -> _Instant:
        calls.append(request)
        return _Instant()

    def embed(inputs: Sequence[str], target: Any, **_: Any) -> Embeddings:
        calls.append(inputs)
        return Embeddings(((0.5,),) * len(inputs), 1)

    monkeypatch.setattr(chat, "complete", complete)
    monkeypatch.setattr(chat, "open_stream", open_stream)
    monkeypatch.setattr(embeddings, "embed", embed)
    return calls
