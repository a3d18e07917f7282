"""Property-based: whatever a client sends, the router answers below 500 with a well-formed body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.api_router import chat
from lambdas.api_router.events import Completion, Finish, ModelEvent, TextDelta
from tests.lambdas.api_router.conftest import Http, post_chat

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "", "USER"]) | json_values},
        optional={"content": st.text(max_size=30) | json_values},
    )
    | json_values,
    max_size=4,
)
requests_ = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["nova-lite", "tinyllama", "llama2-7b", "nope"]) | json_values,
        "messages": messages,
        "max_tokens": json_values,
        "temperature": json_values,
        "top_p": json_values,
        "stop": json_values,
        "stream": st.booleans() | json_values,
        "stream_options": json_values,
    },
)
bodies = requests_.map(json.dumps) | st.text(max_size=60) | json_values.map(json.dumps) | st.binary(max_size=40)


class _Instant:
    def __iter__(self) -> Iterator[ModelEvent]:
        yield TextDelta("ok")
        yield Finish("stop")

    def close(self) -> None:
        pass


@pytest.fixture
def instant_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat, "complete", lambda *_: Completion("ok", "stop", 1, 1))
    monkeypatch.setattr(chat, "open_stream", lambda *_: _Instant())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_input_makes_the_router_fail(body: Any, http: Http, instant_backend: None) -> None:
    response = post_chat(http, body)
    assert response.status_code < 500
    if response.status_code == 200:
        assert response.text.startswith(("{", "data: "))
    else:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert isinstance(error["message"], str)
        assert error["message"]
