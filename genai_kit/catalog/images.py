"""Neuron Deep Learning Container image URIs: serving images for models JumpStart does not host, and the training image.

A Hugging Face hub id or S3 weights are served by a Neuron DLC: LMI (``djl-neuronx``), TGI
(``huggingface-llm-neuronx``) or vLLM (``huggingface-vllm-neuronx``). Their image URIs come from
tables derived from the ones the SageMaker SDK bundles, so no tag is ever typed by hand.
"""

from __future__ import annotations

from pathlib import Path

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.loader import load_image_table
from genai_kit.catalog.schema import ImageVersion

NEURON_DLC_FRAMEWORKS = ("djl-neuronx", "huggingface-llm-neuronx", "huggingface-vllm-neuronx")


def resolve_dlc_version(framework: str, version: str, *, root: Path | None = None) -> str:
    """The table version of ``framework`` that ``version`` (a version or an alias such as ``0.3``) names."""
    if framework not in NEURON_DLC_FRAMEWORKS:
        raise CatalogError(f"unknown Neuron DLC framework {framework!r}; supported: {choices(NEURON_DLC_FRAMEWORKS)}")
    table = load_image_table(framework, root=root)
    resolved = table.version_aliases.get(version, version)
    if resolved not in table.versions:
        known = choices([*table.versions, *table.version_aliases])
        raise CatalogError(f"unknown {framework} version {version!r}; versions and aliases: {known}")
    return resolved


def resolve_dlc_image(framework: str, version: str, *, region: str, root: Path | None = None) -> str:
    """Image URI of a Neuron DLC ``framework`` at ``version`` (or a version alias) in ``region``."""
    resolved = resolve_dlc_version(framework, version, root=root)
    table = load_image_table(framework, root=root)
    entry = table.versions[resolved]
    if region not in entry.regions:
        raise CatalogError(
            f"{framework} {resolved} is not published in region {region!r}; regions: {choices(entry.regions)}"
        )
    return f"{table.registries[region]}/{entry.image}"


# The Hugging Face Neuron training image (huggingface-pytorch-training-neuronx): the SDK's table of that name, scope
# "training". Its catalog table holds only the versions the kit's training script is written for
# (genai_kit.catalog.refresh.tables._TRAINING_IMAGE_FACTS).
NEURON_TRAINING_FRAMEWORK = "huggingface-neuronx"
# The transformers version of the image the training script (model_artifacts/training) is written against.
TRAINING_IMAGE_VERSION = "4.55.4"


def training_image(version: str = TRAINING_IMAGE_VERSION, *, root: Path | None = None) -> ImageVersion:
    """The catalog's facts on a Hugging Face Neuron training image: ``repository:tag``, regions, packages, model types.

    ``version`` is the image's transformers version or an alias (``4.55``). Raises CatalogError naming the versions
    the catalog has.
    """
    table = load_image_table(NEURON_TRAINING_FRAMEWORK, root=root)
    resolved = table.version_aliases.get(version, version)
    if resolved not in table.versions:
        known = choices([*table.versions, *table.version_aliases])
        raise CatalogError(
            f"unknown {NEURON_TRAINING_FRAMEWORK} training version {version!r}; versions and aliases: {known}"
        )
    return table.versions[resolved]


def resolve_training_image(version: str = TRAINING_IMAGE_VERSION, *, region: str, root: Path | None = None) -> str:
    """Image URI of the Hugging Face Neuron training image in ``region``.

    ``<account>.dkr.ecr.<region>.<dns suffix>/huggingface-pytorch-training-neuronx:<tag>``, the account from the SDK's
    table. Raises CatalogError for a version the catalog lacks, or a region the image is not published in (listing
    the regions that have it).
    """
    entry = training_image(version, root=root)
    if region not in entry.regions:
        raise CatalogError(
            f"the Hugging Face Neuron training image ({NEURON_TRAINING_FRAMEWORK} {version}) is not published in "
            f"region {region!r}; regions: {choices(entry.regions)}"
        )
    table = load_image_table(NEURON_TRAINING_FRAMEWORK, root=root)
    return f"{table.registries[region]}/{entry.image}"
