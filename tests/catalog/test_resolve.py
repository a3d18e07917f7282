"""Resolution from the committed catalog: values a CDK construct uses, precedence and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genai_kit.catalog import (
    CatalogError,
    list_models,
    load_entry,
    require_neuron_hosting,
    resolve_hosting,
    resolve_training,
)

LLAMA2, V = "meta-textgenerationneuron-llama-2-7b", "1.0.0"
LLAMA31 = ("meta-textgeneration-llama-3-1-70b", "2.16.2")


def test_hosting_llama2_on_inf2_xlarge() -> None:
    spec = resolve_hosting(LLAMA2, V, region="us-east-1", instance_type="ml.inf2.xlarge")
    assert spec.image_uri == "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.24.0-neuronx-sdk2.14.1"
    assert spec.model_data.model_dump() == {
        "s3_uri": "s3://jumpstart-private-cache-prod-us-east-1/meta-textgenerationneuron/"
        "meta-textgenerationneuron-llama-2-7b/artifacts/inference-prepack/v1.0.0/",
        "s3_data_type": "S3Prefix",
        "compression": "None",
        "gated": True,
        "accept_eula_required": True,
    }
    assert (
        spec.model_data_download_timeout,
        spec.container_startup_health_check_timeout,
        spec.volume_size_gb,
        spec.enable_network_isolation,
        spec.neuron,
        spec.payload.family,
    ) == (3600, 3600, 256, True, True, "lmi")


def test_hosting_environment_layers_variant_values_over_spec_defaults() -> None:
    env = resolve_hosting(LLAMA2, V, region="us-east-1", instance_type="ml.inf2.24xlarge").environment
    assert env == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
        "OPTION_TENSOR_PARALLEL_DEGREE": "12",
        "OPTION_N_POSITIONS": "4096",
        "OPTION_DTYPE": "fp16",
        "OPTION_ROLLING_BATCH": "auto",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "4",
        "OPTION_NEURON_OPTIMIZE_LEVEL": "2",
    }


def test_user_overrides_win_over_variant_and_defaults() -> None:
    env = resolve_hosting(
        LLAMA2,
        V,
        region="us-east-1",
        instance_type="ml.inf2.48xlarge",
        env_overrides={"OPTION_TENSOR_PARALLEL_DEGREE": "8", "SAGEMAKER_MODEL_SERVER_WORKERS": "2", "EXTRA": "x"},
    ).environment
    assert (env["OPTION_TENSOR_PARALLEL_DEGREE"], env["SAGEMAKER_MODEL_SERVER_WORKERS"], env["EXTRA"]) == (
        "8",
        "2",
        "x",
    )


def test_china_region_image_uses_the_china_domain() -> None:
    spec = resolve_hosting(LLAMA2, V, region="cn-north-1", instance_type="ml.inf2.xlarge")
    assert spec.image_uri == "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/djl-inference:0.24.0-neuronx-sdk2.14.1"


def test_eula_uri_points_at_the_content_bucket() -> None:
    spec = resolve_hosting(LLAMA2, V, region="eu-west-1", instance_type="ml.inf2.xlarge")
    assert spec.eula_uri == "s3://jumpstart-cache-prod-eu-west-1/fmhMetadata/eula/llamaEula.txt"


@pytest.mark.parametrize("instance_type", ["ml.trn1.32xlarge", "ml.trn1n.32xlarge"])
def test_training_llama2_gets_its_weights_from_the_gated_env_var(instance_type: str) -> None:
    family = instance_type.split(".")[1]
    spec = resolve_training(LLAMA2, V, region="us-west-2", instance_type=instance_type)
    gated = f"s3://jumpstart-private-cache-prod-us-west-2/meta-training/{family}/v1.0.0/train-{LLAMA2}.tar.gz"
    assert (spec.model_artifact_uri, spec.gated_model_uri, spec.environment, spec.accept_eula_required) == (
        None,
        gated,
        {"SageMakerGatedModelS3Uri": gated},
        True,
    )


def test_training_llama2_job_settings() -> None:
    spec = resolve_training(LLAMA2, V, region="us-east-1", instance_type="ml.trn1.32xlarge")
    assert spec.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training-neuronx:1.13.1-neuronx-py310-sdk2.14.1-ubuntu20.04"
    )
    assert spec.script_uri == (
        "s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/meta/transfer_learning/"
        "textgenerationneuron/prepack/v1.0.0/sourcedir.tar.gz"
    )
    assert (
        spec.max_run_seconds,
        spec.encrypt_inter_container_traffic,
        spec.enable_network_isolation,
        spec.disable_output_compression,
        spec.volume_size_gb,
        spec.default_hyperparameters["tensor_parallel_degree"],
        spec.container_hyperparameters["sagemaker_program"],
        [m.name for m in spec.metric_definitions],
    ) == (360000, True, True, True, None, "8", "transfer_learning.py", ["meta-textgenerationneuron:train-loss"])


def test_unknown_model_lists_catalog_models() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_hosting("llama-9", V, region="us-east-1", instance_type="ml.inf2.xlarge")
    assert str(excinfo.value) == (
        "unknown model id 'llama-9'; the catalog has: huggingface-txt2imgneuron-stabilityai-stable-diffusion-v2-1, "
        "huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0, meta-textgeneration-llama-3-1-70b, "
        "meta-textgenerationneuron-llama-2-7b"
    )


def test_path_like_model_id_is_unknown() -> None:
    with pytest.raises(CatalogError, match=r"^unknown model id '\.\./images'"):
        load_entry("../images", V)


def test_unknown_version_lists_catalog_versions() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_hosting(LLAMA2, "2.0.0", region="us-east-1", instance_type="ml.inf2.xlarge")
    assert str(excinfo.value) == f"unknown version '2.0.0' of model '{LLAMA2}'; the catalog has: 1.0.0"


def test_unsupported_instance_type_lists_supported_ones() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_hosting(LLAMA2, V, region="us-east-1", instance_type="ml.g5.2xlarge")
    assert str(excinfo.value) == (
        f"instance type 'ml.g5.2xlarge' is not supported for hosting of model '{LLAMA2}' version '1.0.0'; "
        "supported: ml.inf2.24xlarge, ml.inf2.48xlarge, ml.inf2.8xlarge, ml.inf2.xlarge"
    )


def test_region_without_training_image_lists_regions_that_have_one() -> None:
    with pytest.raises(CatalogError) as excinfo:
        resolve_training(LLAMA2, V, region="eu-west-1", instance_type="ml.trn1.32xlarge")
    assert str(excinfo.value) == (
        f"region 'eu-west-1' has no training image for model '{LLAMA2}' version '1.0.0' on ml.trn1.32xlarge; "
        "regions: us-east-1, us-east-2, us-west-2"
    )


def test_region_unknown_to_jumpstart_is_named() -> None:
    with pytest.raises(CatalogError, match=r"^region 'mars-1' has no hosting image for model .* regions: af-south-1, "):
        resolve_hosting(LLAMA2, V, region="mars-1", instance_type="ml.inf2.xlarge")


def test_model_without_training_is_refused(catalog_copy: Path) -> None:
    path = catalog_copy / "jumpstart" / LLAMA2 / "1.0.0.json"
    data = json.loads(path.read_text())
    data["training"] = None
    path.write_text(json.dumps(data))
    with pytest.raises(CatalogError) as excinfo:
        resolve_training(LLAMA2, V, region="us-east-1", instance_type="ml.trn1.32xlarge", root=catalog_copy)
    assert str(excinfo.value) == f"model '{LLAMA2}' version '1.0.0' does not support training"


def test_gpu_entry_is_refused_for_neuron_hosting_naming_its_twin() -> None:
    with pytest.raises(CatalogError) as excinfo:
        require_neuron_hosting(*LLAMA31)
    assert str(excinfo.value) == (
        "model 'meta-textgeneration-llama-3-1-70b' version '2.16.2' is not a Neuron model: it is hosted on "
        "ml.g5.48xlarge, ml.p4d.24xlarge, ml.g6.48xlarge, ml.p5.48xlarge; its Neuron variant is "
        "'meta-textgenerationneuron-llama-3-1-70b' version '1.0.2' (add it with: python -m genai_kit.catalog.refresh "
        "--from-bucket --region us-east-1 --model meta-textgenerationneuron-llama-3-1-70b@1.0.2)"
    )


def test_neuron_entry_passes_the_neuron_check() -> None:
    require_neuron_hosting(LLAMA2, V)


def test_resolution_reads_only_the_asked_model(catalog_copy: Path) -> None:
    (catalog_copy / "jumpstart" / LLAMA31[0] / "2.16.2.json").write_text("{not json")
    spec = resolve_hosting(LLAMA2, V, region="us-east-1", instance_type="ml.inf2.xlarge", root=catalog_copy)
    assert spec.model_id == LLAMA2


def test_damaged_entry_is_reported_with_its_path(catalog_copy: Path) -> None:
    path = catalog_copy / "jumpstart" / LLAMA2 / "1.0.0.json"
    path.write_text("{not json")
    with pytest.raises(CatalogError, match=rf"^catalog file {path} is unreadable or does not match the schema"):
        load_entry(LLAMA2, V, root=catalog_copy)


def test_entries_are_cached() -> None:
    assert load_entry(LLAMA2, V) is load_entry(LLAMA2, V)


def test_list_models_names_the_shipped_entries() -> None:
    assert [(r.model_id, r.version) for r in list_models()] == [
        ("huggingface-txt2imgneuron-stabilityai-stable-diffusion-v2-1", "1.1.15"),
        ("huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0", "1.1.15"),
        LLAMA31,
        (LLAMA2, V),
    ]
