"""Every OpenAI request parameter is honoured, ignored harmlessly or refused by name, per kind of backend.

The rules are ``lambdas.api_router.parameters.RULES``; these tests send each refused value to a model of each
kind and check the 400 names the parameter, send each ignored parameter and check the answer is unchanged,
and keep the README's tables what the rules render.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.chat import completion_create_params

from genai_kit.cdk_context import PROJECT_ROOT
from lambdas.api_router.parameters import BEGIN_MARKER, END_MARKER, KINDS, RULES, Kind, render
from tests.lambdas.api_router.conftest import Http, post_chat

# A model of each kind in the test router's configuration.
ALIASES: dict[Kind, str] = {"bedrock": "nova-lite", "tgi": "tinyllama", "vllm": "qwen", "lmi": "mistral"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
# For each parameter some kind refuses: a well-formed value that kind refuses (a value outside what a rule accepts).
REFUSED_VALUES: dict[str, Any] = {
    "n": 2,
    "seed": 7,
    "frequency_penalty": 0.5,
    "presence_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "tools": [TOOL],
    "tool_choice": "required",
    "response_format": {"type": "json_object"},
    "reasoning_effort": "low",
    "modalities": ["text", "audio"],
    "audio": {"voice": "alloy", "format": "mp3"},
    "verbosity": "low",
    "web_search_options": {},
    "moderation": True,
    "functions": [{"name": "f"}],
    "function_call": "auto",
    "stop": ["END"],
    "temperature": 1.5,
    "top_p": 0,
}
IGNORED_VALUES: dict[str, Any] = {
    "user": "u-1",
    "safety_identifier": "s-1",
    "metadata": {"team": "a"},
    "store": True,
    "prompt_cache_key": "k",
    "prompt_cache_retention": "24h",
    "prompt_cache_options": {},
    "service_tier": "auto",
    "prediction": {"type": "content", "content": "x"},
    "parallel_tool_calls": True,
}
HI = [{"role": "user", "content": "Hi"}]


def _refusals() -> Iterator[tuple[Kind, str]]:
    for name, rules in RULES.items():
        for kind in KINDS:
            rule = rules[kind]
            if rule.status == "refused" or (rule.accepts is not None and not rule.accepts(REFUSED_VALUES.get(name))):
                yield kind, name


def test_every_parameter_of_openais_request_has_a_rule_for_every_kind() -> None:
    # the request parameters of the pinned openai SDK (its CompletionCreateParams, stream in its subclasses)
    openai_parameters = set(completion_create_params.CompletionCreateParamsBase.__annotations__) | {"stream"}
    assert set(RULES) == openai_parameters
    assert all(set(rules) == set(KINDS) for rules in RULES.values())


def test_every_refusal_is_exercised_below() -> None:
    for kind, name in _refusals():
        assert name in REFUSED_VALUES, f"add a value of {name!r} that {kind} refuses to REFUSED_VALUES"


@pytest.mark.parametrize(("kind", "name"), list(_refusals()))
def test_each_refused_parameter_is_a_400_naming_it(
    http: Http, instant_backend: list[Any], kind: Kind, name: str
) -> None:
    body = {"model": ALIASES[kind], "messages": HI, name: REFUSED_VALUES[name]}
    response = post_chat(http, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", name)
    assert name in error["message"]
    assert instant_backend == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(IGNORED_VALUES))
def test_each_ignored_parameter_changes_nothing(http: Http, instant_backend: list[Any], kind: Kind, name: str) -> None:
    if RULES[name][kind].status != "ignored" and name != "parallel_tool_calls":
        pytest.skip(f"{name} is not ignored for {kind}")
    plain = post_chat(http, {"model": ALIASES[kind], "messages": HI})
    with_it = post_chat(http, {"model": ALIASES[kind], "messages": HI, name: IGNORED_VALUES[name]})
    assert with_it.status_code == 200, with_it.text
    assert with_it.json()["choices"] == plain.json()["choices"]
    # the backend's request differs in nothing it reads
    without, given = instant_backend
    assert (given.messages, given.max_tokens, given.temperature, given.tools) == (
        without.messages,
        without.max_tokens,
        without.temperature,
        without.tools,
    )


def test_null_means_not_set(http: Http, instant_backend: list[Any]) -> None:
    body = {"model": "tinyllama", "messages": HI, "seed": None, "tools": None, "n": None, "logprobs": None}
    assert post_chat(http, body).status_code == 200


def test_an_unknown_parameter_is_refused(http: Http, instant_backend: list[Any]) -> None:
    response = post_chat(http, {"model": "nova-lite", "messages": HI, "temprature": 0.5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "temprature"
    assert "not a parameter this API knows" in error["message"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("n", 1), ("logprobs", False), ("top_logprobs", 0), ("logit_bias", {}), ("modalities", ["text"])],
)
@pytest.mark.parametrize("kind", KINDS)
def test_the_values_that_ask_for_nothing_are_accepted(
    http: Http, instant_backend: list[Any], kind: Kind, name: str, value: Any
) -> None:
    assert post_chat(http, {"model": ALIASES[kind], "messages": HI, name: value}).status_code == 200


@pytest.mark.parametrize(
    ("name", "value"),
    [("seed", "7"), ("n", 1.5), ("user", 3), ("metadata", []), ("logprobs", 1), ("frequency_penalty", "0")],
)
def test_a_parameter_of_the_wrong_type_is_a_400_before_its_rule(http: Http, name: str, value: Any) -> None:
    response = post_chat(http, {"model": "nova-lite", "messages": HI, name: value})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == name


def test_readme_parameter_tables_are_current() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN_MARKER in readme, "the README needs the parameter tables between their markers"
    embedded = readme.split(BEGIN_MARKER, 1)[1].split(END_MARKER, 1)[0].strip()
    assert embedded == render(), "run `python -m lambdas.api_router.parameters` and paste its tables into the README"
