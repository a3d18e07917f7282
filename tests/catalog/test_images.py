"""Neuron DLC image URIs for models served outside JumpStart."""

from __future__ import annotations

import pytest

from genai_kit.catalog import CatalogError, resolve_dlc_image, resolve_training_image, training_image


@pytest.mark.parametrize(
    ("framework", "version", "region", "uri"),
    [
        (
            "djl-neuronx",
            "0.29.0",
            "us-east-1",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-neuronx-sdk2.19.1",
        ),
        (
            "huggingface-vllm-neuronx",
            "0.4.1",
            "us-west-2",
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-vllm-inference-neuronx:"
            "0.10.2-neuronx-py310-sdk2.26.0-ubuntu22.04",
        ),
    ],
)
def test_known_images(framework: str, version: str, region: str, uri: str) -> None:
    assert resolve_dlc_image(framework, version, region=region) == uri


def test_version_alias_resolves_like_its_target() -> None:
    assert resolve_dlc_image("djl-neuronx", "latest", region="eu-west-1") == resolve_dlc_image(
        "djl-neuronx", "0.29.0", region="eu-west-1"
    )


def test_unknown_framework_lists_supported_ones() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_dlc_image("tgi", "1.0", region="us-east-1")
    assert str(excinfo.value) == (
        "unknown Neuron DLC framework 'tgi'; supported: djl-neuronx, huggingface-llm-neuronx, huggingface-vllm-neuronx"
    )


def test_unknown_version_lists_versions_and_aliases() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_dlc_image("djl-neuronx", "0.30.0", region="us-east-1")
    assert str(excinfo.value) == (
        "unknown djl-neuronx version '0.30.0'; versions and aliases: 0.22.1, 0.23.0, 0.24.0, 0.25.0, 0.26.0, "
        "0.27.0, 0.28.0, 0.29.0, latest"
    )


def test_region_without_the_image_lists_regions() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_dlc_image("huggingface-vllm-neuronx", "0.4.1", region="af-south-1")
    assert str(excinfo.value).startswith(
        "huggingface-vllm-neuronx 0.4.1 is not published in region 'af-south-1'; regions: ap-northeast-1, ap-south-1,"
    )


# --- the Hugging Face Neuron training image --------------------------------------------------


def test_training_image_is_the_optimum_neuron_0_4_1_image() -> None:
    assert resolve_training_image(region="us-east-1") == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training-neuronx:"
        "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04"
    )


def test_training_image_in_china_uses_the_china_ecr_domain() -> None:
    assert resolve_training_image("4.55", region="cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/huggingface-pytorch-training-neuronx:2.8.0-"
    )


def test_training_image_pins_the_packages_the_script_is_written_for() -> None:
    image = training_image()
    assert image.packages is not None
    pins = (image.packages["optimum-neuron"], image.packages["trl"], image.packages["peft"])
    assert pins == ("0.4.1", "0.11.4", "0.17.0")
    assert image.model_types == ("granite", "llama", "qwen3")


def test_training_image_region_without_it_is_refused_naming_the_regions() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_training_image(region="af-south-1")
    assert str(excinfo.value).startswith(
        "the Hugging Face Neuron training image (huggingface-neuronx 4.55.4) is not published in region 'af-south-1'; "
        "regions: ap-northeast-1, ap-south-1,"
    )


def test_training_image_version_the_script_is_not_written_for_is_refused() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_training_image("4.51.0", region="us-east-1")
    assert str(excinfo.value) == (
        "unknown huggingface-neuronx training version '4.51.0'; versions and aliases: 4.55, 4.55.4"
    )
