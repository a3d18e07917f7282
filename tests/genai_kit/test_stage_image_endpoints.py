"""A JumpStart text-to-image endpoint (Stable Diffusion on Neuron): what it resolves to, and its config errors."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.config.endpoints import ImageOptions
from genai_kit.contracts.api_router import EndpointImageTarget, EndpointTarget
from genai_kit.stage import ConfigError, load_stage
from genai_kit.stage.api import endpoint_targets

SDXL = {
    "kind": "jumpstart",
    "model_id": "huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0",
    "version": "1.1.15",
}
LLAMA2_NEURON = {
    "kind": "jumpstart",
    "model_id": "meta-textgenerationneuron-llama-2-7b",
    "version": "1.0.0",
    "accept_eula": True,
}


def _stage(*endpoints: dict[str, Any]) -> Any:
    return load_stage({"stages": {"dev": {"region": "us-east-1", "endpoints": list(endpoints)}}})


def _problem(*endpoints: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        _stage(*endpoints)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def test_an_sdxl_endpoint_is_an_isolated_image_model_without_data_capture() -> None:
    (endpoint,) = _stage({"name": "sdxl", "source": SDXL, "instance_type": "ml.inf2.24xlarge"}).endpoints
    assert endpoint.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "1.13.1-transformers4.34.1-neuronx-py310-sdk2.15.0-ubuntu20.04"
    )
    assert endpoint.environment["NEURON_RT_NUM_CORES"] == "12"
    assert endpoint.environment["NEURON_XL_PIPELINE"] == "True"
    assert endpoint.model_data is not None
    assert endpoint.model_data.s3_uri.endswith("/artifacts/inference-prepack/v1.0.0/")
    assert not endpoint.model_data.accept_eula
    assert endpoint.enable_network_isolation is True
    assert endpoint.data_capture_enabled is False
    # The catalog's source gives no timeouts or volume: SageMaker's defaults apply.
    assert (endpoint.model_data_download_timeout, endpoint.volume_size_gb) == (None, None)
    assert endpoint.images == ImageOptions()


def test_data_capture_of_an_image_endpoint_is_on_when_set_explicitly() -> None:
    config = {"name": "sdxl", "source": SDXL, "data_capture": {"enabled": True, "sampling_percentage": 5}}
    (endpoint,) = _stage(config).endpoints
    assert endpoint.data_capture_enabled is True


def test_a_chat_endpoint_still_captures_by_default() -> None:
    (endpoint,) = _stage({"name": "llama2", "source": LLAMA2_NEURON}).endpoints
    assert endpoint.data_capture_enabled is True
    assert endpoint.images is None


def test_the_image_endpoint_is_an_image_target_of_the_api() -> None:
    stage = _stage(
        {"name": "sdxl", "source": SDXL, "images": {"sizes": ["1024x1024"], "max_images": 2}},
        {"name": "llama2", "source": LLAMA2_NEURON},
    )
    targets = endpoint_targets(stage)
    assert targets["sdxl"] == EndpointImageTarget(
        endpoint="genai-kit-dev-sdxl", family="jumpstart-txt2img", sizes=("1024x1024",), max_images=2
    )
    assert isinstance(targets["llama2"], EndpointTarget)


def test_a_scheduled_image_endpoint_carries_its_schedule_to_the_api() -> None:
    schedule = {"time_zone": "Europe/Paris", "days": ["mon"], "start": "08:00", "stop": "18:00"}
    target = endpoint_targets(_stage({"name": "sdxl", "source": SDXL, "schedule": schedule}))["sdxl"]
    assert isinstance(target, EndpointImageTarget)
    assert target.schedule is not None
    assert target.schedule.model_dump() == {**schedule, "days": ("mon",)}


def test_images_on_a_hugging_face_endpoint_is_named() -> None:
    tinyllama = {
        "kind": "huggingface",
        "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "revision": "fe8a4ea1ffedaf415f4da2f062534de366a451e6",
        "container": "huggingface-llm-neuronx",
        "container_version": "0.3.0",
    }
    assert _problem({"name": "tiny", "source": tinyllama, "images": {}}) == (
        "stages.dev.endpoints.0.images: only a JumpStart text-to-image model takes 'images'; remove it"
    )


@pytest.mark.parametrize(
    ("endpoint", "says"),
    [
        (
            {"name": "llama2", "source": LLAMA2_NEURON, "images": {}},
            "stages.dev.endpoints.0.images: meta-textgenerationneuron-llama-2-7b is not a text-to-image model; "
            "remove 'images'",
        ),
        (
            {"name": "sdxl", "source": SDXL, "images": {"sizes": ["1000x1001"]}},
            "stages.dev.endpoints.0.images.sizes.0: got '1000x1001'; expected WIDTHxHEIGHT in pixels, each side a "
            "multiple of 8 (e.g. 1024x1024)",
        ),
        (
            {"name": "sdxl", "source": SDXL, "images": {"max_images": 11}},
            "stages.dev.endpoints.0.images.max_images: got 11; input should be less than or equal to 10",
        ),
        (
            {"name": "sdxl", "source": SDXL, "instance_type": "ml.g5.2xlarge"},
            "stages.dev.endpoints.0.instance_type: got 'ml.g5.2xlarge'; huggingface-txt2imgneuron-stabilityai-"
            "stable-diffusion-xl-base-1-0@1.1.15 is served on Inferentia2 by the kit, expected one of: "
            "ml.inf2.24xlarge, ml.inf2.48xlarge, ml.inf2.8xlarge, ml.inf2.xlarge",
        ),
    ],
)
def test_a_bad_image_endpoint_is_named(endpoint: dict[str, Any], says: str) -> None:
    assert _problem(endpoint) == says
