"""Calls the model behind an alias (Bedrock or a SageMaker endpoint) and maps its failures.

``complete`` returns a whole answer; ``open_stream`` returns an opened stream of ``ModelEvent`` values;
``embed`` returns embeddings; ``generate_images`` returns images. All block (botocore) and run in a worker thread;
every AWS or transport failure becomes an ``ApiError`` with the status the client should see, whether it happens
on the call or mid-stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)

from lambdas.api_router.backends import (
    bedrock,
    bedrock_embeddings,
    bedrock_images,
    sagemaker,
    sagemaker_images,
    stability_images,
)
from lambdas.api_router.chat_request import ChatRequest
from lambdas.api_router.errors import (
    ApiError,
    bad_request,
    endpoint_starting,
    endpoint_stopped,
    model_failed,
    throttled,
    timed_out,
)
from lambdas.api_router.events import (
    Completion,
    Finish,
    ModelEvent,
    ModelStream,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from lambdas.api_router.settings import (
    BedrockEmbeddingTarget,
    BedrockImageTarget,
    BedrockTarget,
    EndpointImageTarget,
    EndpointTarget,
    settings,
)

# Error codes of Bedrock and SageMaker, as exceptions on the call or as exception events mid-stream
# (botocore's bedrock-runtime and sagemaker-runtime service models), compared in lower case because
# the stream events spell them in camel case (throttlingException).
_THROTTLING = {"throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception"}
_RETRY_AFTER_SECONDS = 2
# A scheduled endpoint in its window that is not in service yet is being created: SageMaker takes minutes.
_STARTING_RETRY_AFTER_SECONDS = 60


def complete(request: ChatRequest, target: BedrockTarget | EndpointTarget) -> Completion:
    """The model's whole answer; raises ``ApiError``."""
    if isinstance(target, EndpointTarget):
        check_schedule(target, datetime.now(UTC))
    with _mapped_errors(target):
        if isinstance(target, BedrockTarget):
            return bedrock.complete(request, target)
        return sagemaker.complete(request, target)


def open_stream(request: ChatRequest, target: BedrockTarget | EndpointTarget) -> ModelStream:
    """An opened stream of the model's answer; raises ``ApiError`` on the call and while iterating.

    A container that cannot stream answers whole (InvokeEndpoint); its answer is then a stream of one text event.
    """
    if isinstance(target, EndpointTarget):
        check_schedule(target, datetime.now(UTC))
    with _mapped_errors(target):
        stream: ModelStream
        if isinstance(target, BedrockTarget):
            stream = bedrock.stream(request, target)
        elif target.streams:
            stream = sagemaker.stream(request, target)
        else:
            stream = _WholeAnswer(sagemaker.complete(request, target))
    return _MappedStream(stream)


def check_schedule(target: EndpointTarget | EndpointImageTarget, now: datetime) -> None:
    """Raise the 503 of a scheduled endpoint outside its window (``now``: an aware instant), with the next start
    (local time and offset) and ``Retry-After`` in whole seconds until it; do nothing for an unscheduled one."""
    schedule = target.schedule
    if schedule is None or schedule.is_open(now):
        return
    start = schedule.next_start(now)
    raise endpoint_stopped(target.endpoint, start.isoformat(timespec="minutes"), schedule.seconds_until_start(now))


def embed(
    inputs: tuple[str, ...], target: BedrockEmbeddingTarget, *, dimensions: int | None, input_type: str | None
) -> bedrock_embeddings.Embeddings:
    """The embeddings of ``inputs``, in order; raises ``ApiError``."""
    with _mapped_errors():
        return bedrock_embeddings.embed(inputs, target, dimensions=dimensions, input_type=input_type)


def generate_images(
    request: bedrock_images.ImageRequest | stability_images.CoreRequest, target: BedrockImageTarget
) -> tuple[str, ...]:
    """The generated images (base64 PNGs), in the request's model family's format; raises ``ApiError`` (a
    content-filter refusal is a 400 ``content_policy_violation``)."""
    with _mapped_errors():
        if isinstance(request, stability_images.CoreRequest):
            return stability_images.generate(request, target)
        return bedrock_images.generate(request, target)


def generate_endpoint_images(
    request: sagemaker_images.EndpointImageRequest, target: EndpointImageTarget
) -> tuple[str, ...]:
    """The images an endpoint generated (base64 JPEGs); raises ``ApiError`` (503 for a scheduled endpoint outside
    its window or still starting)."""
    check_schedule(target, datetime.now(UTC))
    with _mapped_errors(target, param=None):
        return sagemaker_images.generate(request, target)


class _WholeAnswer:
    """A whole answer as a model stream: its text, finish reason and usage."""

    def __init__(self, completion: Completion) -> None:
        self._completion = completion

    def __iter__(self) -> Iterator[ModelEvent]:
        if self._completion.text:
            yield TextDelta(self._completion.text)
        for index, call in enumerate(self._completion.tool_calls):
            yield ToolCallStart(index, call.id, call.name)
            yield ToolCallDelta(index, call.arguments)
        yield Finish(self._completion.finish_reason)
        yield Usage(self._completion.prompt_tokens, self._completion.completion_tokens)

    def close(self) -> None:
        pass


class _MappedStream:
    """A model stream whose failures while iterating are ``ApiError``s too."""

    def __init__(self, stream: ModelStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[ModelEvent]:
        with _mapped_errors():
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


@contextmanager
def _mapped_errors(target: object = None, *, param: str | None = "messages") -> Iterator[None]:
    """Map AWS and transport failures to ``ApiError`` (``target``: what was called; ``param``: what a request botocore
    refuses is blamed on)."""
    try:
        yield
    except (ReadTimeoutError, ConnectTimeoutError):
        raise timed_out(settings().model_wait_seconds) from None
    except ClientError as error:
        raise client_error(error, target) from None
    except HTTPClientError:
        # The connection to the model broke (closed, reset, refused): nothing the client can fix.
        raise model_failed("The connection to the model failed") from None
    except ParamValidationError as error:
        # botocore refused the request before sending it: a value this API let through that the model's API
        # refuses (the router checks what it knows; this names the rest).
        raise bad_request(param, f"The model's API refuses the request: {error}") from None


def client_error(error: ClientError, target: object = None) -> ApiError:
    """The client-facing error for an AWS error response or a stream's exception event (``target``: what was
    called, for a scheduled endpoint's missing endpoint)."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    normalized = code.lower()
    original = error.response.get("OriginalStatusCode")
    refused_by_container = normalized == "modelerror" and isinstance(original, int) and 400 <= original < 500
    if normalized in _THROTTLING:
        return throttled(_RETRY_AFTER_SECONDS)
    if normalized == "modeltimeoutexception":
        return timed_out(settings().model_wait_seconds)
    if normalized == "validationerror" and "not found" in message:
        return _missing_endpoint(message, target)
    if normalized in ("validationexception", "validationerror") or refused_by_container:
        # The model refused the request itself (e.g. too many input tokens): the client can fix it.
        return bad_request(bedrock.validation_param(message), f"The model rejected the request: {message}")
    if normalized in ("modelstreamerrorexception", "modelstreamerror"):
        return model_failed(f"The model failed while answering: {message}" if message else "The model failed")
    return model_failed(f"The model failed to answer ({code or 'error'})")


__all__ = ["ApiError", "client_error", "complete", "open_stream"]


def _missing_endpoint(message: str, target: object) -> ApiError:
    """SageMaker Runtime's "Endpoint <name> of account <id> not found.": a scheduled endpoint in its window (the
    schedule check passed) is being created, a 503 with a short Retry-After; any other is a 404 (e.g. the fine-tuned
    alias before an approval)."""
    if isinstance(target, EndpointTarget | EndpointImageTarget) and target.schedule is not None:
        return endpoint_starting(target.endpoint, _STARTING_RETRY_AFTER_SECONDS)
    return ApiError(404, f"The model's endpoint does not exist (yet): {message}", param="model", code="model_not_found")
