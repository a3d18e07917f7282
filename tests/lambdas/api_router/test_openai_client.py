"""The official ``openai`` client against the router over HTTP, as an application uses it."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from genai_kit.openai_sigv4 import sigv4_openai_client
from tests.lambdas.api_router.conftest import API_REQUEST_ID, MODELS
from tests.lambdas.api_router.fake_aws import FakeAws, event

CONVERSE_OK = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello from Bedrock"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9},
    "metrics": {"latencyMs": 50},
}
ENDPOINT_OK = {
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello from Inferentia2"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10},
}
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


def test_client_lists_and_retrieves_models(openai_client: openai.OpenAI) -> None:
    assert [model.id for model in openai_client.models.list()] == list(MODELS)
    assert openai_client.models.retrieve("nova-lite").id == "nova-lite"
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("gpt-4")


def test_client_chats_with_bedrock(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.json("Converse", CONVERSE_OK)
    completion = openai_client.chat.completions.create(model="nova-lite", messages=HI)
    assert completion.choices[0].message.content == "Hello from Bedrock"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 9


def test_client_chats_with_an_endpoint(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.json("InvokeEndpoint", ENDPOINT_OK)
    completion = openai_client.chat.completions.create(model="tinyllama", messages=HI)
    assert completion.choices[0].message.content == "Hello from Inferentia2"


@pytest.mark.parametrize("model", ["nova-lite", "tinyllama"])
def test_client_streams_from_both_backends(openai_client: openai.OpenAI, fake_aws: FakeAws, model: str) -> None:
    if model == "nova-lite":
        fake_aws.stream(
            "ConverseStream",
            event("messageStart", {"role": "assistant"}),
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello from "}}),
            event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Bedrock"}}),
            event("messageStop", {"stopReason": "max_tokens"}),
            event("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}, "metrics": {}}),
        )
    else:
        chunks = [{"choices": [{"index": 0, "delta": {"content": t}}]} for t in ("Hello from ", "Inferentia2")]
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
        body = "".join(f"data:{json.dumps(c)}\n\n" for c in chunks) + "data:[DONE]\n\n"
        fake_aws.stream("InvokeEndpointWithResponseStream", event("PayloadPart", body.encode()))
    stream = openai_client.chat.completions.create(model=model, messages=HI, stream=True)
    chunks_received = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks_received if chunk.choices)
    assert text == ("Hello from Bedrock" if model == "nova-lite" else "Hello from Inferentia2")
    assert chunks_received[-1].choices[0].finish_reason == "length"


def test_client_raises_its_own_errors_for_ours(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        openai_client.chat.completions.create(model="gpt-4", messages=HI)
    assert not_found.value.code == "model_not_found"
    assert not_found.value.request_id == API_REQUEST_ID
    with pytest.raises(openai.BadRequestError) as bad:
        openai_client.chat.completions.create(model="nova-lite", messages=HI, temperature=5)
    assert bad.value.param == "temperature"
    fake_aws.error("Converse", "ThrottlingException", "slow down")
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="nova-lite", messages=HI)


def test_the_sigv4_helper_client_streams_through_the_router(base_url: str, fake_aws: FakeAws) -> None:
    fake_aws.stream(
        "ConverseStream",
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "signed"}}),
        event("messageStop", {"stopReason": "end_turn"}),
    )
    client = sigv4_openai_client(f"{base_url}/v1", region="us-east-1", max_retries=0, timeout=30)
    stream = client.chat.completions.create(model="nova-lite", messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "signed"
