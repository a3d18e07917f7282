"""The Converse (and ConverseStream) request of an OpenAI chat request: its messages, inference, tool, output,
reasoning and guardrail configurations.

Shapes follow botocore's ``bedrock-runtime`` service model (1.44.8): ``InferenceConfiguration``,
``ToolSpecification`` (name ``[a-zA-Z0-9_-]{1,64}``), ``ToolChoice`` (``auto``, ``any``, ``tool``; no "none"),
``OutputConfig`` (``textFormat`` json_schema with the schema as a string, ``effort``), ``GuardrailConfiguration``.
Converse needs the tool configuration when the conversation holds tool calls or results.

Structured output: on a model with native structured output (``structured_output: json_schema`` in its
configuration), ``response_format`` json_schema becomes ``outputConfig.textFormat``; otherwise, and for
json_object, the model is made to call one tool whose input schema is the requested one (``toolChoice.tool``),
and that input is returned as the message's JSON content. Reasoning (``reasoning_effort``) follows the model's
configuration: ``outputConfig.effort``, or Amazon Nova 2's ``reasoningConfig`` (Nova 2 user guide, "Using
reasoning").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.api_router.backends.bedrock_messages import conversation
from lambdas.api_router.chat_request import ChatRequest
from lambdas.api_router.chat_tools import NamedToolChoice
from lambdas.api_router.errors import bad_request
from lambdas.api_router.settings import BedrockTarget, settings

_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_NOVA_EFFORTS = ("low", "medium", "high")
JSON_OBJECT_TOOL = "json_object"
_ANSWER_TOOL_DESCRIPTION = "Give the final answer as a JSON object that matches the input schema."


@dataclass(frozen=True)
class ConversePlan:
    """The Converse request, and the tool (if any) whose input is the answer's JSON content (structured output)."""

    kwargs: dict[str, Any]
    answer_tool: str | None


def converse_request(request: ChatRequest, target: BedrockTarget) -> ConversePlan:
    """The keyword arguments of Converse (and ConverseStream) for ``request``; raises ``ApiError`` (400)."""
    system, turns = conversation(request.messages)
    kwargs: dict[str, Any] = {"modelId": target.model, "messages": turns}
    if system:
        kwargs["system"] = system
    inference = _inference_config(request, target)
    if inference:
        kwargs["inferenceConfig"] = inference
    has_tool_blocks = any("toolUse" in block or "toolResult" in block for turn in turns for block in turn["content"])
    tool_config, answer_tool = _tool_config(request, target, has_tool_blocks=has_tool_blocks)
    if tool_config:
        kwargs["toolConfig"] = tool_config
    output_config = _output_config(request, target)
    reasoning = _reasoning(request, target)
    if reasoning.get("effort"):
        output_config["effort"] = reasoning["effort"]
    if output_config:
        kwargs["outputConfig"] = output_config
    if reasoning.get("fields"):
        kwargs["additionalModelRequestFields"] = reasoning["fields"]
    config = settings()
    if config.guardrail_id and config.guardrail_version:
        kwargs["guardrailConfig"] = {
            "guardrailIdentifier": config.guardrail_id,
            "guardrailVersion": config.guardrail_version,
        }
    return ConversePlan(kwargs, answer_tool)


def _inference_config(request: ChatRequest, target: BedrockTarget) -> dict[str, Any]:
    if request.max_tokens is not None and target.max_output_tokens and request.max_tokens > target.max_output_tokens:
        name = request.max_tokens_param
        raise bad_request(
            name, f"'{name}' is {request.max_tokens}; this model writes at most {target.max_output_tokens} tokens"
        )
    return {
        key: value
        for key, value in (
            ("maxTokens", request.max_tokens),
            ("temperature", request.temperature),
            ("topP", request.top_p),
            ("stopSequences", list(request.stop) or None),
        )
        if value is not None
    }


def _tool_config(
    request: ChatRequest, target: BedrockTarget, *, has_tool_blocks: bool
) -> tuple[dict[str, Any] | None, str | None]:
    """Converse's toolConfig (or None) and the name of the forced answer tool of a structured output (or None)."""
    answer = _answer_tool(request, target)
    if answer is not None:
        if request.tools:
            raise bad_request(
                "response_format",
                "'response_format' json output is given by a forced tool on this model, which cannot be combined "
                "with 'tools'",
            )
        return {"tools": [answer], "toolChoice": {"tool": {"name": answer["toolSpec"]["name"]}}}, answer["toolSpec"][
            "name"
        ]
    if not request.tools:
        if has_tool_blocks:
            raise bad_request(
                "tools",
                "'tools' are required: the conversation holds tool calls, and Bedrock's Converse API then needs the "
                "tools too",
            )
        return None, None
    if request.tool_choice == "none":
        if has_tool_blocks:
            raise bad_request(
                "tool_choice",
                "'tool_choice' none cannot be honoured by Bedrock's Converse API once the conversation holds tool "
                "calls (it has no 'none' choice and then requires the tools)",
            )
        return None, None
    tools = []
    for tool in request.tools:
        spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
        if tool.description:
            spec["description"] = tool.description
        if tool.strict and target.structured_output == "json_schema":
            spec["strict"] = True
        tools.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": tools}
    if request.tool_choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(request.tool_choice, NamedToolChoice):
        config["toolChoice"] = {"tool": {"name": request.tool_choice.name}}
    elif request.tool_choice == "auto":
        config["toolChoice"] = {"auto": {}}
    return config, None


def _answer_tool(request: ChatRequest, target: BedrockTarget) -> dict[str, Any] | None:
    """The forced tool that gives a JSON answer, where the answer must be JSON and the model has no native way."""
    response_format = request.response_format
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_schema" and target.structured_output == "json_schema":
        return None  # outputConfig.textFormat
    name = response_format.name if response_format.type == "json_schema" else JSON_OBJECT_TOOL
    schema = response_format.schema if response_format.type == "json_schema" else {"type": "object"}
    description = response_format.description or _ANSWER_TOOL_DESCRIPTION
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}


def _output_config(request: ChatRequest, target: BedrockTarget) -> dict[str, Any]:
    response_format = request.response_format
    if response_format is None or response_format.type != "json_schema" or target.structured_output != "json_schema":
        return {}
    definition: dict[str, Any] = {"schema": json.dumps(response_format.schema), "name": response_format.name}
    if response_format.description:
        definition["description"] = response_format.description
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _reasoning(request: ChatRequest, target: BedrockTarget) -> dict[str, Any]:
    effort = request.reasoning_effort
    if effort is None:
        return {}
    if target.reasoning == "none":
        raise bad_request(
            "reasoning_effort",
            "'reasoning_effort' is not supported for this model: its configuration names no reasoning control "
            "(bedrock.models[].reasoning)",
        )
    if target.reasoning == "effort":
        if effort == "none":
            return {}
        if effort not in _EFFORTS:
            raise bad_request("reasoning_effort", f"'reasoning_effort' must be one of {', '.join(_EFFORTS)} here")
        return {"effort": effort}
    # Amazon Nova 2: reasoningConfig in additionalModelRequestFields; at high, temperature and top_p are refused.
    if effort == "none":
        return {"fields": {"reasoningConfig": {"type": "disabled"}}}
    if effort not in _NOVA_EFFORTS:
        raise bad_request("reasoning_effort", f"'reasoning_effort' must be one of {', '.join(_NOVA_EFFORTS)} here")
    if effort == "high":
        for name, value in (("temperature", request.temperature), ("top_p", request.top_p)):
            if value is not None:
                raise bad_request(name, f"'{name}' cannot be combined with reasoning_effort high on this model")
    return {"fields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort}}}
