"""The CheckInput and Prepare functions' contract: the environment round-trips as plain strings, a missing
variable is named, and the settings file is the model the construct writes."""

from __future__ import annotations

import pytest

from genai_kit.config.training import TrainingConfig
from genai_kit.contracts.training_prepare import PipelineSettings, PrepareEnvironment
from genai_kit.stage.training import resolve_training

ENVIRONMENT = PrepareEnvironment(
    training_job_prefix="genai-kit-dev-ft",
    training_role_arn="arn:aws:iam::123456789012:role/training",
    datasets_bucket="datasets",
    datasets_prefix="fine-tuning/",
    artifacts_bucket="artifacts",
    output_prefix="training/output/",
    checkpoint_prefix="training/checkpoints/",
    compile_cache_prefix="training/neuron-compile-cache/",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/kit",
)


def test_every_variable_is_the_value_itself() -> None:
    variables = ENVIRONMENT.to_environment()
    assert variables["TRAINING_JOB_PREFIX"] == "genai-kit-dev-ft"
    assert variables["DATASETS_PREFIX"] == "fine-tuning/"
    assert PrepareEnvironment.from_environment({**variables, "PATH": "/bin"}) == ENVIRONMENT


def test_a_missing_variable_is_named() -> None:
    variables = ENVIRONMENT.to_environment()
    del variables["KMS_KEY_ARN"]
    with pytest.raises(ValueError, match=r"invalid training_prepare environment: KMS_KEY_ARN: Field required"):
        PrepareEnvironment.from_environment(variables)


def test_the_settings_file_round_trips_with_the_catalog_specs() -> None:
    training = resolve_training(TrainingConfig(), stage="dev", region="us-east-1")
    settings = PipelineSettings(
        model_id=training.config.model_id,
        version=training.config.version,
        eula_uri=training.hosting.eula_uri,
        specs=dict(training.specs),
        default_instance_type=training.default_instance_type,
        instance_count=1,
        max_instance_count=1,
        hyperparameters={},
        max_runtime_seconds=None,
        volume_size_gb=512,
        spot=False,
        spot_max_wait_seconds=None,
        warm_pool_seconds=0,
        efa_instance_types=training.efa_instance_types,
        local_storage_instance_types=("ml.trn1.32xlarge",),
    )
    assert PipelineSettings.model_validate_json(settings.model_dump_json(indent=1)) == settings
