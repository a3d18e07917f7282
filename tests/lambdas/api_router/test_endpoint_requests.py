"""The body each serving container gets, checked against the fields that container's source defines.

Chat fields: TGI 3.3 ``ChatRequest`` (text-generation-inference router/src/lib.rs#L829-L938), vLLM 0.10.2
``ChatCompletionRequest`` (vllm/entrypoints/openai/protocol.py, the fields the kit may send), LMI 0.29
``ChatProperties`` (djl-serving engines/python/setup/djl_python/chat_completions/chat_properties.py#L94-L174).
Generate parameters: TGI's ``GenerateParameters`` (router/src/lib.rs#L303-L434). See the research notes cited
in genai_kit/catalog/containers.py for the versions.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.lambdas.api_router.conftest import Http, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws

TGI_CHAT_FIELDS = {
    "model",
    "messages",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "stop",
    "stream",
    "seed",
    "temperature",
    "top_p",
    "tools",
    "tool_prompt",
    "tool_choice",
    "response_format",
    "stream_options",
}
VLLM_CHAT_FIELDS = {"model", "messages", "max_tokens", "temperature", "top_p", "stop", "stream", "stream_options"}
LMI_CHAT_FIELDS = {
    "model",
    "messages",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "n",
    "presence_penalty",
    "seed",
    "stop",
    "stream",
    "temperature",
    "top_p",
    "user",
    "ignore_eos",
}
TGI_GENERATE_PARAMETERS = {
    "best_of",
    "temperature",
    "repetition_penalty",
    "frequency_penalty",
    "top_k",
    "top_p",
    "typical_p",
    "do_sample",
    "max_new_tokens",
    "return_full_text",
    "stop",
    "truncate",
    "watermark",
    "details",
    "decoder_input_details",
    "seed",
    "top_n_tokens",
    "grammar",
    "adapter_id",
}
CHAT_FIELDS = {"tinyllama": TGI_CHAT_FIELDS, "qwen": VLLM_CHAT_FIELDS, "mistral": LMI_CHAT_FIELDS}
CHAT_ANSWER = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
HI = [{"role": "user", "content": "Hi"}]


def sent(http: Http, fake_aws: FakeAws, body: dict[str, Any], answer: Any = CHAT_ANSWER) -> dict[str, Any]:
    fake_aws.json("InvokeEndpoint", answer)
    response = post_chat(http, body)
    assert response.status_code == 200, response.text
    return fake_aws.sent("InvokeEndpoint")


@pytest.mark.parametrize("model", sorted(CHAT_FIELDS))
def test_a_chat_body_holds_only_fields_the_container_defines(http: Http, fake_aws: FakeAws, model: str) -> None:
    stop = {} if model == "mistral" else {"stop": ["END"]}
    body = sent(
        http, fake_aws, {"model": model, "messages": HI, "max_tokens": 20, "temperature": 0.5, "top_p": 0.9, **stop}
    )
    assert set(body) <= CHAT_FIELDS[model]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (20, 0.5, 0.9)
    assert body["messages"] == HI


@pytest.mark.parametrize("model", ["tinyllama", "qwen", "mistral"])
def test_top_p_of_1_filters_nothing_and_is_not_sent(http: Http, fake_aws: FakeAws, model: str) -> None:
    # TGI refuses top_p 1.0 ("`top_p` must be > 0.0 and < 1.0", router/src/validation.rs#L255-L263)
    assert "top_p" not in sent(http, fake_aws, {"model": model, "messages": HI, "top_p": 1})


def test_lmi_gets_a_real_answer_length_and_no_hidden_repetition_penalty(http: Http, fake_aws: FakeAws) -> None:
    body = sent(http, fake_aws, {"model": "mistral", "messages": HI})
    # LMI's own default is 30 new tokens; its presence_penalty p becomes repetition_penalty p + 2.0 on Neuron
    assert (body["max_tokens"], body["presence_penalty"]) == (512, -1.0)


def test_max_tokens_must_leave_room_for_the_prompt(http: Http) -> None:
    response = post_chat(http, {"model": "tinyllama", "messages": HI, "max_tokens": 2048})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "max_tokens"
    assert "serves 2048 tokens in all, prompt included" in error["message"]


GENERATE_ANSWER = [{"generated_text": "ok", "details": {"finish_reason": "eos_token", "generated_tokens": 1}}]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"temperature": 0}, {"do_sample": False}),
        ({"temperature": 0.7}, {"temperature": 0.7, "do_sample": True}),
        ({"top_p": 0.5, "stop": ["\n"]}, {"top_p": 0.5, "stop": ["\n"]}),
        ({"top_p": 1}, {}),
    ],
)
def test_generate_parameters_are_tgis(
    http: Http, fake_aws: FakeAws, extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    body = sent(http, fake_aws, {"model": "falcon", "messages": HI, "max_tokens": 8, **extra}, GENERATE_ANSWER)
    assert set(body) == {"inputs", "parameters"}
    assert set(body["parameters"]) <= TGI_GENERATE_PARAMETERS
    assert body["parameters"] == {"max_new_tokens": 8, "details": True, "return_full_text": False, **expected}


@pytest.mark.parametrize(
    ("container_reason", "finish_reason"),
    [("eos_token", "stop"), ("stop_sequence", "stop"), ("length", "length"), (None, "stop")],
)
def test_container_finish_reasons_are_openais(
    http: Http, fake_aws: FakeAws, container_reason: str | None, finish_reason: str
) -> None:
    answer = [{"generated_text": "ok", "details": {"finish_reason": container_reason, "generated_tokens": 1}}]
    fake_aws.json("InvokeEndpoint", answer)
    response = post_chat(http, {"model": "falcon", "messages": HI})
    assert response.json()["choices"][0]["finish_reason"] == finish_reason


PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG....").decode()


@pytest.mark.parametrize("model", ["tinyllama", "qwen", "mistral", "falcon", "llama2-7b"])
@pytest.mark.parametrize(
    ("messages", "param"),
    [
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": PNG_URL}}],
                }
            ],
            "messages[0].content[1]",
        ),
        (
            [
                {"role": "user", "content": "x"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "t", "content": "r"},
            ],
            "messages[1]",
        ),
    ],
)
def test_what_a_container_cannot_read_is_refused_by_path(
    http: Http, fake_aws: FakeAws, model: str, messages: list[dict[str, Any]], param: str
) -> None:
    response = post_chat(http, {"model": model, "messages": messages})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert fake_aws.requests["InvokeEndpoint"] == []
