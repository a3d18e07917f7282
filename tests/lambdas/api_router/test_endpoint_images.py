"""POST /v1/images/generations over a JumpStart text-to-image endpoint (Stable Diffusion on Neuron).

The official client talks to the router, whose SageMaker calls go to moto: its sagemaker-runtime answers
InvokeEndpoint from a queue of results (FACTS.md, moto 5.2.5) and keeps each request it answered, so the body the
router sent is checked against the documented JumpStart text-to-image request (``backends/sagemaker_images.py``).
With ``response_format: "url"`` the images go to moto's S3. Refusals are checked with the transport fake, which
records that nothing was sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import openai
import pytest
import requests
from moto import mock_aws
from moto.sagemakerruntime.models import sagemakerruntime_backends

from lambdas.api_router.backends import clients
from tests.lambdas.api_router.conftest import ENVIRONMENT, MODELS, Http
from tests.lambdas.api_router.fake_aws import FakeAws

ALIAS = "sdxl"
ENDPOINT = "genai-kit-dev-sdxl"
BUCKET = ENVIRONMENT["IMAGES_BUCKET"]
PREFIX = ENVIRONMENT["IMAGES_PREFIX"]
MOTO_RESULTS = "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results"
# The JumpStart text-to-image request as the SageMaker example notebook documents it (aws/amazon-sagemaker-examples
# @ 0bbf7c52, introduction_to_amazon_algorithms/jumpstart_text_to_image/JumpStart_Stable_Diffusion_Inference_Only.ipynb,
# "2.4. Supported Inference parameters"), written out here independently of the router's copy.
DOCUMENTED: dict[str, type | tuple[type, ...]] = {
    "prompt": str,
    "width": int,
    "height": int,
    "num_inference_steps": int,
    "guidance_scale": (int, float),
    "negative_prompt": str,
    "num_images_per_prompt": int,
    "seed": int,
}
# "If specified, it must be a positive integer divisible by 8" (width, height).
SIDE_MULTIPLE = 8


def test_the_alias_is_the_configured_endpoint() -> None:
    assert MODELS[ALIAS] == {
        "backend": "sagemaker-image",
        "endpoint": ENDPOINT,
        "family": "jumpstart-txt2img",
        "sizes": ["1024x1024", "768x768"],
        "max_images": 2,
    }


def jpeg(index: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes([index]) * 16 + b"\xff\xd9"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class MotoEndpoint:
    """moto's SageMaker runtime and S3: queue the endpoint's answers, read back what the router sent."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.s3.create_bucket(Bucket=BUCKET)

    def answer(self, *images_per_call: int) -> None:
        """Queue one answer per call, each with that many distinct JPEGs, as the container answers
        ``Accept: application/json;jpeg``."""
        results = [
            {
                "Body": json.dumps({"generated_images": [b64(jpeg(i)) for i in range(count)], "prompt": "p"}),
                "ContentType": "application/json",
            }
            for count in images_per_call
        ]
        requests.post(MOTO_RESULTS, json={"results": results}, timeout=5).raise_for_status()

    def sent(self) -> list[dict[str, Any]]:
        """Each request moto answered: its Accept header and JSON body (moto 5.2.5 files them under no endpoint name:
        it does not read the name from the request's path, so the name is checked with the transport fake)."""
        by_endpoint = sagemakerruntime_backends["123456789012"]["us-east-1"].results
        requests_seen = [json.loads(base64.b64decode(key)) for answered in by_endpoint.values() for key in answered]
        return [{"Accept": seen["Accept"], "Body": json.loads(seen["Body"])} for seen in requests_seen]


@pytest.fixture
def moto_endpoint(router_environment: None) -> Iterator[MotoEndpoint]:
    with mock_aws():
        clients._session.cache_clear()
        clients.client.cache_clear()
        yield MotoEndpoint()
        clients._session.cache_clear()
        clients.client.cache_clear()


def check_documented(body: dict[str, Any]) -> None:
    """The body is a JumpStart text-to-image request: documented keys with their types, sides multiples of 8."""
    assert set(body) <= set(DOCUMENTED), body
    for key, value in body.items():
        assert isinstance(value, DOCUMENTED[key]), (key, value)
    assert isinstance(body["prompt"], str)
    assert body["num_images_per_prompt"] >= 1
    for side in ("width", "height"):
        if side in body:
            assert body[side] > 0
            assert body[side] % SIDE_MULTIPLE == 0


def test_the_client_gets_b64_json_jpegs_from_the_endpoint(
    openai_client: openai.OpenAI, moto_endpoint: MotoEndpoint
) -> None:
    moto_endpoint.answer(1)
    result = openai_client.images.generate(model=ALIAS, prompt="a lighthouse at dawn", response_format="b64_json")
    assert [base64.b64decode(image.b64_json or "") for image in result.data or []] == [jpeg(0)]
    (sent,) = moto_endpoint.sent()
    assert sent["Accept"] == "application/json;jpeg"
    assert sent["Body"] == {"prompt": "a lighthouse at dawn", "num_images_per_prompt": 1}
    check_documented(sent["Body"])


def test_n_and_a_configured_size_are_mapped(openai_client: openai.OpenAI, moto_endpoint: MotoEndpoint) -> None:
    moto_endpoint.answer(2)
    result = openai_client.images.generate(model=ALIAS, prompt="a lighthouse", n=2, size="1024x1024", user="u-1")
    assert len(result.data or []) == 2
    (sent,) = moto_endpoint.sent()
    assert sent["Body"] == {"prompt": "a lighthouse", "num_images_per_prompt": 2, "width": 1024, "height": 1024}
    check_documented(sent["Body"])


def test_the_client_gets_urls_to_the_stored_jpegs(openai_client: openai.OpenAI, moto_endpoint: MotoEndpoint) -> None:
    moto_endpoint.answer(2)
    result = openai_client.images.generate(model=ALIAS, prompt="a lighthouse", n=2, response_format="url")
    urls = [image.url or "" for image in result.data or []]
    assert len(urls) == 2
    for index, url in enumerate(urls):
        parts = urlsplit(url)
        assert parts.netloc.startswith(f"{BUCKET}.s3."), url
        key = unquote(parts.path.lstrip("/"))
        assert key.startswith(PREFIX)
        assert key.endswith(".jpg")
        stored = moto_endpoint.s3.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == jpeg(index)
        assert stored["ContentType"] == "image/jpeg"
    check_documented(moto_endpoint.sent()[0]["Body"])


def test_an_answer_without_generated_images_is_a_502(http: Http, moto_endpoint: MotoEndpoint) -> None:
    requests.post(
        MOTO_RESULTS,
        json={"results": [{"Body": json.dumps({"images": []}), "ContentType": "application/json"}]},
        timeout=5,
    ).raise_for_status()
    response = post(http, {"model": ALIAS, "prompt": "x"})
    assert response.status_code == 502
    assert "generated_images" in response.json()["error"]["message"]


def post(http: Http, body: dict[str, Any]) -> Any:
    return http.post("/v1/images/generations", data=json.dumps(body), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"size": "512x512"}, "size", "one of 1024x1024, 768x768, or auto"),
        ({"size": "big"}, "size", "one of 1024x1024"),
        ({"n": 3}, "n", "1 to 2"),
        ({"n": 0}, "n", "1 to 2"),
        ({"quality": "hd"}, "quality", "no quality setting"),
        ({"quality": "standard"}, "quality", "no quality setting"),
        ({"style": "vivid"}, "style", "no style setting"),
        ({"output_format": "png"}, "output_format", "JPEG only"),
        ({"negative_prompt": "blur"}, "negative_prompt", "not a parameter"),
        ({"prompt": " "}, "prompt", "required"),
        ({"response_format": "png"}, "response_format", "b64_json or url"),
    ],
)
def test_what_the_endpoint_cannot_take_is_a_400_naming_it(
    http: Http, fake_aws: FakeAws, body: dict[str, Any], param: str, says: str
) -> None:
    response = post(http, {"model": ALIAS, "prompt": "a lighthouse", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert says in error["message"]
    assert fake_aws.requests["InvokeEndpoint"] == []


def test_auto_size_sends_no_width_or_height(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.json("InvokeEndpoint", {"generated_images": [b64(jpeg(0))], "prompt": "x"})
    response = post(http, {"model": ALIAS, "prompt": "x", "size": "auto"})
    assert response.status_code == 200, response.text
    sent = json.loads(fake_aws.requests["InvokeEndpoint"][0].body)
    assert sent == {"prompt": "x", "num_images_per_prompt": 1}
    request = fake_aws.requests["InvokeEndpoint"][0]
    assert request.url.endswith(f"/endpoints/{ENDPOINT}/invocations")
    assert request.headers["Accept"] == b"application/json;jpeg"
    assert request.headers["Content-Type"] == b"application/json"


def test_an_endpoint_error_is_mapped_like_the_chat_routes(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.error("InvokeEndpoint", "ThrottlingException", "slow down", status=400)
    assert post(http, {"model": ALIAS, "prompt": "x"}).status_code == 429


def test_the_image_endpoint_is_listed_and_refused_on_the_chat_route(openai_client: openai.OpenAI, http: Http) -> None:
    assert ALIAS in [model.id for model in openai_client.models.list()]
    chat = {"model": ALIAS, "messages": [{"role": "user", "content": "x"}]}
    response = http.post("/v1/chat/completions", data=json.dumps(chat), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "use POST /v1/images/generations" in response.json()["error"]["message"]
