"""Typed schema of the pinned catalog files and of what the resolver returns.

Catalog files (``model_artifacts/catalog``) are written by ``genai_kit.catalog.refresh`` and
parsed into the ``*Facts`` / ``CatalogEntry`` / ``ImageTable`` / ``RegionTable`` models. The
resolver turns one entry into a ``HostingSpec`` or ``TrainingSpec`` for one region and instance
type. All models are frozen: a resolved spec is a value, safe to share and cache.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

SCHEMA_VERSION = 1

S3DataType = Literal["S3Prefix", "S3Object"]
Compression = Literal["None", "Gzip"]
# What the serving container speaks, so an API router can translate an OpenAI chat request:
# lmi = DJL/LMI (djl-inference), tgi = Hugging Face TGI, vllm = Hugging Face vLLM DLC,
# txt2img = a JumpStart text-to-image model (Stable Diffusion), which the API serves image requests;
# other = a container whose request format the kit does not translate.
PayloadFamily = Literal["lmi", "tgi", "vllm", "txt2img", "other"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelRef(_Frozen):
    """A (model id, version) pair, e.g. the Neuron twin a GPU spec names."""

    model_id: str
    version: str


class Payload(_Frozen):
    """Request/response format facts of the serving container, from the spec."""

    family: PayloadFamily
    image_repository: str = Field(description="ECR repository of the hosting image, the fact the family comes from")
    content_type: str | None = None
    accept: str | None = None
    prompt_key: str | None = Field(None, description="request key holding the prompt in the spec's sample payloads")
    output_key: str | None = Field(None, description="response key holding the generated text")


class MetricDefinition(_Frozen):
    """A training metric scraped from the job's logs (SageMaker MetricDefinitions shape)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(alias="Name")
    regex: str = Field(alias="Regex")


class HyperparameterSpec(_Frozen):
    """One training hyperparameter as the spec declares it."""

    name: str
    type: Literal["int", "float", "text", "bool"]
    default: int | float | str | bool
    scope: Literal["algorithm", "container"]
    options: tuple[str | int | float, ...] | None = None
    min: int | float | None = None
    max: int | float | None = None
    exclusive_min: int | float | None = None
    exclusive_max: int | float | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Most hyperparameters have no range or options: keep the catalog files short.
        data: dict[str, object] = handler(self)
        return {k: v for k, v in data.items() if v is not None}

    @property
    def default_str(self) -> str:
        """The default as the SageMaker API receives it (``str()`` of the spec value, as the SDK does)."""
        return str(self.default)


class HostingInstance(_Frozen):
    """Hosting facts that vary by instance type, already resolved from family and type variants."""

    image: str = Field(description="key into HostingFacts.images (the spec's image alias)")
    environment: dict[str, str] = Field(default_factory=dict, description="per-instance-type variant values")
    artifact_key: str
    volume_size_gb: int | None = Field(description="None where SageMaker refuses VolumeSizeInGB for the family")


class HostingFacts(_Frozen):
    """Everything the catalog knows about hosting one model version."""

    neuron: bool = Field(description="True if every supported hosting instance type has Neuron accelerators")
    default_instance_type: str
    supported_instance_types: tuple[str, ...] = Field(description="in the spec's order")
    instance_types: dict[str, HostingInstance]
    images: dict[str, dict[str, str]] = Field(description="image alias -> region -> image URI")
    environment: dict[str, str] = Field(description="spec defaults the SDK's JumpStartModel sends")
    s3_data_type: S3DataType
    compression: Compression
    network_isolation: bool | None = Field(description="None where the source does not say (see CatalogEntry.missing)")
    model_data_download_timeout: int | None = None
    container_startup_health_check_timeout: int | None = None
    payload: Payload


class TrainingInstance(_Frozen):
    """Training facts that vary by instance type, already resolved from family and type variants."""

    image: str = Field(description="key into TrainingFacts.images (the spec's image alias)")
    environment: dict[str, str] = Field(default_factory=dict)
    artifact_key: str | None
    gated_model_key: str | None = Field(description="key of the SageMakerGatedModelS3Uri artifact in the gated bucket")
    volume_size_gb: int | None
    hyperparameters: tuple[HyperparameterSpec, ...] = ()
    metrics: tuple[MetricDefinition, ...] = ()


class TrainingFacts(_Frozen):
    """Everything the catalog knows about fine-tuning one model version."""

    neuron: bool = Field(description="True if every supported training instance type has Neuron accelerators")
    default_instance_type: str
    supported_instance_types: tuple[str, ...] = Field(description="in the spec's order")
    instance_types: dict[str, TrainingInstance]
    images: dict[str, dict[str, str]]
    script_key: str
    uses_model_artifact: bool = Field(
        description="False when the job gets its weights from SageMakerGatedModelS3Uri, not a model channel"
    )
    hyperparameters: tuple[HyperparameterSpec, ...]
    network_isolation: bool
    encrypt_inter_container_traffic: bool
    disable_output_compression: bool
    max_run_seconds: int | None = None


class CatalogEntry(_Frozen):
    """One catalog file: a JumpStart model version in the kit's own schema."""

    schema_version: Literal[1]
    model_id: str
    version: str
    source: str = Field(description="where the spec was read: jumpstart-spec:local:<key> or s3://<bucket>/<key>")
    refreshed: str = Field(description="ISO date of the refresh that wrote this file")
    inference_config: str | None = Field(description="JumpStart inference config applied (the top-ranked one)")
    gated_bucket: bool = Field(description="artifacts live in jumpstart-private-cache-prod-<region>")
    eula_key: str | None = Field(description="key of the EULA text in the content bucket, if the model has one")
    neuron_twin: ModelRef | None = Field(description="the Neuron variant a GPU spec names, if any")
    hosting: HostingFacts
    training: TrainingFacts | None
    missing: tuple[str, ...] = Field(
        (),
        description="facts the source lacks, each '<field>: <why it matters>'; the entry leaves them null and the "
        "stage decides or asks for them (empty for entries converted from a whole JumpStart spec)",
    )

    @model_serializer(mode="wrap")
    def _omit_empty_missing(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Entries converted from a whole spec lack nothing: their files stay as the spec converter wrote them.
        data: dict[str, object] = handler(self)
        if not data.get("missing"):
            data.pop("missing", None)
        return data


class RegionBuckets(_Frozen):
    """JumpStart buckets of one region (from the SDK's region_config.json)."""

    content_bucket: str
    gated_content_bucket: str | None = None


class RegionTable(_Frozen):
    """``regions.json``: the regions JumpStart serves, with their buckets."""

    schema_version: Literal[1]
    source: str
    refreshed: str
    regions: dict[str, RegionBuckets]


class ImageVersion(_Frozen):
    """One framework version of a Neuron DLC: its ``repository:tag`` and the regions that have it.

    A training image also records the Python packages it ships that the kit's training script is written
    against (``packages``, name -> version) and the ``model_type`` values its trainer can train
    (``model_types``); serving images leave both unset.
    """

    image: str
    regions: tuple[str, ...]
    packages: dict[str, str] | None = None
    model_types: tuple[str, ...] | None = None

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Serving images have neither: their files stay as they were.
        data: dict[str, object] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class ImageTable(_Frozen):
    """``images/<framework>.json``: a Neuron DLC image table derived from the SDK's table."""

    schema_version: Literal[1]
    framework: str
    source: str
    refreshed: str
    registries: dict[str, str] = Field(description="region -> '<account>.dkr.ecr.<region>.<dns suffix>'")
    version_aliases: dict[str, str]
    versions: dict[str, ImageVersion]


class ModelDataSource(_Frozen):
    """Where SageMaker gets the model weights (AWS::SageMaker::Model ModelDataSource / ModelDataUrl)."""

    s3_uri: str
    s3_data_type: S3DataType
    compression: Compression
    gated: bool = Field(description="artifact is in the gated (private) JumpStart bucket")
    accept_eula_required: bool = Field(description="ModelAccessConfig.AcceptEula must be true to deploy")


class HostingSpec(_Frozen):
    """A model version resolved for one region and hosting instance type."""

    model_id: str
    version: str
    region: str
    instance_type: str
    image_uri: str
    model_data: ModelDataSource
    environment: dict[str, str]
    model_data_download_timeout: int | None
    container_startup_health_check_timeout: int | None
    volume_size_gb: int | None
    enable_network_isolation: bool | None = Field(description="None where the catalog's source does not say")
    supported_instance_types: tuple[str, ...]
    default_instance_type: str
    neuron: bool
    eula_uri: str | None
    payload: Payload


class TrainingSpec(_Frozen):
    """A model version resolved for one region and training instance type."""

    model_id: str
    version: str
    region: str
    instance_type: str
    image_uri: str
    script_uri: str
    model_artifact_uri: str | None = Field(description="model channel input; None when weights come gated")
    gated_model_uri: str | None = Field(description="value of SageMakerGatedModelS3Uri; needs EULA acceptance")
    accept_eula_required: bool
    environment: dict[str, str]
    hyperparameters: tuple[HyperparameterSpec, ...]
    default_hyperparameters: dict[str, str] = Field(description="algorithm-scope defaults, as strings")
    container_hyperparameters: dict[str, str] = Field(description="container-scope defaults (sagemaker_program...)")
    metric_definitions: tuple[MetricDefinition, ...]
    supported_instance_types: tuple[str, ...]
    default_instance_type: str
    max_run_seconds: int | None
    encrypt_inter_container_traffic: bool
    enable_network_isolation: bool
    disable_output_compression: bool
    volume_size_gb: int | None
    neuron: bool
