"""Fixtures for the router: a fake Lambda context, API Gateway events from a file, fresh settings and clients."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdas.api_router import backends, settings
from tests.lambdas.fakes import FakeLambdaContext

EVENTS = Path(__file__).parent / "events"
MODELS = {
    "tinyllama": {"backend": "sagemaker", "endpoint": "genai-kit-dev-tinyllama", "format": "messages"},
    "llama2-7b": {"backend": "sagemaker", "endpoint": "genai-kit-dev-llama2-7b", "format": "prompt"},
    "nova-lite": {"backend": "bedrock", "model": "us.amazon.nova-lite-v1:0"},
}


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def router_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MODELS", json.dumps(MODELS))
    monkeypatch.setenv("GUARDRAIL_ID", "gr-123")
    monkeypatch.setenv("GUARDRAIL_VERSION", "1")
    monkeypatch.setenv("MAX_BODY_BYTES", "65536")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "api-router")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "GenAiKit/Api")
    settings.settings.cache_clear()
    backends.client.cache_clear()
    yield
    settings.settings.cache_clear()
    backends.client.cache_clear()


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    """An API Gateway REST proxy event for ``method path`` with ``body`` (a dict is JSON-encoded)."""
    template = json.loads((EVENTS / "rest_api_request.json").read_text())

    def build(method: str = "POST", path: str = "/v1/chat/completions", body: Any = None) -> dict[str, Any]:
        event: dict[str, Any] = copy.deepcopy(template)
        event.update(httpMethod=method, path=path, resource=path)
        event["requestContext"].update(httpMethod=method, resourcePath=path)
        event["body"] = json.dumps(body) if isinstance(body, dict | list) else body
        return event

    return build
