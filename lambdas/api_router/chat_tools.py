"""OpenAI's function calling and structured output parameters: ``tools``, ``tool_choice`` and ``response_format``.

Each names a function or a JSON schema by a name that follows OpenAI's function name rule, which Bedrock's
ToolName shares (a backend without native structured output answers ``response_format`` with a forced tool of
that name). A malformed value is a 400 that names its path (``tools[1].function.name``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from lambdas.api_router.errors import bad_request

# OpenAI's function name rule, which Bedrock's ToolName shares (botocore: [a-zA-Z0-9_-]+, 1-64 characters).
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class FunctionTool:
    """A function the model may call: its name, description, parameters (a JSON schema) and ``strict`` flag."""

    name: str
    description: str | None
    parameters: dict[str, Any]
    strict: bool


@dataclass(frozen=True)
class NamedToolChoice:
    """A ``tool_choice`` that makes the model call the function ``name``."""

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


def parse_tools(value: Any) -> tuple[FunctionTool, ...]:
    """The request's ``tools`` (function tools only, names unique); raises ``ApiError`` (400)."""
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


def parse_tool_choice(value: Any, tools: tuple[FunctionTool, ...]) -> ToolChoice | None:
    """The request's ``tool_choice``, which may name only a function of ``tools``; raises ``ApiError`` (400)."""
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


def parse_response_format(value: Any) -> ResponseFormat | None:
    """The request's ``response_format`` (``text``, ``json_object`` or ``json_schema``); raises ``ApiError`` (400)."""
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


__all__ = [
    "FUNCTION_NAME_RE",
    "FunctionTool",
    "NamedToolChoice",
    "ResponseFormat",
    "ToolChoice",
    "parse_response_format",
    "parse_tool_choice",
    "parse_tools",
]
