"""What a model backend produces, independent of the backend: a whole completion, or a stream of events.

A stream yields text and reasoning deltas and tool-call pieces as they come, then one ``Finish`` and, where the
backend counts tokens, one ``Usage``. Finish reasons are already OpenAI's (``stop``, ``length``,
``tool_calls``, ``content_filter``). A tool call streams as a ``ToolCallStart`` (its id and name) followed by
``ToolCallDelta`` pieces of its JSON arguments, each with the call's index in the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asks for: its id, the function's name and its arguments as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """A whole answer: its text, OpenAI finish reason, token counts (None where the backend gives none), the tool
    calls the model asks for and the reasoning text the model showed (None where it showed none)."""

    text: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None
    tool_calls: tuple[ToolCall, ...] = field(default=())
    reasoning: str | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStart:
    index: int
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(frozen=True)
class Finish:
    reason: str


@dataclass(frozen=True)
class Usage:
    """Token counts; None where the backend does not count (a container's generate schema gives no prompt count)."""

    prompt_tokens: int | None
    completion_tokens: int | None


ModelEvent = TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | Finish | Usage


class ModelStream(Protocol):
    """An opened model stream: iterate for events (blocking reads), close to release the connection.

    Iterating raises ``ApiError`` for a failure the model reports mid-stream.
    """

    def __iter__(self) -> Iterator[ModelEvent]: ...

    def close(self) -> None: ...
