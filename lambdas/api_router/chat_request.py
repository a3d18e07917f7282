"""Parses and validates an OpenAI chat completion request into a typed, backend-neutral value.

Every shape is OpenAI's Chat Completions request: the body, the model and the sampling parameters here; the
messages with their content parts in ``lambdas.api_router.chat_messages``; function tools, tool choice and
response formats in ``lambdas.api_router.chat_tools``. A malformed value is a 400 that names the parameter by its
path (``messages[2].content[1].image_url.url``). Whether a backend honours a parameter is decided afterwards, per
backend, by ``lambdas.api_router.parameters``.

Hand-written rather than a schema library: the router must start fast (cold starts), and every rejection has
to name the parameter and the reason, as OpenAI's API does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from lambdas.api_router.chat_messages import Message, parse_messages
from lambdas.api_router.chat_tools import (
    FunctionTool,
    ResponseFormat,
    ToolChoice,
    parse_response_format,
    parse_tool_choice,
    parse_tools,
)
from lambdas.api_router.errors import ApiError, bad_request

MAX_STOP_SEQUENCES = 4
MAX_TOKENS_LIMIT = 10_000_000
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class ChatRequest:
    """A validated request. ``parameters`` holds the top-level parameters the client set (not null), by name."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: tuple[str, ...]
    stream: bool
    include_usage_in_stream: bool
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def max_tokens_param(self) -> str:
        """The name the client gave the token limit, to name it in an error."""
        return "max_completion_tokens" if "max_completion_tokens" in self.parameters else "max_tokens"


def parse_json_body(body: bytes, *, max_body_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object; raises ``ApiError`` (400) for anything else.

    Every string in it must be valid Unicode: a lone surrogate (``"\\ud800"``) is refused by its path, since no
    backend can encode it.
    """
    if len(body) > max_body_bytes:
        raise bad_request(None, f"The request body is larger than the limit of {max_body_bytes} bytes")
    if not body.strip():
        raise bad_request(None, "The request body is empty; expected a JSON object")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request(None, "The request body is not UTF-8 text") from None
    except RecursionError:
        raise bad_request(None, "The request body is nested too deeply") from None
    except ValueError as error:
        # JSONDecodeError, and Python's limit on integer digits (a number of more than 4300 digits).
        reason = "holds a number too long to read" if "digits" in str(error) else "is not valid JSON"
        raise bad_request(None, f"The request body {reason}") from None
    if not isinstance(data, dict):
        raise bad_request(None, "The request body must be a JSON object")
    _refuse_lone_surrogates(data)
    return data


def parse_chat_request(body: bytes, *, max_body_bytes: int) -> ChatRequest:
    """Validate the raw request body; raise ``ApiError`` (400) naming the parameter on any problem."""
    data = parse_json_body(body, max_body_bytes=max_body_bytes)
    parameters = {key: value for key, value in data.items() if value is not None}
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model", "'model' is required and must be a non-empty string")
    tools = parse_tools(data.get("tools"))
    return ChatRequest(
        model=model,
        messages=parse_messages(data.get("messages")),
        max_tokens=_max_tokens(data),
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
        stop=_stop(data.get("stop")),
        stream=_bool(data, "stream"),
        include_usage_in_stream=_include_usage(data.get("stream_options")),
        tools=tools,
        tool_choice=parse_tool_choice(data.get("tool_choice"), tools),
        parallel_tool_calls=_optional_bool(data, "parallel_tool_calls"),
        response_format=parse_response_format(data.get("response_format")),
        reasoning_effort=_reasoning_effort(data.get("reasoning_effort")),
        parameters=_checked_scalars(parameters),
    )


def _refuse_lone_surrogates(data: Any) -> None:
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            _check_text(path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(path or "(body)", key)
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _check_text(path: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(path or None, f"'{path}' holds text that is not valid Unicode (a lone surrogate)") from None


def _reasoning_effort(value: Any) -> str | None:
    if value is None:
        return None
    if value not in REASONING_EFFORTS:
        raise bad_request("reasoning_effort", f"'reasoning_effort' must be one of {', '.join(REASONING_EFFORTS)}")
    return str(value)


def _max_tokens(data: dict[str, Any]) -> int | None:
    # max_completion_tokens is the newer name in OpenAI's API; both are accepted.
    for name in ("max_completion_tokens", "max_tokens"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS_LIMIT:
            raise bad_request(name, f"'{name}' must be a positive integer; got {value!r:.40}")
        return value
    return None


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise bad_request(name, f"'{name}' must be a number from {low:g} to {high:g}; got {value!r:.40}")
    return float(value)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if (
        not isinstance(stops, list)
        or not all(isinstance(s, str) and s for s in stops)
        or len(stops) > MAX_STOP_SEQUENCES
    ):
        raise bad_request(
            "stop", f"'stop' must be a non-empty string or an array of up to {MAX_STOP_SEQUENCES} of them"
        )
    return tuple(stops)


def _bool(data: dict[str, Any], name: str) -> bool:
    return bool(_optional_bool(data, name))


def _optional_bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_request(name, f"'{name}' must be true or false; got {value!r:.40}")
    return value


def _include_usage(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise bad_request("stream_options", "'stream_options' must be an object")
    unknown = sorted(set(value) - {"include_usage", "include_obfuscation"})
    if unknown:
        raise bad_request(f"stream_options.{unknown[0]}", f"'stream_options.{unknown[0]}' is not a stream option")
    _optional_bool(value, "include_obfuscation")
    return _bool(value, "include_usage")


# Shapes of the scalar parameters the dispositions may accept (the values a backend honours are checked there).
_SCALARS: dict[str, tuple[type, ...]] = {
    "n": (int,),
    "seed": (int,),
    "frequency_penalty": (int, float),
    "presence_penalty": (int, float),
    "logprobs": (bool,),
    "top_logprobs": (int,),
    "logit_bias": (dict,),
    "user": (str,),
    "safety_identifier": (str,),
    "prompt_cache_key": (str,),
    "prompt_cache_retention": (str,),
    "service_tier": (str,),
    "store": (bool,),
    "metadata": (dict,),
    "modalities": (list,),
    "verbosity": (str,),
}


def _checked_scalars(parameters: dict[str, Any]) -> dict[str, Any]:
    for name, types in _SCALARS.items():
        value = parameters.get(name)
        if value is None:
            continue
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            kinds = " or ".join(sorted({_TYPE_NAMES[t] for t in types}))
            raise bad_request(name, f"'{name}' must be {kinds}; got {value!r:.40}")
        if isinstance(value, float) and not math.isfinite(value):
            raise bad_request(name, f"'{name}' must be a finite number")
    return parameters


_TYPE_NAMES = {
    int: "a number",
    float: "a number",
    bool: "true or false",
    str: "a string",
    dict: "an object",
    list: "an array",
}

__all__ = ["ApiError", "ChatRequest", "parse_chat_request", "parse_json_body"]
