"""OpenAI chat messages: the typed message with its content parts, and the validation of ``messages``.

The shapes are OpenAI's Chat Completions message params: ``system`` and ``developer`` messages (text), ``user``
messages (text, ``image_url`` and ``file`` parts), ``assistant`` messages (text or refusal parts, ``tool_calls``)
and ``tool`` messages (a tool result for a ``tool_call_id``). Images and files travel inline as base64 ``data:``
URLs; the router fetches nothing. A malformed value is a 400 that names its path
(``messages[2].content[1].image_url.url``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, Literal

from lambdas.api_router.errors import bad_request
from lambdas.api_router.events import ToolCall

_DATA_URL_RE = re.compile(r"^data:(?P<media_type>[\w.+-]+/[\w.+-]+)(?P<params>(;[^;,]*)*),(?P<data>.*)$", re.DOTALL)

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class TextPart:
    """A text part (or an assistant's refusal part, whose text it holds)."""

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


def parse_messages(value: Any) -> tuple[Message, ...]:
    """The request's ``messages``, validated; raises ``ApiError`` (400) naming the message's path."""
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


__all__ = ["FilePart", "ImagePart", "Message", "Part", "Role", "TextPart", "parse_messages"]
