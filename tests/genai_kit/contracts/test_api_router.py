"""The router's environment contract: what the API stack writes is what the router reads, and a bad variable
is named when the router starts."""

from __future__ import annotations

import json

import pytest

from genai_kit.contracts.api_router import BedrockTarget, EndpointTarget, RouterEnvironment

ENVIRONMENT = RouterEnvironment(
    models={
        "nova-lite": BedrockTarget(model="arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x"),
        "tinyllama": EndpointTarget(endpoint="genai-kit-dev-tinyllama", format="messages", streams=True),
    },
    guardrail_id="gr-1",
    guardrail_version="3",
    max_body_bytes=1024,
    log_payloads=True,
    trace_model_calls=False,
    model_timeout_seconds=300,
    model_wait_seconds=280,
)


def test_environment_round_trips_as_strings() -> None:
    variables = ENVIRONMENT.to_environment()
    assert all(isinstance(value, str) for value in variables.values())
    assert variables["LOG_PAYLOADS"] == "true"
    assert json.loads(variables["MODELS"])["tinyllama"] == {
        "backend": "sagemaker",
        "endpoint": "genai-kit-dev-tinyllama",
        "format": "messages",
        "stream_usage": False,
        "streams": True,
    }
    assert RouterEnvironment.from_environment({**variables, "PATH": "/usr/bin"}) == ENVIRONMENT


def test_unset_guardrail_is_left_out() -> None:
    variables = ENVIRONMENT.model_copy(update={"guardrail_id": None, "guardrail_version": None}).to_environment()
    assert "GUARDRAIL_ID" not in variables
    assert RouterEnvironment.from_environment(variables).guardrail_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"MODEL_WAIT_SECONDS": None}, "MODEL_WAIT_SECONDS: Field required"),
        ({"MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES: Input should be a valid integer"),
        ({"MODELS": "{nope"}, "MODELS: not JSON"),
        (
            {"MODELS": '{"x": {"backend": "sagemaker", "endpoint": "e", "format": "chat"}}'},
            "MODELS.x.sagemaker.format: Input should be 'messages' or 'prompt'",
        ),
        ({"MODELS": '{"x": {"backend": "openai"}}'}, "MODELS.x: Input tag 'openai' found using 'backend'"),
    ],
)
def test_bad_variable_is_named(change: dict[str, str | None], message: str) -> None:
    variables: dict[str, str] = dict(ENVIRONMENT.to_environment())
    for name, value in change.items():
        if value is None:
            variables.pop(name)
        else:
            variables[name] = value
    with pytest.raises(ValueError, match="invalid api_router environment") as caught:
        RouterEnvironment.from_environment(variables)
    assert message in str(caught.value)


def test_image_storage_round_trips_and_is_left_out_when_unset() -> None:
    assert "IMAGES_BUCKET" not in ENVIRONMENT.to_environment()
    assert not ENVIRONMENT.image_urls
    with_images = ENVIRONMENT.model_copy(
        update={"images_bucket": "artifacts", "images_prefix": "api-images/", "image_url_seconds": 3600}
    )
    variables = with_images.to_environment()
    assert (variables["IMAGES_BUCKET"], variables["IMAGES_PREFIX"], variables["IMAGE_URL_SECONDS"]) == (
        "artifacts",
        "api-images/",
        "3600",
    )
    assert RouterEnvironment.from_environment(variables) == with_images
    assert RouterEnvironment.from_environment(variables).image_urls


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"IMAGE_URL_SECONDS": "604801"}, "IMAGE_URL_SECONDS: Input should be less than or equal to 604800"),
        ({"IMAGE_URL_SECONDS": "0"}, "IMAGE_URL_SECONDS: Input should be greater than or equal to 1"),
        ({"IMAGES_PREFIX": "api-images"}, "IMAGES_PREFIX: String should match pattern"),
        ({"IMAGES_BUCKET": None}, "IMAGES_BUCKET, IMAGES_PREFIX and IMAGE_URL_SECONDS are set together"),
    ],
)
def test_bad_image_storage_is_named(change: dict[str, str | None], message: str) -> None:
    variables = {
        **ENVIRONMENT.to_environment(),
        "IMAGES_BUCKET": "bkt",
        "IMAGES_PREFIX": "p/",
        "IMAGE_URL_SECONDS": "1",
    }
    variables = {name: value for name, value in {**variables, **change}.items() if value is not None}
    with pytest.raises(ValueError, match="invalid api_router environment") as caught:
        RouterEnvironment.from_environment(variables)
    assert message in str(caught.value)
