"""Inferentia2 endpoints: the body each container family takes, and its answer, whole or streamed in its framing.

Stream samples follow each container's source (see genai_kit/catalog/containers.py): TGI writes server-sent
events with no space after ``data:`` (chat ends with ``data:[DONE]``; generate has no [DONE]); vLLM writes
``data: `` events and ``[DONE]``; LMI 0.27+ writes JSON lines without [DONE].
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.lambdas.api_router.conftest import Http, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws, event, exception

HELLO: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is Inferentia2?"},
]
CHAT_ANSWER = {
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "A chip."}, "finish_reason": "eos_token"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
}


def _parts(*chunks: str | bytes) -> list[bytes]:
    return [event("PayloadPart", c.encode() if isinstance(c, str) else c) for c in chunks]


def _chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> str:
    delta = {"role": "assistant", **({"content": content} if content is not None else {})}
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "id": "", "choices": [choice], **extra}, ensure_ascii=False)


def _text(stream: Any) -> tuple[str, str | None, Any]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = next((c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason), None)
    usage = next((c.usage for c in chunks if c.usage), None)
    return text, finish, usage


def test_chat_schema_container_gets_openai_messages(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.json("InvokeEndpoint", CHAT_ANSWER)
    completion = openai_client.chat.completions.create(
        model="tinyllama", messages=HELLO, max_tokens=32, temperature=0.5, top_p=0.9, stop=["\n\n"]
    )
    assert fake_aws.sent("InvokeEndpoint") == {
        "messages": HELLO,
        "max_tokens": 32,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["\n\n"],
    }
    assert fake_aws.requests["InvokeEndpoint"][0].url.endswith("/endpoints/genai-kit-dev-tinyllama/invocations")
    assert completion.choices[0].message.content == "A chip."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 15


@pytest.mark.parametrize(
    "answer",
    [
        [{"generated_text": " A chip.", "details": {"finish_reason": "length", "generated_tokens": 3}}],
        {"generated_text": " A chip.", "details": {"finish_reason": "length", "generated_tokens": 3}},
    ],
    ids=["tgi-list", "lmi-object"],
)
def test_generate_schema_container_gets_one_prompt(
    openai_client: openai.OpenAI, fake_aws: FakeAws, answer: Any
) -> None:
    fake_aws.json("InvokeEndpoint", answer)
    completion = openai_client.chat.completions.create(model="llama2-7b", messages=HELLO, max_tokens=16)
    assert fake_aws.sent("InvokeEndpoint") == {
        "inputs": "Be brief.\n\nUser: What is Inferentia2?\n\nAssistant:",
        "parameters": {"max_new_tokens": 16, "details": True, "return_full_text": False},
    }
    assert completion.choices[0].message.content == " A chip."
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


def test_tgi_chat_stream_with_a_separate_usage_chunk(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
    fake_aws.stream(
        "InvokeEndpointWithResponseStream",
        *_parts(
            f"data:{_chunk('A')}\n\n",
            f"data:{_chunk(' chip')}\n\ndata:{_chunk('', 'stop_sequence')}\n\n",
            "data:" + json.dumps({"object": "chat.completion.chunk", "choices": [], "usage": usage}) + "\n\n",
            "data:[DONE]\n\n",
        ),
    )
    stream = openai_client.chat.completions.create(
        model="tinyllama", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    text, finish, got_usage = _text(stream)
    assert (text, finish) == ("A chip", "stop")
    assert got_usage.total_tokens == 14
    sent = fake_aws.sent("InvokeEndpointWithResponseStream")
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


def test_tgi_3_0_chat_stream_with_usage_in_the_final_chunk(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}
    fake_aws.stream(
        "InvokeEndpointWithResponseStream",
        *_parts(f"data:{_chunk('Hi', 'length', usage=usage)}\n\ndata:[DONE]\n\n"),
    )
    stream = openai_client.chat.completions.create(
        model="tinyllama", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    assert _text(stream) == ("Hi", "length", openai.types.CompletionUsage(**usage))


def test_vllm_stream_split_anywhere_even_inside_a_character(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    # "Grüße" in UTF-8, cut between the two bytes of "ü" and inside the "data: " prefix
    raw = f"data: {_chunk('Grüße')}\n\ndata: {_chunk(None, 'stop')}\n\ndata: [DONE]\n\n".encode()
    cut = raw.index("ü".encode()) + 1
    fake_aws.stream("InvokeEndpointWithResponseStream", *_parts(raw[:3], raw[3:cut], raw[cut:]))
    stream = openai_client.chat.completions.create(model="tinyllama", messages=HELLO, stream=True)
    assert _text(stream)[:2] == ("Grüße", "stop")


def test_lmi_chat_stream_is_json_lines_without_done(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.stream(
        "InvokeEndpointWithResponseStream",
        *_parts(_chunk("A") + "\n", _chunk(" chip.") + "\n" + _chunk(None, "eos_token") + "\n"),
    )
    stream = openai_client.chat.completions.create(model="mistral", messages=HELLO, stream=True)
    assert _text(stream)[:2] == ("A chip.", "stop")
    assert "stream_options" not in fake_aws.sent("InvokeEndpointWithResponseStream")


def test_tgi_generate_stream_skips_special_tokens(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    def token(text: str, special: bool = False, details: Any = None) -> str:
        body = {"index": 1, "token": {"id": 7, "text": text, "logprob": 0.0, "special": special}}
        return "data:" + json.dumps({**body, "generated_text": None, "details": details}) + "\n\n"

    fake_aws.stream(
        "InvokeEndpointWithResponseStream",
        *_parts(
            token(" A"),
            token(" chip"),
            token("</s>", special=True, details={"finish_reason": "eos_token", "generated_tokens": 3}),
        ),
    )
    stream = openai_client.chat.completions.create(model="falcon", messages=HELLO, stream=True)
    text, finish, _ = _text(stream)
    assert (text, finish) == (" A chip", "stop")
    sent = fake_aws.sent("InvokeEndpointWithResponseStream")
    assert sent["stream"] is True
    assert sent["parameters"]["details"] is True


def test_lmi_generate_stream_skips_empty_prefill_tokens(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    lines = [
        {"token": {"id": 5, "text": " A", "log_prob": -0.1}},
        {"token": {"id": -1, "text": "", "log_prob": None}},
        {
            "token": {"id": 6, "text": " chip", "log_prob": -0.2},
            "generated_text": " A chip",
            "details": {"finish_reason": "length", "generated_tokens": 3, "inputs": "x"},
        },
    ]
    fake_aws.stream("InvokeEndpointWithResponseStream", *_parts("\n".join(json.dumps(x) for x in lines) + "\n"))
    stream = openai_client.chat.completions.create(model="falcon", messages=HELLO, stream=True)
    assert _text(stream)[:2] == (" A chip", "length")


@pytest.mark.parametrize(
    ("error_line", "status", "message"),
    [
        (
            'data:{"error":"Input validation error: `top_p` must be > 0.0 and < 1.0","error_type":"validation"}\n\n',
            400,
            "top_p",
        ),
        (
            'data:{"error":{"message":"Input validation error: too long","http_status_code":422}}\n\ndata:[DONE]\n\n',
            400,
            "too long",
        ),
        ('{"code":424,"error":"Batch inference failed"}', 502, "Batch inference failed"),
        ('data:{"error":"Request failed during generation","error_type":"generation"}\n\n', 502, "during generation"),
    ],
    ids=["tgi-generate-validation", "tgi-chat-validation", "lmi-failure", "tgi-generation-failure"],
)
def test_container_error_before_the_first_token_keeps_its_meaning(
    http: Http, fake_aws: FakeAws, error_line: str, status: int, message: str
) -> None:
    fake_aws.stream("InvokeEndpointWithResponseStream", *_parts(error_line))
    response = post_chat(http, {"model": "tinyllama", "messages": HELLO, "stream": True})
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            exception("ModelStreamError", "The container stopped", message_member="Message", ErrorCode="424"),
            "The container stopped",
        ),
        (exception("InternalStreamFailure", "internal", message_member="Message"), "InternalStreamFailure"),
        (event("PayloadPart", b"not json\n"), "not JSON"),
        (event("PayloadPart", b"[1, 2]\n"), "not a JSON object"),
        (
            event("PayloadPart", b'{"choices": [{"delta": {"content": 3}}], "usage": {"prompt_tokens": "x"}}\n'),
            "not in the format",
        ),
    ],
)
def test_endpoint_failure_mid_stream_is_an_error_event(
    http: Http, fake_aws: FakeAws, failure: bytes, message: str
) -> None:
    fake_aws.stream("InvokeEndpointWithResponseStream", *_parts(f"data:{_chunk('A')}\n\n"), failure)
    response = post_chat(http, {"model": "tinyllama", "messages": HELLO, "stream": True})
    assert response.status_code == 200
    last = response.text.strip().split("\n\n")[-1].removeprefix("data: ")
    error = json.loads(last)["error"]
    assert error["code"] == "model_error"
    assert message in error["message"]


def test_unbounded_line_is_refused(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.stream("InvokeEndpointWithResponseStream", *_parts(f"data:{_chunk('A')}\n\n", b"x" * (1 << 20) + b"x"))
    response = post_chat(http, {"model": "tinyllama", "messages": HELLO, "stream": True})
    assert "longer than 1 MiB" in response.text


@pytest.mark.parametrize("answer", [b"<html>oops</html>", b'{"unexpected": true}'])
def test_answer_in_the_wrong_shape_is_a_502(http: Http, fake_aws: FakeAws, answer: bytes) -> None:
    from tests.lambdas.api_router.fake_aws import Answer, _Body  # noqa: PLC0415

    fake_aws.answers["InvokeEndpoint"].append(Answer(200, {"Content-Type": "application/json"}, _Body([answer])))
    response = post_chat(http, {"model": "tinyllama", "messages": HELLO})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "model_error"
