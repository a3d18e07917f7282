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
from lambdas.api_router.chat_messages import Message, TextPart
from lambdas.api_router.chat_request import ChatRequest
from lambdas.api_router.errors import bad_request, model_failed
from lambdas.api_router.events import Completion, ModelEvent
from lambdas.api_router.settings import EndpointTarget

DEFAULT_MAX_NEW_TOKENS = 512


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
    """The JSON body for the endpoint's container; raises ``ApiError`` (400) for what it cannot take."""
    _check_text_only(request.messages)
    max_tokens = _max_tokens(request, target)
    if target.format == "messages":
        return _chat_body(request, target, max_tokens=max_tokens, stream=stream)
    # Text-generation containers without a chat schema get one prompt and generation parameters; TGI prepends the
    # prompt to the answer unless return_full_text is false (LMI's default).
    parameters: dict[str, Any] = {
        "max_new_tokens": max_tokens or _default_max_tokens(target),
        "details": True,
        "return_full_text": False,
    }
    if request.temperature:
        parameters.update(temperature=request.temperature, do_sample=True)
    elif request.temperature == 0:
        parameters["do_sample"] = False  # TGI's generate schema refuses temperature 0; greedy is what it means
    if request.top_p is not None and request.top_p < 1:
        parameters["top_p"] = request.top_p
    if request.stop:
        parameters["stop"] = list(request.stop)
    prompt_body: dict[str, Any] = {"inputs": render_prompt(request.messages), "parameters": parameters}
    if stream:
        prompt_body["stream"] = True
    return prompt_body


def _chat_body(request: ChatRequest, target: EndpointTarget, *, max_tokens: int | None, stream: bool) -> dict[str, Any]:
    # TGI (0.0.27+, and 0.0.19-0.0.25 with MESSAGES_API_ENABLED), vLLM and LMI (0.27+) take OpenAI's chat schema
    # and apply the model's own chat template.
    body: dict[str, Any] = {"messages": [{"role": m.role, "content": m.text} for m in request.messages]}
    if max_tokens is None and target.family == "lmi":
        max_tokens = _default_max_tokens(target)  # LMI's own default is 30 new tokens (djl-serving v0.29.0)
    for key, value in (
        ("max_tokens", max_tokens),
        ("temperature", request.temperature),
        # TGI refuses top_p outside (0, 1): 1, which filters nothing, is sent as no top_p.
        ("top_p", request.top_p if request.top_p is not None and request.top_p < 1 else None),
        ("stop", list(request.stop) or None),
    ):
        if value is not None:
            body[key] = value
    if target.family == "lmi":
        # LMI on Neuron turns presence_penalty p into repetition_penalty p + 2.0, and its default p of 0 into 2.0
        # (djl-serving v0.29.0, transformers_neuronx_scheduler/slot.py#L26-L36); -1.0 gives the neutral 1.0.
        body["presence_penalty"] = -1.0
    if stream:
        body["stream"] = True
        if target.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _check_text_only(messages: tuple[Message, ...]) -> None:
    for message in messages:
        if message.role == "tool" or message.tool_calls:
            raise bad_request(
                f"messages[{message.index}]",
                f"'messages[{message.index}]' holds a tool call or result; this endpoint's container cannot call tools",
            )
        for position, part in enumerate(message.parts):
            if not isinstance(part, TextPart):
                where = f"messages[{message.index}].content[{position}]"
                raise bad_request(where, f"'{where}': this endpoint's container takes text only")


def _max_tokens(request: ChatRequest, target: EndpointTarget) -> int | None:
    if request.max_tokens is not None and target.max_total_tokens and request.max_tokens >= target.max_total_tokens:
        name = request.max_tokens_param
        raise bad_request(
            name,
            f"'{name}' is {request.max_tokens}; this endpoint serves {target.max_total_tokens} tokens in all, "
            "prompt included",
        )
    return request.max_tokens


def _default_max_tokens(target: EndpointTarget) -> int:
    """The answer length asked of a container whose own default is short, within half the sequence length."""
    if target.max_total_tokens:
        return max(1, min(DEFAULT_MAX_NEW_TOKENS, target.max_total_tokens // 2))
    return DEFAULT_MAX_NEW_TOKENS


def render_prompt(messages: tuple[Message, ...]) -> str:
    """A plain transcript for base text-generation models, ending where the assistant should continue."""
    lines = [m.text if m.role == "system" else f"{m.role.capitalize()}: {m.text}" for m in messages]
    return "\n\n".join([*lines, "Assistant:"])
