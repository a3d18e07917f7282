"""Bedrock embedding models through InvokeModel, in each model family's own request and response format.

- Amazon Titan Text Embeddings V2 (``titan-v2``, ``amazon.titan-embed-text-v2:0``): one text per call,
  ``{"inputText", "dimensions": 256 | 512 | 1024, "normalize"}`` -> ``{"embedding", "inputTextTokenCount"}``;
  up to 50,000 characters (8,192 tokens) a text (Bedrock user guide, "Amazon Titan Embeddings Text").
- Cohere Embed v3 (``cohere-v3``, english/multilingual): up to 96 texts a call, ``input_type`` required,
  ``truncate``, ``embedding_types``; 1024 dimensions (user guide, "Cohere Embed v3").
- Cohere Embed v4 (``cohere-v4``, ``cohere.embed-v4:0``): likewise, ``truncate`` NONE/LEFT/RIGHT and
  ``output_dimension`` 256 | 512 | 1024 | 1536 (user guide, "Cohere Embed v4"). With ``embedding_types`` the
  answer's ``embeddings`` is keyed by type; without, a list: both are read.

``truncate`` is ``NONE``: a text too long for the model is refused (as OpenAI's API refuses it), never cut.
Usage is the sum of the input tokens of every call (Titan's ``inputTextTokenCount``, else Bedrock's count).
The calls of one request run a few at a time (botocore clients are thread-safe).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lambdas.api_router.backends.clients import client
from lambdas.api_router.errors import bad_request, model_failed
from lambdas.api_router.settings import BedrockEmbeddingTarget

DIMENSIONS = {"titan-v2": (1024, 512, 256), "cohere-v3": (1024,), "cohere-v4": (1536, 1024, 512, 256)}
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
TITAN_MAX_CHARACTERS = 50_000
COHERE_BATCH = 96
_PARALLEL_CALLS = 8


@dataclass(frozen=True)
class Embeddings:
    """One vector per input, in order, and the input tokens counted (None where the model gives no count)."""

    vectors: tuple[tuple[float, ...], ...]
    prompt_tokens: int | None


def check(
    inputs: Sequence[str], target: BedrockEmbeddingTarget, *, dimensions: int | None, input_type: str | None
) -> None:
    """Refuse (400, naming the parameter) what the model family cannot take, before any call."""
    allowed = DIMENSIONS[target.family]
    if dimensions is not None and dimensions not in allowed:
        raise bad_request(
            "dimensions",
            f"'dimensions' must be one of {', '.join(map(str, sorted(allowed)))} for this model; got {dimensions}",
        )
    if target.family == "titan-v2":
        if input_type is not None:
            raise bad_request("input_type", "'input_type' applies to Cohere embedding models only")
        for index, text in enumerate(inputs):
            if len(text) > TITAN_MAX_CHARACTERS:
                raise bad_request(
                    f"input[{index}]", f"'input[{index}]' has {len(text)} characters; this model takes up to 50,000"
                )
    elif input_type is not None and input_type not in COHERE_INPUT_TYPES:
        raise bad_request("input_type", f"'input_type' must be one of {', '.join(COHERE_INPUT_TYPES)}")


def embed(
    inputs: Sequence[str], target: BedrockEmbeddingTarget, *, dimensions: int | None, input_type: str | None
) -> Embeddings:
    """The embeddings of ``inputs`` (validated with ``check``); raises botocore errors, or ``ApiError`` (502)."""
    check(inputs, target, dimensions=dimensions, input_type=input_type)
    if target.family == "titan-v2":
        calls = [
            {"inputText": text, "dimensions": dimensions or DIMENSIONS["titan-v2"][0], "normalize": True}
            for text in inputs
        ]
    else:
        calls = []
        for start in range(0, len(inputs), COHERE_BATCH):
            body: dict[str, Any] = {
                "texts": list(inputs[start : start + COHERE_BATCH]),
                "input_type": input_type or "search_document",
                "truncate": "NONE",
                "embedding_types": ["float"],
            }
            if target.family == "cohere-v4":
                body["output_dimension"] = dimensions or DIMENSIONS["cohere-v4"][0]
            calls.append(body)
    with ThreadPoolExecutor(max_workers=min(_PARALLEL_CALLS, len(calls))) as pool:
        answers = list(pool.map(lambda body: _invoke(target.model, body), calls))
    vectors: list[tuple[float, ...]] = []
    counts: list[int | None] = []
    for answer, counted in answers:
        if target.family == "titan-v2":
            vectors.append(_vector(answer.get("embedding")))
            count = answer.get("inputTextTokenCount")
            counts.append(count if isinstance(count, int) and not isinstance(count, bool) else counted)
        else:
            found = answer.get("embeddings")
            rows = found.get("float") if isinstance(found, dict) else found
            if not isinstance(rows, list):
                raise model_failed("The embedding model's answer holds no embeddings")
            vectors.extend(_vector(row) for row in rows)
            counts.append(counted)
    if len(vectors) != len(inputs):
        raise model_failed("The embedding model answered with another number of embeddings than inputs")
    tokens = None if any(count is None for count in counts) else sum(count for count in counts if count is not None)
    return Embeddings(tuple(vectors), tokens)


def _invoke(model: str, body: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The model's answer, and the input tokens Bedrock counted for the call: the ``X-Amzn-Bedrock-Input-Token-Count``
    header Bedrock sets on an InvokeModel answer (the body of a Cohere answer counts none), None without it."""
    response = client("bedrock-runtime").invoke_model(
        modelId=model, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    try:
        answer = json.loads(response["body"].read())
    except ValueError:
        raise model_failed("The embedding model answered with something that is not JSON") from None
    if not isinstance(answer, dict):
        raise model_failed("The embedding model's answer is not a JSON object")
    header = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amzn-bedrock-input-token-count")
    return answer, int(header) if isinstance(header, str) and header.isdigit() else None


def _vector(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise model_failed("The embedding model's answer holds an embedding that is not a list of numbers")
    return tuple(float(x) for x in value)
