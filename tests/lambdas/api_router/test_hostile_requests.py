"""Property-based: whatever a client sends, the router answers below 500 with a well-formed body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.api_router import handler
from lambdas.api_router.completion import Completion

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
        "model": st.sampled_from(["nova-lite", "tinyllama", "nope"]) | json_values,
        "messages": messages,
        "max_tokens": json_values,
        "temperature": json_values,
        "top_p": json_values,
        "stop": json_values,
        "stream": json_values,
        "stream_options": json_values,
    },
)
bodies = (
    requests_.map(json.dumps)
    | st.text(max_size=60)
    | json_values.map(json.dumps)
    | st.binary(max_size=40).map(lambda raw: raw.decode("latin-1"))
)


@pytest.fixture
def instant_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "complete", lambda *_: Completion("ok", "stop", 1, 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_input_makes_the_router_fail(body: str, api_event: Any, lambda_context: Any, instant_backend: None) -> None:
    response = handler.handler(api_event(body=body), lambda_context)
    assert response["statusCode"] < 500
    payload = response["body"]
    if response["statusCode"] == 200:
        assert payload.startswith(("{", "data: "))
    else:
        error = json.loads(payload)["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert isinstance(error["message"], str)
        assert error["message"]
