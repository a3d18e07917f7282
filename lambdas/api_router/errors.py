"""The API's errors, in OpenAI's error object, with the HTTP status each one maps to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class ApiError(Exception):
    """An error the client sees: status, OpenAI error type, message and (for 400s) the offending parameter."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, request_id: str) -> str:
        """The OpenAI error object; the request id lets support find the matching log line."""
        return json.dumps(
            {
                "error": {
                    "message": f"{self.message} (request id {request_id})",
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            }
        )

    def event(self, request_id: str) -> str:
        """The same object as a server-sent event: how OpenAI ends a stream that fails after it began.

        OpenAI's clients raise ``APIError`` on an event whose data has an ``error`` member.
        """
        return f"data: {self.body(request_id)}\n\n"


def bad_request(param: str | None, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value" if param else "invalid_request")


def not_found(model: str, known: list[str]) -> ApiError:
    return ApiError(
        404,
        f"The model '{model}' does not exist; available models: {', '.join(sorted(known)) or 'none'}",
        param="model",
        code="model_not_found",
    )


def unknown_route(method: str, path: str) -> ApiError:
    return ApiError(404, f"No route {method} {path}", code="unknown_url")


def throttled(retry_after_seconds: int) -> ApiError:
    return ApiError(
        429,
        "The model is receiving too many requests; retry after the delay in the Retry-After header",
        type="rate_limit_error",
        code="rate_limit_exceeded",
        headers={"Retry-After": str(retry_after_seconds)},
    )


# The codes of the 503s a scheduled endpoint's alias answers while the endpoint is deleted or not yet in service;
# the router counts them (SCHEDULED_UNAVAILABLE_METRIC) so the API's 5XX alarm leaves them out.
ENDPOINT_STOPPED = "endpoint_stopped"
ENDPOINT_STARTING = "endpoint_starting"
SCHEDULED_CODES = (ENDPOINT_STOPPED, ENDPOINT_STARTING)


def endpoint_stopped(endpoint: str, until: str, retry_after_seconds: int) -> ApiError:
    """503 for an alias whose endpoint is outside its schedule: ``until`` is the next start (ISO 8601, local time
    with its offset), ``retry_after_seconds`` the whole seconds until then."""
    return ApiError(
        503,
        f"endpoint {endpoint} is stopped until {until}",
        type="api_error",
        code=ENDPOINT_STOPPED,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def endpoint_starting(endpoint: str, retry_after_seconds: int) -> ApiError:
    """503 for an alias whose scheduled endpoint is in its window but not (yet) in service: it is being created."""
    return ApiError(
        503,
        f"endpoint {endpoint} is starting (its schedule's window is open); retry after the delay in the "
        "Retry-After header",
        type="api_error",
        code=ENDPOINT_STARTING,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def model_failed(message: str) -> ApiError:
    return ApiError(502, message, type="api_error", code="model_error")


def timed_out(seconds: float) -> ApiError:
    return ApiError(504, f"The model did not answer within {seconds:g} s", type="api_error", code="timeout")


def internal_error() -> ApiError:
    return ApiError(500, "Internal error", type="api_error", code="internal_error")
