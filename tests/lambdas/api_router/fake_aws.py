"""A fake AWS at botocore's transport: scripted HTTP responses, real parsing, real event-stream framing.

Each call of a client operation takes the next scripted answer for that operation (a ``before-send``
handler returns it instead of sending the request), so botocore serializes and validates the request
exactly as it would for AWS, and parses the answer with its own parsers: JSON bodies, error responses
(``x-amzn-ErrorType``) and event streams built here from real ``application/vnd.amazon.eventstream`` frames.
A stream can be released frame by frame (``GatedStream``), which lets a test prove incremental delivery.
Every request's parameters are also checked against the operation's service model beyond botocore's own
validation (enums, maximums, patterns, unions: ``service_model.violations``); the fixture fails a test whose
router sent a request the service would refuse.
"""

from __future__ import annotations

import json
import queue
import struct
import threading
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.model import OperationModel

from tests.service_model import violations


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude with its CRC, string headers, payload, message CRC (all big-endian)."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, payload: dict[str, Any] | bytes) -> bytes:
    """An event message (JSON payload, or raw bytes for a blob payload such as SageMaker's PayloadPart)."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    content_type = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
    return frame({":message-type": "event", ":event-type": event_type, ":content-type": content_type}, raw)


def exception(exception_type: str, message: str, *, message_member: str = "message", **members: Any) -> bytes:
    """An exception message, as a service sends a modeled error in the middle of a stream.

    ``message_member`` is the name the service model gives the message (Bedrock: message; SageMaker: Message).
    """
    payload = json.dumps({message_member: message, **members}).encode()
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": "application/json"}
    return frame(headers, payload)


class GatedStream:
    """A streamed body whose chunks the test releases one at a time (``release``), or all at once (``finish``).

    ``stream()`` blocks until a chunk is released, as a socket read blocks until the service sends.
    """

    _END = object()

    def __init__(self) -> None:
        self._chunks: queue.Queue[object] = queue.Queue()
        self.closed = False

    def release(self, *chunks: bytes) -> None:
        for chunk in chunks:
            self._chunks.put(chunk)

    def finish(self) -> None:
        self._chunks.put(self._END)

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        while True:
            chunk = self._chunks.get()
            if chunk is self._END:
                return
            assert isinstance(chunk, bytes)
            yield chunk

    def read(self, *_: Any, **__: Any) -> bytes:
        return b"".join(self.stream())

    def close(self) -> None:
        self.closed = True
        self._chunks.put(self._END)


class _Body:
    """A finished body: what urllib3's response offers botocore (``stream``, ``read``, ``close``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)
        self.closed = False

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield from self._chunks

    def read(self, *_: Any, **__: Any) -> bytes:
        return b"".join(self._chunks)

    def close(self) -> None:
        self.closed = True


Responder = Callable[[Any], tuple[Any, dict[str, str]]]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # _Body or GatedStream
    exception: BaseException | None = None


@dataclass
class FakeAws:
    """Scripted answers per operation name (``Converse``, ``InvokeEndpointWithResponseStream``, ...)."""

    answers: dict[str, deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    requests: dict[str, list[AWSPreparedRequest]] = field(default_factory=lambda: defaultdict(list))
    gated: list[GatedStream] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    """What the service model refuses in the requests sent (``operation: path: reason``)."""
    responders: dict[str, Responder] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, operation: str, responder: Responder) -> None:
        """Answer every call of ``operation`` from its own JSON body: ``responder(body) -> (answer, headers)``.

        For calls made concurrently, whose order is not the order of the inputs."""
        self.responders[operation] = responder

    def attach(self, client: Any) -> None:
        """Answer this client's calls from the script (every operation of the client's service)."""
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-parameter-build.{service}", self._check)
        client.meta.events.register(f"before-send.{service}", self._send)

    def _check(self, params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        if model.input_shape is not None:
            self.invalid += [f"{model.name}: {problem}" for problem in violations(model.input_shape, params)]

    def _send(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse:
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        with self._lock:
            self.requests[operation].append(request)
            responder = self.responders.get(operation)
        if responder is not None:
            body, headers = responder(json.loads(request.body))
            content = json.dumps(body).encode()
            return AWSResponse(request.url, 200, {"Content-Type": "application/json", **headers}, _Body([content]))
        if not self.answers[operation]:
            raise AssertionError(f"no scripted answer left for {operation}")
        answer = self.answers[operation].popleft()
        if answer.exception is not None:
            raise answer.exception
        return AWSResponse(request.url, answer.status, answer.headers, answer.body)

    def json(self, operation: str, body: dict[str, Any] | list[Any], *, status: int = 200) -> None:
        """A JSON answer."""
        content = json.dumps(body).encode()
        self.answers[operation].append(Answer(status, {"Content-Type": "application/json"}, _Body([content])))

    def error(self, operation: str, code: str, message: str, *, status: int = 400, **members: Any) -> None:
        """An AWS error response (rest-json: the ``x-amzn-ErrorType`` header names the error)."""
        content = json.dumps({"message": message, **members}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
        self.answers[operation].append(Answer(status, headers, _Body([content])))

    def raises(self, operation: str, error: BaseException) -> None:
        """The transport fails (e.g. ``ReadTimeoutError``) instead of answering."""
        self.answers[operation].append(Answer(0, {}, None, exception=error))

    def stream(self, operation: str, *frames: bytes) -> None:
        """An event-stream answer with every frame available at once."""
        self.answers[operation].append(Answer(200, _EVENT_STREAM, _Body(frames)))

    def gated_stream(self, operation: str) -> GatedStream:
        """An event-stream answer whose frames the test releases (see ``GatedStream``)."""
        return self._gated(operation, _EVENT_STREAM)

    def gated_json(self, operation: str) -> GatedStream:
        """A JSON answer whose bytes the test releases: a model that has not answered until it does."""
        return self._gated(operation, {"Content-Type": "application/json"})

    def _gated(self, operation: str, headers: dict[str, str]) -> GatedStream:
        body = GatedStream()
        self.gated.append(body)
        self.answers[operation].append(Answer(200, headers, body))
        return body

    def close(self) -> None:
        """End every gated answer, so no worker thread stays blocked on one after the test."""
        for body in self.gated:
            body.close()

    def sent(self, operation: str, index: int = -1) -> dict[str, Any]:
        """The JSON body botocore sent for the ``index``-th call of ``operation``."""
        body = self.requests[operation][index].body
        return dict(json.loads(body))


_EVENT_STREAM = {"Content-Type": "application/vnd.amazon.eventstream"}
