"""Resolves a ``training.huggingface`` section for the stage's region: the training image, and how an approved
fine-tuned version is served on Inferentia2.

Runs at config load like ``genai_kit.stage.training``: a training image or a serving container missing from the
region, or serving settings the instance or the container cannot take, stop synth with a message naming the key
under ``training``. The fine-tuned model is served from where SageMaker mounts it (``/opt/ml/model``), prepared
after training by the same job that prepares an endpoint's Hub model (``genai_kit.stage.preparation``), from the
training output instead of the Hub. Plain Python: reads only the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genai_kit.catalog import CatalogError, resolve_training_image
from genai_kit.catalog.containers import ContainerContract
from genai_kit.catalog.models import model_facts
from genai_kit.config.hf_training import HfTrainingConfig
from genai_kit.config.training import MetricThreshold, TrainingConfig
from genai_kit.names import StageNames
from genai_kit.neuron import NEURON_INSTANCES, NeuronError, has_efa, neuron_instance
from genai_kit.stage.endpoints import NEURON_CONTAINER_TIMEOUT_SECONDS, container_environment, serving_container
from genai_kit.stage.errors import EndpointError, ResolutionError
from genai_kit.stage.preparation import preparation_job_shape
from genai_kit.stage.serving import ServingSettings, serving_settings
from genai_kit.stage.training import check_tuning_name

_WITHOUT_PIPELINE = "set training.enabled to false to deploy the stage without the fine-tuning pipeline"
# The bar without configured thresholds: not worse than the base model on the held-out set, both measured by the
# same job with the same forward pass (model_artifacts/training/kit_training/neuron.py held_out_metrics).
DEFAULT_THRESHOLDS = (MetricThreshold(metric="eval_loss", max_metric="base_eval_loss"),)


class HfTrainingError(ResolutionError):
    """The Hugging Face training section cannot be deployed in the stage's region; ``key`` is below ``training``."""


@dataclass(frozen=True)
class FinetunedServing:
    """How an approved fine-tuned version is served: the container's image and environment (the model at
    ``/opt/ml/model``), its settings, and the preparation job that compiles the trained model for them (``layout``
    ``export``: optimum-cli export with ``export_arguments``; ``weights``: the files as they are), on
    ``preparation_instance_type`` with ``preparation_volume_gb`` GB for at most ``preparation_max_runtime_seconds``.
    Timeouts in seconds."""

    framework: str
    version: str
    image_uri: str
    environment: dict[str, str]
    container: ContainerContract
    settings: ServingSettings
    layout: Literal["export", "weights"]
    export_arguments: tuple[str, ...]
    preparation_instance_type: str
    preparation_volume_gb: int
    preparation_max_runtime_seconds: int
    model_data_download_timeout: int = NEURON_CONTAINER_TIMEOUT_SECONDS
    container_startup_health_check_timeout: int = NEURON_CONTAINER_TIMEOUT_SECONDS


@dataclass(frozen=True)
class ResolvedHfTraining:
    """The stage's ``training`` section with ``huggingface`` set, resolved for its region; ``config.thresholds`` are
    the configured ones or, when none are, DEFAULT_THRESHOLDS.

    ``image_uri``: the Hugging Face Neuron training image; ``instance_types``: the Trainium types an execution may
    train on, with their NeuronCores; ``efa_instance_types``: those that train multi-node."""

    config: TrainingConfig
    huggingface: HfTrainingConfig
    stage: str
    region: str
    image_uri: str
    instance_types: dict[str, int]
    efa_instance_types: tuple[str, ...]
    serving: FinetunedServing

    @property
    def default_instance_type(self) -> str:
        """The configured training instance type (an execution may ask for another of ``instance_types``)."""
        return self.huggingface.instance_type


def resolve_hf_training(config: TrainingConfig, *, stage: str, region: str) -> ResolvedHfTraining:
    """Resolve an enabled ``training`` section whose ``huggingface`` is set, in ``region``.

    Raises
    ------
    HfTrainingError
        ``key`` ``huggingface`` when the training image is not published in the region (the message lists where it
        is); ``huggingface.container_version`` when the serving container is not; ``huggingface.serving...`` /
        ``serving_instance_type`` when the serving settings do not fit the instance or the container; ``tuning``
        when the stage's name leaves no room for a tuning job's name.
    """
    huggingface = config.huggingface
    if huggingface is None:
        raise ValueError("resolve_hf_training: training.huggingface is not set")
    try:
        image_uri = resolve_training_image(region=region)
    except CatalogError as error:
        raise HfTrainingError("huggingface", f"{error} ({_WITHOUT_PIPELINE})") from None
    check_tuning_name(config, StageNames(stage).training_job_prefix)
    if not config.thresholds:
        config = config.model_copy(update={"thresholds": DEFAULT_THRESHOLDS})
    trainium = {t: i.neuron_cores for t, i in sorted(NEURON_INSTANCES.items()) if t.startswith("ml.trn1")}
    return ResolvedHfTraining(
        config=config,
        huggingface=huggingface,
        stage=stage,
        region=region,
        image_uri=image_uri,
        instance_types=trainium,
        efa_instance_types=tuple(t for t in trainium if has_efa(t)),
        serving=_finetuned_serving(config, huggingface, region=region),
    )


def _finetuned_serving(config: TrainingConfig, huggingface: HfTrainingConfig, *, region: str) -> FinetunedServing:
    """The serving container of the fine-tuned model, its settings checked like an endpoint's (the base model's
    recorded facts stand for the fine-tuned one's: fine-tuning changes no shape)."""
    try:
        instance = neuron_instance(config.serving_instance_type)
    except NeuronError as error:
        raise HfTrainingError("serving_instance_type", str(error)) from None
    try:
        image_uri, container, startup = serving_container(
            huggingface.container, huggingface.container_version, region=region
        )
    except EndpointError as error:
        raise HfTrainingError(f"huggingface.{error.key.removeprefix('source.')}", str(error)) from None
    facts = model_facts(huggingface.model_id) if huggingface.model_id is not None else None
    if facts is not None and facts.model_type != huggingface.model_type:
        raise HfTrainingError(
            "huggingface.model_type",
            f"got '{huggingface.model_type}'; {huggingface.model_id}'s config.json says '{facts.model_type}' "
            "(model_artifacts/huggingface/models.json)",
        )
    try:
        settings = serving_settings(huggingface.serving, startup, instance, facts)
    except EndpointError as error:
        raise HfTrainingError(f"huggingface.{error.key.removeprefix('source.')}", str(error)) from None
    instance_type, volume, runtime = preparation_job_shape(startup, settings, facts)
    export = startup.prepared_layout == "export"
    return FinetunedServing(
        framework=huggingface.container,
        version=container.version,
        image_uri=image_uri,
        environment=container_environment({}, None, container, startup, settings),
        container=container,
        settings=settings,
        layout=startup.prepared_layout,
        export_arguments=startup.export_arguments(settings.values()) if export else (),
        preparation_instance_type=instance_type,
        preparation_volume_gb=volume,
        preparation_max_runtime_seconds=runtime,
    )
