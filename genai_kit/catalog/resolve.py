"""Resolve a pinned JumpStart model version for one region and instance type.

Precedence of the hosting environment, lowest first: the spec's defaults, then the
per-instance-type variant values (e.g. OPTION_TENSOR_PARALLEL_DEGREE), then the caller's
overrides. Everything else is taken as the catalog file states it; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.loader import load_entry, load_regions
from genai_kit.catalog.schema import (
    CatalogEntry,
    HostingInstance,
    HostingSpec,
    HyperparameterSpec,
    ModelDataSource,
    RegionBuckets,
    TrainingFacts,
    TrainingInstance,
    TrainingSpec,
)

# The variable JumpStart training scripts read the gated base-model artifact location from.
GATED_MODEL_ENV_VAR = "SageMakerGatedModelS3Uri"

_I = TypeVar("_I", HostingInstance, TrainingInstance)


def resolve_hosting(
    model_id: str,
    version: str,
    *,
    region: str,
    instance_type: str,
    env_overrides: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> HostingSpec:
    """Resolve what a SageMaker Model + EndpointConfig needs to host ``model_id@version``."""
    entry = load_entry(model_id, version, root=root)
    hosting = entry.hosting
    inst: HostingInstance = _instance(entry, hosting.instance_types, instance_type, "hosting")
    image_uri = _image(
        entry,
        images=hosting.images,
        alias=inst.image,
        region=region,
        instance_type=instance_type,
        purpose="hosting",
        root=root,
    )
    buckets = _buckets(region, root)
    bucket = _model_bucket(entry, buckets, region)
    accept_eula = entry.gated_bucket or entry.eula_key is not None
    return HostingSpec(
        model_id=model_id,
        version=version,
        region=region,
        instance_type=instance_type,
        image_uri=image_uri,
        model_data=ModelDataSource(
            s3_uri=f"s3://{bucket}/{inst.artifact_key}",
            s3_data_type=hosting.s3_data_type,
            compression=hosting.compression,
            gated=entry.gated_bucket,
            accept_eula_required=accept_eula,
        ),
        environment={**hosting.environment, **inst.environment, **(env_overrides or {})},
        model_data_download_timeout=hosting.model_data_download_timeout,
        container_startup_health_check_timeout=hosting.container_startup_health_check_timeout,
        volume_size_gb=inst.volume_size_gb,
        enable_network_isolation=hosting.network_isolation,
        supported_instance_types=hosting.supported_instance_types,
        default_instance_type=hosting.default_instance_type,
        neuron=hosting.neuron,
        eula_uri=f"s3://{buckets.content_bucket}/{entry.eula_key}" if entry.eula_key else None,
        payload=hosting.payload,
    )


def resolve_training(
    model_id: str,
    version: str,
    *,
    region: str,
    instance_type: str,
    root: Path | None = None,
) -> TrainingSpec:
    """Resolve what a SageMaker CreateTrainingJob request needs to fine-tune ``model_id@version``."""
    entry = load_entry(model_id, version, root=root)
    training = entry.training
    if training is None:
        raise CatalogError(f"model {model_id!r} version {version!r} does not support training")
    inst: TrainingInstance = _instance(entry, training.instance_types, instance_type, "training")
    image_uri = _image(
        entry,
        images=training.images,
        alias=inst.image,
        region=region,
        instance_type=instance_type,
        purpose="training",
        root=root,
    )
    buckets = _buckets(region, root)
    bucket = _model_bucket(entry, buckets, region)

    environment = dict(inst.environment)
    gated_model_uri = None
    if inst.gated_model_key is not None:
        gated_model_uri = f"s3://{_gated_bucket(buckets, region)}/{inst.gated_model_key}"
        environment[GATED_MODEL_ENV_VAR] = gated_model_uri
    model_artifact_uri = None
    if training.uses_model_artifact and inst.artifact_key is not None:
        model_artifact_uri = f"s3://{bucket}/{inst.artifact_key}"

    hyperparameters, defaults, container = _training_hyperparameters(training, inst)
    return TrainingSpec(
        model_id=model_id,
        version=version,
        region=region,
        instance_type=instance_type,
        image_uri=image_uri,
        script_uri=f"s3://{buckets.content_bucket}/{training.script_key}",
        model_artifact_uri=model_artifact_uri,
        gated_model_uri=gated_model_uri,
        accept_eula_required=gated_model_uri is not None,
        environment=environment,
        hyperparameters=hyperparameters,
        default_hyperparameters=defaults,
        container_hyperparameters=container,
        metric_definitions=inst.metrics,
        supported_instance_types=training.supported_instance_types,
        default_instance_type=training.default_instance_type,
        max_run_seconds=training.max_run_seconds,
        encrypt_inter_container_traffic=training.encrypt_inter_container_traffic,
        enable_network_isolation=training.network_isolation,
        disable_output_compression=training.disable_output_compression,
        volume_size_gb=inst.volume_size_gb,
        neuron=training.neuron,
    )


def require_neuron_hosting(model_id: str, version: str, *, root: Path | None = None) -> None:
    """Raise CatalogError unless the model version is hosted on Neuron (Inferentia2) instances.

    The inference stack calls this so that a GPU-only entry fails with a message that names its
    hosting instance types and, where the spec names one, its Neuron twin.
    """
    entry = load_entry(model_id, version, root=root)
    if entry.hosting.neuron:
        return
    message = (
        f"model {model_id!r} version {version!r} is not a Neuron model: it is hosted on "
        f"{', '.join(entry.hosting.supported_instance_types)}"
    )
    if entry.neuron_twin is not None:
        twin = entry.neuron_twin
        message += (
            f"; its Neuron variant is {twin.model_id!r} version {twin.version!r} "
            f"(add it with: python -m genai_kit.catalog.refresh --from-bucket --region us-east-1 "
            f"--model {twin.model_id}@{twin.version})"
        )
    raise CatalogError(message)


def _instance(entry: CatalogEntry, instances: Mapping[str, _I], instance_type: str, purpose: str) -> _I:
    try:
        return instances[instance_type]
    except KeyError:
        raise CatalogError(
            f"instance type {instance_type!r} is not supported for {purpose} of model {entry.model_id!r} "
            f"version {entry.version!r}; supported: {choices(instances)}"
        ) from None


def _image(
    entry: CatalogEntry,
    *,
    images: Mapping[str, Mapping[str, str]],
    alias: str,
    region: str,
    instance_type: str,
    purpose: str,
    root: Path | None,
) -> str:
    by_region = images[alias]
    known_regions = load_regions(root).regions
    if region not in by_region or region not in known_regions:
        valid = (r for r in by_region if r in known_regions)
        raise CatalogError(
            f"region {region!r} has no {purpose} image for model {entry.model_id!r} version {entry.version!r} "
            f"on {instance_type}; regions: {choices(valid)}"
        )
    return by_region[region]


def _buckets(region: str, root: Path | None) -> RegionBuckets:
    table = load_regions(root)
    try:
        return table.regions[region]
    except KeyError:
        raise CatalogError(f"region {region!r} is not a JumpStart region; regions: {choices(table.regions)}") from None


def _gated_bucket(buckets: RegionBuckets, region: str) -> str:
    if buckets.gated_content_bucket is None:
        raise CatalogError(f"region {region!r} has no gated JumpStart bucket, so gated models cannot be used there")
    return buckets.gated_content_bucket


def _model_bucket(entry: CatalogEntry, buckets: RegionBuckets, region: str) -> str:
    return _gated_bucket(buckets, region) if entry.gated_bucket else buckets.content_bucket


def _training_hyperparameters(
    training: TrainingFacts, inst: TrainingInstance
) -> tuple[tuple[HyperparameterSpec, ...], dict[str, str], dict[str, str]]:
    """The hyperparameters of training on ``inst``: their specs, the defaults a job sends (algorithm scope) and the
    container-scope defaults not among them (e.g. ``sagemaker_program``), values as strings."""
    hyperparameters = _merge_hyperparameters(training.hyperparameters, inst.hyperparameters)
    # Like the SDK: algorithm-scope spec defaults, then every instance-type override.
    defaults = {h.name: h.default_str for h in training.hyperparameters if h.scope == "algorithm"}
    defaults.update({h.name: h.default_str for h in inst.hyperparameters})
    container = {h.name: h.default_str for h in hyperparameters if h.scope == "container" and h.name not in defaults}
    return hyperparameters, defaults, container


def _merge_hyperparameters(
    base: tuple[HyperparameterSpec, ...], overrides: tuple[HyperparameterSpec, ...]
) -> tuple[HyperparameterSpec, ...]:
    """Spec hyperparameters with instance-type variants replacing same-named ones, new ones appended."""
    by_name = {h.name: h for h in overrides}
    merged = [by_name.pop(h.name, h) for h in base]
    return (*merged, *by_name.values())
