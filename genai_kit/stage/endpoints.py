"""Resolves each configured endpoint into everything its SageMaker resources need, or says what is wrong.

Runs at config load, before any construct is built, so a bad instance type, a tensor parallel degree
that does not fit, an image missing from the region or an unaccepted EULA stop synth with a message
naming the key. Plain Python: reads only the catalog entries the configuration names. The serving settings of
a Hugging Face or S3 model are completed and checked by its container's rules in ``genai_kit.stage.serving``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from genai_kit.catalog import (
    CatalogError,
    HostingSpec,
    load_entry,
    require_neuron_hosting,
    resolve_dlc_image,
    resolve_hosting,
)
from genai_kit.catalog.containers import ContainerContract, container_contract, contract_for_image
from genai_kit.catalog.images import resolve_dlc_version
from genai_kit.catalog.models import model_facts
from genai_kit.catalog.startup import Setting, StartupContract, startup_versions
from genai_kit.config.endpoints import (
    EndpointConfig,
    HuggingFaceSource,
    ImageOptions,
    JumpStartSource,
    S3WeightsSource,
    ServingOptions,
)
from genai_kit.names import StageNames
from genai_kit.neuron import NeuronError, NeuronInstance, is_inf2, neuron_instance
from genai_kit.stage.errors import EndpointError
from genai_kit.stage.preparation import Preparation, preparation_of
from genai_kit.stage.serving import ServingSettings, check_degree_variables, check_overrides, serving_settings

DEFAULT_INSTANCE_TYPE = "ml.inf2.xlarge"
# Neuron containers compile the model when they start: give download and start-up SageMaker's maximum.
NEURON_CONTAINER_TIMEOUT_SECONDS = 3600
# Where SageMaker mounts the model data source inside the container.
MODEL_DIR = "/opt/ml/model"


@dataclass(frozen=True)
class ModelData:
    """A SageMaker ModelDataSource.S3DataSource; ``read_prefix``: what the role may read, where ``s3_uri`` is only
    known at deploy time (a prepared model's, which is under that prefix)."""

    s3_uri: str
    s3_data_type: Literal["S3Prefix", "S3Object"]
    compression: Literal["None", "Gzip"]
    accept_eula: bool
    read_prefix: str | None = None


@dataclass(frozen=True)
class ResolvedEndpoint:
    """One endpoint, resolved for the stage's region: what the inference stack turns into resources."""

    name: str
    endpoint_name: str
    config: EndpointConfig
    instance_type: str
    image_uri: str
    environment: dict[str, str]
    model_data: ModelData | None
    model_data_download_timeout: int | None
    container_startup_health_check_timeout: int | None
    volume_size_gb: int | None
    enable_network_isolation: bool
    model_label: str = field(metadata={"doc": "what is served, for outputs: '<model id>@<version>' or the source"})
    container: ContainerContract | None = field(
        default=None, metadata={"doc": "the serving container's facts; None for an image the catalog has none for"}
    )
    preparation: Preparation | None = field(
        default=None, metadata={"doc": "how the kit prepares the model into the artifacts bucket, if it does"}
    )
    images: ImageOptions | None = field(
        default=None, metadata={"doc": "a text-to-image model's image options; None for a chat model"}
    )
    data_capture_enabled: bool = field(default=True, metadata={"doc": "whether the endpoint captures data"})

    @property
    def request_format(self) -> Literal["messages", "prompt"]:
        """How the API sends a chat request: OpenAI's chat schema where the container takes it, else one prompt."""
        return "messages" if self.container is not None and self.container.chat_on_invocations else "prompt"


def resolve_endpoint(config: EndpointConfig, *, stage: str, region: str) -> ResolvedEndpoint:
    """Resolve one endpoint; raise EndpointError naming the key below ``endpoints.<i>`` on any problem."""
    if isinstance(config.source, JumpStartSource):
        return _resolve_jumpstart(config, config.source, stage=stage, region=region)
    if config.images is not None:
        raise EndpointError("images", "only a JumpStart text-to-image model takes 'images'; remove it")
    return _resolve_container(config, config.source, stage=stage, region=region)


def _resolve_jumpstart(config: EndpointConfig, source: JumpStartSource, *, stage: str, region: str) -> ResolvedEndpoint:
    spec = _jumpstart_hosting(config, source, region=region)
    image_model = spec.payload.family == "txt2img"
    if config.images is not None and not image_model:
        raise EndpointError("images", f"{source.model_id} is not a text-to-image model; remove 'images'")
    container = _contract_for_image(spec.image_uri)
    if container is not None:
        check_degree_variables(spec.environment, config.environment, container, neuron_instance(spec.instance_type))
    if spec.model_data.accept_eula_required and not source.accept_eula:
        eula = f" ({spec.eula_uri})" if spec.eula_uri else ""
        raise EndpointError(
            "source.accept_eula",
            f"model '{source.model_id}' is gated: read its EULA{eula} and set source.accept_eula to true to deploy it",
        )
    return ResolvedEndpoint(
        name=config.name,
        endpoint_name=StageNames(stage).endpoint(config.name),
        config=config,
        instance_type=spec.instance_type,
        image_uri=spec.image_uri,
        environment=dict(spec.environment),
        model_data=ModelData(
            s3_uri=spec.model_data.s3_uri,
            s3_data_type=spec.model_data.s3_data_type,
            compression=spec.model_data.compression,
            accept_eula=spec.model_data.accept_eula_required,
        ),
        model_data_download_timeout=config.model_data_download_timeout_seconds or spec.model_data_download_timeout,
        container_startup_health_check_timeout=(
            config.container_startup_health_check_timeout_seconds or spec.container_startup_health_check_timeout
        ),
        volume_size_gb=config.volume_size_gb or spec.volume_size_gb,
        # Where the catalog's source does not say (the Stable Diffusion entries), isolated: a JumpStart prepacked
        # artifact holds the model and its inference code (SAGEMAKER_SUBMIT_DIRECTORY under /opt/ml/model), which
        # SageMaker mounts from S3, so the container needs no network.
        enable_network_isolation=True if spec.enable_network_isolation is None else spec.enable_network_isolation,
        model_label=f"{source.model_id}@{source.version}",
        container=container,
        images=(config.images or ImageOptions()) if image_model else None,
        data_capture_enabled=_data_capture_enabled(config, image_model=image_model),
    )


def _data_capture_enabled(config: EndpointConfig, *, image_model: bool) -> bool:
    """Capture as configured; an image model's endpoint only when ``data_capture.enabled`` is set explicitly: each
    response is base64 images (each a copy of generated content, hundreds of kilobytes or more), which sampled
    capture would keep in the artifacts bucket beside what ``response_format: "url"`` stores on purpose."""
    if image_model and "enabled" not in config.data_capture.model_fields_set:
        return False
    return config.data_capture.enabled


def _jumpstart_hosting(config: EndpointConfig, source: JumpStartSource, *, region: str) -> HostingSpec:
    """The catalog's hosting spec of a JumpStart model on the endpoint's instance type, which must be an
    Inferentia2 type the model supports; the model carries its own serving settings."""
    try:
        entry = load_entry(source.model_id, source.version)
    except CatalogError as error:
        raise EndpointError("source", str(error)) from None
    try:
        require_neuron_hosting(source.model_id, source.version)
    except CatalogError as error:
        raise EndpointError("source.model_id", str(error)) from None
    hosting = entry.hosting
    instance_type = config.instance_type or hosting.default_instance_type
    inf2_types = sorted(t for t in hosting.instance_types if is_inf2(t))
    if instance_type not in inf2_types:
        raise EndpointError(
            "instance_type",
            f"got '{instance_type}'; {source.model_id}@{source.version} is served on Inferentia2 by the kit, "
            f"expected one of: {', '.join(inf2_types) or 'none (the model has no ml.inf2 support)'}",
        )
    if config.serving != ServingOptions():
        raise EndpointError(
            "serving",
            "JumpStart models carry their own serving settings; set container variables in 'environment' instead",
        )
    try:
        return resolve_hosting(
            source.model_id,
            source.version,
            region=region,
            instance_type=instance_type,
            env_overrides=config.environment,
        )
    except CatalogError as error:
        raise EndpointError("source", str(error)) from None


def _resolve_container(
    config: EndpointConfig, source: HuggingFaceSource | S3WeightsSource, *, stage: str, region: str
) -> ResolvedEndpoint:
    instance_type = config.instance_type or DEFAULT_INSTANCE_TYPE
    instance = _inf2_instance(instance_type)
    image_uri, container, startup = serving_container(source.container, source.container_version, region=region)
    facts = model_facts(source.model_id) if isinstance(source, HuggingFaceSource) else None
    settings = serving_settings(config.serving, startup, instance, facts)
    check_overrides(config.environment, startup)

    preparation: Preparation | None = None
    # The source's own validation requires a revision with prepare.
    if isinstance(source, HuggingFaceSource) and source.prepare and source.revision is not None:
        preparation = preparation_of(
            source,
            source.revision,
            startup=startup,
            settings=settings,
            facts=facts,
            version=container.version,
            image_uri=image_uri,
        )
    local = isinstance(source, S3WeightsSource) or preparation is not None
    if isinstance(source, HuggingFaceSource) and not local and source.revision and not startup.variables_of("revision"):
        raise EndpointError(
            "source.revision",
            f"{source.container} {container.version} cannot pin a Hub revision at start-up; keep prepare on to serve "
            "that revision",
        )
    hub = source if isinstance(source, HuggingFaceSource) and not local else None
    return ResolvedEndpoint(
        name=config.name,
        endpoint_name=StageNames(stage).endpoint(config.name),
        config=config,
        instance_type=instance_type,
        image_uri=image_uri,
        environment=container_environment(config.environment, hub, container, startup, settings),
        model_data=(
            ModelData(s3_uri=source.s3_uri, s3_data_type="S3Prefix", compression="None", accept_eula=False)
            if isinstance(source, S3WeightsSource)
            else None
        ),
        model_data_download_timeout=config.model_data_download_timeout_seconds or NEURON_CONTAINER_TIMEOUT_SECONDS,
        container_startup_health_check_timeout=(
            config.container_startup_health_check_timeout_seconds or NEURON_CONTAINER_TIMEOUT_SECONDS
        ),
        volume_size_gb=config.volume_size_gb,
        # Weights in S3 (the user's, or prepared by the kit) are mounted by SageMaker, so the container needs no
        # network; a model the container downloads from the Hub cannot start isolated.
        enable_network_isolation=local,
        model_label=(
            source.s3_uri
            if isinstance(source, S3WeightsSource)
            else f"huggingface:{source.model_id}" + (f"@{source.revision}" if source.revision else "")
        ),
        container=container,
        preparation=preparation,
        data_capture_enabled=config.data_capture.enabled,
    )


def _inf2_instance(instance_type: str) -> NeuronInstance:
    if not is_inf2(instance_type):
        raise EndpointError(
            "instance_type", f"got '{instance_type}'; expected an Inferentia2 type such as ml.inf2.xlarge"
        )
    try:
        return neuron_instance(instance_type)
    except NeuronError as error:
        raise EndpointError("instance_type", str(error)) from None


def serving_container(
    framework: str, framework_version: str, *, region: str
) -> tuple[str, ContainerContract, StartupContract]:
    """The image of a Neuron DLC version in ``region``, its serving facts and its start-up contract, which only the
    versions the kit starts with its own settings have; raises EndpointError naming ``source.container_version``."""
    try:
        image_uri = resolve_dlc_image(framework, framework_version, region=region)
    except CatalogError as error:
        raise EndpointError("source.container_version", str(error)) from None
    container = container_contract(framework, resolve_dlc_version(framework, framework_version))
    startup = container.startup
    if startup is None:
        raise EndpointError(
            "source.container_version",
            f"got '{framework_version}'; the kit starts {framework} with its own settings at versions "
            f"{', '.join(startup_versions(framework))} (their start-up contracts are in the catalog); "
            "choose one of them",
        )
    return image_uri, container, startup


def container_environment(
    overrides: Mapping[str, str],
    hub: HuggingFaceSource | None,
    container: ContainerContract,
    startup: StartupContract,
    settings: ServingSettings,
) -> dict[str, str]:
    """The container's variables: the settings by its start-up contract (the model from the Hub when ``hub`` is
    given, else from where SageMaker mounts it), what it needs to take OpenAI's chat schema, then the overrides."""
    values: dict[Setting, str | int | None] = {
        "model": hub.model_id if hub else MODEL_DIR,
        # A revision makes TGI's router look the model up on the Hub even for a local directory (server.rs#L1566).
        "revision": hub.revision if hub else None,
        **settings.values(),
    }
    return {
        **startup.environment(values),
        # What the container needs to take OpenAI's chat schema, which the API sends it.
        **dict(container.chat_environment),
        **overrides,
    }


def _contract_for_image(image_uri: str) -> ContainerContract | None:
    """The serving facts of a JumpStart spec's image, or None where the catalog has none (one prompt, no stream)."""
    try:
        return contract_for_image(image_uri)
    except CatalogError:
        return None
