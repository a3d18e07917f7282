"""The embeddings route: OpenAI's ``POST /v1/embeddings`` over the Bedrock embedding models the stage configures.

Request: ``model`` (an embedding alias), ``input`` (a string, or an array of up to 2048 strings, OpenAI's
limit; token arrays are refused), ``dimensions``, ``encoding_format`` (``float``, or ``base64``: the vector's
little-endian float32 bytes, as OpenAI encodes it), ``user`` (ignored), and ``input_type`` for Cohere models
(``search_document`` by default, ``search_query`` for queries). Answer: OpenAI's ``list`` of ``embedding``
objects with usage (0 where Bedrock gave no count).
"""

from __future__ import annotations

import base64
import json
import struct
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lambdas.api_router.backends import embed
from lambdas.api_router.chat_request import parse_json_body
from lambdas.api_router.errors import bad_request
from lambdas.api_router.handling import model_call, read_body, route_target
from lambdas.api_router.observability import current_scope, logger
from lambdas.api_router.parameters import EMBEDDING_RULES
from lambdas.api_router.settings import BedrockEmbeddingTarget, settings

MAX_INPUTS = 2048


async def embeddings(http_request: Request) -> Response:
    """``POST /v1/embeddings``: OpenAI's list of embeddings, in the order of the inputs."""
    scope = current_scope()
    config = settings()
    data = parse_json_body(await read_body(http_request, config.max_body_bytes), max_body_bytes=config.max_body_bytes)
    target = route_target(scope, data.get("model"), (BedrockEmbeddingTarget,))
    model = data["model"]
    for name, value in data.items():
        if value is not None and name not in EMBEDDING_RULES:
            raise bad_request(name, f"'{name}' is not a parameter of this API's embeddings")
    inputs = _inputs(data.get("input"))
    encoding = data.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad_request("encoding_format", "'encoding_format' must be float or base64")
    dimensions = data.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)):
        raise bad_request("dimensions", f"'dimensions' must be an integer; got {dimensions!r:.40}")
    input_type = data.get("input_type")
    if input_type is not None and not isinstance(input_type, str):
        raise bad_request("input_type", "'input_type' must be a string")

    result = await model_call(scope, partial(embed, dimensions=dimensions, input_type=input_type), inputs, target)
    scope.milliseconds("Latency", scope.elapsed_ms())
    if result.prompt_tokens is not None:
        scope.count("InputTokens", result.prompt_tokens)
    logger.info("embeddings completed", extra={"model": model, "inputs": len(inputs)})
    tokens = result.prompt_tokens or 0
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": _encoded(vector, encoding)}
            for index, vector in enumerate(result.vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Response(json.dumps(body), media_type="application/json")


def _inputs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        if not value.strip():
            raise bad_request("input", "'input' is empty")
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        texts: list[str] = value
    elif isinstance(value, list) and value and all(isinstance(item, int | list) for item in value):
        raise bad_request("input", "'input' as token arrays is not supported; send the text")
    else:
        raise bad_request("input", "'input' is required: a string or a non-empty array of strings")
    if len(texts) > MAX_INPUTS:
        raise bad_request("input", f"'input' has {len(texts)} items; at most {MAX_INPUTS}")
    for index, text in enumerate(texts):
        if not text.strip():
            raise bad_request(f"input[{index}]", f"'input[{index}]' is empty")
    return tuple(texts)


def _encoded(vector: tuple[float, ...], encoding: str) -> list[float] | str:
    if encoding == "float":
        return list(vector)
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
