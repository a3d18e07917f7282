"""AWS Neuron hardware facts (Inferentia2 and Trainium) as data, and checks built on them.

Plain Python: the CDK stacks, the config validation and the Lambdas import this without the
SageMaker SDK. Figures are the published per-instance NeuronCore counts and accelerator memory.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "NEURON_INSTANCES",
    "NeuronError",
    "NeuronInstance",
    "has_efa",
    "instance_family",
    "is_inf2",
    "is_neuron",
    "is_trainium",
    "neuron_instance",
]


class NeuronError(ValueError):
    """A Neuron hardware constraint is violated (unknown instance type, bad parallel degree)."""


@dataclass(frozen=True)
class NeuronInstance:
    """One SageMaker instance type with Neuron accelerators."""

    instance_type: str
    neuron_cores: int
    accelerator_memory_gib: int
    efa_gbps: int | None = None
    local_storage: bool = False
    """Local NVMe instance storage: SageMaker then refuses a VolumeKmsKeyId (the storage is the instance's)."""


NEURON_INSTANCES: dict[str, NeuronInstance] = {
    i.instance_type: i
    for i in (
        NeuronInstance("ml.inf2.xlarge", 2, 32),
        NeuronInstance("ml.inf2.8xlarge", 2, 32),
        NeuronInstance("ml.inf2.24xlarge", 12, 192),
        NeuronInstance("ml.inf2.48xlarge", 24, 384),
        NeuronInstance("ml.trn1.2xlarge", 2, 32, local_storage=True),
        NeuronInstance("ml.trn1.32xlarge", 32, 512, efa_gbps=800, local_storage=True),
        NeuronInstance("ml.trn1n.32xlarge", 32, 512, efa_gbps=1600, local_storage=True),
    )
}


def instance_family(instance_type: str) -> str:
    """Return the family of ``ml.<family>.<size>`` (``inf2``, ``trn1n``...), or ``""`` if malformed."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return ""
    return parts[1]


def is_inf2(instance_type: str) -> bool:
    """True for Inferentia2 hosting instances (``ml.inf2.*``)."""
    return instance_family(instance_type) == "inf2"


def is_trainium(instance_type: str) -> bool:
    """True for Trainium training instances (``ml.trn1.*`` and ``ml.trn1n.*``)."""
    return instance_family(instance_type) in {"trn1", "trn1n"}


def is_neuron(instance_type: str) -> bool:
    """True for any instance type whose accelerators are Neuron devices (inf*, trn*)."""
    return instance_family(instance_type).startswith(("inf", "trn"))


def neuron_instance(instance_type: str) -> NeuronInstance:
    """Return the facts for a Neuron instance type, or raise NeuronError listing the known ones."""
    try:
        return NEURON_INSTANCES[instance_type]
    except KeyError:
        known = ", ".join(NEURON_INSTANCES)
        raise NeuronError(f"unknown Neuron instance type {instance_type!r}; known: {known}") from None


def has_efa(instance_type: str) -> bool:
    """True if the instance type has Elastic Fabric Adapter networking (multi-node training)."""
    return neuron_instance(instance_type).efa_gbps is not None
