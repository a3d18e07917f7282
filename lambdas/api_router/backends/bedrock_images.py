"""Bedrock image models through InvokeModel, in each model family's own request and response format.

Amazon Nova Canvas (``nova-canvas``, ``amazon.nova-canvas-v1:0``), its TEXT_IMAGE task (Amazon Nova user guide,
"Request and response structure for image generation",
https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html)::

    {"taskType": "TEXT_IMAGE", "textToImageParams": {"text"},
     "imageGenerationConfig": {"width", "height", "quality": "standard" | "premium", "numberOfImages"}}
    -> {"images": [<base64 PNG>, ...], "error": <string, only when images were blocked>}

Content filtering (Amazon Nova user guide, "Error handling",
https://docs.aws.amazon.com/nova/latest/userguide/image-gen-errors.html): a prompt the filters block is a
``ValidationException`` whose message says "This request has been blocked by our content filters"; generated
images the filters block are left out of a successful answer, whose ``error`` field then says so (all of them,
or some). Both become OpenAI's ``content_policy_violation`` when no image is left to return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lambdas.api_router.backends.clients import client
from lambdas.api_router.errors import ApiError, bad_request, model_failed
from lambdas.api_router.settings import BedrockImageTarget

# Nova Canvas's limits (Amazon Nova user guide). textToImageParams.text: "The prompt must be 1-1024 characters in
# length" (image-gen-req-resp-structure.html).
NOVA_MAX_PROMPT_CHARACTERS = 1024
# imageGenerationConfig.numberOfImages: 1 to 5, the range AWS's own Nova Canvas MCP server (awslabs/mcp,
# src/nova-canvas-mcp-server) gives for this field of that page's request.
NOVA_MAX_IMAGES = 5
# Output resolutions (https://docs.aws.amazon.com/nova/latest/userguide/image-gen-access.html#image-gen-resolutions,
# as AWS's Swift Bedrock playground quotes it in its Nova resolution validator): "Each side must be between
# 320-4096 pixels, inclusive", "Each side must be evenly divisible by 16", "The aspect ratio must be between 1:4
# and 4:1" and "the total pixel count must be less than 4,194,304" (so 2048x2048, exactly that many, is refused
# as the page says).
NOVA_MIN_SIDE = 320
NOVA_MAX_SIDE = 4096
NOVA_SIDE_MULTIPLE = 16
NOVA_MAX_ASPECT = 4
NOVA_PIXELS_BELOW = 4_194_304
# imageGenerationConfig.quality: "standard" | "premium" (image-gen-req-resp-structure.html).
NOVA_QUALITIES = ("standard", "premium")
# The words of a content-filter refusal (image-gen-errors.html), in the ValidationException's message.
CONTENT_FILTERED = "blocked by our content filters"


@dataclass(frozen=True)
class ImageRequest:
    """What the route asks for, already mapped to the model's terms: ``prompt``, ``count`` images of ``width`` x
    ``height`` pixels, at the model's ``quality`` value."""

    prompt: str
    count: int
    width: int
    height: int
    quality: str


def check_size(width: int, height: int) -> None:
    """Refuse (400, ``size``) a resolution Nova Canvas does not generate (the rules above)."""
    got = f"got {width}x{height}"
    if not (NOVA_MIN_SIDE <= width <= NOVA_MAX_SIDE and NOVA_MIN_SIDE <= height <= NOVA_MAX_SIDE):
        raise bad_request("size", f"'size' sides must be {NOVA_MIN_SIDE} to {NOVA_MAX_SIDE} pixels; {got}")
    if width % NOVA_SIDE_MULTIPLE or height % NOVA_SIDE_MULTIPLE:
        raise bad_request("size", f"'size' sides must be multiples of {NOVA_SIDE_MULTIPLE} pixels; {got}")
    if max(width, height) > NOVA_MAX_ASPECT * min(width, height):
        raise bad_request("size", f"'size' must have an aspect ratio from 1:4 to 4:1; {got}")
    if width * height >= NOVA_PIXELS_BELOW:
        raise bad_request("size", f"'size' must have fewer than {NOVA_PIXELS_BELOW:,} pixels; {got}")


def generate(request: ImageRequest, target: BedrockImageTarget) -> tuple[str, ...]:
    """The generated images, base64-encoded PNGs (at least one; possibly fewer than asked for when the content
    filters blocked some). Raises ``ApiError`` (400 ``content_policy_violation`` when the filters blocked the
    prompt or every image; 502 for an answer that is not the documented shape) or botocore errors."""
    body = {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": request.prompt},
        "imageGenerationConfig": {
            "width": request.width,
            "height": request.height,
            "quality": request.quality,
            "numberOfImages": request.count,
        },
    }
    try:
        response = client("bedrock-runtime").invoke_model(
            modelId=target.model, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if error.response.get("Error", {}).get("Code") == "ValidationException" and CONTENT_FILTERED in message:
            raise content_policy_violation(message) from None
        raise
    try:
        answer: Any = json.loads(response["body"].read())
    except ValueError:
        raise model_failed("The image model answered with something that is not JSON") from None
    if not isinstance(answer, dict):
        raise model_failed("The image model's answer is not a JSON object")
    images = answer.get("images") or []
    refusal = answer.get("error")
    if not isinstance(images, list) or not all(isinstance(image, str) and image for image in images):
        raise model_failed("The image model's answer holds images that are not base64 strings")
    if not images:
        if isinstance(refusal, str) and refusal:
            raise content_policy_violation(refusal)
        raise model_failed("The image model answered with no image")
    return tuple(images)


def content_policy_violation(message: str) -> ApiError:
    """OpenAI's refusal of a request its safety system blocks: 400, code ``content_policy_violation``."""
    return ApiError(
        400,
        f"The request was blocked by the model's content filters: {message}",
        code="content_policy_violation",
    )
