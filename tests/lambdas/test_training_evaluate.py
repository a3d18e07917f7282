"""The evaluate step against moto SageMaker and S3: thresholds, the metrics report and the model data source."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.sagemaker.models import sagemaker_backends

from lambdas.training_evaluate.handler import evaluate, model_data
from tests.lambdas.conftest import ARTIFACTS_BUCKET, REGION

LOSS = "meta-textgenerationneuron:train-loss"


def _job(loss: float | None) -> str:
    boto3.client("sagemaker", region_name=REGION).create_training_job(
        TrainingJobName="genai-kit-dev-ft-run-1-abc",
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/training",
        OutputDataConfig={"S3OutputPath": f"s3://{ARTIFACTS_BUCKET}/training/output/"},
        ResourceConfig={"InstanceType": "ml.trn1.32xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    job = sagemaker_backends["123456789012"][REGION].training_jobs["genai-kit-dev-ft-run-1-abc"]
    job.final_metric_data_list = (
        [] if loss is None else [{"MetricName": LOSS, "Value": loss, "Timestamp": job.creation_time}]
    )
    return "genai-kit-dev-ft-run-1-abc"


def _evaluate(job: str, thresholds: list[dict[str, Any]]) -> dict[str, Any]:
    return evaluate(job, thresholds=thresholds, bucket=ARTIFACTS_BUCKET, report_prefix="training/evaluation/")


@pytest.mark.usefixtures("aws")
def test_metrics_within_the_bar_are_accepted_and_reported() -> None:
    result = _evaluate(_job(0.8), [{"metric": LOSS, "max": 1.0, "min": None}])
    assert result["ok"] is True
    assert result["metrics"] == {LOSS: 0.8}
    assert result["metadata"] == {"training-job": "genai-kit-dev-ft-run-1-abc", f"metric:{LOSS}": "0.8"}
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=ARTIFACTS_BUCKET, Key="training/evaluation/genai-kit-dev-ft-run-1-abc/metrics.json"
    )["Body"]
    assert json.loads(body.read())["accepted"] is True
    assert result["report"]["S3Uri"].endswith("/training/evaluation/genai-kit-dev-ft-run-1-abc/metrics.json")


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("loss", "threshold", "message"),
    [
        (1.7, {"metric": LOSS, "max": 1.0}, f"{LOSS} 1.7 is above the maximum 1"),
        (0.1, {"metric": LOSS, "min": 0.5}, f"{LOSS} 0.1 is below the minimum 0.5"),
        (None, {"metric": LOSS, "max": 1.0}, f"{LOSS} was not reported"),
    ],
)
def test_missed_bar_rejects_with_the_numbers(loss: float | None, threshold: dict[str, Any], message: str) -> None:
    result = _evaluate(_job(loss), [threshold])
    assert result["ok"] is False
    assert result["error"] == "ModelRejected"
    assert message in result["reason"]


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
    result = evaluate(
        job,
        thresholds=[],
        bucket=ARTIFACTS_BUCKET,
        report_prefix="training/evaluation/",
        tuning_job_name="genai-kit-dev-ft-0d3c0c1e",
    )
    assert result["metadata"] == {
        "training-job": job,
        "tuning-job": "genai-kit-dev-ft-0d3c0c1e",
        f"metric:{LOSS}": "0.8",
    }
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=ARTIFACTS_BUCKET, Key=f"training/evaluation/{job}/metrics.json"
    )["Body"]
    assert json.loads(body.read())["tuningJobName"] == "genai-kit-dev-ft-0d3c0c1e"
