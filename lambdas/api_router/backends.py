"""Calls the model behind an alias: Bedrock's Converse API or a SageMaker endpoint, and maps their errors.

Clients come from a cached getter (created on first use, never at import), which tests reset.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from lambdas.api_router.chat_request import ChatRequest, Message
from lambdas.api_router.completion import Completion
from lambdas.api_router.errors import ApiError, bad_request, model_failed, throttled, timed_out
from lambdas.api_router.settings import BedrockTarget, EndpointTarget, settings

# Converse stop reasons -> OpenAI finish reasons.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_THROTTLING = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_RETRY_AFTER_SECONDS = 2


@cache
def client(service: str) -> Any:
    """One client per service and execution environment, with a read timeout below API Gateway's 29 s."""
    timeout = settings().model_timeout_seconds
    config = Config(read_timeout=timeout, connect_timeout=5, retries={"mode": "standard", "max_attempts": 2})
    return boto3.client(service, config=config)


def complete(request: ChatRequest, target: BedrockTarget | EndpointTarget) -> Completion:
    """Run the request on its target; raise ApiError with the status the client should see."""
    try:
        if isinstance(target, BedrockTarget):
            return _converse(request, target)
        return _invoke_endpoint(request, target)
    except (ReadTimeoutError, ConnectTimeoutError):
        raise timed_out() from None
    except ClientError as error:
        raise _client_error(error) from None


def _client_error(error: ClientError) -> ApiError:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code in _THROTTLING:
        return throttled(_RETRY_AFTER_SECONDS)
    if code == "ModelTimeoutException":
        return timed_out()
    if code == "ValidationException":
        # The model refused the request itself (e.g. too many input tokens): the client can fix it.
        return bad_request("messages", f"The model rejected the request: {message}")
    if code == "ModelError":
        original = error.response.get("OriginalStatusCode")
        if isinstance(original, int) and 400 <= original < 500:
            return bad_request("messages", f"The model rejected the request: {message}")
    return model_failed(f"The model failed to answer ({code or 'error'})")


def _converse(request: ChatRequest, target: BedrockTarget) -> Completion:
    config = settings()
    kwargs: dict[str, Any] = {"modelId": target.model, "messages": _converse_messages(request.messages)}
    system = [{"text": m.content} for m in request.messages if m.role == "system"]
    if system:
        kwargs["system"] = system
    inference = {
        key: value
        for key, value in (
            ("maxTokens", request.max_tokens),
            ("temperature", request.temperature),
            ("topP", request.top_p),
            ("stopSequences", list(request.stop) or None),
        )
        if value is not None
    }
    if inference:
        kwargs["inferenceConfig"] = inference
    if config.guardrail_id and config.guardrail_version:
        kwargs["guardrailConfig"] = {
            "guardrailIdentifier": config.guardrail_id,
            "guardrailVersion": config.guardrail_version,
        }
    response = client("bedrock-runtime").converse(**kwargs)
    content = response.get("output", {}).get("message", {}).get("content", [])
    usage = response.get("usage", {})
    return Completion(
        text="".join(part.get("text", "") for part in content),
        finish_reason=_FINISH_REASONS.get(response.get("stopReason", ""), "stop"),
        prompt_tokens=int(usage.get("inputTokens", 0)),
        completion_tokens=int(usage.get("outputTokens", 0)),
    )


def _converse_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Converse wants alternating user/assistant turns starting with a user turn: merge and pad accordingly."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": "(conversation continues)"}]})
    return turns


def _invoke_endpoint(request: ChatRequest, target: EndpointTarget) -> Completion:
    body = _endpoint_body(request, target)
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=target.endpoint, ContentType="application/json", Accept="application/json", Body=json.dumps(body)
    )
    raw = response["Body"].read()
    try:
        answer = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise model_failed("The model answered with something that is not JSON") from None
    return _parse_endpoint_answer(answer, target)


def _endpoint_body(request: ChatRequest, target: EndpointTarget) -> dict[str, Any]:
    if target.format == "messages":
        # TGI, vLLM and LMI (0.27+) accept OpenAI's chat schema and apply the model's own chat template.
        body: dict[str, Any] = {"messages": [{"role": m.role, "content": m.content} for m in request.messages]}
        for key, value in (
            ("max_tokens", request.max_tokens),
            ("temperature", request.temperature),
            ("top_p", request.top_p),
            ("stop", list(request.stop) or None),
        ):
            if value is not None:
                body[key] = value
        return body
    # Text-generation containers without a chat schema get one prompt and generation parameters.
    parameters: dict[str, Any] = {"max_new_tokens": request.max_tokens or 256, "details": True}
    if request.temperature:
        parameters.update(temperature=request.temperature, do_sample=True)
    if request.top_p is not None and 0 < request.top_p < 1:
        parameters["top_p"] = request.top_p
    if request.stop:
        parameters["stop"] = list(request.stop)
    return {"inputs": render_prompt(request.messages), "parameters": parameters}


def render_prompt(messages: tuple[Message, ...]) -> str:
    """A plain transcript for base text-generation models, ending where the assistant should continue."""
    lines = [m.content if m.role == "system" else f"{m.role.capitalize()}: {m.content}" for m in messages]
    return "\n\n".join([*lines, "Assistant:"])


def _parse_endpoint_answer(answer: Any, target: EndpointTarget) -> Completion:
    try:
        if target.format == "messages":
            choice = answer["choices"][0]
            usage = answer.get("usage") or {}
            return Completion(
                text=str(choice["message"].get("content") or ""),
                finish_reason=str(choice.get("finish_reason") or "stop"),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
            )
        generated = answer[0] if isinstance(answer, list) else answer
        details = generated.get("details") or {}
        return Completion(
            text=str(generated["generated_text"]),
            finish_reason="length" if details.get("finish_reason") == "length" else "stop",
            prompt_tokens=0,
            completion_tokens=int(details.get("generated_tokens", 0)),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise model_failed("The model's answer is not in the format its container should send") from None
