"""OpenAI's response shapes: the ``chat.completion`` object, and the ``chat.completion.chunk`` server-sent events.

A stream is: a first chunk with the assistant role, one chunk per text delta, a chunk with the finish reason,
a usage chunk (``choices: []``) when the client asked for ``stream_options.include_usage``, then ``[DONE]``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from lambdas.api_router.events import Completion

DONE = "data: [DONE]\n\n"


def usage(prompt_tokens: int | None, completion_tokens: int | None) -> dict[str, int]:
    """OpenAI's usage object; a count the backend does not give is 0 there (OpenAI's schema has no unknown)."""
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


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
        "usage": usage(completion.prompt_tokens, completion.completion_tokens),
    }


class ChunkWriter:
    """The server-sent events of one streamed completion (every chunk shares its id, model and creation time)."""

    def __init__(self, *, model: str, completion_id: str) -> None:
        self._head = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time())}
        self._model = model

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        return f"data: {json.dumps({**self._head, 'model': self._model, 'choices': choices, **extra})}\n\n"

    def role(self) -> str:
        return self._event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])

    def text(self, text: str) -> str:
        return self._event([{"index": 0, "delta": {"content": text}, "finish_reason": None}])

    def finish(self, reason: str) -> str:
        return self._event([{"index": 0, "delta": {}, "finish_reason": reason}])

    def usage(self, prompt_tokens: int | None, completion_tokens: int | None) -> str:
        return self._event([], usage=usage(prompt_tokens, completion_tokens))
