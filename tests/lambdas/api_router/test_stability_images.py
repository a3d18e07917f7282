"""POST /v1/images/generations over Stability AI's Stable Image Core, with the official client and over plain HTTP.

Bedrock is answered at botocore's transport with the shapes of the Bedrock user guide's "Stable Image Core request
and response": ``{"seeds": [...], "finish_reasons": [null], "images": [...]}`` for an image, ``{"finish_reasons":
["Filter reason: prompt"]}`` for a filtered request. With ``response_format: "url"`` the image goes to moto's S3.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import openai
import pytest

from lambdas.api_router.backends.stability_images import CORE_ASPECT_RATIOS
from tests.lambdas.api_router.conftest import Http
from tests.lambdas.api_router.fake_aws import FakeAws
from tests.lambdas.api_router.test_images import BUCKET, PREFIX, s3, stored_key  # noqa: F401 (s3: a fixture)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x07" * 16
PNG = base64.b64encode(PNG_BYTES).decode("ascii")
ALIAS = "stable-image-core"
# The request body fields the page documents for text to image.
DOCUMENTED_FIELDS = {"prompt", "aspect_ratio", "mode", "output_format", "seed", "negative_prompt"}


def core(_: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Stable Image Core's answer: one image, its seed, a null finish reason."""
    return {"seeds": [2130420379], "finish_reasons": [None], "images": [PNG]}, {}


def filtered(reason: str) -> Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, str]]]:
    return lambda _: ({"finish_reasons": [reason]}, {})


def post(http: Http, body: dict[str, Any]) -> Any:
    return http.post("/v1/images/generations", data=json.dumps(body), headers={"Content-Type": "application/json"})


def sent_bodies(fake_aws: FakeAws) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in fake_aws.requests["InvokeModel"]]


def test_the_client_gets_a_b64_json_image_from_the_documented_request(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    fake_aws.respond("InvokeModel", core)
    result = openai_client.images.generate(model=ALIAS, prompt="a lighthouse at dawn")
    assert [image.b64_json for image in result.data or []] == [PNG]
    (body,) = sent_bodies(fake_aws)
    assert body == {"prompt": "a lighthouse at dawn", "aspect_ratio": "1:1", "output_format": "png"}
    assert set(body) <= DOCUMENTED_FIELDS
    request = fake_aws.requests["InvokeModel"][0]
    assert request.url.endswith("/model/stability.stable-image-core-v1%3A1/invoke")
    assert request.headers["Content-Type"] == b"application/json"
    assert fake_aws.invalid == []  # the InvokeModel call is valid against botocore's bedrock-runtime model


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ("1024x1024", "1:1"),
        ("1536x1024", "3:2"),
        ("1024x1536", "2:3"),
        ("1280x1024", "5:4"),
        ("1024x1280", "4:5"),
        ("1536x864", "16:9"),
        ("864x1536", "9:16"),
        ("1512x648", "21:9"),
        ("648x1512", "9:21"),
        ("auto", "1:1"),
    ],
)
def test_size_becomes_the_aspect_ratio_of_its_exact_ratio(
    openai_client: openai.OpenAI, fake_aws: FakeAws, size: Any, ratio: str
) -> None:
    fake_aws.respond("InvokeModel", core)
    openai_client.images.generate(model=ALIAS, prompt="x", size=size, n=1, quality="standard", user="end-user-1")
    assert ratio in CORE_ASPECT_RATIOS
    assert sent_bodies(fake_aws)[0]["aspect_ratio"] == ratio


def test_the_client_gets_a_presigned_url_to_the_stored_png(
    openai_client: openai.OpenAI,
    s3: Any,  # noqa: F811 (the fixture imported above)
    fake_aws: FakeAws,
) -> None:
    # s3 first: it starts the router's botocore session over inside moto, and fake_aws attaches to that session.
    fake_aws.respond("InvokeModel", core)
    result = openai_client.images.generate(model=ALIAS, prompt="x", size="1536x1024", response_format="url")
    (image,) = result.data or []
    assert image.b64_json is None
    key = stored_key(image.url or "")
    assert key.startswith(PREFIX)
    assert key.endswith(".png")
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == PNG_BYTES
    assert stored["ContentType"] == "image/png"


@pytest.mark.parametrize("reason", ["Filter reason: prompt", "Filter reason: output image"])
def test_a_filtered_answer_is_openais_content_policy_violation(
    openai_client: openai.OpenAI, fake_aws: FakeAws, reason: str
) -> None:
    fake_aws.respond("InvokeModel", filtered(reason))
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.generate(model=ALIAS, prompt="something filtered")
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "content_policy_violation"
    assert reason in error["message"]


@pytest.mark.parametrize(
    "answer",
    [
        {"finish_reasons": ["Inference error"]},
        {"finish_reasons": ["Something new"], "images": [PNG]},
        {"finish_reasons": [None], "images": []},
        {"finish_reasons": [None], "images": [7]},
        {"finish_reasons": "none", "images": [PNG]},
    ],
)
def test_an_inference_error_or_an_undocumented_answer_is_a_502(
    http: Http, fake_aws: FakeAws, answer: dict[str, Any]
) -> None:
    fake_aws.respond("InvokeModel", lambda _: (answer, {}))
    response = post(http, {"model": ALIAS, "prompt": "x"})
    assert response.status_code == 502, response.text
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"size": "1792x1024"}, "size", "(16:9, 1:1, 21:9, 2:3, 3:2, 4:5, 5:4, 9:16, 9:21)"),
        ({"size": "1000x700"}, "size", "got 1000x700"),
        ({"size": "512x512"}, "size", "640 to 1536"),
        ({"size": "2048x2048"}, "size", "1024x1536"),
        ({"size": "big"}, "size", "WIDTHxHEIGHT"),
        ({"n": 2}, "n", "one image per call"),
        ({"n": 0}, "n", "must be 1"),
        ({"n": True}, "n", "must be 1"),
        ({"quality": "hd"}, "quality", "no quality setting"),
        ({"quality": "high"}, "quality", "standard or auto"),
        ({"style": "vivid"}, "style", "vivid or natural"),
        ({"output_format": "jpeg"}, "output_format", "PNG only"),
        ({"background": "transparent"}, "background", "background"),
        ({"prompt": "x" * 10_001}, "prompt", "up to 10000"),
        ({"prompt": ""}, "prompt", "required"),
        ({"negative_prompt": "blur"}, "negative_prompt", "not a parameter"),
        ({"seed": 7}, "seed", "not a parameter"),
    ],
)
def test_what_the_model_cannot_take_is_a_400_naming_it(
    http: Http, fake_aws: FakeAws, body: dict[str, Any], param: str, says: str
) -> None:
    response = post(http, {"model": ALIAS, "prompt": "a lighthouse", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert says in error["message"]
    assert fake_aws.requests["InvokeModel"] == []


def test_a_prompt_of_the_documented_maximum_is_sent(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", core)
    assert post(http, {"model": ALIAS, "prompt": "x" * 10_000}).status_code == 200
    assert len(sent_bodies(fake_aws)[0]["prompt"]) == 10_000


def test_the_client_sees_the_400s_naming_the_parameter(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    generate = partial(openai_client.images.generate, model=ALIAS, prompt="x")
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: generate(size="1792x1024"), "size"),
        (lambda: generate(n=2), "n"),
        (lambda: generate(quality="hd"), "quality"),
        (lambda: generate(style="natural"), "style"),
    ]
    for call, param in calls:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["param"] == param
    assert fake_aws.requests["InvokeModel"] == []


def test_the_alias_is_listed(openai_client: openai.OpenAI) -> None:
    assert ALIAS in [model.id for model in openai_client.models.list()]
