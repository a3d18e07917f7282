"""A scheduled endpoint's alias: outside its window a 503 naming the next start with Retry-After, without calling
SageMaker; inside it, an endpoint not created yet is a 503 with a short Retry-After, never a 404 or 502."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import openai
import pytest

from genai_kit.contracts.api_router import SCHEDULED_UNAVAILABLE_METRIC
from lambdas.api_router import backends
from lambdas.api_router.settings import settings
from tests.lambdas.api_router.conftest import MODELS, Http, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws
from tests.lambdas.api_router.test_observability import _metrics, _names, _post

SCHEDULE = {"time_zone": "Europe/Paris", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "stop": "19:00"}
SCHEDULED = {
    "backend": "sagemaker",
    "endpoint": "genai-kit-dev-office",
    "format": "messages",
    "family": "tgi",
    "schedule": SCHEDULE,
}
# Friday 2026-01-09 20:00 in Paris (UTC+1): the next start is Monday 08:00, 60 hours later.
FRIDAY_EVENING = datetime(2026, 1, 9, 19, 0, tzinfo=UTC)
# Monday 2026-01-12 10:00 in Paris: in the window.
MONDAY_MORNING = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
CHAT = {"model": "office", "messages": [{"role": "user", "content": "Hi"}]}
# A scheduled text-to-image endpoint, answered on the images route the same way.
SCHEDULED_IMAGES = {
    "backend": "sagemaker-image",
    "endpoint": "genai-kit-dev-studio",
    "family": "jumpstart-txt2img",
    "schedule": SCHEDULE,
}
IMAGE = {"model": "studio", "prompt": "a lighthouse at dawn"}


def _at(moment: datetime) -> type[datetime]:
    class _Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return moment.astimezone(tz) if tz is not None else moment

    return _Clock


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch, router_environment: None) -> Iterator[None]:
    monkeypatch.setenv("MODELS", json.dumps({**MODELS, "office": SCHEDULED, "studio": SCHEDULED_IMAGES}))
    settings.cache_clear()
    yield
    settings.cache_clear()


def test_outside_the_window_the_answer_is_a_503_until_the_next_start(
    scheduled: None, http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "datetime", _at(FRIDAY_EVENING))
    for stream in (False, True):
        response = post_chat(http, {**CHAT, "stream": stream})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(60 * 3600)
        error = response.json()["error"]
        assert error["code"] == "endpoint_stopped"
        assert error["type"] == "api_error"
        assert error["message"].startswith("endpoint genai-kit-dev-office is stopped until 2026-01-12T08:00+01:00")
    assert dict(fake_aws.requests) == {}  # SageMaker is not called


def test_the_openai_client_sees_a_service_unavailable_error(
    scheduled: None, openai_client: openai.OpenAI, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "datetime", _at(FRIDAY_EVENING))
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client.chat.completions.create(model="office", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == str(60 * 3600)


def test_in_the_window_a_missing_endpoint_is_starting_not_missing(
    scheduled: None, http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "datetime", _at(MONDAY_MORNING))
    fake_aws.error(
        "InvokeEndpoint", "ValidationError", "Endpoint genai-kit-dev-office of account 123456789012 not found."
    )
    response = post_chat(http, CHAT)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json()["error"]["code"] == "endpoint_starting"


def test_in_the_window_the_endpoint_is_called(
    scheduled: None, http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "datetime", _at(MONDAY_MORNING))
    answer = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    fake_aws.json("InvokeEndpoint", answer)
    response = post_chat(http, CHAT)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello"


def test_an_unscheduled_missing_endpoint_is_still_a_404(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.error(
        "InvokeEndpoint", "ValidationError", "Endpoint genai-kit-dev-tinyllama of account 123456789012 not found."
    )
    response = post_chat(http, {**CHAT, "model": "tinyllama"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_a_stopped_endpoints_503_is_counted_apart_from_model_errors(
    scheduled: None,
    http: Http,
    fake_aws: FakeAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The monitoring stack's API 5XX alarm subtracts ScheduledEndpointUnavailable from API Gateway's 5XX count.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(backends, "datetime", _at(FRIDAY_EVENING))
    names = _names(_metrics(capsys, _post(http, CHAT)))
    assert SCHEDULED_UNAVAILABLE_METRIC in names
    assert "ModelErrors" not in names


def test_a_scheduled_image_endpoint_is_stopped_and_starting_like_a_chat_one(
    scheduled: None, http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "datetime", _at(FRIDAY_EVENING))
    stopped = http.post("/v1/images/generations", json=IMAGE)
    assert stopped.status_code == 503
    assert stopped.headers["Retry-After"] == str(60 * 3600)
    assert stopped.json()["error"]["code"] == "endpoint_stopped"
    assert stopped.json()["error"]["message"].startswith(
        "endpoint genai-kit-dev-studio is stopped until 2026-01-12T08:00+01:00"
    )
    assert dict(fake_aws.requests) == {}  # SageMaker is not called

    monkeypatch.setattr(backends, "datetime", _at(MONDAY_MORNING))
    fake_aws.error(
        "InvokeEndpoint", "ValidationError", "Endpoint genai-kit-dev-studio of account 123456789012 not found."
    )
    starting = http.post("/v1/images/generations", json=IMAGE)
    assert starting.status_code == 503
    assert starting.headers["Retry-After"] == "60"
    assert starting.json()["error"]["code"] == "endpoint_starting"
