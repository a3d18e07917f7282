"""Resolves each configured endpoint into everything its SageMaker resources need, or says what is wrong.

Runs at config load, before any construct is built, so a bad instance type, a tensor parallel degree
that does not fit, an image missing from the region or an unaccepted EULA stop synth with a message
naming the key. Plain Python: reads only the catalog entries the configuration names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from genai_kit.catalog import CatalogError, load_entry, resolve_dlc_image, resolve_hosting
from genai_kit.catalog.containers import ContainerContract, container_contract, contract_for_image
from genai_kit.catalog.images import resolve_dlc_version
from genai_kit.config.endpoints import (
    EndpointConfig,
    HuggingFaceSource,
    JumpStartSource,
    NeuronContainer,
    S3WeightsSource,
    ServingOptions,
)
from genai_kit.neuron import NeuronError, is_inf2, neuron_instance, validate_tensor_parallel_degree

DEFAULT_INSTANCE_TYPE = "ml.inf2.xlarge"
# Neuron containers compile the model when they start: give download and start-up SageMaker's maximum.
NEURON_CONTAINER_TIMEOUT_SECONDS = 3600
# Where SageMaker mounts the model data source inside the container.
MODEL_DIR = "/opt/ml/model"

PayloadFamily = Literal["lmi", "tgi", "vllm", "jumpstart", "other"]

_CONTAINER_FAMILY: dict[str, PayloadFamily] = {
    "djl-neuronx": "lmi",
    "huggingface-llm-neuronx": "tgi",
    "huggingface-vllm-neuronx": "vllm",
}


class EndpointError(ValueError):
    """An endpoint's configuration cannot be deployed; ``key`` is the offending key below the endpoint."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


@dataclass(frozen=True)
class ModelData:
    """A SageMaker ModelDataSource.S3DataSource."""

    s3_uri: str
    s3_data_type: Literal["S3Prefix", "S3Object"]
    compression: Literal["None", "Gzip"]
    accept_eula: bool


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
    payload_family: PayloadFamily
    model_label: str = field(metadata={"doc": "what is served, for outputs: '<model id>@<version>' or the source"})
    container: ContainerContract | None = field(
        default=None, metadata={"doc": "the serving container's facts; None for an image the catalog has none for"}
    )

    @property
    def request_format(self) -> Literal["messages", "prompt"]:
        """How the API sends a chat request: OpenAI's chat schema where the container takes it, else one prompt."""
        return "messages" if self.container is not None and self.container.chat_on_invocations else "prompt"


def endpoint_name(stage: str, name: str) -> str:
    """Physical endpoint name: fixed, so clients, alarms and autoscaling can name it before it exists."""
    return f"genai-kit-{stage}-{name}"


def resolve_endpoint(config: EndpointConfig, *, stage: str, region: str) -> ResolvedEndpoint:
    """Resolve one endpoint; raise EndpointError naming the key below ``endpoints.<i>`` on any problem."""
    if isinstance(config.source, JumpStartSource):
        return _resolve_jumpstart(config, config.source, stage=stage, region=region)
    return _resolve_container(config, config.source, stage=stage, region=region)


def _resolve_jumpstart(config: EndpointConfig, source: JumpStartSource, *, stage: str, region: str) -> ResolvedEndpoint:
    try:
        entry = load_entry(source.model_id, source.version)
    except CatalogError as error:
        raise EndpointError("source", str(error)) from None
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
        spec = resolve_hosting(
            source.model_id,
            source.version,
            region=region,
            instance_type=instance_type,
            env_overrides=config.environment,
        )
    except CatalogError as error:
        raise EndpointError("source", str(error)) from None
    if spec.model_data.accept_eula_required and not source.accept_eula:
        eula = f" ({spec.eula_uri})" if spec.eula_uri else ""
        raise EndpointError(
            "source.accept_eula",
            f"model '{source.model_id}' is gated: read its EULA{eula} and set source.accept_eula to true to deploy it",
        )
    return ResolvedEndpoint(
        name=config.name,
        endpoint_name=endpoint_name(stage, config.name),
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
        enable_network_isolation=spec.enable_network_isolation,
        payload_family="jumpstart" if spec.payload.family == "other" else spec.payload.family,
        model_label=f"{source.model_id}@{source.version}",
        container=_contract_for_image(spec.image_uri),
    )


def _resolve_container(
    config: EndpointConfig, source: HuggingFaceSource | S3WeightsSource, *, stage: str, region: str
) -> ResolvedEndpoint:
    instance_type = config.instance_type or DEFAULT_INSTANCE_TYPE
    if not is_inf2(instance_type):
        raise EndpointError(
            "instance_type", f"got '{instance_type}'; expected an Inferentia2 type such as ml.inf2.xlarge"
        )
    try:
        neuron_instance(instance_type)
        if config.serving.tensor_parallel_degree is not None:
            validate_tensor_parallel_degree(instance_type, config.serving.tensor_parallel_degree)
    except NeuronError as error:
        key = "serving.tensor_parallel_degree" if "parallel" in str(error) else "instance_type"
        raise EndpointError(key, str(error)) from None
    try:
        image_uri = resolve_dlc_image(source.container, source.container_version, region=region)
    except CatalogError as error:
        raise EndpointError("source.container_version", str(error)) from None

    is_s3 = isinstance(source, S3WeightsSource)
    model_location = source.model_id if isinstance(source, HuggingFaceSource) else MODEL_DIR
    container = container_contract(source.container, resolve_dlc_version(source.container, source.container_version))
    environment = {
        **serving_environment(source.container, model_location, config.serving, instance_type),
        # What the container needs to take OpenAI's chat schema, which the API sends it.
        **dict(container.chat_environment),
        **config.environment,
    }
    return ResolvedEndpoint(
        name=config.name,
        endpoint_name=endpoint_name(stage, config.name),
        config=config,
        instance_type=instance_type,
        image_uri=image_uri,
        environment=environment,
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
        # Weights in S3 are mounted by SageMaker, so the container needs no network; a Hub model is
        # downloaded by the container itself and cannot start isolated.
        enable_network_isolation=is_s3,
        payload_family=_CONTAINER_FAMILY[source.container],
        model_label=source.s3_uri if isinstance(source, S3WeightsSource) else f"huggingface:{source.model_id}",
        container=container,
    )


def serving_environment(
    container: NeuronContainer, model: str, serving: ServingOptions, instance_type: str
) -> dict[str, str]:
    """The container's own environment variables for the serving options (unset options are left out).

    The tensor parallel degree defaults to every NeuronCore of the instance, which is what a single
    model per endpoint should use.
    """
    degree = serving.tensor_parallel_degree or neuron_instance(instance_type).neuron_cores
    if container == "djl-neuronx":
        # LMI: OPTION_<NAME> variables; rolling batch "auto" lets LMI pick its Neuron batching backend.
        values = {
            "OPTION_MODEL_ID": model,
            "OPTION_TENSOR_PARALLEL_DEGREE": degree,
            "OPTION_ROLLING_BATCH": "auto",
            "OPTION_N_POSITIONS": serving.max_sequence_length,
            "OPTION_MAX_ROLLING_BATCH_SIZE": serving.max_batch_size,
            "OPTION_DTYPE": serving.dtype,
        }
    elif container == "huggingface-llm-neuronx":
        # TGI on Neuron exports the model at start-up with these shapes; MAX_* bound what the router admits.
        values = {
            "HF_MODEL_ID": model,
            "HF_NUM_CORES": degree,
            "HF_AUTO_CAST_TYPE": serving.dtype,
            "HF_BATCH_SIZE": serving.max_batch_size,
            "HF_SEQUENCE_LENGTH": serving.max_sequence_length,
            "MAX_BATCH_SIZE": serving.max_batch_size,
            "MAX_TOTAL_TOKENS": serving.max_sequence_length,
        }
    else:
        # The SageMaker vLLM containers turn SM_VLLM_<ARG> variables into vLLM's --<arg> options.
        values = {
            "SM_VLLM_MODEL": model,
            "SM_VLLM_TENSOR_PARALLEL_SIZE": degree,
            "SM_VLLM_MAX_MODEL_LEN": serving.max_sequence_length,
            "SM_VLLM_MAX_NUM_SEQS": serving.max_batch_size,
            "SM_VLLM_DTYPE": {"bf16": "bfloat16", "fp16": "float16"}.get(serving.dtype or ""),
        }
    return {name: str(value) for name, value in values.items() if value is not None}


def _contract_for_image(image_uri: str) -> ContainerContract | None:
    """The serving facts of a JumpStart spec's image, or None where the catalog has none (one prompt, no stream)."""
    try:
        return contract_for_image(image_uri)
    except CatalogError:
        return None
