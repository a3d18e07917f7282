"""The serving containers' facts: every version the catalog offers has them, and endpoints carry them."""

from __future__ import annotations

import pytest

from genai_kit.catalog import CatalogError
from genai_kit.catalog.containers import container_contract, contract_for_image
from genai_kit.catalog.images import NEURON_DLC_FRAMEWORKS
from genai_kit.catalog.loader import load_image_table


@pytest.mark.parametrize("framework", NEURON_DLC_FRAMEWORKS)
def test_every_offered_version_has_sourced_facts(framework: str) -> None:
    for version in load_image_table(framework).versions:
        contract = container_contract(framework, version)
        assert contract.sources
        assert all("@" in source for source in contract.sources)
        # a container that reports usage in a stream streams
        assert contract.streams or not contract.stream_usage


@pytest.mark.parametrize(
    ("framework", "version", "chat", "streams"),
    [
        ("huggingface-llm-neuronx", "0.3.0", True, True),
        ("huggingface-llm-neuronx", "0.0.25", True, True),
        ("huggingface-llm-neuronx", "0.0.18", False, True),
        ("huggingface-vllm-neuronx", "0.4.1", True, True),
        ("djl-neuronx", "0.29.0", True, True),
        ("djl-neuronx", "0.24.0", False, False),
    ],
)
def test_facts_by_version(framework: str, version: str, chat: bool, streams: bool) -> None:
    contract = container_contract(framework, version)
    assert (contract.chat_on_invocations, contract.streams) == (chat, streams)


def test_tgi_before_2_4_takes_the_chat_schema_only_with_the_messages_api_on() -> None:
    assert container_contract("huggingface-llm-neuronx", "0.0.25").chat_environment == (
        ("MESSAGES_API_ENABLED", "true"),
    )
    assert container_contract("huggingface-llm-neuronx", "0.3.0").chat_environment == ()


def test_a_jumpstart_image_is_found_in_the_image_tables() -> None:
    contract = contract_for_image("763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.24.0-neuronx-sdk2.14.1")
    assert (contract.framework, contract.version, contract.streams) == ("djl-neuronx", "0.24.0", False)


def test_unknown_image_or_version_is_refused() -> None:
    with pytest.raises(CatalogError, match="not a Neuron serving container"):
        contract_for_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:1")
    with pytest.raises(CatalogError, match=r"versions with facts: 0\.4\.1"):
        container_contract("huggingface-vllm-neuronx", "9.9.9")
