"""Turn one JumpStart spec into a catalog entry, resolving it the way the SageMaker SDK does.

Every rule here mirrors a rule of the SDK (2.257, ``sagemaker.jumpstart``); the oracle test
checks the result against the SDK for every reference spec, region and instance type. The
entry keeps only what hosting and fine-tuning need, with image aliases and per-instance-type
variants already resolved, so the resolver at synth time is a few dictionary look-ups.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from genai_kit.catalog.errors import CatalogError
from genai_kit.catalog.schema import (
    SCHEMA_VERSION,
    CatalogEntry,
    HostingFacts,
    HostingInstance,
    HyperparameterSpec,
    MetricDefinition,
    ModelRef,
    Payload,
    PayloadFamily,
    TrainingFacts,
    TrainingInstance,
)
from genai_kit.neuron import is_neuron

Spec = dict[str, Any]

# Fields a config component may not override (SDK: JumpStartConfigComponent.OVERRIDING_DENY_LIST).
_CONFIG_DENY_LIST = frozenset(
    {
        "model_id",
        "url",
        "version",
        "min_sdk_version",
        "deprecated",
        "deprecated_message",
        "deprecate_warn_message",
        "resource_name_base",
        "gated_bucket",
        "training_supported",
        "incremental_training_supported",
    }
)

# The serving protocol follows from the hosting image's ECR repository.
_PAYLOAD_FAMILIES: dict[str, PayloadFamily] = {
    "djl-inference": "lmi",
    "huggingface-pytorch-tgi-inference": "tgi",
    "huggingface-vllm-inference-neuronx": "vllm",
}

_FAMILY = re.compile(r"^ml[\._]([a-z\d\-]+)\.?\w*$")


class RefreshError(CatalogError):
    """A spec the catalog cannot represent faithfully (it is refused rather than approximated)."""


def convert_spec(spec: Spec, *, source: str, date: str) -> CatalogEntry:
    """Build the catalog entry of one spec; ``source`` and ``date`` are recorded in it."""
    ident = f"{spec.get('model_id')!r} version {spec.get('version')!r}"
    if spec.get("deprecated"):
        raise RefreshError(f"model {ident} is deprecated: {spec.get('deprecated_message')}")
    for scope in ("inference", "training"):
        if spec.get(f"{scope}_vulnerable"):
            raise RefreshError(
                f"model {ident} has known {scope} vulnerabilities: {spec.get(f'{scope}_vulnerabilities')}"
            )
    config_name, resolved = apply_default_inference_config(spec)
    twin = None
    if resolved.get("hosting_neuron_model_id"):
        twin = ModelRef(model_id=resolved["hosting_neuron_model_id"], version=resolved["hosting_neuron_model_version"])
    return CatalogEntry(
        schema_version=SCHEMA_VERSION,
        model_id=spec["model_id"],
        version=spec["version"],
        source=source,
        refreshed=date,
        inference_config=config_name,
        gated_bucket=bool(resolved.get("gated_bucket", False)),
        eula_key=resolved.get("hosting_eula_key"),
        neuron_twin=twin,
        hosting=_hosting(resolved, ident),
        training=_training(resolved, ident) if resolved.get("training_supported") else None,
    )


def apply_default_inference_config(spec: Spec) -> tuple[str | None, Spec]:
    """Overlay the top-ranked inference config's components on the spec, as the SDK does on load."""
    configs: dict[str, Any] = spec.get("inference_configs") or {}
    if not configs:
        return None, spec
    rankings = (spec.get("inference_config_rankings") or {}).get("overall")
    names = rankings["rankings"] if rankings else sorted(configs)
    name = names[0]
    components = spec.get("inference_config_components") or {}
    resolved = {k: v for k, v in spec.items() if v is not None}
    for component_name in configs[name].get("component_names", []):
        overlay = {k: v for k, v in components[component_name].items() if k not in _CONFIG_DENY_LIST}
        resolved = _deep_override(resolved, overlay)
    return name, resolved


def _deep_override(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_override(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def instance_family(instance_type: str) -> str:
    """The SDK's family of an instance type (``ml.trn1n.32xlarge`` -> ``trn1n``)."""
    match = _FAMILY.match(instance_type)
    return match[1] if match else ""


def volume_size_supported(instance_type: str) -> bool:
    """SDK rule: no EBS volume size on families with local NVMe ("d") nor on g5, g6, p5, trn1*."""
    family = instance_family(instance_type)
    return "d" not in family and not family.startswith(("g5", "g6", "p5", "trn1"))


class _Variants:
    """A spec's ``*_instance_type_variants``: instance-type values win over family values."""

    def __init__(self, raw: dict[str, Any] | None) -> None:
        raw = raw or {}
        self.aliases: dict[str, dict[str, str]] = raw.get("regional_aliases") or {}
        self.variants: dict[str, Any] = raw.get("variants") or {}

    def _layers(self, instance_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
        family = instance_family(instance_type)
        return self.variants.get(instance_type, {}), self.variants.get(family, {}) if family else {}

    def prop(self, instance_type: str, name: str) -> Any:
        specific, family = self._layers(instance_type)
        return specific.get("properties", {}).get(name) or family.get("properties", {}).get(name)

    def image_alias(self, instance_type: str) -> str | None:
        specific, family = self._layers(instance_type)
        alias = specific.get("regional_properties", {}).get("image_uri") or family.get("regional_properties", {}).get(
            "image_uri"
        )
        # The SDK ignores an alias without its leading "$" (malformed metadata).
        return alias[1:] if isinstance(alias, str) and alias.startswith("$") else None

    def images(self, alias: str) -> dict[str, str]:
        return {region: values[alias] for region, values in sorted(self.aliases.items()) if alias in values}

    def environment(self, instance_type: str) -> dict[str, str]:
        specific, family = self._layers(instance_type)
        env = dict(family.get("properties", {}).get("environment_variables", {}))
        env.update(specific.get("properties", {}).get("environment_variables", {}))
        return {k: str(v) for k, v in env.items()}

    def merged_list(self, instance_type: str, name: str, key: str) -> list[dict[str, Any]]:
        """Instance-type list items, then family items whose ``key`` the former lack."""
        specific, family = self._layers(instance_type)
        own = list(specific.get("properties", {}).get(name, []))
        seen = {item[key] for item in own}
        return own + [item for item in family.get("properties", {}).get(name, []) if item[key] not in seen]


def _supported(spec: Spec, variants: _Variants, field: str) -> list[str]:
    # An instance type the spec lists but gives no image for cannot be deployed: it is left out.
    return [t for t in spec.get(field) or [] if variants.image_alias(t) is not None]


def _hosting(spec: Spec, ident: str) -> HostingFacts:
    variants = _Variants(spec.get("hosting_instance_type_variants"))
    instance_types = _supported(spec, variants, "supported_inference_instance_types")
    if not instance_types:
        raise RefreshError(f"model {ident} has no hosting instance type with an image")
    prepacked = spec.get("hosting_prepacked_artifact_key") is not None
    if not prepacked and spec.get("hosting_use_script_uri"):
        raise RefreshError(
            f"model {ident} needs a separate inference script (script mode), which the kit does not deploy"
        )
    instances: dict[str, HostingInstance] = {}
    for instance_type in instance_types:
        if prepacked:
            key = variants.prop(instance_type, "prepacked_artifact_key") or spec["hosting_prepacked_artifact_key"]
        else:
            key = variants.prop(instance_type, "artifact_key") or spec["hosting_artifact_key"]
        instances[instance_type] = HostingInstance(
            image=str(variants.image_alias(instance_type)),
            environment=variants.environment(instance_type),
            artifact_key=key,
            volume_size_gb=spec.get("inference_volume_size") if volume_size_supported(instance_type) else None,
        )
    # SDK (JumpStartModel): an "s3://.../" prefix becomes an uncompressed S3Prefix data source,
    # anything else (a .tar.gz) is passed as ModelDataUrl, i.e. a gzip'd S3 object.
    prefixes = {i.artifact_key.endswith("/") for i in instances.values()}
    if len(prefixes) != 1:
        raise RefreshError(f"model {ident} mixes prefix and object artifacts across instance types")
    is_prefix = prefixes.pop()
    aliases = sorted({i.image for i in instances.values()})
    deploy_kwargs = spec.get("deploy_kwargs") or {}
    return HostingFacts(
        neuron=all(is_neuron(t) for t in instance_types),
        default_instance_type=spec["default_inference_instance_type"],
        supported_instance_types=tuple(instance_types),
        instance_types=instances,
        images={alias: variants.images(alias) for alias in aliases},
        # What JumpStartModel sends: only the variables "required for the model class".
        environment={
            v["name"]: str(v["default"])
            for v in spec.get("inference_environment_variables", [])
            if v.get("required_for_model_class")
        },
        s3_data_type="S3Prefix" if is_prefix else "S3Object",
        compression="None" if is_prefix else "Gzip",
        network_isolation=bool(spec.get("inference_enable_network_isolation", False)),
        model_data_download_timeout=deploy_kwargs.get("model_data_download_timeout"),
        container_startup_health_check_timeout=deploy_kwargs.get("container_startup_health_check_timeout"),
        payload=_payload(spec, variants, aliases),
    )


def _payload(spec: Spec, variants: _Variants, aliases: list[str]) -> Payload:
    repositories = {
        uri.split("/", 1)[1].split(":", 1)[0] for alias in aliases for uri in variants.images(alias).values()
    }
    repository = ",".join(sorted(repositories))
    predictor = spec.get("predictor_specs") or {}
    payloads: dict[str, Any] = spec.get("default_payloads") or {}
    sample: dict[str, Any] = payloads[sorted(payloads)[0]] if payloads else {}
    return Payload(
        family=_PAYLOAD_FAMILIES.get(repository, "other"),
        image_repository=repository,
        content_type=predictor.get("default_content_type"),
        accept=predictor.get("default_accept_type"),
        prompt_key=sample.get("prompt_key"),
        output_key=(sample.get("output_keys") or {}).get("generated_text"),
    )


def _training(spec: Spec, ident: str) -> TrainingFacts:
    variants = _Variants(spec.get("training_instance_type_variants"))
    instance_types = _supported(spec, variants, "supported_training_instance_types")
    if not instance_types:
        raise RefreshError(f"model {ident} supports training but has no training instance type with an image")
    gated = bool(spec.get("gated_bucket")) or spec.get("hosting_eula_key") is not None
    # SDK: a gated model whose instance type has no own key uses the key all supported types share.
    declared = {t: variants.prop(t, "gated_model_key_env_var_value") for t in spec["supported_training_instance_types"]}
    shared = set(declared.values())
    shared_key = next(iter(shared)) if gated and len(shared) == 1 else None
    base_metrics = list(spec.get("metrics") or [])
    instances: dict[str, TrainingInstance] = {}
    for instance_type in instance_types:
        gated_key = declared[instance_type]
        if gated_key is None:
            gated_key = shared_key
        metrics = list(base_metrics)
        for metric in variants.merged_list(instance_type, "metrics", "Name"):
            metrics = [m for m in metrics if m["Name"] != metric["Name"]] + [metric]
        artifact_key = (
            variants.prop(instance_type, "training_artifact_uri")
            or variants.prop(instance_type, "training_artifact_key")
            or spec.get("training_artifact_key")
        )
        instances[instance_type] = TrainingInstance(
            image=str(variants.image_alias(instance_type)),
            environment=variants.environment(instance_type),
            artifact_key=artifact_key,
            gated_model_key=gated_key,
            volume_size_gb=spec.get("training_volume_size") if volume_size_supported(instance_type) else None,
            hyperparameters=tuple(
                _hyperparameter(h) for h in variants.merged_list(instance_type, "hyperparameters", "name")
            ),
            metrics=tuple(MetricDefinition.model_validate(m) for m in metrics),
        )
    # SDK use_training_model_artifact(): models whose weights come through the gated env var, or
    # through model packages, get no model channel.
    uses_artifact = not any(declared.values()) and not spec.get("training_model_package_artifact_uris")
    estimator = spec.get("estimator_kwargs") or {}
    return TrainingFacts(
        neuron=all(is_neuron(t) for t in instance_types),
        default_instance_type=spec["default_training_instance_type"],
        supported_instance_types=tuple(instance_types),
        instance_types=instances,
        images={alias: variants.images(alias) for alias in sorted({i.image for i in instances.values()})},
        script_key=spec.get("training_prepacked_script_key") or spec["training_script_key"],
        uses_model_artifact=uses_artifact and spec.get("training_artifact_key") is not None,
        hyperparameters=tuple(_hyperparameter(h) for h in spec.get("hyperparameters") or []),
        network_isolation=bool(spec.get("training_enable_network_isolation", False)),
        encrypt_inter_container_traffic=bool(estimator.get("encrypt_inter_container_traffic", False)),
        disable_output_compression=bool(estimator.get("disable_output_compression", False)),
        max_run_seconds=estimator.get("max_run"),
    )


def _hyperparameter(raw: dict[str, Any]) -> HyperparameterSpec:
    fields = ("name", "type", "default", "scope", "options", "min", "max", "exclusive_min", "exclusive_max")
    return HyperparameterSpec.model_validate({k: raw[k] for k in fields if k in raw})
