"""The Hugging Face training job's request parts: a valid CreateTrainingJob call, and what the script receives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import validate_parameters

from genai_kit.catalog import CatalogError
from genai_kit.config.hf_training import HfTrainingConfig
from genai_kit.stage.hf_training_job import EFA_ENVIRONMENT, HfTrainingJobSettings, training_job_settings
from tests.service_model import violations

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbC123"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG = HfTrainingConfig.model_validate(
    {"model_id": "meta-llama/Llama-3.2-1B", "model_type": "llama", "hf_token_secret_arn": SECRET}
)


def _settings(config: HfTrainingConfig = CONFIG, **kwargs: Any) -> HfTrainingJobSettings:
    return training_job_settings(
        config,
        region="us-east-1",
        source_archive_uri="s3://artifacts/training/source/sourcedir.tar.gz",
        compile_cache_uri="s3://artifacts/training/neuron-compile-cache/",
        **kwargs,
    )


def _request(settings: HfTrainingJobSettings, config: HfTrainingConfig = CONFIG) -> dict[str, Any]:
    """A whole CreateTrainingJob request as the pipeline will send it, around the settings."""
    return {
        "TrainingJobName": "genai-kit-dev-hf-run-1",
        "AlgorithmSpecification": {
            "TrainingImage": settings.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": settings.metric_definitions,
        },
        "HyperParameters": settings.hyper_parameters,
        "Environment": settings.environment,
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://datasets/fine-tuning/notes/{name}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://artifacts/training/output/", "CompressionType": "NONE"},
        "ResourceConfig": {"InstanceType": config.instance_type, "InstanceCount": config.instance_count},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86_400},
        "CheckpointConfig": {"S3Uri": "s3://artifacts/training/checkpoints/run-1/", "LocalPath": "/opt/ml/checkpoints"},
        "EnableNetworkIsolation": False,
    }


def test_request_is_a_valid_create_training_job_call() -> None:
    request = _request(_settings())
    shape = get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    validate_parameters(request, shape)
    assert violations(shape, request) == []


def test_image_is_the_catalogs_training_image_for_the_region() -> None:
    assert _settings().image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training-neuronx:"
        "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04"
    )


def test_a_region_without_the_image_is_refused() -> None:
    with pytest.raises(CatalogError, match="not published in region 'af-south-1'"):
        training_job_settings(CONFIG, region="af-south-1", source_archive_uri="s3://a/b", compile_cache_uri="s3://a/c/")


def test_torchrun_entry_point_and_source_are_set_as_the_sdk_sets_them() -> None:
    hp = _settings().hyper_parameters
    assert hp["sagemaker_program"] == '"train.py"'
    assert hp["sagemaker_submit_directory"] == '"s3://artifacts/training/source/sourcedir.tar.gz"'
    assert hp["sagemaker_torch_distributed_enabled"] == "true"


def test_environment_holds_the_cache_and_the_secret_arn_never_a_token() -> None:
    assert _settings().environment == {
        "HF_TOKEN_SECRET_ARN": SECRET,
        "NEURON_COMPILE_CACHE_URL": "s3://artifacts/training/neuron-compile-cache/",
    }


@pytest.mark.parametrize("instance_type", ["ml.trn1.32xlarge", "ml.trn1n.32xlarge"])
def test_multi_node_sets_the_efa_variables(instance_type: str) -> None:
    config = CONFIG.model_copy(update={"instance_type": instance_type, "instance_count": 2})
    environment = _settings(config).environment
    assert {k: environment[k] for k in EFA_ENVIRONMENT} == {
        "FI_EFA_FORK_SAFE": "1",
        "FI_EFA_USE_DEVICE_RDMA": "1",
        "FI_PROVIDER": "efa",
        "RDMAV_FORK_SAFE": "1",
    }
    assert not set(EFA_ENVIRONMENT) & set(_settings().environment)


def _as_the_toolkit_passes_them(hyper_parameters: dict[str, str]) -> list[str]:
    """sagemaker-training-toolkit: JSON-decode each user value, then ``--key str(value)`` sorted by key."""
    args: list[str] = []
    for key in sorted(hyper_parameters):
        if key.startswith("sagemaker_"):
            continue
        value = json.loads(hyper_parameters[key])
        args += [f"--{key}", str(value)]
    return args


def test_the_script_receives_exactly_the_configured_values() -> None:
    import sys  # noqa: PLC0415

    from tests.training.conftest import SCRIPT_DIR  # noqa: PLC0415

    sys.path.insert(0, str(SCRIPT_DIR))
    from kit_training.args import parse_args  # noqa: PLC0415

    config = CONFIG.model_copy(
        update={
            "revision": COMMIT,
            "hyperparameters": CONFIG.hyperparameters.model_copy(update={"learning_rate": 2e-4, "max_steps": 40}),
        }
    )
    argv = _as_the_toolkit_passes_them(_settings(config).hyper_parameters)
    args = parse_args(argv, environ={"SM_CHANNEL_TRAIN": "/opt/ml/input/data/train"})
    received = {name: getattr(args, name) for name in config.hyperparameters.model_dump()}
    assert received == config.hyperparameters.model_dump()
    assert (args.model_id, args.revision, args.base_revision) == ("meta-llama/Llama-3.2-1B", COMMIT, COMMIT)


def test_the_revision_is_passed_like_model_id_and_only_when_set() -> None:
    pinned = HfTrainingConfig.model_validate({**CONFIG.model_dump(), "revision": COMMIT})
    assert _settings(pinned).hyper_parameters["revision"] == json.dumps(COMMIT)
    assert "revision" not in _settings().hyper_parameters
    s3 = HfTrainingConfig.model_validate({"model_s3_uri": "s3://weights/llama/", "model_type": "llama"})
    assert not {"model_id", "revision"} & set(_settings(s3).hyper_parameters)
