"""Derive the catalog's region table and Neuron DLC image tables from the SDK's bundled tables.

The image URI is built exactly as ``sagemaker.image_uris.retrieve`` builds it for an
``ml.inf2.xlarge`` instance, with the ``inference_tool`` the SDK's own helpers pass
(``get_huggingface_llm_image_uri`` passes ``"neuronx"`` for the Hugging Face Neuron backends;
the DJL model passes none). The result is stored as ``repository:tag`` per version plus a
registry host per region, so resolution needs no tag logic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genai_kit.catalog.errors import CatalogError
from genai_kit.catalog.images import NEURON_DLC_FRAMEWORKS, NEURON_TRAINING_FRAMEWORK
from genai_kit.catalog.schema import SCHEMA_VERSION, ImageTable, ImageVersion, RegionBuckets, RegionTable

# Instance type the tables are resolved for: the tag only depends on the family (inf2).
_INSTANCE_FAMILY = "inf2"
_INFERENCE_TOOL = {"huggingface-llm-neuronx": "neuronx", "huggingface-vllm-neuronx": "neuronx"}
# Repositories whose tag carries the Neuron SDK version (sagemaker.image_uris.retrieve).
_SDK_VERSION_REPOSITORIES = {
    "pytorch-training-neuron",
    "pytorch-training-neuronx",
    "huggingface-vllm-inference-neuronx",
}
# ECR DNS suffix by partition, from botocore's endpoint data; everything else is amazonaws.com.
_DNS_SUFFIXES = (
    ("cn-", "amazonaws.com.cn"),
    ("eusc-", "amazonaws.eu"),
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
)


def ecr_host(account: str, region: str) -> str:
    """``<account>.dkr.ecr.<region>.<dns suffix>``, the registry part of an image URI."""
    suffix = next((s for prefix, s in _DNS_SUFFIXES if region.startswith(prefix)), "amazonaws.com")
    return f"{account}.dkr.ecr.{region}.{suffix}"


def region_table(images_dir: Path, *, date: str) -> RegionTable:
    """``regions.json`` from the SDK's JumpStart ``region_config.json``."""
    raw = _load(images_dir / "region_config.json")
    return RegionTable(
        schema_version=SCHEMA_VERSION,
        source="sagemaker-sdk:region_config.json",
        refreshed=date,
        regions={
            region: RegionBuckets(
                content_bucket=values["content_bucket"], gated_content_bucket=values.get("gated_content_bucket")
            )
            for region, values in sorted(raw.items())
        },
    )


def image_tables(images_dir: Path, *, date: str) -> list[ImageTable]:
    """One compact table per Neuron DLC framework the resolver serves, serving images then the training one."""
    serving = [image_table(images_dir, framework, date=date) for framework in NEURON_DLC_FRAMEWORKS]
    return [*serving, training_image_table(images_dir, date=date)]


def image_table(images_dir: Path, framework: str, *, date: str) -> ImageTable:
    raw = _load(images_dir / f"{framework}.json")
    # Two layouts: scopes as top-level keys, or one config with a "scope" list.
    config: dict[str, Any] = raw if "scope" in raw else raw["inference"]
    processors = config.get("processors")
    registries: dict[str, str] = {}
    versions: dict[str, ImageVersion] = {}
    for version, version_config in config["versions"].items():
        py_versions = version_config.get("py_versions") or []
        if len(py_versions) > 1:
            raise CatalogError(f"{framework} {version} has several Python versions {py_versions}; pick one first")
        py_version = py_versions[0] if py_versions else None
        resolved = version_config.get(py_version) or version_config
        image = f"{resolved['repository']}:{_tag(framework, version, resolved, processors, py_version)}"
        for region, account in resolved["registries"].items():
            host = ecr_host(account, region)
            if registries.setdefault(region, host) != host:
                raise CatalogError(f"{framework}: region {region} has two registries, {registries[region]} and {host}")
        versions[version] = ImageVersion(image=image, regions=tuple(sorted(resolved["registries"])))
    return ImageTable(
        schema_version=SCHEMA_VERSION,
        framework=framework,
        source=f"sagemaker-sdk:image_uri_config/{framework}.json",
        refreshed=date,
        registries=dict(sorted(registries.items())),
        version_aliases=dict(sorted((config.get("version_aliases") or {}).items())),
        versions=versions,
    )


# What the kit knows about a Hugging Face Neuron training image that the SDK's table does not say, or says wrongly.
# The SDK's table labels transformers 4.55.4 "pytorch2.7.0", but the image is PyTorch 2.8.0: the DLC buildspec tags
# it VERSION 2.8.0 and its Dockerfile pins torch-neuronx 2.8.0.2.10.13553 (aws/deep-learning-containers @ed7cbf3,
# huggingface/pytorch/training/buildspec-neuronx.yml and docker/2.8/py3/sdk2.26.0/Dockerfile.neuronx; the tag
# "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04" is listed in
# docs/src/data/huggingface-pytorch-training-neuronx/2.8-neuronx-sdk2.26.0.yml @e0ecede). The SDK itself cannot
# build these URIs: image_uris.retrieve refuses "huggingface" on Trainium (TRAINIUM_ALLOWED_FRAMEWORKS = "pytorch").
# Packages: the Dockerfile's OPTIMUM_NEURON_VERSION / TRANSFORMERS_VERSION / DATASETS_VERSION arguments, and the
# trl / peft pins of optimum-neuron 0.4.1's "training" extra (pyproject.toml @ tag v0.4.1, a3ded34). Model types:
# register_neuron_model_for_training("llama" | "granite" | "qwen3", "text-generation") in
# optimum/neuron/models/training/auto_models.py:35-37 @ v0.4.1, the only causal LMs its trainer can build.
_TRAINING_IMAGE_FACTS: dict[str, dict[str, Any]] = {
    "4.55.4": {
        "pytorch": "2.8.0",
        "packages": {
            "datasets": "4.1.1",
            "optimum-neuron": "0.4.1",
            "peft": "0.17.0",
            "torch-neuronx": "2.8.0.2.10.13553",
            "transformers": "4.55.4",
            "trl": "0.11.4",
        },
        "model_types": ("granite", "llama", "qwen3"),
    },
}
# Device part of every huggingface-pytorch-training-neuronx tag (DEVICE_TYPE in the DLC buildspec).
_TRAINING_DEVICE = "neuronx"


def training_image_table(images_dir: Path, *, date: str) -> ImageTable:
    """The Hugging Face Neuron training images the kit's training script supports, from the SDK's ``training`` scope.

    Registries, regions, Python, Neuron SDK and OS versions come from the SDK's table; the PyTorch version, the
    packages and the trainable model types from ``_TRAINING_IMAGE_FACTS`` (versions the kit has not checked are
    left out, so nothing unverified is ever resolved). Raises CatalogError if the SDK's table lacks a known version.
    """
    framework = NEURON_TRAINING_FRAMEWORK
    config: dict[str, Any] = _load(images_dir / f"{framework}.json")["training"]
    registries: dict[str, str] = {}
    versions: dict[str, ImageVersion] = {}
    for version, facts in _TRAINING_IMAGE_FACTS.items():
        if version not in config["versions"]:
            raise CatalogError(f"{framework} training {version} is not in the SDK's table; known: {config['versions']}")
        version_config = config["versions"][version]
        (resolved,) = (value for key, value in version_config.items() if key != "version_aliases")
        (py_version,) = resolved["py_versions"]
        (sdk_version,) = resolved["sdk_versions"]
        (os_version,) = resolved["container_version"].values()
        prefix = f"{facts['pytorch']}-transformers{version}"
        tag = "-".join((prefix, _TRAINING_DEVICE, py_version, sdk_version, os_version))
        for region, account in resolved["registries"].items():
            host = ecr_host(account, region)
            if registries.setdefault(region, host) != host:
                raise CatalogError(f"{framework}: region {region} has two registries, {registries[region]} and {host}")
        versions[version] = ImageVersion(
            image=f"{resolved['repository']}:{tag}",
            regions=tuple(sorted(resolved["registries"])),
            packages=facts["packages"],
            model_types=facts["model_types"],
        )
    aliases = {alias: target for alias, target in (config.get("version_aliases") or {}).items() if target in versions}
    return ImageTable(
        schema_version=SCHEMA_VERSION,
        framework=framework,
        source=f"sagemaker-sdk:image_uri_config/{framework}.json#training",
        refreshed=date,
        registries=dict(sorted(registries.items())),
        version_aliases=dict(sorted(aliases.items())),
        versions=versions,
    )


def _tag(
    framework: str, version: str, config: dict[str, Any], processors: list[str] | None, py_version: str | None
) -> str:
    processor = None
    if processors:
        processor = _INSTANCE_FAMILY if _INSTANCE_FAMILY in processors else "inf"
        if processor not in processors:
            raise CatalogError(f"{framework} {version} has no image for {_INSTANCE_FAMILY}; processors: {processors}")
    container_version = (config.get("container_version") or {}).get(processor) if processor else None
    if config["repository"] in _SDK_VERSION_REPOSITORIES:
        # The SDK takes the highest by plain string order, so do we.
        sdk_version = sorted(config["sdk_versions"], reverse=True)[0]
        container_version = f"{sdk_version}-{container_version}"
    tag_prefix = config.get("tag_prefix", version)
    middle = _INFERENCE_TOOL.get(framework) or processor
    return "-".join(part for part in (tag_prefix, middle, py_version, container_version) if part)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read SDK table {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"SDK table {path} is not a JSON object")
    return data
