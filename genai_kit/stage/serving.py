"""An endpoint's serving settings, completed and checked by its serving container's own rules.

``serving`` (tensor parallel degree, batch, sequence and prompt limits, dtype) is completed with the kit's
defaults and checked against the instance's NeuronCores and accelerator memory, the container version's start-up
contract (``genai_kit.catalog.startup``) and, where known, the model's facts; ``environment`` overrides are
checked against the variables the kit sets from those settings. Every problem is an ``EndpointError`` naming the
key below ``endpoints.<i>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from genai_kit.catalog.containers import ContainerContract, degree_variables
from genai_kit.catalog.models import GIB, ModelFacts
from genai_kit.catalog.startup import Setting, StartupContract
from genai_kit.config.endpoints import ServingOptions
from genai_kit.neuron import NeuronInstance
from genai_kit.stage.errors import EndpointError


@dataclass(frozen=True)
class ServingSettings:
    """The serving settings of an endpoint, complete (defaults applied) and checked against its container."""

    tensor_parallel_degree: int
    max_batch_size: int
    max_sequence_length: int
    max_input_tokens: int | None
    dtype: Literal["bf16", "fp16"] | None

    def values(self) -> dict[Setting, str | int | None]:
        """The settings by the start-up contract's names (the prefill budget of a static batch included)."""
        prefill = self.max_batch_size * self.max_input_tokens if self.max_input_tokens is not None else None
        return {
            "tensor_parallel_degree": self.tensor_parallel_degree,
            "max_batch_size": self.max_batch_size,
            "max_sequence_length": self.max_sequence_length,
            "max_input_tokens": self.max_input_tokens,
            "max_batch_prefill_tokens": prefill,
            "dtype": self.dtype,
        }


def serving_settings(
    serving: ServingOptions, startup: StartupContract, instance: NeuronInstance, facts: ModelFacts | None
) -> ServingSettings:
    """Complete ``serving`` with the kit's defaults and check it by the container's own rules.

    Raises
    ------
    EndpointError
        Naming the ``serving.<key>``, the bad value and what is valid: a degree above the instance's
        NeuronCores (every container refuses it: TGI tgi_env.py#L167-L171, vLLM model_loader.py#L129-L137, LMI
        ModelInfo.java#L993-L1064), a setting the container version cannot take, a prompt limit not below the
        sequence (TGI's launcher), a sequence beyond the model's context, a model type the container does not
        serve, or weights and KV cache that cannot fit the accelerator memory of the NeuronCores used.
    """
    degree = serving.tensor_parallel_degree or instance.neuron_cores
    if degree > instance.neuron_cores:
        raise EndpointError(
            "serving.tensor_parallel_degree",
            f"got {degree}; {instance.instance_type} has {instance.neuron_cores} NeuronCores, so the degree can be "
            f"1 to {instance.neuron_cores}",
        )
    input_tokens = serving.max_input_tokens
    if startup.input_below_total:
        input_tokens = input_tokens or max(1, serving.max_sequence_length // 2)
        if input_tokens >= serving.max_sequence_length:
            raise EndpointError(
                "serving.max_input_tokens",
                f"got {input_tokens}; the container refuses a prompt limit that is not below max_sequence_length "
                f"({serving.max_sequence_length}): expected at most {serving.max_sequence_length - 1}",
            )
    elif input_tokens is not None:
        raise EndpointError(
            "serving.max_input_tokens",
            "this container has no prompt limit of its own (only TGI has one); the prompt and the answer share "
            "max_sequence_length",
        )
    dtype = serving.dtype
    if startup.dtypes:
        dtype = dtype or "bf16"
    elif dtype is not None:
        raise EndpointError(
            "serving.dtype",
            f"got '{dtype}'; this container serves the model in its own dtype (config.json torch_dtype) and has no "
            "setting for it: leave serving.dtype unset",
        )
    settings = ServingSettings(degree, serving.max_batch_size, serving.max_sequence_length, input_tokens, dtype)
    if facts is not None:
        _check_model_fit(settings, startup, instance, facts)
    return settings


def _check_model_fit(
    settings: ServingSettings, startup: StartupContract, instance: NeuronInstance, facts: ModelFacts
) -> None:
    if settings.max_sequence_length > facts.max_position_embeddings:
        raise EndpointError(
            "serving.max_sequence_length",
            f"got {settings.max_sequence_length}; the model's context is {facts.max_position_embeddings} tokens "
            "(config.json max_position_embeddings): expected at most that",
        )
    if startup.model_types is not None and facts.model_type not in startup.model_types:
        raise EndpointError(
            "source.container",
            f"the model's type is '{facts.model_type}', which this container does not serve; it serves "
            f"{', '.join(startup.model_types)}",
        )
    needed = facts.memory_bytes(
        batch_size=settings.max_batch_size,
        sequence_length=settings.max_sequence_length,
        tensor_parallel_degree=settings.tensor_parallel_degree,
    )
    available = instance.accelerator_memory_gib * GIB * settings.tensor_parallel_degree // instance.neuron_cores
    if needed > available:
        raise EndpointError(
            "serving",
            f"max_batch_size {settings.max_batch_size} x max_sequence_length {settings.max_sequence_length} needs at "
            f"least {needed / GIB:.1f} GiB of accelerator memory (16-bit weights and KV cache), more than the "
            f"{available / GIB:.0f} GiB of the {settings.tensor_parallel_degree} NeuronCores used on "
            f"{instance.instance_type}: lower the batch or the sequence, or use more NeuronCores",
        )


def check_overrides(environment: Mapping[str, str], startup: StartupContract) -> None:
    """Refuse an override of a variable the kit sets from a setting, or one the container misreads."""
    carried = {name: setting for setting, names in startup.variables for name in names}
    fixed = dict(startup.fixed)
    for name in environment:
        where = f"environment.{name}"
        if name in carried:
            setting = carried[name]
            key = {"model": "source.model_id", "revision": "source.revision"}.get(setting, f"serving.{setting}")
            if setting == "max_batch_prefill_tokens":
                key = "serving.max_batch_size and serving.max_input_tokens"
            raise EndpointError(where, f"'{name}' is set by {key}, which the kit checks against the instance: set that")
        if name in fixed:
            raise EndpointError(where, f"'{name}' is set to '{fixed[name]}' by the kit, which this container needs")
        if name in startup.not_read:
            raise EndpointError(
                where,
                f"'{name}' is not read by this container version, or breaks it beside the variables the kit sets "
                f"({', '.join(sorted(carried))}): remove it and use the serving settings",
            )
        if startup.option_prefix and name.startswith(startup.option_prefix):
            raise EndpointError(
                where,
                f"'{name}': the container turns every {startup.option_prefix}* variable into an option of its "
                f"server, which stops at one it does not know; the kit sets {', '.join(sorted(carried))}",
            )


def check_degree_variables(
    spec_environment: Mapping[str, str],
    overrides: Mapping[str, str],
    container: ContainerContract,
    instance: NeuronInstance,
) -> None:
    """The tensor parallel degree a JumpStart endpoint's environment sets must fit the instance, by the same rule
    as ``serving.tensor_parallel_degree``, whether the spec or an override sets it."""
    environment = {**spec_environment, **overrides}
    for name in degree_variables(container.family):
        value = environment.get(name, "")
        if value.isdigit() and int(value) > instance.neuron_cores:
            key = f"environment.{name}" if name in overrides else "instance_type"
            raise EndpointError(
                key,
                f"{name} is {value}; {instance.instance_type} has {instance.neuron_cores} NeuronCores, so the degree "
                f"can be 1 to {instance.neuron_cores}",
            )
