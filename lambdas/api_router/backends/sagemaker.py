"""SageMaker real-time endpoints: InvokeEndpoint for a whole answer, InvokeEndpointWithResponseStream for a stream.

The body follows the endpoint's request format (``messages`` or ``prompt``, from the catalog's container
facts); a streamed answer arrives as ``PayloadPart`` events whose bytes the container frames in its own way
(``containers``). A failure the container reports mid-stream is a ``ModelStreamError`` exception event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lambdas.api_router.backends import containers
from lambdas.api_router.backends.clients import client
from lambdas.api_router.chat_request import ChatRequest, Message
from lambdas.api_router.errors import model_failed
from lambdas.api_router.events import Completion, ModelEvent
from lambdas.api_router.settings import EndpointTarget

DEFAULT_MAX_NEW_TOKENS = 256


def complete(request: ChatRequest, target: EndpointTarget) -> Completion:
    """InvokeEndpoint: the whole answer, parsed by the container's request format."""
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=target.endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps(endpoint_body(request, target, stream=False)),
    )
    raw = response["Body"].read()
    try:
        answer = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise model_failed("The model answered with something that is not JSON") from None
    return containers.parse_answer(answer, target.format)


def stream(request: ChatRequest, target: EndpointTarget) -> EndpointStream:
    """InvokeEndpointWithResponseStream: returns once the container has started its response."""
    response = client("sagemaker-runtime").invoke_endpoint_with_response_stream(
        EndpointName=target.endpoint,
        ContentType="application/json",
        Body=json.dumps(endpoint_body(request, target, stream=True)),
    )
    return EndpointStream(response["Body"], target)


class EndpointStream:
    """The ``PayloadPart`` bytes of a streamed answer, decoded by the container's framing into model events."""

    def __init__(self, events: Any, target: EndpointTarget) -> None:
        self._events = events
        self._target = target

    def __iter__(self) -> Iterator[ModelEvent]:
        parts = (event["PayloadPart"].get("Bytes", b"") for event in self._events if "PayloadPart" in event)
        yield from containers.parse_stream(parts, self._target.format)

    def close(self) -> None:
        self._events.close()


def endpoint_body(request: ChatRequest, target: EndpointTarget, *, stream: bool) -> dict[str, Any]:
    """The JSON body for the endpoint's container."""
    if target.format == "messages":
        # TGI (0.0.27+), vLLM and LMI (0.27+) accept OpenAI's chat schema and apply the model's chat template.
        body: dict[str, Any] = {"messages": [{"role": m.role, "content": m.content} for m in request.messages]}
        for key, value in (
            ("max_tokens", request.max_tokens),
            ("temperature", request.temperature),
            ("top_p", request.top_p),
            ("stop", list(request.stop) or None),
        ):
            if value is not None:
                body[key] = value
        if stream:
            body["stream"] = True
            if target.stream_usage:
                body["stream_options"] = {"include_usage": True}
        return body
    # Text-generation containers without a chat schema get one prompt and generation parameters; TGI prepends
    # the prompt to the answer unless return_full_text is false (LMI's default).
    parameters: dict[str, Any] = {
        "max_new_tokens": request.max_tokens or DEFAULT_MAX_NEW_TOKENS,
        "details": True,
        "return_full_text": False,
    }
    if request.temperature:
        parameters.update(temperature=request.temperature, do_sample=True)
    if request.top_p is not None and 0 < request.top_p < 1:
        parameters["top_p"] = request.top_p
    if request.stop:
        parameters["stop"] = list(request.stop)
    prompt_body: dict[str, Any] = {"inputs": render_prompt(request.messages), "parameters": parameters}
    if stream:
        prompt_body["stream"] = True
    return prompt_body


def render_prompt(messages: tuple[Message, ...]) -> str:
    """A plain transcript for base text-generation models, ending where the assistant should continue."""
    lines = [m.content if m.role == "system" else f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n\n".join([*lines, "Assistant:"])
