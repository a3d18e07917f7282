"""Neuron hardware facts and the tensor parallel check."""

import pytest

from genai_kit import neuron
from genai_kit.neuron import NeuronError

EXPECTED_FACTS = [
    ("ml.inf2.xlarge", 2, 32, None),
    ("ml.inf2.8xlarge", 2, 32, None),
    ("ml.inf2.24xlarge", 12, 192, None),
    ("ml.inf2.48xlarge", 24, 384, None),
    ("ml.trn1.2xlarge", 2, 32, None),
    ("ml.trn1.32xlarge", 32, 512, 800),
    ("ml.trn1n.32xlarge", 32, 512, 1600),
]


@pytest.mark.parametrize(("instance_type", "cores", "memory", "efa"), EXPECTED_FACTS)
def test_instance_facts(instance_type: str, cores: int, memory: int, efa: int | None) -> None:
    facts = neuron.neuron_instance(instance_type)
    assert (facts.neuron_cores, facts.accelerator_memory_gib, facts.efa_gbps) == (cores, memory, efa)


def test_table_holds_exactly_the_documented_instances() -> None:
    assert set(neuron.NEURON_INSTANCES) == {row[0] for row in EXPECTED_FACTS}


def test_unknown_instance_type_lists_known_ones() -> None:
    with pytest.raises(NeuronError, match=r"unknown Neuron instance type 'ml\.g5\.xlarge'; known: ml\.inf2\.xlarge,"):
        neuron.neuron_instance("ml.g5.xlarge")


@pytest.mark.parametrize(
    ("instance_type", "inf2", "trainium", "is_neuron"),
    [
        ("ml.inf2.xlarge", True, False, True),
        ("ml.trn1.2xlarge", False, True, True),
        ("ml.trn1n.32xlarge", False, True, True),
        ("ml.inf1.xlarge", False, False, True),
        ("ml.g5.2xlarge", False, False, False),
        ("inf2.xlarge", False, False, False),
    ],
)
def test_family_helpers(instance_type: str, inf2: bool, trainium: bool, is_neuron: bool) -> None:
    assert (neuron.is_inf2(instance_type), neuron.is_trainium(instance_type), neuron.is_neuron(instance_type)) == (
        inf2,
        trainium,
        is_neuron,
    )


@pytest.mark.parametrize(
    ("instance_type", "efa"),
    [("ml.trn1.32xlarge", True), ("ml.trn1n.32xlarge", True), ("ml.trn1.2xlarge", False), ("ml.inf2.48xlarge", False)],
)
def test_has_efa(instance_type: str, efa: bool) -> None:
    assert neuron.has_efa(instance_type) is efa


@pytest.mark.parametrize(
    ("instance_type", "local"), [("ml.trn1.2xlarge", True), ("ml.trn1n.32xlarge", True), ("ml.inf2.xlarge", False)]
)
def test_trainium_has_local_instance_storage(instance_type: str, local: bool) -> None:
    assert neuron.neuron_instance(instance_type).local_storage is local
