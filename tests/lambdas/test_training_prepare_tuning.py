"""CheckInput and Prepare with a tuning stage: the tuning request, its name, and the inputs refused for it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from genai_kit.contracts.training_prepare import PipelineSettings
from lambdas.training_prepare.training_job import PrepareError, check_execution_input, prepare
from lambdas.training_prepare.tuning_job import tuning_job_name
from tests.lambdas.test_training_prepare import ENV, _settings
from tests.pipeline.conftest import TRAIN_LOSS, TUNING

RAW = {"dataset": "s3://datasets/fine-tuning/notes/", "accept_eula": True}


@pytest.fixture(scope="module")
def settings() -> PipelineSettings:
    return _settings(max_runtime_seconds=14_400, hyperparameters={"warmup_steps": 5}, tuning=TUNING)


def _prepare(settings: PipelineSettings, execution_name: str = "run-1", **input_values: Any) -> dict[str, Any]:
    checked = check_execution_input({**RAW, **input_values}, settings=settings, env=ENV)
    return prepare(
        checked, execution_name=execution_name, execution_id=f"arn:exec:{execution_name}", settings=settings, env=ENV
    )


def test_the_tuning_request_is_the_training_request_as_a_definition(settings: PipelineSettings) -> None:
    prepared = _prepare(settings)
    training, tuning = prepared["request"], prepared["tuning"]
    assert prepared["tuningJobName"] == tuning["HyperParameterTuningJobName"]
    definition = tuning["TrainingJobDefinition"]
    for member in ("AlgorithmSpecification", "InputDataConfig", "OutputDataConfig", "ResourceConfig", "Environment"):
        assert definition[member] == training[member]
    # The tuned hyperparameters are the tuning job's to set; every other one is static, encoded as in the request.
    assert definition["StaticHyperParameters"] == {
        k: v for k, v in training["HyperParameters"].items() if k not in ("learning_rate", "max_steps")
    }
    assert definition["StaticHyperParameters"]["warmup_steps"] == json.dumps("5")
    assert "RoleArn" not in definition
    assert "WarmStartConfig" not in tuning
    # The settings file carries the tuning section and reads back the same.
    assert PipelineSettings.model_validate_json(settings.to_json()) == settings


def test_warm_start_is_passed_as_configured() -> None:
    warm = {"parent_jobs": ["genai-kit-dev-ft-0a1b2c3d"], "type": "TransferLearning"}
    settings = _settings(max_runtime_seconds=14_400, tuning={**TUNING, "warm_start": warm})
    assert _prepare(settings)["tuning"]["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "genai-kit-dev-ft-0a1b2c3d"}],
        "WarmStartType": "TransferLearning",
    }


def test_a_tuning_job_is_named_once_per_execution_within_sagemakers_32_characters() -> None:
    name = tuning_job_name("genai-kit-dev-ft", "a-very-long-execution-name-" * 3)
    assert len(name) <= 32
    assert name.startswith("genai-kit-dev-ft-")
    assert name == tuning_job_name("genai-kit-dev-ft", "a-very-long-execution-name-" * 3)
    assert name != tuning_job_name("genai-kit-dev-ft", "another")


def test_an_instance_type_without_the_objective_metric_is_refused(settings: PipelineSettings) -> None:
    spec = settings.specs["ml.trn1n.32xlarge"]
    without = settings.model_copy(
        update={"specs": {**settings.specs, "ml.trn1n.32xlarge": spec.model_copy(update={"metric_definitions": ()})}}
    )
    with pytest.raises(PrepareError) as refused:
        check_execution_input({**RAW, "instance_type": "ml.trn1n.32xlarge"}, settings=without, env=ENV)
    assert refused.value.error == "InvalidInput"
    assert str(refused.value) == (
        f"instance_type: ml.trn1n.32xlarge does not report the tuning objective {TRAIN_LOSS}; its metrics are: none"
    )


def test_the_cost_guard_counts_the_instances_the_input_asks_for(settings: PipelineSettings) -> None:
    resources = _prepare(settings, instance_count=1)["tuning"]["TrainingJobDefinition"]["ResourceConfig"]
    assert resources["InstanceCount"] == 1
    with pytest.raises(PrepareError) as refused:
        _prepare(settings, instance_count=3)
    assert refused.value.error == "CostGuardExceeded"
    assert "up to 48 instance-hours (4 jobs x 3 instances x 4 h time limit" in str(refused.value)


def test_without_tuning_nothing_of_it_is_prepared_nor_written_to_the_settings_file() -> None:
    settings = _settings()
    prepared = _prepare(settings)
    assert "tuning" not in prepared
    assert "tuningJobName" not in prepared
    assert "tuning" not in json.loads(settings.to_json())
    assert PipelineSettings.model_validate_json(settings.to_json()) == settings


def test_a_range_outside_another_instance_types_variant_of_the_hyperparameter_is_refused(
    settings: PipelineSettings,
) -> None:
    spec = settings.specs["ml.trn1n.32xlarge"]
    narrower = tuple(
        h.model_copy(update={"max": 1e-5}) if h.name == "learning_rate" else h for h in spec.hyperparameters
    )
    variant = settings.model_copy(
        update={"specs": {**settings.specs, "ml.trn1n.32xlarge": spec.model_copy(update={"hyperparameters": narrower})}}
    )
    with pytest.raises(PrepareError) as refused:
        check_execution_input({**RAW, "instance_type": "ml.trn1n.32xlarge"}, settings=variant, env=ENV)
    assert refused.value.error == "InvalidInput"
    assert str(refused.value) == (
        "instance_type: training.tuning.parameter_ranges.learning_rate: hyperparameter 'learning_rate' of "
        "ml.trn1n.32xlarge cannot be '0.0001': allowed <= 1e-05"
    )
    # The default type's own variant accepts the same ranges.
    check_execution_input(RAW, settings=variant, env=ENV)
