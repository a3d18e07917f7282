"""Bedrock's Converse and ConverseStream APIs: the request built from an OpenAI chat request, and the answer.

Shapes and limits follow botocore's ``bedrock-runtime`` service model (1.44.8): ``Message.content`` blocks
(``text``, ``image`` in png/jpeg/gif/webp up to 3.75 MB and 20 per request, ``document`` in pdf/csv/doc/docx/
xls/xlsx/html/txt/md up to 4.5 MB and 5 per request and only beside a text block, ``toolUse``, ``toolResult``),
``ToolSpecification`` (name ``[a-zA-Z0-9_-]{1,64}``), ``ToolChoice`` (``auto``, ``any``, ``tool``; no
"none"), ``OutputConfig`` (``textFormat`` json_schema with the schema as a string, ``effort``), and the stream's
``contentBlockStart``/``contentBlockDelta`` (text, ``toolUse.input`` fragments, ``reasoningContent``),
``messageStop`` (``stopReason``) and ``metadata`` (``usage``) events. Converse needs a conversation that starts
with a user turn and, when it holds tool calls or results, the tool configuration.

Structured output: on a model with native structured output (``structured_output: json_schema`` in its
configuration), ``response_format`` json_schema becomes ``outputConfig.textFormat``; otherwise, and for
json_object, the model is made to call one tool whose input schema is the requested one (``toolChoice.tool``),
and that input is returned as the message's JSON content. Reasoning (``reasoning_effort``) follows the model's
configuration: ``outputConfig.effort``, or Amazon Nova 2's ``reasoningConfig`` (Nova 2 user guide, "Using
reasoning"); the reasoning text comes back as ``reasoning_content``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lambdas.api_router.backends.clients import client
from lambdas.api_router.chat_messages import FilePart, ImagePart, Message, TextPart
from lambdas.api_router.chat_request import ChatRequest
from lambdas.api_router.chat_tools import NamedToolChoice
from lambdas.api_router.errors import ApiError, bad_request, model_failed
from lambdas.api_router.events import (
    Completion,
    Finish,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from lambdas.api_router.settings import BedrockTarget, settings

# Every Converse stop reason (botocore's StopReason enum) -> OpenAI's finish reason. A malformed answer still ends
# the way its kind ends (text or tool call); the router logs it.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "stop",
    "malformed_tool_use": "tool_calls",
}
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
MAX_IMAGES, MAX_IMAGE_BYTES = 20, int(3.75 * 1024 * 1024)
# The 4.5 MB document limit does not apply to PDF on Claude 4+ and to PDF and DOCX on Amazon Nova (Bedrock user
# guide, "inference-api-restrictions"); the model itself refuses what it cannot take.
MAX_DOCUMENTS, MAX_DOCUMENT_BYTES, UNBOUNDED_DOCUMENT_FORMATS = 5, int(4.5 * 1024 * 1024), ("pdf", "docx")
_TOOL_USE_ID_RE = re.compile(r"^[a-zA-Z0-9_.:-]{1,64}$")
_DOCUMENT_NAME_DROP = re.compile(r"[^A-Za-z0-9\s\-\(\)\[\]]+")
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


def complete(request: ChatRequest, target: BedrockTarget) -> Completion:
    """Converse: the whole answer."""
    plan = converse_request(request, target)
    response = client("bedrock-runtime").converse(**plan.kwargs)
    texts, reasoning, calls = [], [], []
    for block in response.get("output", {}).get("message", {}).get("content", []):
        if "text" in block:
            texts.append(block["text"])
        elif "reasoningContent" in block:
            reasoning.append(block["reasoningContent"].get("reasoningText", {}).get("text", ""))
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = json.dumps(use.get("input", {}))
            if use.get("name") == plan.answer_tool:
                texts.append(arguments)
            else:
                calls.append(ToolCall(id=use["toolUseId"], name=use["name"], arguments=arguments))
    _check_single_call(len(calls), request)
    usage = response.get("usage", {})
    return Completion(
        text="".join(texts),
        finish_reason=_finish(response.get("stopReason", ""), plan.answer_tool is not None),
        prompt_tokens=usage.get("inputTokens"),
        completion_tokens=usage.get("outputTokens"),
        tool_calls=tuple(calls),
        reasoning="".join(reasoning) or None,
    )


def stream(request: ChatRequest, target: BedrockTarget) -> ConverseStream:
    """ConverseStream: returns once Bedrock has accepted the request and opened the stream."""
    plan = converse_request(request, target)
    response = client("bedrock-runtime").converse_stream(**plan.kwargs)
    return ConverseStream(
        response["stream"], answer_tool=plan.answer_tool, single_tool_call=request.parallel_tool_calls is False
    )


class ConverseStream:
    """The events of a ConverseStream response, as model events (tool calls indexed as OpenAI indexes them)."""

    def __init__(self, events: Any, *, answer_tool: str | None = None, single_tool_call: bool = False) -> None:
        self._events = events
        self._answer_tool = answer_tool
        self._single_tool_call = single_tool_call

    def __iter__(self) -> Iterator[ModelEvent]:
        calls: dict[int, int] = {}  # Converse content block index -> OpenAI tool call index
        answer_blocks: set[int] = set()
        for event in self._events:
            if "contentBlockStart" in event:
                start = event["contentBlockStart"]
                use = start.get("start", {}).get("toolUse")
                if use is not None:
                    if use.get("name") == self._answer_tool:
                        answer_blocks.add(start["contentBlockIndex"])
                    else:
                        if self._single_tool_call and calls:
                            raise _parallel_calls_error(len(calls) + 1)
                        calls[start["contentBlockIndex"]] = len(calls)
                        yield ToolCallStart(calls[start["contentBlockIndex"]], use["toolUseId"], use["name"])
            elif "contentBlockDelta" in event:
                yield from _delta_events(event["contentBlockDelta"], calls, answer_blocks)
            elif "messageStop" in event:
                yield Finish(_finish(event["messageStop"].get("stopReason", ""), self._answer_tool is not None))
            elif "metadata" in event:
                usage = event["metadata"].get("usage", {})
                yield Usage(usage.get("inputTokens"), usage.get("outputTokens"))

    def close(self) -> None:
        self._events.close()


def _delta_events(block: dict[str, Any], calls: dict[int, int], answer_blocks: set[int]) -> Iterator[ModelEvent]:
    delta, index = block.get("delta", {}), block.get("contentBlockIndex", -1)
    if delta.get("text"):
        yield TextDelta(delta["text"])
    elif "toolUse" in delta:
        piece = delta["toolUse"].get("input", "")
        if index in answer_blocks:
            if piece:
                yield TextDelta(piece)
        elif index in calls:
            yield ToolCallDelta(calls[index], piece)
    elif delta.get("reasoningContent", {}).get("text"):
        yield ReasoningDelta(delta["reasoningContent"]["text"])


def _check_single_call(count: int, request: ChatRequest) -> None:
    if request.parallel_tool_calls is False and count > 1:
        raise _parallel_calls_error(count)


def _parallel_calls_error(count: int) -> ApiError:
    # Converse has no way to forbid parallel tool calls: parallel_tool_calls false is honoured by refusing an
    # answer that breaks it, never by dropping calls the model made.
    return model_failed(
        f"The model called {count} tools at once, which parallel_tool_calls false forbids; Bedrock's Converse API "
        "cannot stop a model from doing so, so the answer is refused rather than cut"
    )


def _finish(stop_reason: str, structured: bool) -> str:
    reason = FINISH_REASONS.get(stop_reason, "stop")
    # The forced answer tool's call is the answer itself, not a tool call for the client to run.
    return "stop" if structured and reason == "tool_calls" else reason


def conversation(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The system blocks and the Converse turns (alternating, starting with the user) of OpenAI messages.

    Blank text is left out (Converse refuses blank text blocks), turns of one role are merged, and a message
    left empty, a conversation that starts with the assistant, or a document without text beside it is refused
    with a 400 naming the client's own message. Nothing is added that the client did not send.
    """
    system = [{"text": m.text} for m in messages if m.role == "system" and m.text.strip()]
    turns: list[dict[str, Any]] = []
    first_index: list[int] = []
    counts = {"image": 0, "document": 0}
    for message in messages:
        if message.role == "system":
            continue
        blocks = _blocks(message, counts)
        if not blocks:
            if message.role == "assistant":
                continue  # an empty assistant turn says nothing; leaving it out changes nothing
            raise bad_request(
                f"messages[{message.index}].content",
                f"'messages[{message.index}].content' is empty; Bedrock's Converse API refuses blank text",
            )
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
            first_index.append(message.index)
    if turns and turns[0]["role"] == "assistant":
        raise bad_request(
            f"messages[{first_index[0]}]",
            f"'messages[{first_index[0]}]': Bedrock's Converse API needs the conversation to start with a user "
            "message, not the assistant's",
        )
    for turn, index in zip(turns, first_index, strict=True):
        has_document = any("document" in block for block in turn["content"])
        if has_document and not any("text" in block for block in turn["content"]):
            raise bad_request(
                f"messages[{index}].content",
                f"'messages[{index}].content': a file needs a text part in the same message (Converse's rule)",
            )
    return system, turns


def _blocks(message: Message, counts: dict[str, int]) -> list[dict[str, Any]]:
    where = f"messages[{message.index}]"
    if message.role == "tool":
        if not message.text.strip():
            raise bad_request(f"{where}.content", f"'{where}.content' is empty; a tool result needs content")
        _check_tool_use_id(message.tool_call_id or "", f"{where}.tool_call_id")
        return [{"toolResult": {"toolUseId": message.tool_call_id, "content": [{"text": message.text}]}}]
    blocks: list[dict[str, Any]] = []
    for position, part in enumerate(message.parts):
        at = f"{where}.content[{position}]"
        if isinstance(part, TextPart):
            if part.text.strip():
                blocks.append({"text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image(part, at, counts))
        elif isinstance(part, FilePart):
            blocks.append(_document(part, at, counts))
    for position, call in enumerate(message.tool_calls):
        at = f"{where}.tool_calls[{position}]"
        _check_tool_use_id(call.id, f"{at}.id")
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise bad_request(f"{at}.function.arguments", f"'{at}.function.arguments' must be a JSON object")
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
    return blocks


def _image(part: ImagePart, at: str, counts: dict[str, int]) -> dict[str, Any]:
    image_format = IMAGE_FORMATS.get(part.media_type)
    if image_format is None:
        raise bad_request(at, f"'{at}' is {part.media_type}; Bedrock takes png, jpeg, gif or webp images")
    if len(part.data) > MAX_IMAGE_BYTES:
        raise bad_request(at, f"'{at}' is {len(part.data)} bytes; Bedrock takes images up to 3.75 MB")
    counts["image"] += 1
    if counts["image"] > MAX_IMAGES:
        raise bad_request(at, f"'{at}': Bedrock takes up to {MAX_IMAGES} images in one request")
    return {"image": {"format": image_format, "source": {"bytes": part.data}}}


def _document(part: FilePart, at: str, counts: dict[str, int]) -> dict[str, Any]:
    document_format = DOCUMENT_FORMATS.get(part.media_type)
    if document_format is None:
        raise bad_request(
            at, f"'{at}' is {part.media_type}; Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt or md files"
        )
    if len(part.data) > MAX_DOCUMENT_BYTES and document_format not in UNBOUNDED_DOCUMENT_FORMATS:
        raise bad_request(at, f"'{at}' is {len(part.data)} bytes; Bedrock takes files up to 4.5 MB")
    counts["document"] += 1
    if counts["document"] > MAX_DOCUMENTS:
        raise bad_request(at, f"'{at}': Bedrock takes up to {MAX_DOCUMENTS} files in one request")
    # DocumentBlock.name: letters, digits, single spaces, hyphens, parentheses and square brackets, 1-200 long.
    stem = (part.filename or "").rsplit(".", 1)[0]
    name = " ".join(_DOCUMENT_NAME_DROP.sub(" ", stem).split())[:200] or f"document {counts['document']}"
    return {"document": {"format": document_format, "name": name, "source": {"bytes": part.data}}}


def _check_tool_use_id(value: str, param: str) -> None:
    if not _TOOL_USE_ID_RE.match(value):
        raise bad_request(param, f"'{param}' must be 1-64 letters, digits or _.:- (Bedrock's tool use id)")


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


def validation_param(message: str) -> str:
    """The OpenAI parameter a Bedrock ValidationException's message points at (``messages`` when unclear)."""
    lowered = message.lower()
    for needles, param in (
        (("temperature",), "temperature"),
        (("topp", "top_p"), "top_p"),
        (("maxtokens", "max_tokens"), "max_tokens"),
        (("stopsequences",), "stop"),
        (("outputconfig", "json schema", "jsonschema"), "response_format"),
        (("reasoning", "effort"), "reasoning_effort"),
        (("toolconfig", "toolspec", "tool "), "tools"),
    ):
        if any(needle in lowered for needle in needles):
            return param
    return "messages"
