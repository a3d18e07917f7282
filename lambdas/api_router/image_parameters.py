"""What ``POST /v1/images/generations`` does with each OpenAI parameter for an endpoint's text-to-image model.

The endpoint twin of ``parameters.IMAGE_RULES`` (Bedrock's): the route checks a request against it, and the README's
table is generated from it. The model takes the JumpStart text-to-image request
(``backends/sagemaker_images.py``, which cites its source).
"""

from __future__ import annotations

from lambdas.api_router.parameters import Rule

ENDPOINT_IMAGE_RULES: dict[str, Rule] = {
    "model": Rule("honoured", "the alias of an image endpoint (GET /v1/models)"),
    "prompt": Rule("honoured", "prompt: a non-empty string"),
    "n": Rule("honoured", "num_images_per_prompt: 1 to the endpoint's images.max_images (default 1)"),
    "size": Rule(
        "honoured",
        "WxH becomes width and height, only for a size the endpoint's images.sizes lists (a Neuron-compiled model "
        "serves the shapes it was compiled for); auto or absent sends neither, and the model uses its own",
    ),
    "quality": Rule("refused", "the JumpStart text-to-image request has no quality setting; only null is accepted"),
    "style": Rule("refused", "the JumpStart text-to-image request has no style setting; only null is accepted"),
    "response_format": Rule(
        "honoured",
        "b64_json (also when absent) or url, as for Bedrock models; the images are JPEGs (Accept "
        "application/json;jpeg), stored as .jpg for url",
    ),
    "user": Rule("ignored", "an end-user id for OpenAI's abuse monitoring"),
    "background": Rule("refused", "the JumpStart text-to-image request has no background control"),
    "moderation": Rule("refused", "the model has no moderation setting"),
    "output_format": Rule("refused", "the endpoint answers JPEG only"),
    "output_compression": Rule("refused", "the endpoint answers JPEG only"),
    "stream": Rule("refused", "images are answered whole"),
    "partial_images": Rule("refused", "images are answered whole"),
}


def render() -> str:
    """The README's table of the endpoint image parameters."""
    rows = [
        "#### Images (`POST /v1/images/generations`, SageMaker endpoints: JumpStart text-to-image)",
        "",
        "| parameter | | what happens |",
        "| --- | --- | --- |",
    ]
    rows += [f"| `{name}` | {rule.status} | {rule.note} |" for name, rule in ENDPOINT_IMAGE_RULES.items()]
    return "\n".join(rows)
