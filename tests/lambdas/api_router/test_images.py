"""POST /v1/images/generations over Amazon Nova Canvas, with the official client and over plain HTTP.

Bedrock is answered at botocore's transport with Nova Canvas's documented shapes (Amazon Nova user guide,
"Request and response structure for image generation" and "Error handling"): ``{"images": [...]}``, the same with
an ``error`` when the content filters blocked generated images, and a ``ValidationException`` for a blocked prompt.
With ``response_format: "url"`` the images go to S3, here moto's.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import openai
import pytest
from moto import mock_aws

from lambdas.api_router.backends import clients
from lambdas.api_router.settings import settings
from tests.lambdas.api_router.conftest import ENVIRONMENT, Http
from tests.lambdas.api_router.fake_aws import FakeAws

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode("ascii")
BLOCKED_PROMPT = (
    "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."
)


def canvas(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nova Canvas: as many images as asked for, each a distinct base64 PNG."""
    count = body["imageGenerationConfig"]["numberOfImages"]
    return {"images": [f"{PNG}{index:02d}" for index in range(count)]}, {}


def post(http: Http, body: dict[str, Any]) -> Any:
    return http.post("/v1/images/generations", data=json.dumps(body), headers={"Content-Type": "application/json"})


def sent_bodies(fake_aws: FakeAws) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in fake_aws.requests["InvokeModel"]]


def test_the_client_gets_b64_json_images_in_openais_shape(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", canvas)
    before = int(time.time())
    result = openai_client.images.generate(model="nova-canvas", prompt="a lighthouse at dawn")
    assert before <= result.created <= int(time.time())
    assert [image.b64_json for image in result.data or []] == [f"{PNG}00"]
    assert sent_bodies(fake_aws) == [
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a lighthouse at dawn"},
            "imageGenerationConfig": {"width": 1024, "height": 1024, "quality": "standard", "numberOfImages": 1},
        }
    ]
    assert fake_aws.requests["InvokeModel"][0].url.endswith("/model/amazon.nova-canvas-v1%3A0/invoke")


def test_n_size_and_quality_are_mapped_to_nova_canvas(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", canvas)
    result = openai_client.images.generate(
        model="nova-canvas",
        prompt="a lighthouse",
        n=3,
        size="1792x1024",
        quality="hd",
        response_format="b64_json",
        user="end-user-1",
    )
    assert len(result.data or []) == 3
    assert sent_bodies(fake_aws)[0]["imageGenerationConfig"] == {
        "width": 1792,
        "height": 1024,
        "quality": "premium",
        "numberOfImages": 3,
    }


def test_auto_size_and_quality_are_the_models_defaults(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", canvas)
    response = post(http, {"model": "nova-canvas", "prompt": "x", "size": "auto", "quality": "auto", "style": None})
    assert response.status_code == 200, response.text
    config = sent_bodies(fake_aws)[0]["imageGenerationConfig"]
    assert (config["width"], config["height"], config["quality"]) == (1024, 1024, "standard")


def test_images_the_filters_blocked_are_left_out(http: Http, fake_aws: FakeAws) -> None:
    refusal = "Some of the generated images have been blocked by our content filters."
    fake_aws.respond("InvokeModel", lambda _: ({"images": [PNG], "error": refusal}, {}))
    response = post(http, {"model": "nova-canvas", "prompt": "x", "n": 2})
    assert response.status_code == 200
    assert response.json()["data"] == [{"b64_json": PNG}]


def test_a_prompt_the_content_filters_block_is_openais_content_policy_violation(
    openai_client: openai.OpenAI, fake_aws: FakeAws
) -> None:
    fake_aws.error("InvokeModel", "ValidationException", BLOCKED_PROMPT)
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.images.generate(model="nova-canvas", prompt="something blocked")
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "content_policy_violation"
    assert BLOCKED_PROMPT in error["message"]


def test_every_image_blocked_is_a_content_policy_violation(http: Http, fake_aws: FakeAws) -> None:
    refusal = "All of the generated images have been blocked by our content filters."
    fake_aws.respond("InvokeModel", lambda _: ({"images": [], "error": refusal}, {}))
    response = post(http, {"model": "nova-canvas", "prompt": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_policy_violation"


def test_another_validation_error_is_a_400_and_throttling_a_429(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.error("InvokeModel", "ValidationException", "Malformed input request")
    response = post(http, {"model": "nova-canvas", "prompt": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_value"
    fake_aws.error("InvokeModel", "ThrottlingException", "Too many requests", status=429)
    assert post(http, {"model": "nova-canvas", "prompt": "x"}).status_code == 429


def test_an_answer_without_images_is_a_502(http: Http, fake_aws: FakeAws) -> None:
    fake_aws.respond("InvokeModel", lambda _: ({"images": [1, 2]}, {}))
    response = post(http, {"model": "nova-canvas", "prompt": "x"})
    assert response.status_code == 502


@pytest.mark.parametrize(
    ("body", "param", "says"),
    [
        ({"size": "256x256"}, "size", "320 to 4096"),
        ({"size": "1000x1000"}, "size", "multiples of 16"),
        ({"size": "2048x400"}, "size", "1:4 to 4:1"),
        ({"size": "2048x2048"}, "size", "fewer than 4,194,304"),
        ({"size": "big"}, "size", "WIDTHxHEIGHT"),
        ({"n": 6}, "n", "1 to 5"),
        ({"n": 0}, "n", "1 to 5"),
        ({"n": "2"}, "n", "integer"),
        ({"quality": "high"}, "quality", "standard, hd or auto"),
        ({"style": "vivid"}, "style", "vivid or natural"),
        ({"style": "natural"}, "style", "vivid or natural"),
        ({"response_format": "png"}, "response_format", "b64_json or url"),
        ({"prompt": "x" * 1025}, "prompt", "up to 1024"),
        ({"prompt": " "}, "prompt", "required"),
        ({"negativeText": "blur"}, "negativeText", "not a parameter"),
        ({"output_format": "jpeg"}, "output_format", "PNG only"),
        ({"model": "nova-lite"}, "model", "chat model"),
        ({"model": "titan-embed"}, "model", "embedding model"),
    ],
)
def test_what_the_model_cannot_take_is_a_400_naming_it(
    http: Http, fake_aws: FakeAws, body: dict[str, Any], param: str, says: str
) -> None:
    response = post(http, {"model": "nova-canvas", "prompt": "a lighthouse", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert says in error["message"]
    assert fake_aws.requests["InvokeModel"] == []


def test_the_client_sees_the_400s_naming_the_parameter(openai_client: openai.OpenAI, fake_aws: FakeAws) -> None:
    generate = partial(openai_client.images.generate, model="nova-canvas", prompt="x")
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: generate(size="256x256"), "size"),
        (lambda: generate(n=6), "n"),
        (lambda: generate(quality="low"), "quality"),
        (lambda: generate(style="vivid"), "style"),
    ]
    for call, param in calls:
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["param"] == param
    assert fake_aws.requests["InvokeModel"] == []


def test_an_unknown_image_model_is_a_404(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.images.generate(model="dall-e-3", prompt="x")
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "model_not_found"


def test_an_image_model_on_the_chat_and_embeddings_routes_is_a_400(http: Http) -> None:
    chat = {"model": "nova-canvas", "messages": [{"role": "user", "content": "x"}]}
    response = http.post("/v1/chat/completions", data=json.dumps(chat), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "use POST /v1/images/generations" in response.json()["error"]["message"]
    embed = {"model": "nova-canvas", "input": "x"}
    response = http.post("/v1/embeddings", data=json.dumps(embed), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "use POST /v1/images/generations" in response.json()["error"]["message"]


def test_the_image_alias_is_listed(openai_client: openai.OpenAI) -> None:
    assert "nova-canvas" in [model.id for model in openai_client.models.list()]


BUCKET = ENVIRONMENT["IMAGES_BUCKET"]
PREFIX = ENVIRONMENT["IMAGES_PREFIX"]


def png(index: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes([index]) * 16


def pngs(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nova Canvas: as many images as asked for, each a distinct valid base64 PNG."""
    count = body["imageGenerationConfig"]["numberOfImages"]
    return {"images": [base64.b64encode(png(index)).decode("ascii") for index in range(count)]}, {}


@pytest.fixture
def s3(router_environment: None) -> Iterator[Any]:
    """moto's S3 with the stage's artifacts bucket; the router's botocore session starts over inside the mock."""
    with mock_aws():
        clients._session.cache_clear()
        clients.client.cache_clear()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3
        clients._session.cache_clear()
        clients.client.cache_clear()


@pytest.fixture
def stored(s3: Any, fake_aws: FakeAws) -> Any:
    """moto's S3 for the stored images, with Bedrock answered by the fake (attached to the new session)."""
    fake_aws.respond("InvokeModel", pngs)
    return s3


def stored_key(url: str) -> str:
    """The object key a virtual-hosted presigned URL names."""
    parts = urlsplit(url)
    assert parts.netloc.startswith(f"{BUCKET}.s3."), url
    return unquote(parts.path.lstrip("/"))


def test_the_client_gets_presigned_urls_to_the_stored_pngs(openai_client: openai.OpenAI, stored: Any) -> None:
    result = openai_client.images.generate(model="nova-canvas", prompt="a lighthouse", n=2, response_format="url")
    data = result.data or []
    assert [image.b64_json for image in data] == [None, None]
    urls = [image.url or "" for image in data]
    keys = [stored_key(url) for url in urls]
    assert len(set(keys)) == 2
    for index, (url, key) in enumerate(zip(urls, keys, strict=True)):
        assert key.startswith(PREFIX)
        assert key.endswith(".png")
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Expires"] == ["3600"]
        assert query["X-Amz-SignedHeaders"] == ["host"]
        stored_object = stored.get_object(Bucket=BUCKET, Key=key)
        assert stored_object["Body"].read() == png(index)
        assert stored_object["ContentType"] == "image/png"


def test_the_url_lifetime_is_the_configured_one(http: Http, stored: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGE_URL_SECONDS", "600")
    settings.cache_clear()
    response = post(http, {"model": "nova-canvas", "prompt": "x", "response_format": "url"})
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    assert set(item) == {"url"}
    assert parse_qs(urlsplit(item["url"]).query)["X-Amz-Expires"] == ["600"]


def test_without_response_format_nothing_is_stored(http: Http, stored: Any) -> None:
    response = post(http, {"model": "nova-canvas", "prompt": "x"})
    assert response.status_code == 200
    assert set(response.json()["data"][0]) == {"b64_json"}
    assert stored.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_a_failed_put_is_a_502_with_no_url(http: Http, stored: Any) -> None:
    stored.delete_bucket(Bucket=BUCKET)
    response = post(http, {"model": "nova-canvas", "prompt": "x", "n": 2, "response_format": "url"})
    assert response.status_code == 502
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == "image_storage_error"


def test_the_client_sees_a_failed_put_as_a_server_error(openai_client: openai.OpenAI, stored: Any) -> None:
    stored.delete_bucket(Bucket=BUCKET)
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client.images.generate(model="nova-canvas", prompt="x", response_format="url")
    assert caught.value.status_code == 502


def test_url_on_a_stage_without_image_storage_is_a_400(
    http: Http, fake_aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("IMAGES_BUCKET", "IMAGES_PREFIX", "IMAGE_URL_SECONDS"):
        monkeypatch.delenv(name)
    settings.cache_clear()
    response = post(http, {"model": "nova-canvas", "prompt": "x", "response_format": "url"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format"
    assert fake_aws.requests["InvokeModel"] == []
