"""Neuron Deep Learning Container image URIs for models that JumpStart does not host.

A Hugging Face hub id or S3 weights are served by a Neuron DLC: LMI (``djl-neuronx``), TGI
(``huggingface-llm-neuronx``) or vLLM (``huggingface-vllm-neuronx``). Their image URIs come from
tables derived from the ones the SageMaker SDK bundles, so no tag is ever typed by hand.
"""

from __future__ import annotations

from pathlib import Path

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.loader import load_image_table

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
