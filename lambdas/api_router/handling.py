"""What every route does around its model call: read the body within its limit, resolve the model the request
names to a target the route serves, and run the blocking model call in a worker thread under the request's
deadline.

Every wait for the model is bounded by the earlier of the request's deadline and the longest single wait
(``MODEL_WAIT_SECONDS``); a wait that runs out is a 504 (``ApiError``). A failed model call is counted
(``ModelErrors``; a scheduled endpoint's stopped or starting 503 as ``ScheduledEndpointUnavailable``) and logged
without the request's content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from genai_kit.contracts.api_router import SCHEDULED_UNAVAILABLE_METRIC
from lambdas.api_router.errors import SCHEDULED_CODES, ApiError, bad_request, not_found
from lambdas.api_router.observability import RequestScope, logger
from lambdas.api_router.settings import BedrockEmbeddingTarget, BedrockImageTarget, EndpointImageTarget, settings

T = TypeVar("T")
Target = TypeVar("Target")

# The route that serves a target of each kind other than chat, for a request that names it on another route.
_OTHER_ROUTES = {
    BedrockEmbeddingTarget: ("an embedding", "POST /v1/embeddings"),
    BedrockImageTarget: ("an image", "POST /v1/images/generations"),
    EndpointImageTarget: ("an image", "POST /v1/images/generations"),
}
_CHAT_ROUTE = ("a chat", "POST /v1/chat/completions")


def route_target(scope: RequestScope, model: Any, kinds: tuple[type[Target], ...]) -> Target:
    """The configured target of ``model`` (the request's alias), which must be one of ``kinds``; the scope records
    the alias for metrics and logs.

    Raises ``ApiError``: 400 naming ``model`` when it is missing or not a string, or when it names a model of
    another kind (with the route that serves it); 404 for an alias the API does not know."""
    if not isinstance(model, str) or not model:
        raise bad_request("model", "'model' is required and must be a non-empty string")
    config = settings()
    target = config.models.get(model)
    if target is None:
        raise not_found(model, list(config.models))
    scope.set_model(model)
    if not isinstance(target, kinds):
        kind, route = _OTHER_ROUTES.get(type(target), _CHAT_ROUTE)
        raise bad_request("model", f"'{model}' is {kind} model; use {route}")
    return target


async def read_body(http_request: Request, limit: int) -> bytes:
    """The request body, refused (400) at once when its declared length is over ``limit``."""
    declared = http_request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
        raise bad_request(None, f"The request body is larger than the limit of {limit} bytes")
    return await http_request.body()


async def model_call(scope: RequestScope, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a worker thread, bounded by the request's deadline and the longest single wait."""
    try:
        return await wait_for(scope, function, *args)
    except ApiError as error:
        # A scheduled endpoint's 503 is the schedule working, not a model failure (the 5XX alarm leaves it out).
        scope.count(SCHEDULED_UNAVAILABLE_METRIC if error.code in SCHEDULED_CODES else "ModelErrors")
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
