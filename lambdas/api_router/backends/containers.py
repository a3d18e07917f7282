"""How each serving container answers on SageMaker: a whole JSON answer, or a stream of framed lines.

Two answer shapes, by request format:

- ``messages``: OpenAI's ``chat.completion`` object, and when streaming, ``chat.completion.chunk`` objects;
- ``prompt``: the text-generation shape ``{"generated_text": ..., "details": {"finish_reason": ...}}`` (or a
  list of one such object), and when streaming, token events ``{"token": {"text": ...}, "details": ...}``.

A stream is a sequence of lines, each either a server-sent event (``data: <json>``, ``data: [DONE]``, blank
lines and ``:`` comments between events) or a bare JSON object (JSON lines); ``PayloadPart`` boundaries fall
anywhere, even inside a line, so the bytes are re-split into lines first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from lambdas.api_router.errors import ApiError, bad_request, model_failed
from lambdas.api_router.events import Completion, Finish, ModelEvent, TextDelta, Usage

# Container finish reasons -> OpenAI's. TGI and LMI: length, eos_token, stop_sequence; OpenAI-style: stop, length.
_FINISH_REASONS = {"length": "length", "eos_token": "stop", "stop_sequence": "stop", "stop": "stop"}
# A line longer than this is not a token event: refuse it rather than buffer without bound.
MAX_LINE_BYTES = 1 << 20


def finish_reason(reason: Any) -> str:
    """OpenAI's finish reason for a container's (``stop`` when the container gives none)."""
    return _FINISH_REASONS.get(str(reason), "stop") if reason else "stop"


def parse_answer(answer: Any, request_format: str) -> Completion:
    """A whole answer of the container; raises ``ApiError`` (502) when it is not in the container's shape."""
    try:
        if request_format == "messages":
            choice = answer["choices"][0]
            usage = answer.get("usage") or {}
            return Completion(
                text=str(choice["message"].get("content") or ""),
                finish_reason=finish_reason(choice.get("finish_reason")),
                prompt_tokens=_count(usage.get("prompt_tokens")),
                completion_tokens=_count(usage.get("completion_tokens")),
            )
        generated = answer[0] if isinstance(answer, list) else answer
        details = generated.get("details") or {}
        return Completion(
            text=str(generated["generated_text"]),
            finish_reason=finish_reason(details.get("finish_reason")),
            prompt_tokens=None,
            completion_tokens=_count(details.get("generated_tokens")),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise model_failed("The model's answer is not in the format its container should send") from None


def parse_stream(parts: Iterable[bytes], request_format: str) -> Iterator[ModelEvent]:
    """Model events from a container's streamed bytes; ends with a ``Finish`` even if the container sent none.

    Raises ``ApiError`` (502) for an error object in the stream or a line that is not the container's framing.
    """
    finished = False
    for payload in _payloads(parts):
        if payload == "[DONE]":
            break
        try:
            data = json.loads(payload)
        except ValueError:
            raise model_failed("The model's stream holds a line that is not JSON") from None
        if not isinstance(data, dict):
            raise model_failed("The model's stream holds a line that is not a JSON object")
        if "error" in data:
            raise stream_error(data)
        try:
            events = _chunk_events(data) if request_format == "messages" else _token_events(data)
        except (TypeError, ValueError, AttributeError):
            raise model_failed("The model's stream is not in the format its container should send") from None
        for event in events:
            finished = finished or isinstance(event, Finish)
            yield event
    if not finished:
        yield Finish("stop")


def _payloads(parts: Iterable[bytes]) -> Iterator[str]:
    """The data of each event or JSON line, in order."""
    pending = b""
    for part in parts:
        pending += part
        *lines, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            raise model_failed("The model's stream holds a line longer than 1 MiB")
        for line in lines:
            payload = _payload(line)
            if payload is not None:
                yield payload
    payload = _payload(pending)
    if payload is not None:
        yield payload


def _payload(line: bytes) -> str | None:
    text = line.decode("utf-8", errors="replace").strip()
    if not text or text.startswith(":") or text.startswith(("event:", "id:", "retry:")):
        return None
    if text.startswith("data:"):
        return text[len("data:") :].strip()
    return text


def _chunk_events(chunk: dict[str, Any]) -> list[ModelEvent]:
    events: list[ModelEvent] = []
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        content = (choice.get("delta") or {}).get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        if choice.get("finish_reason"):
            events.append(Finish(finish_reason(choice["finish_reason"])))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(Usage(_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))))
    return events


def _token_events(event: dict[str, Any]) -> list[ModelEvent]:
    events: list[ModelEvent] = []
    token = event.get("token")
    if isinstance(token, dict):
        # TGI marks special tokens (end of sequence); LMI sends empty tokens (id -1) while another request prefills.
        text = token.get("text")
        if not token.get("special") and not token.get("special_token") and isinstance(text, str) and text:
            events.append(TextDelta(text))
    elif isinstance(event.get("generated_text"), str) and event["generated_text"]:
        # A whole answer in one object: what a container that does not stream sends on a streaming call.
        events.append(TextDelta(event["generated_text"]))
    details = event.get("details")
    if isinstance(details, dict):
        events.append(Finish(finish_reason(details.get("finish_reason"))))
        if "generated_tokens" in details:
            events.append(Usage(None, _count(details.get("generated_tokens"))))
    return events


def stream_error(data: dict[str, Any]) -> ApiError:
    """The client's error for an error object a container wrote into its stream.

    TGI: ``{"error": "...", "error_type": "validation"}`` (generate) or ``{"error": {"message": ...,
    "http_status_code": 422}}`` (chat); vLLM: ``{"error": {"message": ..., "code": 400}}``; LMI: ``{"code": 424,
    "error": "..."}``, 424 being its status for any failed generation. A refusal of the input is the client's
    to fix (400); anything else is the model's failure (502).
    """
    error = data["error"]
    message = _error_message(error)
    status = error.get("http_status_code") or error.get("code") if isinstance(error, dict) else None
    if data.get("error_type") == "validation":
        status = 422
    if isinstance(status, int) and 400 <= status < 500 and status != 424:
        return bad_request("messages", f"The model rejected the request: {message}")
    return model_failed(f"The model failed while answering: {message}")


def _count(value: Any) -> int | None:
    """A token count from a container's answer; None where it gives none (raises ValueError for a non-number)."""
    return None if value is None else int(value)


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        error = error.get("message") or error
    return str(error)[:300] or "no message"
