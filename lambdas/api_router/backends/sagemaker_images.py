"""Text-to-image models on SageMaker endpoints through InvokeEndpoint, in the JumpStart text-to-image request format.

The JumpStart text-to-image inference script (``jumpstart-txt2img``) as the SageMaker example notebook documents it
(aws/amazon-sagemaker-examples @ 0bbf7c52, introduction_to_amazon_algorithms/jumpstart_text_to_image/
JumpStart_Stable_Diffusion_Inference_Only.ipynb, "2.4. Supported Inference parameters" and "2.5. Compressed Image
Output")::

    Content-Type: application/json, Accept: application/json;jpeg
    {"prompt", "width", "height" (positive integers divisible by 8), "num_images_per_prompt" (a positive integer),
     "num_inference_steps", "guidance_scale", "negative_prompt", "seed"}
    -> {"generated_images": [<base64 JPEG>, ...], "prompt": ...}

The notebook documents the script of the GPU models (``huggingface-txt2img-*``); the Neuron models'
(``huggingface-txt2imgneuron-*``) script is inside their prepacked artifact and has no public copy, so that it takes
the same request is unverified (docs/catalog.md). The router sends only ``prompt``, ``num_images_per_prompt`` and,
for a size the endpoint's configuration lists, ``width`` and ``height``; the script's own defaults apply to the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas.api_router.backends.clients import client
from lambdas.api_router.errors import model_failed
from lambdas.api_router.settings import EndpointImageTarget

CONTENT_TYPE = "application/json"
# Each image a base64 JPEG (the default Accept, application/json, answers nested RGB arrays instead).
ACCEPT = "application/json;jpeg"
MEDIA_TYPE = "image/jpeg"
OUTPUT_KEY = "generated_images"


@dataclass(frozen=True)
class EndpointImageRequest:
    """What the route asks the endpoint for: ``count`` images of ``prompt``, at ``size`` (width, height) in pixels
    or, None, at the model's own size."""

    prompt: str
    count: int
    size: tuple[int, int] | None


def request_body(request: EndpointImageRequest) -> dict[str, Any]:
    """The JSON body of the JumpStart text-to-image request."""
    body: dict[str, Any] = {"prompt": request.prompt, "num_images_per_prompt": request.count}
    if request.size is not None:
        body["width"], body["height"] = request.size
    return body


def generate(request: EndpointImageRequest, target: EndpointImageTarget) -> tuple[str, ...]:
    """The generated images, base64-encoded JPEGs (at least one). Raises ``ApiError`` (502 for an answer that is not
    the documented shape) or botocore errors, which the caller maps."""
    response = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=target.endpoint,
        ContentType=CONTENT_TYPE,
        Accept=ACCEPT,
        Body=json.dumps(request_body(request)),
    )
    try:
        answer: Any = json.loads(response["Body"].read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise model_failed("The image model answered with something that is not JSON") from None
    images = answer.get(OUTPUT_KEY) if isinstance(answer, dict) else None
    if not isinstance(images, list) or not all(isinstance(image, str) and image for image in images):
        raise model_failed(f"The image model's answer has no '{OUTPUT_KEY}' list of base64 images")
    if not images:
        raise model_failed("The image model answered with no image")
    return tuple(images)
