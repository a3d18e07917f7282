"""OpenAI's response shapes: the ``chat.completion`` object, and the ``chat.completion.chunk`` server-sent events.

A stream is: a first chunk with the assistant role, one chunk per text, reasoning or tool-call delta (a tool
call's first chunk carries its index, id and name, the next ones pieces of its arguments), a chunk with the
finish reason, a usage chunk (``choices: []``) when the client asked for ``stream_options.include_usage``, then
``[DONE]``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from lambdas.api_router.events import Completion, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStart

DONE = "data: [DONE]\n\n"


def usage(prompt_tokens: int | None, completion_tokens: int | None) -> dict[str, int]:
    """OpenAI's usage object; a count the backend does not give is 0 there (OpenAI's schema has no unknown)."""
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def chat_completion(completion: Completion, *, model: str, completion_id: str) -> dict[str, Any]:
    """OpenAI's ``chat.completion`` object (``content`` is null when the answer is only tool calls)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.text if completion.text or not completion.tool_calls else None,
    }
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ]
    if completion.reasoning:
        message["reasoning_content"] = completion.reasoning
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": completion.finish_reason}],
        "usage": usage(completion.prompt_tokens, completion.completion_tokens),
    }


class ChunkWriter:
    """The server-sent events of one streamed completion (every chunk shares its id, model and creation time)."""

    def __init__(self, *, model: str, completion_id: str) -> None:
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time())}
        self._model = model

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        return f"data: {json.dumps({**self._head, 'model': self._model, 'choices': choices, **extra})}\n\n"

    def _delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> str:
        return self._event([{"index": 0, "delta": delta, "finish_reason": finish_reason}])

    def role(self) -> str:
        return self._delta({"role": "assistant", "content": ""})

    def text(self, text: str) -> str:
        return self._delta({"content": text})

    def reasoning(self, text: str) -> str:
        """Reasoning text, as ``reasoning_content`` (the field DeepSeek, vLLM and LiteLLM clients read)."""
        return self._delta({"reasoning_content": text})

    def tool_call_start(self, index: int, call_id: str, name: str) -> str:
        call = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        return self._delta({"tool_calls": [call]})

    def tool_call_arguments(self, index: int, arguments: str) -> str:
        return self._delta({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})

    def content(self, event: TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta) -> str:
        """The chunk of a piece of the answer."""
        if isinstance(event, TextDelta):
            return self.text(event.text)
        if isinstance(event, ReasoningDelta):
            return self.reasoning(event.text)
        if isinstance(event, ToolCallStart):
            return self.tool_call_start(event.index, event.id, event.name)
        return self.tool_call_arguments(event.index, event.arguments)

    def finish(self, reason: str) -> str:
        return self._delta({}, reason)

    def usage(self, prompt_tokens: int | None, completion_tokens: int | None) -> str:
        return self._event([], usage=usage(prompt_tokens, completion_tokens))
