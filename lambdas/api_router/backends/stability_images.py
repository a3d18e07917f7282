"""Stability AI's Stable Image Core on Bedrock through InvokeModel: its text-to-image request and response.

Stable Image Core 1.1 (``stable-image-core``, ``stability.stable-image-core-v1:1``), Amazon Bedrock user guide,
"Stable Image Core request and response"
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html)::

    {"prompt": <0-10,000 characters>, "aspect_ratio": "16:9" | "1:1" | "21:9" | "2:3" | "3:2" | "4:5" | "5:4"
     | "9:16" | "9:21" (default 1:1), "output_format": "jpeg" | "png", "seed", "negative_prompt"}
    -> {"seeds": [...], "finish_reasons": [null], "images": [<base64 image>]}
    -> {"finish_reasons": ["Filter reason: prompt"]}   (a filtered request: no image)

``finish_reasons``: null when the image was generated, else "Filter reason: prompt", "Filter reason: output
image", "Filter reason: input image" or "Inference error". The same page gives the output's sides as 640 to 1,536
pixels; the request names a ratio, not pixels, so the model chooses the pixel dimensions for that ratio. AWS's code
library example ("Invoke Stability.ai Stable Image Core on Amazon Bedrock to generate an image",
https://docs.aws.amazon.com/code-library/latest/ug/bedrock-runtime_example_bedrock-runtime_InvokeModel_StableDiffusion_section.html)
sends ``{"prompt", "aspect_ratio": "1:1", "seed", "output_format": "png"}`` to ``stability.stable-image-core-v1:1``
in us-west-2 and reads one image from ``images``: the model answers one image per call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import gcd
from typing import Any

from lambdas.api_router.backends.bedrock_images import content_policy_violation
from lambdas.api_router.backends.clients import client
from lambdas.api_router.errors import bad_request, model_failed
from lambdas.api_router.settings import BedrockImageTarget

# prompt: "Minimum 0, Maximum 10,000 characters" (the request and response page).
CORE_MAX_PROMPT_CHARACTERS = 10_000
# aspect_ratio's enum, in the page's order.
CORE_ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
# "Supported dimensions: height 640 to 1,536 px, width 640 to 1,536 px" (output_format on the same page).
CORE_MIN_SIDE = 640
CORE_MAX_SIDE = 1536
# The kit stores and answers PNG (image_store), so it asks for png.
CORE_OUTPUT_FORMAT = "png"
# finish_reasons values (the page): a filter's reasons start so; "Inference error" is the model failing.
FILTER_REASON = "Filter reason"
INFERENCE_ERROR = "Inference error"
SIZE_EXAMPLES = "1024x1024, 1536x1024, 1024x1536, 1280x1024, 1024x1280, 1536x864 or 864x1536"


@dataclass(frozen=True)
class CoreRequest:
    """What the route asks Stable Image Core for: ``prompt`` at ``aspect_ratio`` (one of ``CORE_ASPECT_RATIOS``).
    ``count`` is always 1: the model answers one image per call."""

    prompt: str
    aspect_ratio: str

    @property
    def count(self) -> int:
        return 1


def aspect_ratio(width: int, height: int) -> str:
    """The ``aspect_ratio`` whose ratio ``width``:``height`` is exactly, e.g. 1536x1024 -> ``"3:2"``.

    Raises ``ApiError`` (400, ``size``) when the ratio is not in the model's enum or a side is outside 640 to 1,536
    pixels (the documented output dimensions), listing what is accepted."""
    ratio = _BY_REDUCED_RATIO.get(_reduced(width, height))
    sides_ok = CORE_MIN_SIDE <= width <= CORE_MAX_SIDE and CORE_MIN_SIDE <= height <= CORE_MAX_SIDE
    if ratio is None or not sides_ok:
        raise bad_request(
            "size",
            f"'size' must be auto or WIDTHxHEIGHT with each side {CORE_MIN_SIDE} to {CORE_MAX_SIDE} pixels and an "
            f"aspect ratio Stable Image Core generates ({', '.join(CORE_ASPECT_RATIOS)}), e.g. {SIZE_EXAMPLES}; "
            f"got {width}x{height}. The model chooses the pixel dimensions for the ratio",
        )
    return ratio


def _reduced(width: int, height: int) -> tuple[int, int]:
    divisor = gcd(width, height)
    return width // divisor, height // divisor


# Each enum value by its reduced ratio: 21:9 is 7:3, so 1512x648 asks for 21:9.
_BY_REDUCED_RATIO = {
    _reduced(int(width), int(height)): ratio for ratio in CORE_ASPECT_RATIOS for width, height in [ratio.split(":")]
}


def generate(request: CoreRequest, target: BedrockImageTarget) -> tuple[str, ...]:
    """The generated image, one base64-encoded PNG. Raises ``ApiError`` (400 ``content_policy_violation`` when a
    finish reason is a filter's; 502 for "Inference error" or an answer that is not the documented shape) or
    botocore errors."""
    body = {"prompt": request.prompt, "aspect_ratio": request.aspect_ratio, "output_format": CORE_OUTPUT_FORMAT}
    response = client("bedrock-runtime").invoke_model(
        modelId=target.model, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    try:
        answer: Any = json.loads(response["body"].read())
    except ValueError:
        raise model_failed("The image model answered with something that is not JSON") from None
    if not isinstance(answer, dict):
        raise model_failed("The image model's answer is not a JSON object")
    reasons = answer.get("finish_reasons") or []
    if not isinstance(reasons, list):
        raise model_failed("The image model's finish_reasons is not a list")
    for reason in reasons:
        if isinstance(reason, str) and reason.startswith(FILTER_REASON):
            raise content_policy_violation(reason)
        if reason == INFERENCE_ERROR:
            raise model_failed("The image model failed to generate the image (finish reason: Inference error)")
        if reason is not None:
            # A value the page does not list: not an image the client can use, nor a request it can fix.
            raise model_failed(f"The image model answered an undocumented finish reason: {str(reason)[:80]}")
    images = answer.get("images") or []
    if not isinstance(images, list) or not all(isinstance(image, str) and image for image in images):
        raise model_failed("The image model's answer holds images that are not base64 strings")
    if not images:
        raise model_failed("The image model answered with no image")
    return tuple(images)
