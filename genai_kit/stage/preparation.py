"""How the kit prepares a Hugging Face model for a Neuron serving container: the preparation job's shape.

A preparation job is a SageMaker training job in the serving image that downloads (or receives) the model's files
and, where the container needs it, compiles them with the container's own optimum-neuron for the serving settings
(``jobs/model_preparation``). Endpoints prepare a pinned Hub revision once (``genai_kit.stage.endpoints``); the
fine-tuning pipeline prepares each trained model the same way before it registers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genai_kit.catalog.models import ModelFacts
from genai_kit.catalog.startup import StartupContract
from genai_kit.config.endpoints import HuggingFaceSource
from genai_kit.stage.serving import ServingSettings

PREPARED_PREFIX = "prepared-models/"


# The preparation job (a SageMaker training job in the serving image). optimum-neuron 0.3.0 exports LLMs on Neuron
# hardware only (docs/source/guides/export_model.mdx#L340-L345); SageMaker training has Trainium, not Inferentia2,
# instances; Trn1 and Inf2 share the NeuronCore-v2 (Neuron docs, "Trainium and Inferentia2 architecture"), and
# optimum-neuron 0.4.1 compiles inf2 exports for its trn1 target (optimum/neuron/utils/instance.py#L24-L47). The
# compiler runs on the host: a degree above the 2 NeuronCores of a trn1.2xlarge compiles on a trn1.32xlarge.
EXPORT_INSTANCE_TYPE = "ml.trn1.2xlarge"
LARGE_EXPORT_INSTANCE_TYPE = "ml.trn1.32xlarge"
# Copying weights needs no accelerator.
WEIGHTS_INSTANCE_TYPE = "ml.m5.xlarge"
EXPORT_MAX_RUNTIME_SECONDS = 4 * 3600
WEIGHTS_MAX_RUNTIME_SECONDS = 3600
# Storage without model facts: room for a 30B model's 16-bit weights, downloaded and exported.
DEFAULT_PREPARATION_VOLUME_GB = 200


@dataclass(frozen=True)
class Preparation:
    """What the preparation job makes of a Hugging Face model, and where: ``layout`` ``export`` (compiled for Neuron
    by the serving image's own optimum-neuron, with ``export_arguments``) or ``weights`` (the pinned files as
    they are); the job's instance type, volume (GB) and longest run (seconds)."""

    model_id: str
    revision: str
    token_secret_arn: str | None
    layout: Literal["export", "weights"]
    settings: ServingSettings
    export_arguments: tuple[str, ...]
    framework: str
    version: str
    image_uri: str
    instance_type: str
    volume_size_gb: int
    max_runtime_seconds: int

    @property
    def prefix(self) -> str:
        """The key prefix in the artifacts bucket: the model, its revision and, for an export, the container and
        every setting compiled in, so a change of any of them prepares anew and an unchanged one is reused."""
        base = f"{PREPARED_PREFIX}{self.model_id}/{self.revision}/"
        if self.layout == "weights":
            return f"{base}weights/"
        s = self.settings
        shape = f"tp{s.tensor_parallel_degree}-batch{s.max_batch_size}-seq{s.max_sequence_length}"
        if s.max_input_tokens is not None:
            shape += f"-input{s.max_input_tokens}"
        return f"{base}{self.framework}-{self.version}/{shape}-{s.dtype or 'model-dtype'}/"


def preparation_of(
    source: HuggingFaceSource,
    revision: str,
    *,
    startup: StartupContract,
    settings: ServingSettings,
    facts: ModelFacts | None,
    version: str,
    image_uri: str,
) -> Preparation:
    export = startup.prepared_layout == "export"
    instance_type, volume, max_runtime = preparation_job_shape(startup, settings, facts)
    return Preparation(
        model_id=source.model_id,
        revision=revision,
        token_secret_arn=source.token_secret_arn,
        layout=startup.prepared_layout,
        settings=settings,
        export_arguments=startup.export_arguments(settings.values()) if export else (),
        framework=source.container,
        version=version,
        image_uri=image_uri,
        instance_type=instance_type,
        volume_size_gb=volume,
        max_runtime_seconds=max_runtime,
    )


def preparation_job_shape(
    startup: StartupContract, settings: ServingSettings, facts: ModelFacts | None
) -> tuple[str, int, int]:
    """(instance type, volume in GB, longest run in seconds) of the job that prepares a model for ``startup``'s
    layout with ``settings``: an export compiles on Trainium (see EXPORT_INSTANCE_TYPE), weights copy on CPU."""
    export = startup.prepared_layout == "export"
    if export:
        instance_type = EXPORT_INSTANCE_TYPE if settings.tensor_parallel_degree <= 2 else LARGE_EXPORT_INSTANCE_TYPE
    else:
        instance_type = WEIGHTS_INSTANCE_TYPE
    # The download and, for an export, its compiled copy with the sharded weights, plus room for the tools.
    volume = DEFAULT_PREPARATION_VOLUME_GB
    if facts is not None:
        weights_gb = facts.parameters * 2 / 1e9
        volume = max(30, int(weights_gb * (2.5 if export else 1.5)) + 20)
    return instance_type, volume, EXPORT_MAX_RUNTIME_SECONDS if export else WEIGHTS_MAX_RUNTIME_SECONDS
