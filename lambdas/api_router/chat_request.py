"""Parses and validates an OpenAI chat completion request into a typed, backend-neutral value.

Every shape is OpenAI's Chat Completions request: messages with text, image and file parts, assistant tool
calls and tool results, function tools, tool choice, response formats. A malformed value is a 400 that names
the parameter by its path (``messages[2].content[1].image_url.url``). Whether a backend honours a parameter is
decided afterwards, per backend, by ``lambdas.api_router.parameters``.

Hand-written rather than a schema library: the router must start fast (cold starts), and every rejection has
to name the parameter and the reason, as OpenAI's API does.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from lambdas.api_router.errors import ApiError, bad_request
from lambdas.api_router.events import ToolCall

MAX_STOP_SEQUENCES = 4
MAX_TOKENS_LIMIT = 10_000_000
# OpenAI's function name rule, which Bedrock's ToolName shares (botocore: [a-zA-Z0-9_-]+, 1-64 characters).
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_DATA_URL_RE = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+)(?P<params>(;[^;,]*)*),(?P<data>.*)$", re.DOTALL)

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image sent inline as a ``data:`` URL: its media type and decoded bytes."""

    media_type: str
    data: bytes


@dataclass(frozen=True)
class FilePart:
    """A file sent inline (``file.file_data``, a ``data:`` URL): media type, decoded bytes and its file name."""

    media_type: str
    data: bytes
    filename: str | None


Part = TextPart | ImagePart | FilePart


@dataclass(frozen=True)
class Message:
    """One message; ``index`` is its position in the client's ``messages``, to name it in an error."""

    index: int
    role: Role
    parts: tuple[Part, ...]
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text parts, joined (for backends that take one string per message)."""
        return "".join(part.text for part in self.parts if isinstance(part, TextPart))


@dataclass(frozen=True)
class FunctionTool:
    name: str
    description: str | None
    parameters: dict[str, Any]
    strict: bool


@dataclass(frozen=True)
class NamedToolChoice:
    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


@dataclass(frozen=True)
class ResponseFormat:
    """``text``, ``json_object`` or ``json_schema`` (with the schema's name, the schema and its description)."""

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


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
    tools = _tools(data.get("tools"))
    return ChatRequest(
        model=model,
        messages=_messages(data.get("messages")),
        max_tokens=_max_tokens(data),
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
        stop=_stop(data.get("stop")),
        stream=_bool(data, "stream"),
        include_usage_in_stream=_include_usage(data.get("stream_options")),
        tools=tools,
        tool_choice=_tool_choice(data.get("tool_choice"), tools),
        parallel_tool_calls=_optional_bool(data, "parallel_tool_calls"),
        response_format=_response_format(data.get("response_format")),
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


def _messages(value: Any) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise bad_request("messages", "'messages' is required and must be a non-empty array")
    messages = tuple(_message(index, item) for index, item in enumerate(value))
    if all(message.role == "system" for message in messages):
        raise bad_request("messages", "'messages' must contain at least one user or assistant message")
    return messages


_ROLES = ("system", "developer", "user", "assistant", "tool")


def _message(index: int, item: Any) -> Message:
    param = f"messages[{index}]"
    if not isinstance(item, dict):
        raise bad_request(param, f"'{param}' must be an object with 'role' and 'content'")
    role = item.get("role")
    if role == "function":
        raise bad_request(f"{param}.role", f"'{param}.role' 'function' is OpenAI's deprecated role; use 'tool'")
    if role not in _ROLES:
        raise bad_request(f"{param}.role", f"'{param}.role' must be one of {', '.join(_ROLES)}; got {role!r:.40}")
    for deprecated in ("function_call", "audio"):
        if item.get(deprecated) is not None:
            raise bad_request(f"{param}.{deprecated}", f"'{param}.{deprecated}' is not supported by this API")
    content = item.get("content")
    if role in ("system", "developer"):
        # OpenAI's developer messages are system instructions under a newer name.
        return Message(index, "system", _text_content(content, f"{param}.content"))
    if role == "user":
        return Message(index, "user", _user_content(content, f"{param}.content"))
    if role == "tool":
        tool_call_id = item.get("tool_call_id")
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise bad_request(f"{param}.tool_call_id", f"'{param}.tool_call_id' is required for a tool message")
        return Message(index, "tool", _text_content(content, f"{param}.content"), tool_call_id=tool_call_id)
    parts = () if content is None else _text_content(content, f"{param}.content", refusal_allowed=True)
    tool_calls = _tool_calls(item.get("tool_calls"), f"{param}.tool_calls")
    if not tool_calls and content is None:
        raise bad_request(f"{param}.content", f"'{param}.content' is required unless the message has tool_calls")
    return Message(index, "assistant", parts, tool_calls=tool_calls)


def _text_content(value: Any, param: str, *, refusal_allowed: bool = False) -> tuple[Part, ...]:
    """A string, or an array of text parts (and, for an assistant, refusal parts)."""
    if isinstance(value, str):
        return (TextPart(value),)
    if isinstance(value, list) and value:
        parts: list[Part] = []
        for index, part in enumerate(value):
            if isinstance(part, dict) and part.get("type") == "refusal" and refusal_allowed:
                text = part.get("refusal")
            elif isinstance(part, dict) and part.get("type") == "text":
                text = part.get("text")
            else:
                raise bad_request(f"{param}[{index}]", f"'{param}[{index}]' must be a text part")
            if not isinstance(text, str):
                raise bad_request(f"{param}[{index}]", f"'{param}[{index}]' must hold its text as a string")
            parts.append(TextPart(text))
        return tuple(parts)
    raise bad_request(param, f"'{param}' must be a string or a non-empty array of text parts")


def _user_content(value: Any, param: str) -> tuple[Part, ...]:
    """A string, or an array of text, image and file parts (inline data only)."""
    if isinstance(value, str):
        return (TextPart(value),)
    if not isinstance(value, list) or not value:
        raise bad_request(param, f"'{param}' must be a string or a non-empty array of content parts")
    parts: list[Part] = []
    for index, part in enumerate(value):
        where = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"]))
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            url = part["image_url"].get("url")
            media_type, data = _data_url(url, f"{where}.image_url.url", "an image")
            parts.append(ImagePart(media_type, data))
        elif kind == "file" and isinstance(part.get("file"), dict):
            parts.append(_file_part(part["file"], f"{where}.file"))
        elif kind == "input_audio":
            raise bad_request(where, f"'{where}': audio input is not supported by this API")
        else:
            raise bad_request(where, f"'{where}' must be a text, image_url or file part")
    return tuple(parts)


def _file_part(value: dict[str, Any], param: str) -> FilePart:
    if value.get("file_id") is not None:
        raise bad_request(
            f"{param}.file_id", f"'{param}.file_id' names an OpenAI file; send the file inline as file_data"
        )
    filename = value.get("filename")
    if filename is not None and not isinstance(filename, str):
        raise bad_request(f"{param}.filename", f"'{param}.filename' must be a string")
    media_type, data = _data_url(value.get("file_data"), f"{param}.file_data", "a file")
    return FilePart(media_type, data, filename)


def _data_url(value: Any, param: str, what: str) -> tuple[str, bytes]:
    """The media type and bytes of a base64 ``data:`` URL. Remote URLs are refused: the router fetches nothing."""
    if not isinstance(value, str) or not value:
        raise bad_request(param, f"'{param}' must be a data URL")
    if value.startswith(("http://", "https://")):
        raise bad_request(
            param,
            f"'{param}': {what} must be sent inline as a base64 data URL (data:<media type>;base64,...); "
            "the API does not fetch URLs",
        )
    match = _DATA_URL_RE.match(value)
    if match is None or ";base64" not in match.group("params"):
        raise bad_request(param, f"'{param}' must be a base64 data URL: data:<media type>;base64,<data>")
    try:
        data = base64.b64decode(match.group("data"), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(param, f"'{param}' holds data that is not valid base64") from None
    if not data:
        raise bad_request(param, f"'{param}' is empty")
    return match.group("media_type").lower(), data


def _tool_calls(value: Any, param: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request(param, f"'{param}' must be an array of tool calls")
    calls = []
    for index, call in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            raise bad_request(where, f"'{where}' must be a function tool call")
        call_id = call.get("id")
        function = call.get("function")
        if not isinstance(call_id, str) or not call_id:
            raise bad_request(f"{where}.id", f"'{where}.id' is required")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise bad_request(f"{where}.function", f"'{where}.function' must have a name and arguments")
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            raise bad_request(f"{where}.function.arguments", f"'{where}.function.arguments' must be a JSON string")
        calls.append(ToolCall(id=call_id, name=function["name"], arguments=arguments))
    return tuple(calls)


def _tools(value: Any) -> tuple[FunctionTool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request("tools", "'tools' must be an array of function tools")
    tools = []
    for index, tool in enumerate(value):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            raise bad_request(where, f'\'{where}\' must be a function tool: {{"type": "function", "function": ...}}')
        function = tool["function"]
        name = function.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
            raise bad_request(
                f"{where}.function.name",
                f"'{where}.function.name' must be 1-64 letters, digits, underscores or hyphens; got {name!r:.70}",
            )
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            raise bad_request(f"{where}.function.description", f"'{where}.function.description' must be a string")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise bad_request(f"{where}.function.parameters", f"'{where}.function.parameters' must be a JSON schema")
        strict = function.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise bad_request(f"{where}.function.strict", f"'{where}.function.strict' must be true or false")
        tools.append(FunctionTool(name, description or None, parameters, bool(strict)))
    names = [tool.name for tool in tools]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate is not None:
        raise bad_request("tools", f"'tools' names the function '{duplicate}' twice")
    return tuple(tools)


def _tool_choice(value: Any, tools: tuple[FunctionTool, ...]) -> ToolChoice | None:
    if value is None:
        return None
    if not tools and value != "none":
        raise bad_request("tool_choice", "'tool_choice' is only allowed when 'tools' are specified")
    if value in ("auto", "none", "required"):
        choice: ToolChoice = value
        return choice
    if isinstance(value, dict) and value.get("type") == "function" and isinstance(value.get("function"), dict):
        name = value["function"].get("name")
        if name not in {tool.name for tool in tools}:
            raise bad_request("tool_choice", f"'tool_choice' names the function {name!r:.70}, which is not in 'tools'")
        return NamedToolChoice(name)
    raise bad_request(
        "tool_choice",
        "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"function\": {\"name\": ...}}",
    )


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind != "json_schema":
        raise bad_request("response_format", "'response_format.type' must be text, json_object or json_schema")
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        raise bad_request("response_format.json_schema", "'response_format.json_schema' must be an object")
    name = spec.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
        raise bad_request(
            "response_format.json_schema.name",
            "'response_format.json_schema.name' must be 1-64 letters, digits, underscores or hyphens",
        )
    schema = spec.get("schema", {"type": "object"})
    description = spec.get("description")
    strict = spec.get("strict")
    if not isinstance(schema, dict):
        raise bad_request(
            "response_format.json_schema.schema", "'response_format.json_schema.schema' must be a JSON schema"
        )
    if description is not None and not isinstance(description, str):
        raise bad_request(
            "response_format.json_schema.description", "'response_format.json_schema.description' must be a string"
        )
    if strict is not None and not isinstance(strict, bool):
        raise bad_request(
            "response_format.json_schema.strict", "'response_format.json_schema.strict' must be true or false"
        )
    return ResponseFormat("json_schema", name=name, schema=schema, description=description or None, strict=strict)


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

__all__ = [
    "ApiError",
    "ChatRequest",
    "FilePart",
    "FunctionTool",
    "ImagePart",
    "Message",
    "NamedToolChoice",
    "Part",
    "ResponseFormat",
    "TextPart",
    "ToolChoice",
    "parse_chat_request",
    "parse_json_body",
]
