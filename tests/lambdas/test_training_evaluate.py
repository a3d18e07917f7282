"""The evaluate step against moto SageMaker and S3: thresholds (fixed and relative to another metric of the job), the
report, the predecessor (the group's latest Approved version), the model package metadata and the model data
source; every SageMaker request it sends checked against botocore's model."""

from __future__ import annotations

import json
import math
from typing import Any

import boto3
import pytest
from botocore.session import get_session
from moto.sagemaker.models import sagemaker_backends

from lambdas.shared.aws import client
from lambdas.training_evaluate.handler import evaluate, model_data
from lambdas.training_evaluate.predecessor import differences, metadata_metrics
from tests.lambdas.conftest import ARTIFACTS_BUCKET, REGION
from tests.service_model import violations

LOSS = "meta-textgenerationneuron:train-loss"
JOB = "genai-kit-dev-ft-run-1-abc"
GROUP = "genai-kit-dev-finetuned"
DATASET = {"uri": "s3://datasets-bucket/fine-tuning/notes/", "contentSha256": "ab" * 32}
SUMMARY = {
    "model": "meta-textgenerationneuron-llama-2-7b@1.0.0",
    "instanceType": "ml.trn1.32xlarge",
    "instanceCount": 1,
    "hyperparameters": {"max_steps": 50},
}
SAGEMAKER = get_session().get_service_model("sagemaker")


@pytest.fixture
def sent() -> list[tuple[str, dict[str, Any]]]:
    """Every SageMaker request the function sends, each checked against botocore's model (enums, maximums and
    patterns too) as it is sent."""
    requests: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        requests.append((model.name, params))
        assert violations(SAGEMAKER.operation_model(model.name).input_shape, params) == []

    client("sagemaker").meta.events.register("provide-client-params.sagemaker.*", record)
    return requests


def _job(loss: float | None, **others: float) -> str:
    boto3.client("sagemaker", region_name=REGION).create_training_job(
        TrainingJobName=JOB,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/training",
        OutputDataConfig={"S3OutputPath": f"s3://{ARTIFACTS_BUCKET}/training/output/"},
        ResourceConfig={"InstanceType": "ml.trn1.32xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    job = sagemaker_backends["123456789012"][REGION].training_jobs[JOB]
    values = ({} if loss is None else {LOSS: loss}) | others
    job.final_metric_data_list = [
        {"MetricName": name, "Value": value, "Timestamp": job.creation_time} for name, value in values.items()
    ]
    return JOB


def _evaluate(job: str, thresholds: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return evaluate(
        job,
        thresholds=thresholds,
        bucket=ARTIFACTS_BUCKET,
        report_prefix="training/evaluation/",
        group=GROUP,
        dataset=DATASET,
        summary=SUMMARY,
        **options,
    )


def _report(job: str = JOB) -> dict[str, Any]:
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=ARTIFACTS_BUCKET, Key=f"training/evaluation/{job}/metrics.json"
    )["Body"]
    report: dict[str, Any] = json.loads(body.read())
    return report


def _register(metadata: dict[str, str], status: str) -> str:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]
    return arn


@pytest.mark.usefixtures("aws")
def test_metrics_within_the_bar_are_accepted_and_reported(sent: list[tuple[str, dict[str, Any]]]) -> None:
    result = _evaluate(_job(0.8), [{"metric": LOSS, "max": 1.0, "min": None}])
    assert result["ok"] is True
    assert result["metrics"] == {LOSS: 0.8}
    assert result["metadata"] == {
        "training-job": JOB,
        "dataset-sha256": DATASET["contentSha256"],
        "predecessor": "none",
        f"metric:{LOSS}": "0.8",
    }
    report = _report()
    assert report == {
        "trainingJobName": JOB,
        "tuningJobName": None,
        "dataset": DATASET,
        "model": SUMMARY["model"],
        "instanceType": "ml.trn1.32xlarge",
        "instanceCount": 1,
        "hyperparameters": {"max_steps": 50},
        "metrics": {LOSS: 0.8},
        "thresholds": [{"metric": LOSS, "max": 1.0, "min": None, "passed": True, "missed": []}],
        "accepted": True,
        "predecessor": None,
    }
    assert result["report"]["S3Uri"].endswith(f"/training/evaluation/{JOB}/metrics.json")
    assert [name for name, _ in sent] == ["DescribeTrainingJob", "ListModelPackages"]
    assert sent[1][1] == {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("loss", "threshold", "message"),
    [
        (1.7, {"metric": LOSS, "max": 1.0}, f"{LOSS} 1.7 is above the maximum 1"),
        (0.1, {"metric": LOSS, "min": 0.5}, f"{LOSS} 0.1 is below the minimum 0.5"),
        (None, {"metric": LOSS, "max": 1.0}, f"{LOSS} was not reported"),
        (math.nan, {"metric": LOSS, "max": 1.0}, f"{LOSS} was NaN"),
    ],
)
def test_missed_bar_rejects_with_the_numbers(loss: float | None, threshold: dict[str, Any], message: str) -> None:
    result = _evaluate(_job(loss), [threshold])
    assert result["ok"] is False
    assert result["error"] == "ModelRejected"
    assert message in result["reason"]
    (outcome,) = _report()["thresholds"]
    assert (outcome["passed"], outcome["missed"]) == (False, [message])


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("metrics", "threshold", "message"),
    [
        # Worse than the base model: rejected, with both numbers.
        (
            {"eval_loss": 2.1, "base_eval_loss": 1.9},
            {"max_metric": "base_eval_loss"},
            "eval_loss 2.1 is above base_eval_loss 1.9",
        ),
        (
            {"eval_loss": 1.5, "accuracy_floor": 1.6},
            {"min_metric": "accuracy_floor"},
            "eval_loss 1.5 is below accuracy_floor 1.6",
        ),
        # The compared metric missing or NaN misses the bar, naming it.
        (
            {"eval_loss": 1.5},
            {"max_metric": "base_eval_loss"},
            "base_eval_loss, the maximum of eval_loss (1.5), was not reported",
        ),
        (
            {"eval_loss": 1.5, "base_eval_loss": math.nan},
            {"max_metric": "base_eval_loss"},
            "base_eval_loss, the maximum of eval_loss (1.5), was NaN",
        ),
    ],
)
def test_a_bar_relative_to_another_metric_rejects_with_both_numbers(
    metrics: dict[str, float], threshold: dict[str, Any], message: str
) -> None:
    result = _evaluate(_job(None, **metrics), [{"metric": "eval_loss", **threshold}])
    assert result["ok"] is False
    assert f"missed the bar: {message} (final metrics: " in result["reason"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("base", [1.9, 1.5])
def test_a_model_no_worse_than_its_base_passes(base: float) -> None:
    result = _evaluate(
        _job(None, eval_loss=1.5, base_eval_loss=base), [{"metric": "eval_loss", "max_metric": "base_eval_loss"}]
    )
    assert result["ok"] is True
    assert result["reason"] == f"training job {JOB} passed: base_eval_loss={base:g}, eval_loss=1.5"


@pytest.mark.usefixtures("aws")
def test_the_report_compares_with_the_latest_approved_version(sent: list[tuple[str, dict[str, Any]]]) -> None:
    # GIVEN an older approved version, a newer approved one and a newer one still pending approval
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    _register({f"metric:{LOSS}": "2", "metric:epoch": "1"}, "Approved")
    latest = _register({"training-job": "older", f"metric:{LOSS}": "1.25", "metric:epoch": "x"}, "Approved")
    _register({f"metric:{LOSS}": "0.1"}, "PendingManualApproval")
    # WHEN a job with a lower loss and a metric the predecessor lacks is evaluated
    result = _evaluate(_job(0.75, learning_rate=1e-5), [{"metric": LOSS, "max": 1.0}])
    # THEN the report names the latest Approved version, its metrics and the difference per shared metric
    assert _report()["predecessor"] == {
        "modelPackageArn": latest,
        "metrics": {LOSS: 1.25},
        "differences": {LOSS: {"current": 0.75, "predecessor": 1.25, "difference": -0.5}},
    }
    assert result["metadata"]["predecessor"] == latest
    assert [name for name, _ in sent] == ["DescribeTrainingJob", "ListModelPackages", "DescribeModelPackage"]
    assert sent[2][1] == {"ModelPackageName": latest}


@pytest.mark.usefixtures("aws")
def test_metadata_fits_create_model_package_with_the_most_metrics() -> None:
    # GIVEN a job that reports more metrics than the metadata has room for, one of them NaN
    metrics = {f"m{i:02d}": float(i) for i in range(60)} | {"m00": math.nan}
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=GROUP)
    previous = _register({"metric:m01": "0.5"}, "Approved")
    result = _evaluate(_job(None, **metrics), [], tuning_job_name="genai-kit-dev-ft-0d3c0c1e")
    metadata = result["metadata"]
    # THEN the named entries come first and the metrics fill the rest of the 50
    assert len(metadata) == 50
    assert list(metadata)[:4] == ["training-job", "tuning-job", "dataset-sha256", "predecessor"]
    assert metadata["predecessor"] == previous
    assert metadata["metric:m00"] == "nan"
    shape = SAGEMAKER.operation_model("CreateModelPackage").input_shape.members["CustomerMetadataProperties"]
    assert violations(shape, metadata) == []
    # AND NaN is written as JSON allows it, in the report and in the result Step Functions reads
    assert _report()["metrics"]["m00"] == "nan"
    assert json.loads(json.dumps(result, allow_nan=False))["metrics"]["m00"] == "nan"


def test_differences_are_null_when_a_value_is_not_finite() -> None:
    assert differences({"a": math.nan, "b": 2.0, "c": 1.0}, {"a": 1.0, "b": math.inf}) == {
        "a": {"current": "nan", "predecessor": 1.0, "difference": None},
        "b": {"current": 2.0, "predecessor": "inf", "difference": None},
    }
    assert metadata_metrics({"metric:a": "1e-05", "metric:b": "n/a", "training-job": "3"}) == {"a": 1e-05}


def test_model_data_is_a_prefix_unless_the_output_was_compressed() -> None:
    assert model_data("s3://b/out/job/output/model") == {
        "S3Uri": "s3://b/out/job/output/model/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
    assert model_data("s3://b/out/job/output/model.tar.gz")["CompressionType"] == "Gzip"


@pytest.mark.usefixtures("aws")
def test_the_best_job_of_a_tuning_job_names_it_in_the_metadata_and_the_report() -> None:
    job = _job(0.8)
    result = _evaluate(job, [], tuning_job_name="genai-kit-dev-ft-0d3c0c1e")
    assert result["metadata"] == {
        "training-job": job,
        "tuning-job": "genai-kit-dev-ft-0d3c0c1e",
        "dataset-sha256": DATASET["contentSha256"],
        "predecessor": "none",
        f"metric:{LOSS}": "0.8",
    }
    assert _report(job)["tuningJobName"] == "genai-kit-dev-ft-0d3c0c1e"
