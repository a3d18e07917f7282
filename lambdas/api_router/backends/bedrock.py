"""Bedrock's Converse and ConverseStream APIs: the request built from an OpenAI chat request, and the answer.

Shapes follow botocore's ``bedrock-runtime`` service model (Converse / ConverseStream): ``messages``,
``system``, ``inferenceConfig``, ``guardrailConfig``; the stream's events ``messageStart``,
``contentBlockDelta``, ``contentBlockStop``, ``messageStop`` (with ``stopReason``) and ``metadata`` (with
``usage``); its exception events raise ``EventStreamError`` while iterating.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lambdas.api_router.backends.clients import client
from lambdas.api_router.chat_request import ChatRequest, Message
from lambdas.api_router.events import Completion, Finish, ModelEvent, TextDelta, Usage
from lambdas.api_router.settings import BedrockTarget, settings

# Converse stop reasons -> OpenAI finish reasons.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def converse_request(request: ChatRequest, target: BedrockTarget) -> dict[str, Any]:
    """The keyword arguments of Converse (and ConverseStream) for ``request``."""
    config = settings()
    kwargs: dict[str, Any] = {"modelId": target.model, "messages": _converse_messages(request.messages)}
    system = [{"text": m.content} for m in request.messages if m.role == "system"]
    if system:
        kwargs["system"] = system
    inference = {
        key: value
        for key, value in (
            ("maxTokens", request.max_tokens),
            ("temperature", request.temperature),
            ("topP", request.top_p),
            ("stopSequences", list(request.stop) or None),
        )
        if value is not None
    }
    if inference:
        kwargs["inferenceConfig"] = inference
    if config.guardrail_id and config.guardrail_version:
        kwargs["guardrailConfig"] = {
            "guardrailIdentifier": config.guardrail_id,
            "guardrailVersion": config.guardrail_version,
        }
    return kwargs


def complete(request: ChatRequest, target: BedrockTarget) -> Completion:
    """Converse: the whole answer."""
    response = client("bedrock-runtime").converse(**converse_request(request, target))
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    return Completion(
        text="".join(part.get("text", "") for part in content),
        finish_reason=FINISH_REASONS.get(response.get("stopReason", ""), "stop"),
        prompt_tokens=int(usage.get("inputTokens", 0)),
        completion_tokens=int(usage.get("outputTokens", 0)),
    )


def stream(request: ChatRequest, target: BedrockTarget) -> ConverseStream:
    """ConverseStream: returns once Bedrock has accepted the request and opened the stream."""
    response = client("bedrock-runtime").converse_stream(**converse_request(request, target))
    return ConverseStream(response["stream"])


class ConverseStream:
    """The events of a ConverseStream response, as model events."""

    def __init__(self, events: Any) -> None:
        self._events = events

    def __iter__(self) -> Iterator[ModelEvent]:
        for event in self._events:
            if "contentBlockDelta" in event:
                text = event["contentBlockDelta"].get("delta", {}).get("text")
                if text:
                    yield TextDelta(text)
            elif "messageStop" in event:
                yield Finish(FINISH_REASONS.get(event["messageStop"].get("stopReason", ""), "stop"))
            elif "metadata" in event:
                usage = event["metadata"].get("usage", {})
                yield Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))

    def close(self) -> None:
        self._events.close()


def _converse_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Converse wants alternating user/assistant turns starting with a user turn: merge and pad accordingly."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": "(conversation continues)"}]})
    return turns
