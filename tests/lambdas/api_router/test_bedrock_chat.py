"""Chat completions on Bedrock: what Converse is sent for each OpenAI feature, and what the client gets back.

Every request also passes the service-model check of the fake AWS (``fake_aws.invalid`` stays empty).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionNamedToolChoiceParam,
    ChatCompletionToolParam,
)
from pydantic import BaseModel

from lambdas.api_router.backends.bedrock import FINISH_REASONS
from lambdas.api_router.settings import settings
from tests.lambdas.api_router.conftest import Http, post_chat
from tests.lambdas.api_router.fake_aws import FakeAws, event

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
PDF_URL = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7 ...").decode()
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


def converse_answer(*content: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 80},
    }


def tool_use(tool_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": tool_id, "name": name, "input": arguments}}


def chat(http: Http, fake_aws: FakeAws, **body: Any) -> dict[str, Any]:
    """POST a chat request answered by a plain Converse answer; the Converse request it sent."""
    fake_aws.json("Converse", converse_answer({"text": "ok"}))
    response = post_chat(http, {"model": "nova-lite", "messages": HI, **body})
    assert response.status_code == 200, response.text
    return fake_aws.sent("Converse")


def refused(http: Http, body: dict[str, Any]) -> dict[str, Any]:
    response = post_chat(http, body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


# --- messages ---


def test_text_parts_stay_separate_blocks_and_developer_is_system(http: Http, fake_aws: FakeAws) -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
    ]
    sent = chat(http, fake_aws, messages=messages)
    assert sent["system"] == [{"text": "Be brief."}, {"text": "Answer in English."}]
    assert sent["messages"] == [{"role": "user", "content": [{"text": "first"}, {"text": "second"}]}]


def test_an_image_data_url_becomes_an_image_block(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.json("Converse", converse_answer({"text": "a tiny black square"}))
    completion = openai_client.chat.completions.create(
        model="nova-lite",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": PNG_URL}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "a tiny black square"
    (turn,) = fake_aws.sent("Converse")["messages"]
    assert turn["content"][1] == {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}


def test_a_file_becomes_a_named_document_block(http: Http, fake_aws: FakeAws) -> None:
    content = [
        {"type": "text", "text": "Summarise"},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "Q3 report (final).v2.pdf"}},
    ]
    sent = chat(http, fake_aws, messages=[{"role": "user", "content": content}])
    document = sent["messages"][0]["content"][1]["document"]
    # DocumentBlock.name allows letters, digits, single spaces, hyphens, parentheses and brackets
    assert (document["format"], document["name"]) == ("pdf", "Q3 report (final) v2")


@pytest.mark.parametrize(
    ("part", "param", "says"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            "messages[0].content[1].image_url.url",
            "the API does not fetch URLs",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png,raw"}},
            "messages[0].content[1].image_url.url",
            "base64 data URL",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
            "messages[0].content[1]",
            "png, jpeg, gif or webp",
        ),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,not base64!"}},
            "messages[0].content[1].image_url.url",
            "not valid base64",
        ),
        (
            {"type": "file", "file": {"file_id": "file-abc"}},
            "messages[0].content[1].file.file_id",
            "send the file inline",
        ),
        (
            {"type": "file", "file": {"file_data": "data:application/zip;base64,AAAA"}},
            "messages[0].content[1]",
            "pdf, csv, doc",
        ),
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "messages[0].content[1]", "audio"),
    ],
)
def test_parts_bedrock_cannot_take_are_refused_by_path(http: Http, part: dict[str, Any], param: str, says: str) -> None:
    body = {"model": "nova-lite", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]}
    error = refused(http, body)
    assert error["param"] == param
    assert says in error["message"]


def test_image_limits_are_converses(http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", str(8 * 1024 * 1024))
    settings.cache_clear()
    big = "data:image/png;base64," + base64.b64encode(b"\x00" * (4 * 1024 * 1024)).decode()
    one_big = [{"type": "image_url", "image_url": {"url": big}}]
    error = refused(http, {"model": "nova-lite", "messages": [{"role": "user", "content": one_big}]})
    assert error["param"] == "messages[0].content[0]"
    assert "up to 3.75 MB" in error["message"]
    images = [{"type": "image_url", "image_url": {"url": PNG_URL}}] * 21
    error = refused(http, {"model": "nova-lite", "messages": [{"role": "user", "content": images}]})
    assert error["param"] == "messages[0].content[20]"
    assert "up to 20 images" in error["message"]


def test_history_is_normalised_without_inventing_text(http: Http, fake_aws: FakeAws) -> None:
    messages = [
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "  "}]},
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "three"},
        {"role": "system", "content": ""},
        {"role": "user", "content": "four"},
    ]
    sent = chat(http, fake_aws, messages=messages)
    assert "system" not in sent
    assert sent["messages"] == [
        {"role": "user", "content": [{"text": "one"}, {"text": "two"}]},
        {"role": "assistant", "content": [{"text": "three"}]},
        {"role": "user", "content": [{"text": "four"}]},
    ]


@pytest.mark.parametrize(
    ("messages", "param", "says"),
    [
        ([{"role": "user", "content": "  "}], "messages[0].content", "refuses blank text"),
        (
            [
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "x"},
            ],
            "messages[1]",
            "start with a user message",
        ),
        (
            [{"role": "user", "content": [{"type": "file", "file": {"file_data": PDF_URL}}]}],
            "messages[0].content",
            "a file needs a text part",
        ),
        ([{"role": "function", "content": "x", "name": "f"}], "messages[0].role", "use 'tool'"),
        ([{"role": "assistant"}], "messages[0].content", "required unless the message has tool_calls"),
    ],
)
def test_histories_converse_would_refuse_are_refused_by_the_clients_index(
    http: Http, messages: list[dict[str, Any]], param: str, says: str
) -> None:
    error = refused(http, {"model": "nova-lite", "messages": messages})
    assert error["param"] == param
    assert says in error["message"]


# --- tools ---


def test_an_agent_loop_calls_a_tool_and_answers_with_its_result(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    # GIVEN a model that calls the tool, then answers from its result
    fake_aws.json("Converse", converse_answer(tool_use("tooluse_1", "get_weather", {"city": "Paris"}), stop="tool_use"))
    fake_aws.json("Converse", converse_answer({"text": "It is sunny in Paris."}))
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
    # WHEN the client runs the loop
    first = openai_client.chat.completions.create(model="nova-lite", messages=messages, tools=[WEATHER])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "tooluse_1",
        "get_weather",
        {"city": "Paris"},
    )
    messages.append(choice.message.model_dump(exclude_none=True))  # type: ignore[arg-type]
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'})
    final = openai_client.chat.completions.create(model="nova-lite", messages=messages, tools=[WEATHER])
    # THEN the answer uses the result, and Converse saw the tool's spec, the call and the result
    assert final.choices[0].message.content == "It is sunny in Paris."
    assert final.choices[0].finish_reason == "stop"
    first_sent = fake_aws.sent("Converse", 0)
    assert first_sent["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            }
        ]
    }
    assert fake_aws.sent("Converse", 1)["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [tool_use("tooluse_1", "get_weather", {"city": "Paris"})]},
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": '{"sky": "sunny"}'}]}}],
        },
    ]


def test_tool_calls_stream_as_openai_streams_them(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.stream(
        "ConverseStream",
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me check."}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"ci'}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": 'ty": "Paris"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 1}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "t2", "name": "get_weather"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"city": "Rome"}'}}}),
        event("contentBlockStop", {"contentBlockIndex": 2}),
        event("messageStop", {"stopReason": "tool_use"}),
        event("metadata", {"usage": {"inputTokens": 9, "outputTokens": 20, "totalTokens": 29}, "metrics": {}}),
    )
    with openai_client.chat.completions.stream(
        model="nova-lite", messages=[{"role": "user", "content": "Paris and Rome?"}], tools=[WEATHER]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []]
    assert calls == [("t1", "get_weather", {"city": "Paris"}), ("t2", "get_weather", {"city": "Rome"})]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
        (None, None),
    ],
)
def test_tool_choice_becomes_converses(http: Http, fake_aws: FakeAws, tool_choice: Any, expected: Any) -> None:
    sent = chat(http, fake_aws, tools=[WEATHER], tool_choice=tool_choice)
    assert sent["toolConfig"].get("toolChoice") == expected


def test_tool_choice_none_sends_no_tools(http: Http, fake_aws: FakeAws) -> None:
    assert "toolConfig" not in chat(http, fake_aws, tools=[WEATHER], tool_choice="none")


def test_strict_tools_are_strict_only_where_the_model_enforces_schemas(http: Http, fake_aws: FakeAws) -> None:
    strict = {"type": "function", "function": {**WEATHER["function"], "strict": True}}
    assert "strict" not in chat(http, fake_aws, tools=[strict])["toolConfig"]["tools"][0]["toolSpec"]
    sonnet = chat(http, fake_aws, model="sonnet", tools=[strict])
    assert sonnet["toolConfig"]["tools"][0]["toolSpec"]["strict"] is True


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"tools": [{"type": "function", "function": {"name": "get weather"}}]}, "tools[0].function.name", "1-64"),
        ({"tools": [WEATHER, WEATHER]}, "tools", "twice"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]", "function tool"),
        ({"tool_choice": "auto"}, "tool_choice", "only allowed when 'tools'"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "other"}}},
            "tool_choice",
            "not in 'tools'",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    {"role": "tool", "tool_call_id": "t1", "content": "r"},
                ]
            },
            "tools",
            "holds tool calls",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
                    },
                ],
                "tools": [WEATHER],
            },
            "messages[1].tool_calls[0].function.arguments",
            "JSON object",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "tool", "tool_call_id": "bad id!", "content": "r"},
                ],
                "tools": [WEATHER],
            },
            "messages[1].tool_call_id",
            "tool use id",
        ),
    ],
)
def test_tool_requests_converse_cannot_honour_are_refused(
    http: Http, body: dict[str, Any], param: str, says: str
) -> None:
    error = refused(http, {"model": "nova-lite", "messages": HI, **body})
    assert error["param"] == param
    assert says in error["message"]


def test_parallel_tool_calls_false_is_honoured_by_refusing_an_answer_that_breaks_it(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    # LangChain's with_structured_output(method="function_calling") forces one tool with parallel_tool_calls false
    fake_aws.json("Converse", converse_answer(tool_use("t1", "get_weather", {"city": "Paris"}), stop="tool_use"))
    forced: ChatCompletionNamedToolChoiceParam = {"type": "function", "function": {"name": "get_weather"}}
    one = openai_client.chat.completions.create(
        model="nova-lite", messages=HI, tools=[WEATHER], tool_choice=forced, parallel_tool_calls=False
    )
    assert len(one.choices[0].message.tool_calls or []) == 1
    two = [tool_use("t1", "get_weather", {"city": "Paris"}), tool_use("t2", "get_weather", {"city": "Rome"})]
    fake_aws.json("Converse", converse_answer(*two, stop="tool_use"))
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client.chat.completions.create(
            model="nova-lite", messages=HI, tools=[WEATHER], parallel_tool_calls=False
        )
    assert caught.value.status_code == 502
    assert "called 2 tools at once, which parallel_tool_calls false forbids" in str(caught.value)


def test_a_second_streamed_tool_call_with_parallel_tool_calls_false_ends_the_stream_with_an_error(
    http: Http, fake_aws: FakeAws
) -> None:
    fake_aws.stream(
        "ConverseStream",
        event("messageStart", {"role": "assistant"}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "a", "name": "get_weather"}}},
        ),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "b", "name": "get_weather"}}},
        ),
        event("messageStop", {"stopReason": "tool_use"}),
    )
    body = {"model": "nova-lite", "messages": HI, "tools": [WEATHER], "parallel_tool_calls": False, "stream": True}
    events = [line[6:] for line in post_chat(http, body).text.splitlines() if line.startswith("data: ")]
    assert json.loads(events[-1])["error"]["code"] == "model_error"
    assert "[DONE]" not in events


# --- structured output ---


class Person(BaseModel):
    name: str
    age: int


def test_parse_returns_the_model_on_a_model_without_native_structured_output(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    # Nova constrains a forced tool call to its input schema: the answer is that call's input.
    fake_aws.json("Converse", converse_answer(tool_use("t1", "Person", {"name": "Ada", "age": 36}), stop="tool_use"))
    completion = openai_client.chat.completions.parse(model="nova-lite", messages=HI, response_format=Person)
    message = completion.choices[0].message
    assert message.parsed == Person(name="Ada", age=36)
    assert message.tool_calls in (None, [])
    assert completion.choices[0].finish_reason == "stop"
    sent = fake_aws.sent("Converse")
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "Person"}}
    (tool,) = sent["toolConfig"]["tools"]
    assert tool["toolSpec"]["inputSchema"]["json"]["required"] == ["name", "age"]
    assert "outputConfig" not in sent


def test_parse_returns_the_model_on_a_model_with_native_structured_output(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    fake_aws.json("Converse", converse_answer({"text": '{"name": "Ada", "age": 36}'}))
    completion = openai_client.chat.completions.parse(model="sonnet", messages=HI, response_format=Person)
    assert completion.choices[0].message.parsed == Person(name="Ada", age=36)
    sent = fake_aws.sent("Converse")
    text_format = sent["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    definition = text_format["structure"]["jsonSchema"]
    assert definition["name"] == "Person"
    assert json.loads(definition["schema"]) == Person.model_json_schema() | {"additionalProperties": False}
    assert "toolConfig" not in sent


def test_a_structured_stream_carries_the_json_as_content(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.stream(
        "ConverseStream",
        event("messageStart", {"role": "assistant"}),
        event(
            "contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t", "name": "Person"}}}
        ),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"name": "Ada",'}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": ' "age": 36}'}}}),
        event("messageStop", {"stopReason": "tool_use"}),
    )
    with openai_client.chat.completions.stream(model="nova-lite", messages=HI, response_format=Person) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed == Person(name="Ada", age=36)
    assert final.choices[0].finish_reason == "stop"


def test_json_object_is_a_forced_tool_taking_any_object(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.json("Converse", converse_answer(tool_use("t", "json_object", {"a": 1}), stop="tool_use"))
    response = post_chat(http, {"model": "sonnet", "messages": HI, "response_format": {"type": "json_object"}})
    assert json.loads(response.json()["choices"][0]["message"]["content"]) == {"a": 1}
    tool_config = fake_aws.sent("Converse")["toolConfig"]
    assert tool_config["tools"][0]["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}
    assert tool_config["toolChoice"] == {"tool": {"name": "json_object"}}


def test_a_forced_answer_tool_cannot_be_combined_with_tools(http: Http) -> None:
    body = {"model": "nova-lite", "messages": HI, "tools": [WEATHER], "response_format": {"type": "json_object"}}
    assert refused(http, body)["param"] == "response_format"


# --- reasoning ---


def test_reasoning_effort_is_converses_effort_and_reasoning_comes_back(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.json(
        "Converse",
        converse_answer({"reasoningContent": {"reasoningText": {"text": "2+2 is 4"}}}, {"text": "4"}),
    )
    response = post_chat(http, {"model": "sonnet", "messages": HI, "reasoning_effort": "high"})
    message = response.json()["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("4", "2+2 is 4")
    assert fake_aws.sent("Converse")["outputConfig"] == {"effort": "high"}


def test_nova_2_reasons_through_its_reasoning_config(http: Http, fake_aws: FakeAws) -> None:
    sent = chat(http, fake_aws, model="nova-2-lite", reasoning_effort="medium")
    assert sent["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "medium"}
    }
    assert chat(http, fake_aws, model="nova-2-lite", reasoning_effort="none")["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "disabled"}
    }


def test_reasoning_streams_as_reasoning_content(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.stream(
        "ConverseStream",
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "thinking"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig"}}}),
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "done"}}),
        event("messageStop", {"stopReason": "end_turn"}),
    )
    response = post_chat(http, {"model": "sonnet", "messages": HI, "stream": True, "reasoning_effort": "low"})
    deltas = [
        json.loads(line[6:])["choices"][0]["delta"] for line in response.text.splitlines() if line.startswith("data: {")
    ]
    assert {"reasoning_content": "thinking"} in deltas
    assert {"content": "done"} in deltas


@pytest.mark.parametrize(
    ("model", "body", "param"),
    [
        ("nova-lite", {"reasoning_effort": "low"}, "reasoning_effort"),
        ("nova-2-lite", {"reasoning_effort": "xhigh"}, "reasoning_effort"),
        ("nova-2-lite", {"reasoning_effort": "high", "temperature": 0.5}, "temperature"),
        ("sonnet", {"reasoning_effort": "minimal"}, "reasoning_effort"),
        ("sonnet", {"reasoning_effort": "extreme"}, "reasoning_effort"),
    ],
)
def test_reasoning_a_model_cannot_do_is_refused(http: Http, model: str, body: dict[str, Any], param: str) -> None:
    assert refused(http, {"model": model, "messages": HI, **body})["param"] == param


# --- sampling and limits ---


def test_sampling_parameters_become_the_inference_config(http: Http, fake_aws: FakeAws) -> None:
    sent = chat(http, fake_aws, max_completion_tokens=100, temperature=0.2, top_p=0.9, stop=["END"])
    assert sent["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"temperature": 1.5}, "temperature", "from 0 to 1 for a Bedrock model"),
        ({"max_tokens": 5001}, "max_tokens", "at most 5000 tokens"),
        ({"max_completion_tokens": 5001}, "max_completion_tokens", "at most 5000 tokens"),
    ],
)
def test_values_the_model_refuses_are_refused_before_the_call(
    http: Http, body: dict[str, Any], param: str, says: str
) -> None:
    error = refused(http, {"model": "nova-lite", "messages": HI, **body})
    assert error["param"] == param
    assert says in error["message"]


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("The maximum tokens you requested exceeds the model limit of 4096", "messages"),
        ("Malformed input request: #/inferenceConfig/maxTokens: 0 is not greater or equal to 1", "max_tokens"),
        ("The model returned the following errors: temperature is not supported with this model", "temperature"),
        ("Invalid JSON schema in outputConfig.textFormat", "response_format"),
        ("The toolConfig field must be defined when using toolUse and toolResult content blocks.", "tools"),
    ],
)
def test_a_validation_exception_is_a_400_naming_the_parameter(
    http: Http, fake_aws: FakeAws, message: str, param: str
) -> None:
    fake_aws.error("Converse", "ValidationException", message)
    error = refused(http, {"model": "nova-lite", "messages": HI})
    assert error["param"] == param
    assert message in error["message"]


# --- stop reasons ---

STOP_REASONS = botocore.session.get_session().get_service_model("bedrock-runtime").shape_for("StopReason").enum


def test_every_stop_reason_of_the_service_model_is_mapped() -> None:
    assert sorted(FINISH_REASONS) == sorted(STOP_REASONS)


@pytest.mark.parametrize("stop_reason", STOP_REASONS)
def test_each_stop_reason_is_an_openai_finish_reason(http: Http, fake_aws: FakeAws, stop_reason: str) -> None:
    fake_aws.json("Converse", converse_answer({"text": "x"}, stop=stop_reason))
    finish = post_chat(http, {"model": "nova-lite", "messages": HI}).json()["choices"][0]["finish_reason"]
    assert finish == FINISH_REASONS[stop_reason]
    assert finish in ("stop", "length", "tool_calls", "content_filter")


def test_the_openai_client_reads_reasoning_content(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.json(
        "Converse", converse_answer({"reasoningContent": {"reasoningText": {"text": "because"}}}, {"text": "yes"})
    )
    completion = openai_client.chat.completions.create(model="sonnet", messages=HI, reasoning_effort="medium")
    message = completion.choices[0].message
    assert (message.content, (message.model_extra or {})["reasoning_content"]) == ("yes", "because")
