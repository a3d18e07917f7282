"""The training stack with ``training.tuning``: the tuning states, their IAM, and the configuration refused at synth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from genai_kit.stage import ConfigError, load_stage
from genai_kit.synth_summary import validation_findings
from stacks.constructs.training_tuning_states import DEFINITION_FIELDS
from tests.cfn_lint import cfn_lint_problems
from tests.pipeline.conftest import TUNING, TUNING_STAGES
from tests.stacks.test_training_stack import _definition, _policy, _render
from tests.synth import SynthResult, kit_context

LABEL = "meta-textgenerationneuron-llama-2-7b@1.0.0"


@pytest.fixture(scope="module")
def tuned(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages=TUNING_STAGES)


def test_nag_and_cfn_lint_are_clean_with_tuning(tuned: SynthResult) -> None:
    assert validation_findings(tuned.assembly_dir) == []
    assert cfn_lint_problems(tuned.assembly_dir) == []


def test_train_runs_a_tuning_job_with_the_fixed_role_and_the_prepared_definition(tuned: SynthResult) -> None:
    states = _definition(tuned.template("Training"))["States"]
    train = states["Train"]
    assert train["Resource"] == "arn:<AWS::Partition>:states:::sagemaker:createHyperParameterTuningJob.sync"
    definition = train["Parameters"]["TrainingJobDefinition"]
    assert definition.pop("RoleArn").startswith("<PipelineTrainingRole")
    assert definition == {f"{f}.$": f"$.prepared.tuning.TrainingJobDefinition.{f}" for f in DEFINITION_FIELDS}
    assert "WarmStartConfig.$" not in train["Parameters"]
    assert train["ResultPath"] == "$.tuning"
    assert train["Next"] == "BestTrainingJob?"
    assert states["BestTrainingJob?"]["Default"] == "NoTrainingJobSucceeded"
    assert states["BestTrainingJob"]["ResultPath"] == "$.training"
    assert states["Evaluate"]["Parameters"] == {
        "trainingJobName.$": "$.training.TrainingJobName",
        "tuningJobName.$": "$.training.HyperParameterTuningJobName",
        "dataset": {"uri.$": "$.prepared.dataset.uri", "contentSha256.$": "$.dataset.contentSha256"},
        "summary.$": "$.prepared.summary",
    }
    assert "(best of tuning job {})" in states["Register"]["Parameters"]["ModelPackageDescription.$"]


def test_the_state_machine_runs_only_its_own_tuning_jobs(tuned: SynthResult) -> None:
    statements = _policy(tuned.template("Training"), "StateMachineRole")
    jobs = statements["RunOwnTuningJobs"]
    assert sorted(jobs["Action"]) == [
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
        "sagemaker:StopHyperParameterTuningJob",
    ]
    assert _render(jobs["Resource"]).endswith(":hyper-parameter-tuning-job/genai-kit-dev-ft-*")
    rule = statements["TrackTuningJobsForSync"]
    assert sorted(rule["Action"]) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert _render(rule["Resource"]).endswith(":rule/StepFunctionsGetEventsForSageMakerTuningJobsRule")
    # The tuning job's training jobs are named <tuning job>-<n>-<id>: under the training jobs' prefix.
    assert _render(statements["RunOwnTrainingJobs"]["Resource"]).endswith(":training-job/genai-kit-dev-ft-*")
    failure = _policy(tuned.template("Training"), "DescribeFailureFunction")["DescribeOwnTuningJobs"]
    assert failure["Action"] == "sagemaker:DescribeHyperParameterTuningJob"


def test_without_tuning_nothing_of_it_is_deployed(dev: SynthResult) -> None:
    template: Template = dev.template("Training")
    statements = _policy(template, "StateMachineRole")
    assert "RunOwnTuningJobs" not in statements
    assert "DescribeOwnTuningJobs" not in _policy(template, "DescribeFailureFunction")
    assert "BestTrainingJob?" not in _definition(template)["States"]


def _refused(tuning: dict[str, Any], **training: Any) -> list[str]:
    overrides = {"stages": {"dev": {"training": {"max_runtime_seconds": 14_400, **training, "tuning": tuning}}}}
    with pytest.raises(ConfigError) as error:
        load_stage(kit_context(overrides=overrides))
    return error.value.problems


@pytest.mark.parametrize(
    ("tuning", "expected"),
    [
        (
            {**TUNING, "max_instance_hours": 15},
            "tuning.max_instance_hours: a run may use up to 16 instance-hours (4 jobs x 1 instance x 4 h time "
            "limit), above the guard 15; lower max_jobs or max_runtime_seconds, or raise max_instance_hours",
        ),
        (
            {**TUNING, "parameter_ranges": {"learning_rate": {"min": 1e-6, "max": 2}}},
            f"tuning.parameter_ranges.learning_rate.max: hyperparameter 'learning_rate' of {LABEL} cannot be 2.0: "
            "allowed <= 1",
        ),
        (
            {**TUNING, "parameter_ranges": {"sagemaker_program": {"values": ["x.py"]}}},
            f"tuning.parameter_ranges.sagemaker_program: {LABEL} has no hyperparameter 'sagemaker_program' to tune; "
            "tunable: adam_beta1, adam_beta2, append_eod, constant_steps, global_train_batch_size, "
            "layer_norm_epilson, learning_rate, lr_scheduler_type, max_input_length, max_steps, min_learning_rate, "
            "mixed_precision, per_device_train_batch_size, pipeline_parallel_degree, preprocessing_num_workers, "
            "tensor_parallel_degree, warmup_steps, weight_decay",
        ),
        (
            {**TUNING, "parameter_ranges": {"mixed_precision": {"min": 0, "max": 1}}},
            "tuning.parameter_ranges.mixed_precision: 'mixed_precision' is a text hyperparameter; give it "
            "{values: [...]} (a categorical range)",
        ),
        (
            {**TUNING, "parameter_ranges": {"max_steps": {"min": 10.5, "max": 40}}},
            "tuning.parameter_ranges.max_steps: 'max_steps' is an integer; got 10.5 to 40",
        ),
        (
            {**TUNING, "objective": {"metric": "loss", "type": "Minimize"}},
            f"tuning.objective.metric: 'loss' is not reported by {LABEL}; its metric definitions are: "
            "meta-textgenerationneuron:train-loss",
        ),
    ],
)
def test_bad_tuning_stops_synth_naming_the_key_the_value_and_what_is_valid(
    tuning: dict[str, Any], expected: str
) -> None:
    assert _refused(tuning) == [f"stages.dev.training: {expected}"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"parameter_ranges": {"learning_rate": {"min": 0, "max": 0.1, "scaling": "Logarithmic"}}},
            "stages.dev.training.tuning.parameter_ranges.learning_rate: scaling: Logarithmic needs min > 0; got min 0",
        ),
        ({"max_parallel_jobs": 5}, "stages.dev.training.tuning: max_parallel_jobs: 5 is above max_jobs (4)"),
        (
            {"warm_start": {"parent_jobs": ["a_b"], "type": "TransferLearning"}},
            "stages.dev.training.tuning.warm_start: parent_jobs: 'a_b' is not a tuning job name; expected 1 to 32 "
            "letters, digits and hyphens",
        ),
    ],
)
def test_tuning_shapes_are_checked_where_they_are_given(change: dict[str, Any], expected: str) -> None:
    (problem,) = _refused({**TUNING, **change})
    assert problem.startswith(expected)


def test_a_tuned_hyperparameter_cannot_also_be_fixed() -> None:
    assert _refused(TUNING, hyperparameters={"learning_rate": 0.0001}) == [
        "stages.dev.training: tuning.parameter_ranges.learning_rate: also set in training.hyperparameters; a tuned "
        "hyperparameter is set by tuning"
    ]
