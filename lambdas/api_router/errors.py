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


def model_failed(message: str) -> ApiError:
    return ApiError(502, message, type="api_error", code="model_error")


def timed_out(seconds: float) -> ApiError:
    return ApiError(504, f"The model did not answer within {seconds:g} s", type="api_error", code="timeout")


def internal_error() -> ApiError:
    return ApiError(500, "Internal error", type="api_error", code="internal_error")
