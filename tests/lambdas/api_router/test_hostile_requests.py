"""Property-based: whatever a client sends, the router answers below 500 with a well-formed body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.lambdas.api_router.conftest import Http, post_chat

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Raw JSON that parses into what Python cannot take as is: integers past its 4300-digit limit, numbers that
# overflow to infinity, NaN, lone surrogates, nesting past the recursion limit.
HOLE = "\u00a7hostile\u00a7"
HOSTILE = [
    "1" + "0" * 4400,
    "-" + "9" * 5000,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    '"\\ud800"',
    '"x\\udfff"',
    '"\\ud800\\ud800"',
    "[" * 5000 + "]" * 5000,
    '{"a":' * 2000 + "1" + "}" * 2000,
    '"' + "x" * 5000 + '"',
]
values = json_values | st.just(HOLE)
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "file", "input_audio", "refusal"]) | values},
    optional={
        "text": values,
        "image_url": st.fixed_dictionaries(
            {"url": st.sampled_from(["data:image/png;base64,AAAA", "https://x"]) | values}
        )
        | values,
        "file": st.fixed_dictionaries({}, optional={"file_data": values, "filename": values, "file_id": values}),
    },
)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {"id": values, "type": st.just("function") | values},
        optional={"function": st.fixed_dictionaries({"name": values, "arguments": st.just("{}") | values})},
    ),
    max_size=2,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", ""]) | values},
        optional={
            "content": st.text(max_size=30) | st.lists(parts, max_size=3) | values,
            "tool_calls": tool_calls | values,
            "tool_call_id": values,
        },
    )
    | values,
    max_size=4,
)
tools = st.lists(
    st.fixed_dictionaries(
        {"type": st.just("function") | values},
        optional={"function": st.fixed_dictionaries({"name": st.just("f") | values}, optional={"parameters": values})},
    ),
    max_size=2,
)
# Every parameter of OpenAI's request, each with shapes near and far from valid.
requests_ = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(
            ["nova-lite", "sonnet", "nova-2-lite", "tinyllama", "mistral", "falcon", "titan-embed", "nope"]
        )
        | values,
        "messages": messages,
        "tools": tools | values,
        "tool_choice": st.sampled_from(["auto", "none", "required"]) | values,
        "response_format": st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "json_object", "json_schema"]) | values},
            optional={"json_schema": st.fixed_dictionaries({"name": values}, optional={"schema": values})},
        )
        | values,
        "stream_options": st.fixed_dictionaries({}, optional={"include_usage": values}) | values,
        **dict.fromkeys(
            (
                "max_tokens",
                "max_completion_tokens",
                "temperature",
                "top_p",
                "stop",
                "stream",
                "n",
                "seed",
                "logprobs",
                "top_logprobs",
                "logit_bias",
                "presence_penalty",
                "frequency_penalty",
                "parallel_tool_calls",
                "reasoning_effort",
                "modalities",
                "user",
                "metadata",
                "store",
            ),
            values,
        ),
    },
)
embedding_requests = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["titan-embed", "cohere-embed", "nova-lite"]) | values,
        "input": st.text(max_size=10) | st.lists(st.text(max_size=5) | values, max_size=3) | values,
        "dimensions": values,
        "encoding_format": st.sampled_from(["float", "base64"]) | values,
        "input_type": values,
    },
)


def _with_hostile(body: Any, hostile: str) -> str:
    return json.dumps(body).replace(json.dumps(HOLE), hostile)


bodies = (
    st.builds(_with_hostile, requests_, st.sampled_from(HOSTILE))
    | st.text(max_size=60)
    | json_values.map(json.dumps)
    | st.binary(max_size=40)
    | st.sampled_from(HOSTILE)
)
embedding_bodies = st.builds(_with_hostile, embedding_requests, st.sampled_from(HOSTILE))


def _assert_well_formed(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert response.text.startswith(("{", "data: "))
    else:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert isinstance(error["message"], str)
        assert error["message"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_chat_request_makes_the_router_fail(body: Any, http: Http, instant_backend: list[Any]) -> None:
    _assert_well_formed(post_chat(http, body))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=embedding_bodies)
def test_no_embeddings_request_makes_the_router_fail(body: Any, http: Http, instant_backend: list[Any]) -> None:
    response = http.post("/v1/embeddings", data=body, headers={"Content-Type": "application/json"})
    _assert_well_formed(response)


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(
    "template",
    [
        '{"model": "nova-lite", "messages": [{"role": "user", "content": HOLE}]}',
        '{"model": "nova-lite", "messages": [{"role": "system", "content": HOLE}, {"role": "user", "content": "x"}]}',
        '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], "max_tokens": HOLE}',
        '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], "temperature": HOLE}',
        '{"model": HOLE, "messages": [{"role": "user", "content": "x"}]}',
        '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", '
        '"function": {"name": "f", "parameters": HOLE}}]}',
        '{"model": "nova-lite", "messages": [{"role": "user", "content": "x"}], HOLE: 1}',
    ],
)
def test_each_hostile_value_in_each_place_is_a_400_or_an_answer(
    http: Http, instant_backend: list[Any], template: str, hostile: str
) -> None:
    body = template.replace("HOLE", hostile)
    _assert_well_formed(post_chat(http, body))
