"""The chat completions route: runs the model call under the request's deadline and shapes OpenAI's answer.

Model calls block (boto3), so each runs in a worker thread. Every wait for the model is bounded by the
earlier of the request's deadline and the longest single wait (``MODEL_WAIT_SECONDS``); a wait that runs
out answers 504 before anything was sent, or ends a started stream with a timeout error event. A stream's
first model event is read before the response starts, so a failure up to the first token keeps its own
status and error object; after that, a failure ends the stream with an OpenAI error event (logged and
counted as ``StreamErrors``), never with a silent truncation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from lambdas.api_router.backends import complete, open_stream
from lambdas.api_router.chat_request import ChatRequest, parse_chat_request
from lambdas.api_router.completion import DONE, ChunkWriter, chat_completion
from lambdas.api_router.errors import ApiError, bad_request, internal_error, not_found
from lambdas.api_router.events import Completion, Finish, ModelEvent, ModelStream, TextDelta, Usage
from lambdas.api_router.observability import RequestScope, current_scope, logger
from lambdas.api_router.settings import settings

T = TypeVar("T")


async def chat_completions(http_request: Request) -> Response:
    """``POST /v1/chat/completions``: a ``chat.completion`` object, or its chunks as server-sent events."""
    scope = current_scope()
    config = settings()
    body = await _read_body(http_request, config.max_body_bytes)
    request = parse_chat_request(body, max_body_bytes=config.max_body_bytes)
    target = config.models.get(request.model)
    if target is None:
        raise not_found(request.model, list(config.models))
    scope.set_model(request.model)
    if config.log_payloads:
        logger.info("chat request", extra={"request_body": body.decode("utf-8", errors="replace")})
    completion_id = f"chatcmpl-{scope.request_id}"

    if not request.stream:
        answer: Completion = await _model_call(scope, complete, request, target)
        _record(
            scope,
            request,
            finish_reason=answer.finish_reason,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            text=answer.text,
        )
        return Response(
            json.dumps(chat_completion(answer, model=request.model, completion_id=completion_id)),
            media_type="application/json",
        )

    stream: ModelStream = await _model_call(scope, open_stream, request, target)
    reader = _EventReader(stream)
    try:
        first = await _model_call(scope, reader.next)
    except BaseException:
        reader.close()
        raise
    events = _server_sent_events(
        scope, request, reader, first, ChunkWriter(model=request.model, completion_id=completion_id)
    )
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


async def _read_body(http_request: Request, limit: int) -> bytes:
    declared = http_request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
        raise bad_request(None, f"The request body is larger than the limit of {limit} bytes")
    return await http_request.body()


async def _model_call(scope: RequestScope, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread, bounded by the request's deadline and the longest single wait."""
    try:
        return await wait_for(scope, function, *args)
    except ApiError as error:
        scope.count("ModelErrors")
        logger.warning("model call failed", extra={"model": scope.model, "status": error.status, "code": error.code})
        raise


async def wait_for(scope: RequestScope, function: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in a worker thread; raise ``ApiError`` (504) when it does not return in time.

    The thread of a call that ran out is abandoned (the caller closes what it reads from, which ends it).
    """
    wait = settings().model_wait_seconds
    remaining = scope.remaining()
    limit = min(remaining, wait)
    with anyio.move_on_after(limit):
        return await anyio.to_thread.run_sync(function, *args, abandon_on_cancel=True)
    if remaining <= wait:
        raise ApiError(
            504,
            f"The request reached the API's time limit of {settings().model_timeout_seconds} s",
            type="api_error",
            code="timeout",
        )
    raise ApiError(504, f"The model sent nothing for {wait} s", type="api_error", code="timeout")


class _EventReader:
    """Reads a model stream one event at a time (each read in a worker thread)."""

    def __init__(self, stream: ModelStream) -> None:
        self._stream = stream
        self._events: Iterator[ModelEvent] = iter(stream)

    def next(self) -> ModelEvent | None:
        return next(self._events, None)

    def close(self) -> None:
        # Also unblocks a worker still waiting on the stream: its read fails on the closed connection.
        self._stream.close()


async def _server_sent_events(
    scope: RequestScope, request: ChatRequest, reader: _EventReader, first: ModelEvent | None, writer: ChunkWriter
) -> AsyncIterator[str]:
    finish: str | None = None
    usage = Usage(None, None)
    texts: list[str] = []
    event = first
    try:
        yield writer.role()
        while event is not None:
            if isinstance(event, TextDelta):
                if not texts:
                    scope.milliseconds("TimeToFirstToken", scope.elapsed_ms())
                texts.append(event.text)
                yield writer.text(event.text)
            elif isinstance(event, Finish) and finish is None:
                finish = event.reason
                yield writer.finish(finish)
            elif isinstance(event, Usage):
                usage = event
            event = await wait_for(scope, reader.next)
        if finish is None:
            finish = "stop"
            yield writer.finish(finish)
        if request.include_usage_in_stream:
            yield writer.usage(usage.prompt_tokens, usage.completion_tokens)
        yield DONE
        _record(
            scope,
            request,
            finish_reason=finish,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            text="".join(texts),
        )
    except ApiError as error:
        scope.count("StreamErrors")
        logger.warning("stream failed", extra={"model": scope.model, "status": error.status, "code": error.code})
        yield error.event(scope.request_id)
    except Exception:  # noqa: BLE001  (a started stream must end with an error event, whatever failed)
        scope.count("StreamErrors")
        logger.exception("unexpected error while streaming")
        yield internal_error().event(scope.request_id)
    finally:
        reader.close()


def _record(
    scope: RequestScope,
    request: ChatRequest,
    *,
    finish_reason: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    text: str,
) -> None:
    scope.milliseconds("Latency", scope.elapsed_ms())
    # Token metrics only where the backend counted them: a 0 would drag the sums and averages down.
    if prompt_tokens is not None:
        scope.count("InputTokens", prompt_tokens)
    if completion_tokens is not None:
        scope.count("OutputTokens", completion_tokens)
    logger.info(
        "chat completed", extra={"model": request.model, "finish_reason": finish_reason, "stream": request.stream}
    )
    if settings().log_payloads:
        logger.info("chat response", extra={"response_text": text})
