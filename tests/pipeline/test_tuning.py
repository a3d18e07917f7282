"""The fine-tuning pipeline with its tuning stage (``training.tuning``), executed offline: the tuning job's best
training job goes on to Evaluate and Register, and every other way a tuning run ends is notified by name."""

from __future__ import annotations

from typing import Any

from botocore.session import get_session
from botocore.validate import validate_parameters

from tests.pipeline.conftest import DATASETS, TRAIN_LOSS, Pipeline, content_sha256
from tests.pipeline.harness import NO_JOB_SUCCEEDED, SageMakerSync

GROUP = "genai-kit-dev-finetuned"


def _input(dataset: str, **overrides: Any) -> dict[str, Any]:
    return {"dataset": dataset, "accept_eula": True, **overrides}


def _tuning_job(pipeline: Pipeline) -> str:
    (request,) = SageMakerSync.requests
    return str(request["HyperParameterTuningJobName"])


def test_the_best_training_job_of_the_tuning_job_is_evaluated_and_registered(tuning_pipeline: Pipeline) -> None:
    # GIVEN a tuning job whose second training job reports the lowest training loss
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    tuning_pipeline.when_tuned(("Completed", 0.9), ("Completed", 0.42))
    # WHEN the pipeline runs
    execution = tuning_pipeline.run(_input(dataset))
    # THEN that job is evaluated and registered, naming the tuning job
    assert execution["status"] == "SUCCEEDED"
    tuning = _tuning_job(tuning_pipeline)
    best = sorted(tuning_pipeline.training_jobs())[-1]
    assert best.startswith(f"{tuning}-002-")
    assert tuning_pipeline.states_entered(execution)[4:9] == [
        "DatasetAccepted?",
        "Train",
        "BestTrainingJob?",
        "BestTrainingJob",
        "Evaluate",
    ]
    (package,) = tuning_pipeline.model_packages()
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"] == {
        "training-job": best,
        "tuning-job": tuning,
        "dataset-sha256": content_sha256({"valid.jsonl": (DATASETS / "valid.jsonl").read_bytes()}),
        "predecessor": "none",
        f"metric:{TRAIN_LOSS}": "0.42",
    }
    assert package["ModelPackageDescription"].endswith(f"by training job {best} (best of tuning job {tuning})")
    # The version carries the best job's own artifacts under the training output prefix, in the same container
    # shape as an untuned version: all the rollout of an approved version reads (lambdas/training_deploy/model_data).
    (container,) = package["InferenceSpecification"]["Containers"]
    uri = container["ModelDataSource"]["S3DataSource"]["S3Uri"]
    assert uri.startswith(f"s3://{tuning_pipeline.artifacts_bucket}/training/output/{best}/")
    assert tuning_pipeline.artifacts() == [f"training/evaluation/{best}/metrics.json"]
    report = tuning_pipeline.report(best)
    assert (report["trainingJobName"], report["tuningJobName"]) == (best, tuning)
    assert report["dataset"]["uri"] == dataset
    (notification,) = tuning_pipeline.notifications()
    assert notification["status"] == "SUCCEEDED"
    assert f"from training job {best} (best of tuning job {tuning})" in notification["reason"]
    assert tuning_pipeline.endpoints() == []


def test_the_tuning_request_matches_the_sagemaker_api(tuning_pipeline: Pipeline) -> None:
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    tuning_pipeline.when_tuned(("Completed", 0.42))
    tuning_pipeline.run(_input(dataset, hyperparameters={"warmup_steps": 5}))
    (request,) = SageMakerSync.requests
    model = get_session().get_service_model("sagemaker")
    # Raises ParamValidationError on any unknown field, wrong type or missing required member.
    validate_parameters(request, model.operation_model("CreateHyperParameterTuningJob").input_shape)
    assert len(request["HyperParameterTuningJobName"]) <= 32
    assert request["HyperParameterTuningJobConfig"] == {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": TRAIN_LOSS},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {"Name": "learning_rate", "MinValue": "1e-06", "MaxValue": "0.0001", "ScalingType": "Logarithmic"}
            ],
            "CategoricalParameterRanges": [{"Name": "max_steps", "Values": ["20", "40"]}],
        },
        "TrainingJobEarlyStoppingType": "Auto",
    }
    definition = request["TrainingJobDefinition"]
    assert definition["RoleArn"].startswith("arn:aws:iam::")
    static = definition["StaticHyperParameters"]
    assert "learning_rate" not in static
    assert "max_steps" not in static
    assert static["warmup_steps"] == '"5"'
    assert definition["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == TRAIN_LOSS
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 14_400}
    assert definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == dataset
    assert "CheckpointConfig" not in definition


def test_a_tuning_job_without_a_successful_training_job_fails_at_train_with_sagemakers_reason(
    tuning_pipeline: Pipeline,
) -> None:
    # GIVEN a tuning job whose training jobs all fail (SageMaker then fails the tuning job)
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    tuning_pipeline.when_tuned(("Failed", None), ("Failed", None))
    # WHEN the pipeline runs
    execution = tuning_pipeline.run(_input(dataset))
    # THEN it fails at Train with the tuning job's reason, registering nothing
    tuning = _tuning_job(tuning_pipeline)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "TuningJobFailed"
    assert execution["cause"] == (
        f"Tuning job {tuning} failed: {NO_JOB_SUCCEEDED} (training jobs: NonRetryableError 2; aws sagemaker "
        f"list-training-jobs-for-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {tuning})"
    )
    (notification,) = tuning_pipeline.notifications()
    assert (notification["subject"], notification["reason"]) == (
        "GenAI kit fine-tuning failed at Train",
        execution["cause"],
    )
    assert tuning_pipeline.model_packages() == []
    assert tuning_pipeline.artifacts() == []


def test_a_tuning_job_completed_without_a_best_training_job_is_notified_by_name(tuning_pipeline: Pipeline) -> None:
    # GIVEN training jobs that complete without reporting the objective metric
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    tuning_pipeline.when_tuned(("Completed", None), ("Completed", None))
    execution = tuning_pipeline.run(_input(dataset))
    tuning = _tuning_job(tuning_pipeline)
    assert execution["status"] == "FAILED"
    assert execution["error"] == "NoTrainingJobSucceeded"
    assert execution["cause"] == (
        f"Tuning job {tuning} ended Completed without a best training job: no training job reported the objective "
        f"metric {TRAIN_LOSS} (aws sagemaker list-training-jobs-for-hyper-parameter-tuning-job "
        f"--hyper-parameter-tuning-job-name {tuning})"
    )
    assert tuning_pipeline.states_entered(execution)[-5:] == [
        "BestTrainingJob?",
        "NoTrainingJobSucceeded",
        "Notify",
        "OutcomeSucceeded?",
        "Failed",
    ]
    (notification,) = tuning_pipeline.notifications()
    assert notification["subject"] == "GenAI kit fine-tuning failed: no training job of the tuning job succeeded"
    assert tuning_pipeline.model_packages() == []


def test_a_best_training_job_below_the_bar_is_rejected_with_the_numbers(tuning_pipeline: Pipeline) -> None:
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    tuning_pipeline.when_tuned(("Completed", 3.0), ("Completed", 2.5))
    execution = tuning_pipeline.run(_input(dataset))
    best = sorted(tuning_pipeline.training_jobs())[1]
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ModelRejected"
    assert execution["cause"] == (
        f"training job {best} missed the bar: {TRAIN_LOSS} 2.5 is above the maximum 1 (final metrics: {TRAIN_LOSS}=2.5)"
    )
    (notification,) = tuning_pipeline.notifications()
    assert notification["status"] == "REJECTED"
    assert tuning_pipeline.model_packages() == []


def test_an_input_that_sets_a_tuned_hyperparameter_is_refused_before_anything_starts(
    tuning_pipeline: Pipeline,
) -> None:
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    execution = tuning_pipeline.run(_input(dataset, hyperparameters={"learning_rate": 0.001}))
    assert execution["error"] == "HyperparameterInvalid"
    assert execution["cause"] == (
        "hyperparameters.learning_rate: tuned by this pipeline (training.tuning.parameter_ranges), not set by input"
    )
    assert SageMakerSync.requests == []


def test_an_input_that_would_pass_the_cost_guard_is_refused_before_anything_starts(
    tuning_pipeline: Pipeline,
) -> None:
    # GIVEN a guard of 16 instance-hours: 4 jobs x 1 instance x 4 h; the input asks for 2 instances
    dataset = tuning_pipeline.upload_dataset("notes", "valid.jsonl")
    execution = tuning_pipeline.run(_input(dataset, instance_count=2))
    assert execution["error"] == "CostGuardExceeded"
    assert execution["cause"] == (
        "instance_count/instance_type: this run may use up to 32 instance-hours (4 jobs x 2 instances x 4 h time "
        "limit of ml.trn1.32xlarge), above training.tuning.max_instance_hours (16); ask for fewer instances"
    )
    (notification,) = tuning_pipeline.notifications()
    assert notification["error"] == "CostGuardExceeded"
    assert SageMakerSync.requests == []
    assert tuning_pipeline.training_jobs() == []
