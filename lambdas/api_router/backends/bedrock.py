"""Bedrock's Converse and ConverseStream APIs: the call for an OpenAI chat request, and the answer.

The request is built by ``bedrock_request`` (and its messages by ``bedrock_messages``). The answer follows
botocore's ``bedrock-runtime`` service model (1.44.8): Converse's ``output.message.content`` blocks (``text``,
``reasoningContent``, ``toolUse``), ``stopReason`` and ``usage``, and the stream's
``contentBlockStart``/``contentBlockDelta`` (text, ``toolUse.input`` fragments, ``reasoningContent``),
``messageStop`` (``stopReason``) and ``metadata`` (``usage``) events. The input of the forced answer tool of a
structured output is the message's JSON content; the reasoning text comes back as ``reasoning_content``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lambdas.api_router.backends.bedrock_request import converse_request
from lambdas.api_router.backends.clients import client
from lambdas.api_router.chat_request import ChatRequest
from lambdas.api_router.errors import ApiError, model_failed
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
from lambdas.api_router.settings import BedrockTarget

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
