"""The router as an ASGI app (Starlette): routes, the request scope around each request, and error responses.

In Lambda, the AWS Lambda Web Adapter layer starts ``run.sh`` (the function's handler), which serves this
app with uvicorn on ``AWS_LWA_PORT``; the adapter turns each API Gateway invocation into an HTTP request
to it and streams the response back (``AWS_LWA_INVOKE_MODE=response_stream``). The tests serve the same
app with uvicorn on a loopback port.

Routes: ``GET /v1/models``, ``GET /v1/models/{model}``, ``POST /v1/chat/completions``, ``POST /v1/embeddings``,
``POST /v1/images/generations`` and ``GET /health`` (the adapter's readiness check, not routed by API Gateway).
Every error is OpenAI's error object with the request id.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambdas.api_router.chat import chat_completions
from lambdas.api_router.embeddings import embeddings
from lambdas.api_router.errors import ApiError, internal_error, not_found, unknown_route
from lambdas.api_router.images import image_generations
from lambdas.api_router.observability import RequestScope, current_scope, enable_tracing, enter_scope, logger
from lambdas.api_router.settings import settings

HEALTH_PATH = "/health"


def _model(alias: str) -> dict[str, Any]:
    return {"id": alias, "object": "model", "created": 0, "owned_by": "genai-kit"}


async def list_models(_: Request) -> Response:
    """``GET /v1/models``: every alias the API routes (chat, embedding and image models)."""
    return _json({"object": "list", "data": [_model(alias) for alias in settings().models]})


async def retrieve_model(request: Request) -> Response:
    """``GET /v1/models/{model}``: one alias (the openai client's ``models.retrieve``), or 404."""
    alias = request.path_params["model"]
    models = settings().models
    if alias not in models:
        raise not_found(alias, list(models))
    return _json(_model(alias))


async def health(_: Request) -> Response:
    return Response("ok", media_type="text/plain")


def error_response(error: ApiError) -> Response:
    """The OpenAI error object of ``error`` with its status and headers (e.g. Retry-After)."""
    return Response(
        error.body(current_scope().request_id),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


async def _api_error(_: Request, error: Exception) -> Response:
    if not isinstance(error, ApiError):  # registered for ApiError only
        raise error
    return error_response(error)


async def _http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    if error.status_code == 405:
        return error_response(
            ApiError(405, f"{request.method} is not allowed on {request.url.path}", code="method_not_allowed")
        )
    return error_response(unknown_route(request.method, request.url.path))


class RequestScopeMiddleware:
    """Opens each request's scope (ids, deadline, logs, metrics), answers 500 for an unexpected failure, and
    flushes the request's metrics once its whole response (streamed or not) has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        request_scope = RequestScope.from_headers(
            Headers(scope=scope), timeout_seconds=settings().model_timeout_seconds
        )
        enter_scope(request_scope)
        request_scope.count("Requests")
        request_id = request_scope.request_id.encode("latin-1", errors="replace")
        started = False

        async def send_and_count(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # OpenAI's clients read the request id from this header (APIStatusError.request_id).
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
                status = int(message["status"])
                if status >= 500:
                    request_scope.count("ServerErrors")
                elif status >= 400:
                    request_scope.count("ClientErrors")
            await send(message)

        try:
            await self.app(scope, receive, send_and_count)
        except Exception:  # noqa: BLE001  (the last resort: any failure is answered, never a dropped connection)
            # Logged with its trace for operators; the client gets the request id, never the trace.
            logger.exception("unexpected error")
            if not started:
                await error_response(internal_error())(scope, receive, send_and_count)
        finally:
            request_scope.flush()


def _json(data: Any) -> Response:
    return Response(json.dumps(data), media_type="application/json")


def create_app() -> Starlette:
    """The router app; parses the environment first, so a malformed one fails before the router is ready."""
    settings()
    enable_tracing()
    return Starlette(
        routes=[
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/images/generations", image_generations, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ],
        middleware=[Middleware(RequestScopeMiddleware)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
