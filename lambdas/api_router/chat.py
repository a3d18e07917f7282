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
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from lambdas.api_router.backends import complete, open_stream
from lambdas.api_router.chat_request import ChatRequest, parse_chat_request
from lambdas.api_router.completion import DONE, ChunkWriter, chat_completion
from lambdas.api_router.errors import ApiError, internal_error
from lambdas.api_router.events import (
    Completion,
    Finish,
    ModelEvent,
    ModelStream,
    ReasoningDelta,
    TextDelta,
    ToolCallStart,
    Usage,
)
from lambdas.api_router.handling import model_call, read_body, route_target, wait_for
from lambdas.api_router.observability import RequestScope, current_scope, logger
from lambdas.api_router.parameters import Kind
from lambdas.api_router.parameters import check as check_parameters
from lambdas.api_router.settings import (
    BedrockTarget,
    EndpointTarget,
    settings,
)

T = TypeVar("T")


async def chat_completions(http_request: Request) -> Response:
    """``POST /v1/chat/completions``: a ``chat.completion`` object, or its chunks as server-sent events."""
    scope = current_scope()
    config = settings()
    body = await read_body(http_request, config.max_body_bytes)
    request = parse_chat_request(body, max_body_bytes=config.max_body_bytes)
    # A chat target: either kind (route_target checked it; its TypeVar cannot name the union).
    target = cast(BedrockTarget | EndpointTarget, route_target(scope, request.model, (BedrockTarget, EndpointTarget)))
    check_parameters(request.parameters, parameter_kind(target))
    if config.log_payloads:
        logger.info("chat request", extra={"request_body": body.decode("utf-8", errors="replace")})
    completion_id = f"chatcmpl-{scope.request_id}"

    if not request.stream:
        answer: Completion = await model_call(scope, complete, request, target)
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

    stream: ModelStream = await model_call(scope, open_stream, request, target)
    reader = _EventReader(stream)
    try:
        first = await model_call(scope, reader.next)
    except BaseException:
        reader.close()
        raise
    events = _server_sent_events(
        scope, request, reader, first, ChunkWriter(model=request.model, completion_id=completion_id)
    )
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def parameter_kind(target: BedrockTarget | EndpointTarget) -> Kind:
    """Which parameter table applies: Bedrock's, or the endpoint container family's (LMI's, the strictest, where
    the catalog has no facts for the container)."""
    if isinstance(target, BedrockTarget):
        return "bedrock"
    return target.family or "lmi"


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
        first_token = True
        while event is not None:
            if first_token and isinstance(event, TextDelta | ReasoningDelta | ToolCallStart):
                scope.milliseconds("TimeToFirstToken", scope.elapsed_ms())
                first_token = False
            if isinstance(event, Finish):
                if finish is None:
                    finish = event.reason
                    yield writer.finish(finish)
            elif isinstance(event, Usage):
                usage = event
            else:
                if isinstance(event, TextDelta):
                    texts.append(event.text)
                yield writer.content(event)
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
