"""Parses and validates an OpenAI chat completion request into a typed, backend-neutral value.

Hand-written rather than a schema library: the router must import fast (cold starts), and every
rejection has to name the parameter and the reason, as OpenAI's API does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from lambdas.api_router.errors import bad_request

ROLES = ("system", "user", "assistant")
MAX_STOP_SEQUENCES = 4
MAX_TOKENS_LIMIT = 32_768


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: tuple[str, ...]
    stream: bool
    include_usage_in_stream: bool


def parse_chat_request(body: bytes, *, max_body_bytes: int) -> ChatRequest:
    """Validate the raw request body; raise ApiError(400) naming the parameter on any problem."""
    if len(body) > max_body_bytes:
        raise bad_request(None, f"The request body is larger than the limit of {max_body_bytes} bytes")
    if not body.strip():
        raise bad_request(None, "The request body is empty; expected a JSON object")
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad_request(None, "The request body is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError):
        raise bad_request(None, "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request(None, "The request body must be a JSON object")

    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model", "'model' is required and must be a non-empty string")
    return ChatRequest(
        model=model,
        messages=_messages(data.get("messages")),
        max_tokens=_max_tokens(data),
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
        stop=_stop(data.get("stop")),
        stream=_bool(data, "stream"),
        include_usage_in_stream=_include_usage(data.get("stream_options")),
    )


def _messages(value: Any) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise bad_request("messages", "'messages' is required and must be a non-empty array")
    messages = []
    for index, item in enumerate(value):
        param = f"messages[{index}]"
        if not isinstance(item, dict):
            raise bad_request(param, f"'{param}' must be an object with 'role' and 'content'")
        role = item.get("role")
        if role not in ROLES:
            raise bad_request(f"{param}.role", f"'{param}.role' must be one of {', '.join(ROLES)}; got {role!r:.40}")
        messages.append(Message(role=role, content=_content(item.get("content"), f"{param}.content")))
    if all(message.role == "system" for message in messages):
        raise bad_request("messages", "'messages' must contain at least one user or assistant message")
    return tuple(messages)


def _content(value: Any, param: str) -> str:
    """Plain text, or OpenAI's array of text parts; images and other parts are refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        texts = []
        for index, part in enumerate(value):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise bad_request(
                    f"{param}[{index}]", f"'{param}[{index}]' must be a text part; only text is supported"
                )
            texts.append(part["text"])
        return "".join(texts)
    raise bad_request(param, f"'{param}' must be a string or an array of text parts")


def _max_tokens(data: dict[str, Any]) -> int | None:
    # max_completion_tokens is the newer name in OpenAI's API; both are accepted.
    for name in ("max_completion_tokens", "max_tokens"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS_LIMIT:
            raise bad_request(name, f"'{name}' must be an integer from 1 to {MAX_TOKENS_LIMIT}; got {value!r:.40}")
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
    value = data.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(name, f"'{name}' must be true or false; got {value!r:.40}")
    return value


def _include_usage(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict):
        raise bad_request("stream_options", "'stream_options' must be an object")
    return _bool(value, "include_usage")
