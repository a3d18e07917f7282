"""Per-request context of the router: ids, deadline, structured logs, metrics and (opt-in) X-Ray subsegments.

The AWS Lambda Web Adapter hands each invocation to the router as an HTTP request with two headers it sets
itself (overriding any a client sends): ``x-amzn-request-context``, API Gateway's request context (its
``requestId`` is the logs' ``correlation_id``), and ``x-amzn-lambda-context``, the invocation context
(``request_id``, the logs' ``function_request_id``; ``deadline`` in epoch milliseconds; ``xray_trace_id``).
Without them (a local run) the router makes up a request id and keeps its own deadline.

The request id a client sees (``x-request-id``, and in every error message) is API Gateway's, which its access
logs and its own ``x-amzn-RequestId`` header also carry.

Metrics go out in CloudWatch's embedded metric format (namespace ``GenAiKit/Api``), one line per request once
its response (streamed or not) has been sent, in two dimension sets: ``service`` alone (the API's totals, which
alarms watch) and ``service`` with ``model`` (once the request names a known model).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from lambdas.api_router.settings import settings

logger = Logger()

# Time the router keeps for itself before Lambda's own deadline: writing the error object, the adapter's part.
_LAMBDA_DEADLINE_MARGIN_SECONDS = 2.0


def new_metrics() -> EphemeralMetrics:
    """A request's own metrics (nothing shared with another request), in the service's dimension set; the
    service is also in each added set, so the per-model metrics read ``service`` + ``model``."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "genai-kit-api")
    return EphemeralMetrics(default_dimensions={"service": service})


@dataclass
class RequestScope:
    """One request: its ids, its deadline (``time.monotonic()`` seconds) and its metrics."""

    lambda_request_id: str
    api_request_id: str | None
    started: float
    deadline: float
    xray_trace_id: str | None = None
    model: str | None = None
    metrics: EphemeralMetrics = field(default_factory=new_metrics)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], *, timeout_seconds: float) -> RequestScope:
        """The scope of a request the adapter forwarded (or a local one), with the earlier of both deadlines."""
        now = time.monotonic()
        lambda_context = _json_header(headers, "x-amzn-lambda-context")
        request_context = _json_header(headers, "x-amzn-request-context")
        deadline = now + timeout_seconds
        lambda_deadline_ms = lambda_context.get("deadline")
        if isinstance(lambda_deadline_ms, int | float) and lambda_deadline_ms > 0:
            left = lambda_deadline_ms / 1000 - time.time() - _LAMBDA_DEADLINE_MARGIN_SECONDS
            deadline = min(deadline, now + max(left, 0.0))
        lambda_request_id = lambda_context.get("request_id")
        api_request_id = request_context.get("requestId")
        trace_id = lambda_context.get("xray_trace_id")
        return cls(
            lambda_request_id=(
                lambda_request_id if isinstance(lambda_request_id, str) and lambda_request_id else str(uuid.uuid4())
            ),
            api_request_id=api_request_id if isinstance(api_request_id, str) and api_request_id else None,
            started=now,
            deadline=deadline,
            xray_trace_id=trace_id if isinstance(trace_id, str) else None,
        )

    @property
    def request_id(self) -> str:
        """The id the client sees: API Gateway's, or Lambda's where API Gateway gave none (a local run)."""
        return self.api_request_id or self.lambda_request_id

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(self.deadline - time.monotonic(), 0.0)

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000

    def set_model(self, alias: str) -> None:
        """This request's metrics are also written per model from here on."""
        if self.model is None:
            self.model = alias
            self.metrics.add_dimensions(model=alias)

    def count(self, name: str, value: float = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)

    def flush(self) -> None:
        """Write this request's metrics (one EMF line, with the request ids as metadata to find its logs)."""
        self.metrics.add_metadata(key="function_request_id", value=self.lambda_request_id)
        if self.api_request_id:
            self.metrics.add_metadata(key="correlation_id", value=self.api_request_id)
        self.metrics.flush_metrics(raise_on_empty_metrics=False)


_current: ContextVar[RequestScope] = ContextVar("request_scope")


def current_scope() -> RequestScope:
    """The scope of the request being served (set by the router's middleware)."""
    return _current.get()


def enter_scope(scope: RequestScope) -> None:
    """Make ``scope`` current for this request's task (and the worker threads and tasks it starts)."""
    _current.set(scope)
    keys: dict[str, Any] = {"function_request_id": scope.lambda_request_id}
    if scope.api_request_id:
        keys["correlation_id"] = scope.api_request_id
    # Context-local keys: each request runs in its own task, so concurrent requests never mix their ids.
    logger.thread_safe_append_keys(**keys)
    if scope.xray_trace_id and tracing_enabled():
        # What Lambda's own Python runtime does for a handler: the X-Ray SDK reads the invocation's trace
        # header from this variable to parent the subsegments of the model calls.
        os.environ["_X_AMZN_TRACE_ID"] = scope.xray_trace_id


def tracing_enabled() -> bool:
    return settings().trace_model_calls


def enable_tracing() -> None:
    """Powertools Tracer: X-Ray subsegments for every boto3 call, when ``TRACE_MODEL_CALLS`` is true.

    Call once, before the first client is created (the Tracer patches botocore).

    Off by default: the X-Ray SDK creates clients when it is imported, which costs about 200 ms of every
    cold start; Lambda's active tracing records each invocation without it.
    """
    if tracing_enabled():
        from aws_lambda_powertools import Tracer  # noqa: PLC0415  (deferred: see above)

        Tracer()


def _json_header(headers: Mapping[str, str], name: str) -> dict[str, Any]:
    raw = headers.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
