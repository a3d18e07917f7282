"""POST /v1/embeddings over Bedrock embedding models, with the official client and over plain HTTP."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import openai
import pytest

from tests.lambdas.api_router.conftest import Http
from tests.lambdas.api_router.fake_aws import FakeAws


def titan(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Titan Text Embeddings V2: one text per call; the vector encodes the text's length, to check the order."""
    size = body["dimensions"]
    vector = [float(len(body["inputText"]))] + [0.5] * (size - 1)
    return {"embedding": vector, "inputTextTokenCount": len(body["inputText"].split())}, {}


def cohere(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cohere Embed v4: up to 96 texts per call; tokens only in Bedrock's header."""
    size = body["output_dimension"]
    rows = [[float(len(text))] + [0.25] * (size - 1) for text in body["texts"]]
    tokens = sum(len(text.split()) for text in body["texts"])
    return {"id": "x", "embeddings": {"float": rows}, "texts": body["texts"]}, {
        "x-amzn-bedrock-input-token-count": str(tokens)
    }


def post(http: Http, body: dict[str, Any]) -> Any:
    return http.post("/v1/embeddings", data=json.dumps(body), headers={"Content-Type": "application/json"})


def sent_bodies(fake_aws: FakeAws) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in fake_aws.requests["InvokeModel"]]


def test_titan_embeds_each_text_in_order(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", titan)
    texts = ["a", "bb bb", "ccc ccc ccc", "dddd"]
    result = openai_client.embeddings.create(model="titan-embed", input=texts)
    assert [item.index for item in result.data] == [0, 1, 2, 3]
    assert [item.embedding[0] for item in result.data] == [1.0, 5.0, 11.0, 4.0]
    assert len(result.data[0].embedding) == 1024
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (7, 7)
    assert result.model == "titan-embed"
    bodies = sorted(sent_bodies(fake_aws), key=lambda body: body["inputText"])
    assert bodies[0] == {"inputText": "a", "dimensions": 1024, "normalize": True}
    assert all(r.url.endswith("/model/amazon.titan-embed-text-v2%3A0/invoke") for r in fake_aws.requests["InvokeModel"])


def test_base64_is_openais_little_endian_float32(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", titan)
    raw = openai_client.embeddings.with_raw_response.create(
        model="titan-embed", input="four", dimensions=256, encoding_format="base64"
    )
    encoded = raw.http_response.json()["data"][0]["embedding"]
    assert struct.unpack("<256f", base64.b64decode(encoded))[:2] == (4.0, 0.5)
    # the client asks for base64 itself when no format is given, and decodes it as it decodes OpenAI's
    result = openai_client.embeddings.create(model="titan-embed", input="four", dimensions=256)
    assert result.data[0].embedding[:2] == [4.0, 0.5]
    assert json.loads(fake_aws.requests["InvokeModel"][-1].body)["dimensions"] == 256


def test_cohere_batches_96_texts_a_call_with_its_own_parameters(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    fake_aws.respond("InvokeModel", cohere)
    texts = [f"text {i}" + "x" * (i % 7) for i in range(200)]
    result = openai_client.embeddings.create(
        model="cohere-embed", input=texts, dimensions=512, extra_body={"input_type": "search_query"}
    )
    assert [item.embedding[0] for item in result.data] == [float(len(text)) for text in texts]
    assert len(result.data[0].embedding) == 512
    assert result.usage.prompt_tokens == 400  # Bedrock's counts, summed over the three calls
    bodies = sent_bodies(fake_aws)
    assert sorted(len(body["texts"]) for body in bodies) == [8, 96, 96]
    assert {(b["input_type"], b["truncate"], b["output_dimension"], tuple(b["embedding_types"])) for b in bodies} == {
        ("search_query", "NONE", 512, ("float",))
    }


def test_a_cohere_document_is_a_search_document_by_default(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", cohere)
    assert post(http, {"model": "cohere-embed", "input": "doc"}).status_code == 200
    assert sent_bodies(fake_aws)[0]["input_type"] == "search_document"


def test_usage_is_zero_when_bedrock_counts_nothing(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", lambda body: (cohere(body)[0], {}))
    assert post(http, {"model": "cohere-embed", "input": "doc"}).json()["usage"] == {
        "prompt_tokens": 0,
        "total_tokens": 0,
    }


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"model": "titan-embed", "input": [1, 2, 3]}, "input", "token arrays"),
        ({"model": "titan-embed", "input": [[1, 2]]}, "input", "token arrays"),
        ({"model": "titan-embed", "input": []}, "input", "non-empty array"),
        ({"model": "titan-embed", "input": ["a", " "]}, "input[1]", "empty"),
        ({"model": "titan-embed", "input": ["a"] * 2049}, "input", "at most 2048"),
        ({"model": "titan-embed", "input": "x" * 50_001}, "input[0]", "up to 50,000"),
        ({"model": "titan-embed", "input": "a", "dimensions": 1536}, "dimensions", "256, 512"),
        ({"model": "titan-embed", "input": "a", "dimensions": "512"}, "dimensions", "integer"),
        ({"model": "titan-embed", "input": "a", "input_type": "search_query"}, "input_type", "Cohere"),
        ({"model": "cohere-embed", "input": "a", "input_type": "query"}, "input_type", "search_document"),
        ({"model": "titan-embed", "input": "a", "encoding_format": "int8"}, "encoding_format", "float or base64"),
        ({"model": "titan-embed", "input": "a", "normalize": False}, "normalize", "not a parameter"),
        ({"model": "nova-lite", "input": "a"}, "model", "chat model"),
        ({"input": "a"}, "model", "required"),
    ],
)
def test_what_a_model_cannot_take_is_a_400_naming_it(
    http: Http, fake_aws: FakeAws, body: dict[str, Any], param: str, says: str
) -> None:
    response = post(http, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert says in error["message"]
    assert fake_aws.requests["InvokeModel"] == []


def test_an_unknown_embedding_model_is_a_404(http: Http) -> None:
    response = post(http, {"model": "text-embedding-3-small", "input": "a"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_an_embedding_model_on_the_chat_route_is_a_400(http: Http) -> None:
    body = {"model": "titan-embed", "messages": [{"role": "user", "content": "x"}]}
    response = http.post("/v1/chat/completions", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "use POST /v1/embeddings" in response.json()["error"]["message"]


def test_a_text_too_long_for_the_model_is_a_400_not_a_cut(http: Http, fake_aws: FakeAws) -> None:
    message = "Input is too long for requested model."
    fake_aws.error("InvokeModel", "ValidationException", message)
    response = post(http, {"model": "cohere-embed", "input": "long"})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_a_malformed_answer_is_a_502(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.json("InvokeModel", {"embedding": "not a vector"})
    response = post(http, {"model": "titan-embed", "input": "a"})
    assert response.status_code == 502
