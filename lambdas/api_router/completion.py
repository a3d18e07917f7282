"""What a backend returns, and its OpenAI shapes: a chat completion object or a server-sent-events stream."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def _usage(completion: Completion) -> dict[str, int]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
    }


def chat_completion(completion: Completion, *, model: str, completion_id: str) -> dict[str, Any]:
    """OpenAI's ``chat.completion`` object."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": completion.text},
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": _usage(completion),
    }


def chat_completion_stream(completion: Completion, *, model: str, completion_id: str, include_usage: bool) -> str:
    """The same answer as OpenAI's ``chat.completion.chunk`` server-sent events, ending with ``[DONE]``.

    Lambda's Python runtime returns a response whole, so the events arrive together: streaming clients
    work unchanged, but see the text at once rather than token by token.
    """
    created = int(time.time())

    def chunk(delta: dict[str, str], finish_reason: str | None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    events = [
        chunk({"role": "assistant", "content": ""}, None),
        chunk({"content": completion.text}, None),
        chunk({}, completion.finish_reason),
    ]
    if include_usage:
        usage = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(completion),
        }
        events.append(f"data: {json.dumps(usage)}\n\n")
    events.append("data: [DONE]\n\n")
    return "".join(events)
