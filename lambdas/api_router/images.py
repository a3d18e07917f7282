"""The images route: OpenAI's ``POST /v1/images/generations`` over the Bedrock image models and the text-to-image
endpoints the stage configures.

Request (each parameter honoured, mapped or refused by name; ``parameters.IMAGE_RULES_BY_FAMILY``): ``model`` (an
image alias), ``prompt``, ``n`` (Nova Canvas's numberOfImages; 1 only for Stable Image Core), ``size`` (``"WxH"``,
checked against Nova Canvas's resolutions, or mapped to Stable Image Core's aspect_ratio by exact ratio),
``quality`` (``standard``/``hd`` to Nova's ``standard``/``premium``; Stable Image Core takes standard only),
``style`` (refused), ``response_format`` (``b64_json``, the default here although OpenAI's is ``url``; or
``url``), ``user`` (ignored).
Answer: ``{"created": <unix seconds>, "data": [{"b64_json": <base64 PNG>}, ...]}``, or with ``url`` each item
``{"url": <presigned S3 GET URL>}`` to the PNG the router stored (``image_store``: where, for how long, and why a
URL may stop working before its expiry).

An endpoint's model (``EndpointImageTarget``, the JumpStart text-to-image request) takes the parameters of
``image_parameters.ENDPOINT_IMAGE_RULES``: ``n`` up to its ``max_images``, ``size`` only among its configured
``sizes``, no ``quality`` or ``style``; its images are JPEGs, in ``b64_json`` or stored for ``url``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import Response

from lambdas.api_router.backends import generate_endpoint_images, generate_images
from lambdas.api_router.backends.bedrock_images import (
    NOVA_MAX_IMAGES,
    NOVA_MAX_PROMPT_CHARACTERS,
    ImageRequest,
    check_size,
)
from lambdas.api_router.backends.sagemaker_images import MEDIA_TYPE as ENDPOINT_MEDIA_TYPE
from lambdas.api_router.backends.sagemaker_images import EndpointImageRequest
from lambdas.api_router.backends.stability_images import CORE_MAX_PROMPT_CHARACTERS, CoreRequest, aspect_ratio
from lambdas.api_router.chat_request import parse_json_body
from lambdas.api_router.errors import bad_request
from lambdas.api_router.handling import model_call, read_body, route_target, wait_for
from lambdas.api_router.image_parameters import ENDPOINT_IMAGE_RULES
from lambdas.api_router.image_store import store
from lambdas.api_router.observability import current_scope, logger
from lambdas.api_router.parameters import IMAGE_RULES_BY_FAMILY
from lambdas.api_router.settings import BedrockImageTarget, EndpointImageTarget, settings

# OpenAI's default size for DALL-E 3, Nova Canvas's own default resolution, and (1:1) Stable Image Core's default
# aspect_ratio.
DEFAULT_SIZE = (1024, 1024)
# OpenAI's quality values to Nova Canvas's (imageGenerationConfig.quality: standard | premium); auto is the
# model's choice, which for Nova is its default, standard.
QUALITIES = {"standard": "standard", "auto": "standard", "hd": "premium"}
_SIZE_RE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")


async def image_generations(http_request: Request) -> Response:
    """``POST /v1/images/generations``: OpenAI's images response, every image as ``b64_json`` or (``response_format:
    "url"``) as a presigned URL to its stored PNG.

    Raises ``ApiError``: 400 naming the parameter the model cannot take (or a content-filter refusal), 404 for an
    unknown alias, the model call's own statuses, 502 when the images cannot be stored for their URLs (no URL is
    returned then)."""
    scope = current_scope()
    config = settings()
    data = parse_json_body(await read_body(http_request, config.max_body_bytes), max_body_bytes=config.max_body_bytes)
    target = cast(
        BedrockImageTarget | EndpointImageTarget,
        route_target(scope, data.get("model"), (BedrockImageTarget, EndpointImageTarget)),
    )
    model = data["model"]
    rules = IMAGE_RULES_BY_FAMILY[target.family] if isinstance(target, BedrockImageTarget) else ENDPOINT_IMAGE_RULES
    for name, value in data.items():
        if value is None:
            continue
        rule = rules.get(name)
        if rule is None:
            raise bad_request(name, f"'{name}' is not a parameter of this API's image generation")
        if rule.status == "refused":
            raise bad_request(name, f"'{name}' is not supported for this model: {rule.note}")
    images: tuple[str, ...]
    if isinstance(target, BedrockImageTarget):
        request = _core_request(data) if target.family == "stable-image-core" else _nova_request(data)
        response_format = _response_format(data.get("response_format"))
        asked, media_type = request.count, "image/png"
        images = await model_call(scope, generate_images, request, target)
    else:
        endpoint_request = _endpoint_request(data, target)
        response_format = _response_format(data.get("response_format"))
        asked, media_type = endpoint_request.count, ENDPOINT_MEDIA_TYPE
        images = await model_call(scope, generate_endpoint_images, endpoint_request, target)
    scope.milliseconds("Latency", scope.elapsed_ms())
    scope.count("Images", len(images))
    logger.info("images generated", extra={"model": model, "asked": asked, "images": len(images)})
    if response_format == "url":
        items = [{"url": url} for url in await wait_for(scope, store, images, media_type)]
    else:
        items = [{"b64_json": image} for image in images]
    body = {"created": int(time.time()), "data": items}
    return Response(json.dumps(body), media_type="application/json")


def _nova_request(data: dict[str, Any]) -> ImageRequest:
    prompt = _prompt(data.get("prompt"), NOVA_MAX_PROMPT_CHARACTERS)
    count = _count(data.get("n"))
    width, height = _size(data.get("size"))
    check_size(width, height)
    return ImageRequest(prompt=prompt, count=count, width=width, height=height, quality=_quality(data.get("quality")))


def _core_request(data: dict[str, Any]) -> CoreRequest:
    """Stable Image Core: one image per call (so ``n`` is 1: fanning out n calls would multiply the cost and the
    wait behind one request, and a partly filtered batch has no OpenAI shape), no quality setting."""
    prompt = _prompt(data.get("prompt"), CORE_MAX_PROMPT_CHARACTERS)
    count = data.get("n")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count != 1):
        raise bad_request(
            "n", f"'n' must be 1 for this model: Stable Image Core generates one image per call; got {count!r:.40}"
        )
    quality = data.get("quality")
    if quality not in (None, "standard", "auto"):
        raise bad_request(
            "quality",
            f"'quality' must be standard or auto for this model: Stable Image Core has no quality setting; "
            f"got {quality!r:.40}",
        )
    return CoreRequest(prompt=prompt, aspect_ratio=aspect_ratio(*_size(data.get("size"))))


def _endpoint_request(data: dict[str, Any], target: EndpointImageTarget) -> EndpointImageRequest:
    """A text-to-image endpoint: ``n`` up to its ``max_images``, ``size`` one it serves (or its own)."""
    count = data.get("n")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= target.max_images
    ):
        raise bad_request(
            "n", f"'n' must be an integer from 1 to {target.max_images} for this model; got {count!r:.40}"
        )
    return EndpointImageRequest(
        prompt=_prompt(data.get("prompt"), None),
        count=count or 1,
        size=_endpoint_size(data.get("size"), target.sizes),
    )


def _endpoint_size(value: Any, sizes: tuple[str, ...]) -> tuple[int, int] | None:
    """The width and height of a size the endpoint serves, or None (absent or auto) for the model's own size."""
    if value is None or value == "auto":
        return None
    if not isinstance(value, str) or value not in sizes:
        served = f"one of {', '.join(sizes)}, or auto" if sizes else "auto (this model's own size)"
        raise bad_request("size", f"'size' must be {served} for this model; got {value!r:.40}")
    width, _, height = value.partition("x")
    return int(width), int(height)


def _prompt(value: Any, limit: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request("prompt", "'prompt' is required and must be a non-empty string")
    if limit is not None and len(value) > limit:
        raise bad_request("prompt", f"'prompt' has {len(value)} characters; this model takes up to {limit}")
    return value


def _count(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= NOVA_MAX_IMAGES:
        raise bad_request("n", f"'n' must be an integer from 1 to {NOVA_MAX_IMAGES} for this model; got {value!r:.40}")
    return value


def _size(value: Any) -> tuple[int, int]:
    if value is None or value == "auto":
        return DEFAULT_SIZE
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise bad_request("size", f"'size' must be WIDTHxHEIGHT in pixels (e.g. 1024x1024) or auto; got {value!r:.40}")
    return int(match.group(1)), int(match.group(2))


def _quality(value: Any) -> str:
    if value is None:
        return QUALITIES["standard"]
    if not isinstance(value, str) or value not in QUALITIES:
        raise bad_request("quality", f"'quality' must be standard, hd or auto for this model; got {value!r:.40}")
    return QUALITIES[value]


def _response_format(value: Any) -> str:
    if value is None or value == "b64_json":
        # This API's default is b64_json (OpenAI's is url): nothing is stored unless a client asks for a URL.
        return "b64_json"
    if value == "url":
        if not settings().image_urls:
            raise bad_request("response_format", "'response_format' url is not available on this stage; use b64_json")
        return "url"
    raise bad_request("response_format", f"'response_format' must be b64_json or url; got {value!r:.40}")
