"""Lambda entry point of the OpenAI-compatible API: routes, structured logs, metrics, traces; logic lives beside it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.api_router.backends import complete
from lambdas.api_router.chat_request import parse_chat_request
from lambdas.api_router.completion import chat_completion, chat_completion_stream
from lambdas.api_router.errors import ApiError, not_found
from lambdas.api_router.settings import settings

logger = Logger()
metrics = Metrics(namespace="GenAiKit/Api")
app = APIGatewayRestResolver()

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _traced(function: Handler) -> Handler:
    """Powertools Tracer (X-Ray subsegments for every AWS call) when TRACE_MODEL_CALLS is on.

    Off by default: the X-Ray SDK creates clients when it is imported, which costs about 200 ms of every
    cold start; Lambda's active tracing still records each invocation without it.
    """
    if os.environ.get("TRACE_MODEL_CALLS", "false").lower() != "true":
        return function
    from aws_lambda_powertools import Tracer  # noqa: PLC0415  (deferred: see above)

    traced: Handler = Tracer().capture_lambda_handler(function)
    return traced


@app.get("/v1/models")
def list_models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": alias, "object": "model", "created": 0, "owned_by": "genai-kit"} for alias in settings().models
        ],
    }


@app.post("/v1/chat/completions")
def chat_completions() -> Response[str]:
    config = settings()
    request = parse_chat_request(app.current_event.body, max_body_bytes=config.max_body_bytes)
    target = config.models.get(request.model)
    if target is None:
        raise not_found(request.model, list(config.models))
    if config.log_payloads:
        logger.info("chat request", extra={"request_body": app.current_event.body})

    started = time.perf_counter()
    try:
        completion = complete(request, target)
    except ApiError as error:
        metrics.add_dimension(name="model", value=request.model)
        metrics.add_metric(name="ModelErrors", unit=MetricUnit.Count, value=1)
        logger.warning("model call failed", extra={"model": request.model, "status": error.status})
        raise
    metrics.add_dimension(name="model", value=request.model)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
    metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=completion.prompt_tokens)
    metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=completion.completion_tokens)
    logger.info("chat completed", extra={"model": request.model, "finish_reason": completion.finish_reason})
    if config.log_payloads:
        logger.info("chat response", extra={"response_text": completion.text})

    completion_id = f"chatcmpl-{app.lambda_context.aws_request_id}"
    if request.stream:
        body = chat_completion_stream(
            completion, model=request.model, completion_id=completion_id, include_usage=request.include_usage_in_stream
        )
        return Response(200, "text/event-stream", body, headers={"Cache-Control": "no-cache"})
    return Response(
        200,
        "application/json",
        json.dumps(chat_completion(completion, model=request.model, completion_id=completion_id)),
    )


@app.exception_handler(ApiError)
def api_error(error: ApiError) -> Response[str]:
    metrics.add_metric(name="ClientErrors" if error.status < 500 else "ServerErrors", unit=MetricUnit.Count, value=1)
    return Response(
        error.status, "application/json", error.body(app.lambda_context.aws_request_id), headers=error.headers
    )


@app.not_found
def route_not_found(_: Exception) -> Response[str]:
    error = ApiError(404, f"No route {app.current_event.http_method} {app.current_event.path}", code="unknown_url")
    response: Response[str] = api_error(error)
    return response


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response[str]:
    # Logged with its trace for operators; the client gets the request id, never the trace.
    logger.exception("unexpected error")
    response: Response[str] = api_error(ApiError(500, "Internal error", type="api_error", code="internal_error"))
    return response


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
@_traced
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    response: dict[str, Any] = app.resolve(event, context)
    return response
