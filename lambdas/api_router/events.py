"""What a model backend produces, independent of the backend: a whole completion, or a stream of events.

A stream yields ``TextDelta`` events, then one ``Finish`` and, where the backend counts tokens, one ``Usage``.
Finish reasons are already OpenAI's (``stop``, ``length``, ``content_filter``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Completion:
    """A whole answer: its text, OpenAI finish reason and token counts (None where the backend gives none)."""

    text: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class Usage:
    """Token counts; None where the backend does not count (a container's generate schema gives no prompt count)."""

    prompt_tokens: int | None
    completion_tokens: int | None


ModelEvent = TextDelta | Finish | Usage


class ModelStream(Protocol):
    """An opened model stream: iterate for events (blocking reads), close to release the connection.

    Iterating raises ``ApiError`` for a failure the model reports mid-stream.
    """

    def __iter__(self) -> Iterator[ModelEvent]: ...

    def close(self) -> None: ...
