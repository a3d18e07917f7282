"""The SageMaker SDK is the oracle: the catalog resolves what the SDK resolves, offline.

For every reference spec, every JumpStart region and every instance type the spec supports
(hosting and training), the catalog generated from the reference folder is compared with
``sagemaker`` (pinned in requirements-dev.txt) reading the same folder through its local
override. Where the catalog says "not available" (a region without an image for that
instance type), the SDK must fail too.

The SDK rebuilds its caches and boto3 clients whenever the region changes (~40 ms), so its
answers are gathered once per session with the region as the outer loop, then compared
aspect by aspect.

Deliberate differences, each checked against what the SDK really does rather than skipped:
- Hosting environment: the SDK's ``JumpStartModel`` sends only the variables marked
  ``required_for_model_class`` (``include_aws_sdk_env_vars=False`` in
  ``sagemaker.jumpstart.factory.model._add_env_to_kwargs``), so that is what is compared.
- Training model artifact of a gated model: ``model_uris.retrieve(model_scope="training")``
  still returns a key, but the SDK's estimator only sends it when
  ``_model_supports_training_model_uri`` is true; gated models get their weights through
  ``SageMakerGatedModelS3Uri`` (in the training environment) instead. The catalog returns
  ``model_artifact_uri=None`` exactly when the SDK would not send it.
- Model data shape: the SDK turns an ``s3://.../`` artifact into
  ``S3DataSource{S3DataType: S3Prefix, CompressionType: None}`` and passes anything else as
  ``ModelDataUrl`` (``_add_model_data_to_kwargs``); the test applies that rule to the SDK's URI.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from genai_kit.catalog import (
    CatalogError,
    load_entry,
    resolve_dlc_image,
    resolve_hosting,
    resolve_training,
    resolve_training_image,
)
from genai_kit.catalog.loader import list_models, load_regions
from genai_kit.catalog.schema import HostingSpec, TrainingSpec

# Tests taking (model_id, version) run once per reference spec (conftest.pytest_generate_tests).

UNAVAILABLE = "unavailable"
Answers = dict[tuple[str, str, str], dict[tuple[str, str], Any]]  # (model, version, aspect) -> {(region, type): value}
Kw = dict[str, str]


def _deploy_settings(sdk: SimpleNamespace, kw: Kw) -> dict[str, Any]:
    deploy = sdk.js_kwargs._retrieve_model_deploy_kwargs(**kw)
    init = sdk.js_kwargs._retrieve_model_init_kwargs(
        model_id=kw["model_id"], model_version=kw["model_version"], region=kw["region"]
    )
    return {
        "model_data_download_timeout": deploy.get("model_data_download_timeout"),
        "container_startup_health_check_timeout": deploy.get("container_startup_health_check_timeout"),
        "volume_size": deploy.get("volume_size"),
        "enable_network_isolation": init.get("enable_network_isolation", False),
    }


def _model_data(sdk: SimpleNamespace, kw: Kw) -> tuple[str, str, str]:
    uri: str = sdk.model_uris.retrieve(model_scope="inference", **kw)
    prefix = uri.endswith("/")  # the SDK's _add_model_data_to_kwargs rule
    return uri, "S3Prefix" if prefix else "S3Object", "None" if prefix else "Gzip"


def _training_uris(sdk: SimpleNamespace, kw: Kw) -> tuple[str, str | None]:
    sends_model = sdk.js_model_uris._model_supports_training_model_uri(
        model_id=kw["model_id"], model_version=kw["model_version"], region=kw["region"]
    )
    script = sdk.script_uris.retrieve(
        model_id=kw["model_id"], model_version=kw["model_version"], region=kw["region"], script_scope="training"
    )
    return script, sdk.model_uris.retrieve(model_scope="training", **kw) if sends_model else None


def _job_settings(sdk: SimpleNamespace, kw: Kw) -> dict[str, Any]:
    estimator = sdk.js_kwargs._retrieve_estimator_init_kwargs(**kw)
    return {
        "encrypt_inter_container_traffic": estimator.get("encrypt_inter_container_traffic", False),
        "disable_output_compression": estimator.get("disable_output_compression", False),
        "max_run": estimator.get("max_run"),
        "enable_network_isolation": estimator.get("enable_network_isolation", False),
        "volume_size": estimator.get("volume_size"),
    }


SDK_HOSTING: dict[str, Callable[[SimpleNamespace, Kw], Any]] = {
    "image": lambda sdk, kw: sdk.image_uris.retrieve(framework=None, image_scope="inference", **kw),
    "model_data": _model_data,
    "environment": lambda sdk, kw: sdk.environment_variables.retrieve_default(
        include_aws_sdk_env_vars=False, script="inference", **kw
    ),
    "deploy": _deploy_settings,
}
SDK_TRAINING: dict[str, Callable[[SimpleNamespace, Kw], Any]] = {
    "image": lambda sdk, kw: sdk.image_uris.retrieve(framework=None, image_scope="training", **kw),
    "uris": _training_uris,
    "environment": lambda sdk, kw: sdk.environment_variables.retrieve_default(script="training", **kw),
    "hyperparameters": lambda sdk, kw: (
        sdk.hyperparameters.retrieve_default(**kw),
        sdk.hyperparameters.retrieve_default(include_container_hyperparameters=True, **kw),
    ),
    "metrics": lambda sdk, kw: sdk.metric_definitions.retrieve_default(**kw),
    "job": _job_settings,
}
OURS_HOSTING: dict[str, Callable[[HostingSpec], Any]] = {
    "image": lambda spec: spec.image_uri,
    "model_data": lambda spec: (spec.model_data.s3_uri, spec.model_data.s3_data_type, spec.model_data.compression),
    "environment": lambda spec: spec.environment,
    "deploy": lambda spec: {
        "model_data_download_timeout": spec.model_data_download_timeout,
        "container_startup_health_check_timeout": spec.container_startup_health_check_timeout,
        "volume_size": spec.volume_size_gb,
        "enable_network_isolation": spec.enable_network_isolation,
    },
}
OURS_TRAINING: dict[str, Callable[[TrainingSpec], Any]] = {
    "image": lambda spec: spec.image_uri,
    "uris": lambda spec: (spec.script_uri, spec.model_artifact_uri),
    "environment": lambda spec: spec.environment,
    "hyperparameters": lambda spec: (
        spec.default_hyperparameters,
        {**spec.container_hyperparameters, **spec.default_hyperparameters},
    ),
    "metrics": lambda spec: [m.model_dump(by_alias=True) for m in spec.metric_definitions],
    "job": lambda spec: {
        "encrypt_inter_container_traffic": spec.encrypt_inter_container_traffic,
        "disable_output_compression": spec.disable_output_compression,
        "max_run": spec.max_run_seconds,
        "enable_network_isolation": spec.enable_network_isolation,
        "volume_size": spec.volume_size_gb,
    },
}


def _sdk_or_unavailable(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ValueError:  # how the SDK says "no image for this instance type in this region"
        return UNAVAILABLE


@pytest.fixture(scope="session")
def answers(sdk: SimpleNamespace, reference_catalog: Path) -> tuple[Answers, Answers]:
    """(ours, the SDK's) for every model, region, supported instance type and aspect."""
    ours: Answers = defaultdict(dict)
    theirs: Answers = defaultdict(dict)
    for region in load_regions(reference_catalog).regions:  # region outermost: one SDK cache reset each
        for ref in list_models(reference_catalog):
            entry = load_entry(ref.model_id, ref.version, root=reference_catalog)
            scopes: list[tuple[str, tuple[str, ...], Any, Any, Any]] = [
                ("hosting", entry.hosting.supported_instance_types, resolve_hosting, OURS_HOSTING, SDK_HOSTING)
            ]
            if entry.training is not None:
                scopes.append(
                    ("training", entry.training.supported_instance_types, resolve_training, OURS_TRAINING, SDK_TRAINING)
                )
            for scope, instance_types, resolve, our_aspects, sdk_aspects in scopes:
                for it in instance_types:
                    kw = {"model_id": ref.model_id, "model_version": ref.version, "region": region, "instance_type": it}
                    try:
                        spec = resolve(
                            ref.model_id, ref.version, region=region, instance_type=it, root=reference_catalog
                        )
                    except CatalogError:
                        spec = None
                    for aspect, sdk_call in sdk_aspects.items():
                        key = (ref.model_id, ref.version, f"{scope}:{aspect}")
                        if spec is None and aspect != "image":
                            continue  # only the image decides availability; other aspects need a resolved spec
                        ours[key][region, it] = UNAVAILABLE if spec is None else our_aspects[aspect](spec)
                        theirs[key][region, it] = _sdk_or_unavailable(functools.partial(sdk_call, sdk, kw))
    return ours, theirs


def _compare(answers: tuple[Answers, Answers], model_id: str, version: str, aspect: str) -> None:
    ours, theirs = answers
    key = (model_id, version, aspect)
    assert ours.get(key), f"nothing resolved for {key}"
    assert ours[key] == theirs[key]


@pytest.mark.parametrize("aspect", sorted(f"hosting:{a}" for a in SDK_HOSTING))
def test_hosting_matches_sdk_in_every_region_and_instance_type(
    answers: tuple[Answers, Answers], model_id: str, version: str, aspect: str
) -> None:
    _compare(answers, model_id, version, aspect)


@pytest.mark.parametrize("aspect", sorted(f"training:{a}" for a in SDK_TRAINING))
def test_training_matches_sdk_in_every_region_and_instance_type(
    answers: tuple[Answers, Answers], model_id: str, version: str, aspect: str
) -> None:
    _compare(answers, model_id, version, aspect)


def test_hosting_instance_types_and_eula_match_sdk(
    sdk: SimpleNamespace, reference_catalog: Path, model_id: str, version: str
) -> None:
    entry = load_entry(model_id, version, root=reference_catalog)
    spec = resolve_hosting(
        model_id, version, region="us-east-1", instance_type=entry.hosting.default_instance_type, root=reference_catalog
    )
    kw = {"model_id": model_id, "model_version": version, "region": "us-east-1", "scope": "inference"}
    specs = sdk.js_utils.verify_model_region_and_return_specs(
        model_id=model_id, version=version, scope="inference", region="us-east-1"
    )
    assert (
        list(spec.supported_instance_types),
        spec.default_instance_type,
        spec.model_data.accept_eula_required,
        spec.model_data.gated,
    ) == (
        sdk.instance_types.retrieve(**kw),
        sdk.instance_types.retrieve_default(**kw),
        specs.is_gated_model(),
        bool(specs.gated_bucket),
    )


def test_training_instance_types_match_sdk(
    sdk: SimpleNamespace, reference_catalog: Path, model_id: str, version: str
) -> None:
    training = load_entry(model_id, version, root=reference_catalog).training
    assert training is not None
    kw = {"model_id": model_id, "model_version": version, "region": "us-east-1", "scope": "training"}
    assert (list(training.supported_instance_types), training.default_instance_type) == (
        sdk.instance_types.retrieve(**kw),
        sdk.instance_types.retrieve_default(**kw),
    )


# --- Neuron DLC images --------------------------------------------------------------------


def _dlc_cases(reference_dir: Path) -> list[tuple[str, str, str]]:
    cases: list[tuple[str, str, str]] = []
    for framework in ("djl-neuronx", "huggingface-llm-neuronx", "huggingface-vllm-neuronx"):
        raw = json.loads((reference_dir / "sdk_image_uri_config" / f"{framework}.json").read_text())
        config = raw if "scope" in raw else raw["inference"]
        for version, version_config in config["versions"].items():
            cases.extend((framework, version, region) for region in version_config["registries"])
    return cases


def test_dlc_images_match_sdk_for_every_version_and_region(sdk: SimpleNamespace, reference_dir: Path) -> None:
    cases = _dlc_cases(reference_dir)
    ours = {case: resolve_dlc_image(case[0], case[1], region=case[2]) for case in cases}
    theirs = {
        (framework, version, region): sdk.image_uris.retrieve(
            framework=framework,
            version=version,
            region=region,
            instance_type="ml.inf2.xlarge",
            image_scope="inference",
            # What sagemaker.huggingface.get_huggingface_llm_image_uri passes for the Neuron backends.
            inference_tool="neuronx" if framework.startswith("huggingface") else None,
        )
        for framework, version, region in cases
    }
    assert len(cases) > 100
    assert ours == theirs


# --- the Hugging Face Neuron training image -----------------------------------------------


def test_training_image_matches_the_sdk_table_in_every_region(sdk: SimpleNamespace, reference_dir: Path) -> None:
    """Registry, host, repository and every tag part the SDK's table gives, in every region it lists.

    The SDK cannot build this URI itself (next test), so the oracle is its table read through its own helpers
    (``_registry_from_region``, botocore's ECR hostname, ``ECR_URI_TEMPLATE``, ``_format_tag``). The one part the
    table gets wrong is the PyTorch version: it labels 4.55.4 ``pytorch2.7.0`` while the image is 2.8.0
    (genai_kit/catalog/refresh/tables.py cites the DLC build), so the tag prefix is compared apart from it.
    """
    raw = json.loads((reference_dir / "sdk_image_uri_config" / "huggingface-neuronx.json").read_text())
    config = raw["training"]["versions"]["4.55.4"]["pytorch2.7.0"]
    tag = sdk.image_uris._format_tag(
        "2.8.0-transformers4.55.4",
        None,
        config["py_versions"][0],
        f"{config['sdk_versions'][0]}-{config['container_version']['inf']}",
        inference_tool="neuronx",
    )
    resolver = sdk.image_uris.utils._botocore_resolver()
    theirs = {
        region: sdk.image_uris.ECR_URI_TEMPLATE.format(
            registry=sdk.image_uris._registry_from_region(region, config["registries"]),
            hostname=(resolver.construct_endpoint("ecr", region) or {"hostname": f"ecr.{region}.amazonaws.com"})[
                "hostname"
            ],
            repository=f"{config['repository']}:{tag}",
        )
        for region in config["registries"]
    }
    ours = {region: resolve_training_image("4.55.4", region=region) for region in config["registries"]}
    assert len(ours) == 24
    assert ours == theirs


def test_sdk_cannot_resolve_the_training_image_on_trainium(sdk: SimpleNamespace) -> None:
    """Why the kit composes the URI itself: the SDK allows only the "pytorch" framework on Trainium."""
    with pytest.raises(ValueError, match="Supported framework\\(s\\) for Trainium instances: pytorch"):
        sdk.image_uris.retrieve(
            framework="huggingface-neuronx",
            version="4.55.4",
            base_framework_version="pytorch2.7.0",
            py_version="py310",
            instance_type="ml.trn1.32xlarge",
            image_scope="training",
            region="us-east-1",
        )
