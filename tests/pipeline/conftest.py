"""A moto account with the kit's buckets, topic and model package group, and the synthesized pipeline in it."""

from __future__ import annotations

import os

# Powertools reads these when a handler module is imported (as Lambda sets them before the import).
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GenAiKit/FineTuning")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "fine-tuning")

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends
from moto.sns.models import sns_backends

from lambdas.shared.aws import client
from lambdas.training_evaluate import settings as evaluate_settings
from lambdas.training_failure import settings as failure_settings
from lambdas.training_prepare import settings as prepare_settings
from lambdas.training_validate_dataset import settings as dataset_settings
from tests.pipeline.harness import (
    ACCOUNT,
    REGION,
    InProcessFunction,
    Resolver,
    SageMakerSync,
    functions_of,
    install_lambda_adapter,
    install_sagemaker_sync,
    wait_for_execution,
)
from tests.synth import SynthResult

DATASETS = Path(__file__).resolve().parents[1] / "data" / "datasets"
# The Hugging Face kind's dataset step imports the script's record rules, which its asset carries at its root
# (kit_training/): the in-process functions find them here.
SCRIPT_DIR = str(Path(__file__).resolve().parents[2] / "model_artifacts" / "training")
TRAIN_LOSS = "meta-textgenerationneuron:train-loss"
# The stage the execution tests run: the default training configuration plus a bar on the training loss.
STAGES = {"dev": {"removal_policy": "destroy", "training": {"thresholds": [{"metric": TRAIN_LOSS, "max": 1.0}]}}}
# The same stage tuning the learning rate and the steps, four jobs two at a time, within a 16 instance-hour guard.
TUNING = {
    "parameter_ranges": {
        "learning_rate": {"min": 1e-6, "max": 1e-4, "scaling": "Logarithmic"},
        "max_steps": {"values": [20, 40]},
    },
    "objective": {"metric": TRAIN_LOSS, "type": "Minimize"},
    "max_jobs": 4,
    "max_parallel_jobs": 2,
    "early_stopping": "Auto",
    "max_instance_hours": 16,
}
TUNING_STAGES = {
    "dev": {
        "removal_policy": "destroy",
        "training": {
            "thresholds": [{"metric": TRAIN_LOSS, "max": 1.0}],
            "max_runtime_seconds": 14_400,
            "tuning": TUNING,
        },
    }
}


# A stage fine-tuning a small ungated Hugging Face model with the kit's script (the fine-tuning guide's first run).
HF_MODEL = {
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "model_type": "llama",
    "instance_type": "ml.trn1.2xlarge",
    "hyperparameters": {"tensor_parallel_size": 2, "max_seq_length": 1024},
    "serving": {"tensor_parallel_degree": 2, "max_sequence_length": 2048},
}
HF_STAGES = {"dev": {"removal_policy": "destroy", "training": {"max_instance_count": 1, "huggingface": HF_MODEL}}}
# The same, tuning the learning rate on the held-out loss: two jobs, one at a time, within an 8 instance-hour guard.
HF_TUNING = {
    "parameter_ranges": {"learning_rate": {"min": 1e-5, "max": 1e-3, "scaling": "Logarithmic"}},
    "objective": {"metric": "eval_loss", "type": "Minimize"},
    "max_jobs": 2,
    "max_parallel_jobs": 1,
    "max_instance_hours": 8,
}
HF_TUNING_STAGES = {
    "dev": {
        "removal_policy": "destroy",
        "training": {
            "max_instance_count": 1,
            "max_runtime_seconds": 7200,
            "huggingface": HF_MODEL,
            "tuning": HF_TUNING,
        },
    }
}


def content_sha256(files: dict[str, bytes]) -> str:
    """A dataset's content hash as ``lambdas/training_validate_dataset/dataset.content_sha256`` defines it, written out
    independently: per file by name (UTF-8 byte order), its name's length (8 bytes, big-endian), name and SHA-256."""
    combined = b""
    for name in sorted(files, key=str.encode):
        combined += len(name.encode()).to_bytes(8, "big") + name.encode() + hashlib.sha256(files[name]).digest()
    return hashlib.sha256(combined).hexdigest()


@dataclass
class Pipeline:
    """The deployed pipeline in moto, with helpers to seed data, steer the training job and run executions."""

    state_machine_arn: str
    topic_arn: str
    datasets_bucket: str
    artifacts_bucket: str
    group_name: str
    functions: dict[str, InProcessFunction] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def environment_of(self, handler: str) -> dict[str, str]:
        """The (mutable) environment the function with ``handler`` (e.g. ``lambdas.x.handler.handler``) runs with."""
        (function,) = (f for f in self.functions.values() if f.handler == handler)
        return function.environment

    def upload_dataset(self, folder: str, *files: str | tuple[str, bytes]) -> str:
        """Upload sample files of tests/data/datasets by name, or (name, content) pairs; return the folder's URI."""
        s3 = boto3.client("s3", region_name=REGION)
        for file in files:
            name, body = (file, (DATASETS / file).read_bytes()) if isinstance(file, str) else file
            s3.put_object(Bucket=self.datasets_bucket, Key=f"fine-tuning/{folder}/{name}", Body=body)
        return f"s3://{self.datasets_bucket}/fine-tuning/{folder}/"

    def when_trained(
        self,
        *,
        status: str = "Completed",
        secondary: str | None = None,
        loss: float | None = 0.42,
        reason: str | None = None,
    ) -> None:
        """What the next training job reports once it ends (moto completes jobs at once)."""

        def steer(job_name: str) -> None:
            job = sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name]
            job.training_job_status = status
            job.secondary_status = secondary or status
            if reason is not None:
                job.failure_reason = reason  # type: ignore[attr-defined]
            job.final_metric_data_list = (
                [] if loss is None else [{"MetricName": TRAIN_LOSS, "Value": loss, "Timestamp": job.creation_time}]
            )

        SageMakerSync.on_created = steer

    def when_tuned(self, *outcomes: tuple[str, float | None]) -> None:
        """What each training job of the next tuning job reports once it ends: (status, training loss or None)."""
        pending = list(outcomes)

        def steer(job_name: str) -> None:
            status, loss = pending.pop(0)
            job = sagemaker_backends[ACCOUNT][REGION].training_jobs[job_name]
            job.training_job_status = job.secondary_status = status
            job.final_metric_data_list = (
                [] if loss is None else [{"MetricName": TRAIN_LOSS, "Value": loss, "Timestamp": job.creation_time}]
            )

        SageMakerSync.tuning_jobs = len(outcomes)
        SageMakerSync.on_created = steer

    def run(self, execution_input: Any, name: str = "run-1") -> dict[str, Any]:
        return self.run_raw(json.dumps(execution_input), name=name)

    def run_raw(self, execution_input: str, name: str = "run-1") -> dict[str, Any]:
        """Start an execution with ``execution_input`` as given (any JSON text) and wait for its end."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        started = sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=execution_input)
        return wait_for_execution(sfn, started["executionArn"])

    def states_entered(self, execution: dict[str, Any]) -> list[str]:
        """The names of the states the execution entered, in order."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def artifacts(self) -> list[str]:
        """Keys of the objects in the artifacts bucket."""
        listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=self.artifacts_bucket)
        return [o["Key"] for o in listing.get("Contents", [])]

    def delete_topic(self) -> None:
        boto3.client("sns", region_name=REGION).delete_topic(TopicArn=self.topic_arn)

    def notifications(self) -> list[dict[str, Any]]:
        topic = sns_backends[ACCOUNT][REGION].topics.get(self.topic_arn)
        if topic is None:
            return []
        return [{"subject": subject, **json.loads(message)} for _, message, subject, _, _ in topic.sent_notifications]

    def training_jobs(self) -> list[str]:
        return list(sagemaker_backends[ACCOUNT][REGION].training_jobs)

    def model_packages(self) -> list[dict[str, Any]]:
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        summaries = sagemaker.list_model_packages(ModelPackageGroupName=self.group_name)["ModelPackageSummaryList"]
        return [sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]

    def approve(self, model_package_arn: str) -> None:
        """What a reviewer does: approve the version (UpdateModelPackage with the status only)."""
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        metadata = sagemaker.describe_model_package(ModelPackageName=model_package_arn)["CustomerMetadataProperties"]
        sagemaker.update_model_package(ModelPackageArn=model_package_arn, ModelApprovalStatus="Approved")
        # moto 5.2.5 replaces the metadata with the request's, None when it has none; SageMaker keeps what the
        # update does not name (removing an entry takes CustomerMetadataPropertiesToRemove, SageMaker API reference).
        (record,) = (
            package
            for package in sagemaker_backends[ACCOUNT][REGION].model_packages.values()
            if package.arn == model_package_arn
        )
        record.customer_metadata_properties = metadata

    def report(self, training_job: str) -> dict[str, Any]:
        """The Evaluate step's report of ``training_job``."""
        body = boto3.client("s3", region_name=REGION).get_object(
            Bucket=self.artifacts_bucket, Key=f"training/evaluation/{training_job}/metrics.json"
        )["Body"]
        report: dict[str, Any] = json.loads(body.read())
        return report

    def endpoints(self) -> list[str]:
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        return [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]


def _forget_settings() -> None:
    """Make each function parse its environment again: a test may change a function's variables."""
    for cached in (
        client,
        prepare_settings.load_settings,
        prepare_settings.environment,
        dataset_settings.rules,
        evaluate_settings.environment,
        failure_settings.environment,
    ):
        cached.cache_clear()


@pytest.fixture(scope="session")
def pipeline_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages=STAGES)


@pytest.fixture(scope="session")
def tuning_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages=TUNING_STAGES)


@pytest.fixture(scope="session")
def hf_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages=HF_STAGES)


@pytest.fixture
def hf_pipeline(hf_stage: SynthResult, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    monkeypatch.syspath_prepend(SCRIPT_DIR)
    yield from _deployed(hf_stage)


@pytest.fixture(scope="session")
def hf_tuning_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages=HF_TUNING_STAGES)


@pytest.fixture
def hf_tuning_pipeline(hf_tuning_stage: SynthResult, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    monkeypatch.syspath_prepend(SCRIPT_DIR)
    yield from _deployed(hf_tuning_stage)


@pytest.fixture
def pipeline(pipeline_stage: SynthResult) -> Iterator[Pipeline]:
    yield from _deployed(pipeline_stage)


@pytest.fixture
def tuning_pipeline(tuning_stage: SynthResult) -> Iterator[Pipeline]:
    yield from _deployed(tuning_stage)


def _deployed(stage: SynthResult) -> Iterator[Pipeline]:
    """The stage's synthesized pipeline created in a moto account, with the shims installed while it runs."""
    template = stage.templates["Training"]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        _forget_settings()
        s3 = boto3.client("s3", region_name=REGION)
        datasets, artifacts = (f"genai-kit-dev-{purpose}-{ACCOUNT}-{REGION}" for purpose in ("datasets", "artifacts"))
        for bucket in (datasets, artifacts):
            s3.create_bucket(Bucket=bucket)
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alarm-topic")["TopicArn"]
        group = "genai-kit-dev-finetuned"
        boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=group)

        resolve = Resolver(
            template,
            stack_outputs={"AlarmTopic": topic_arn, "Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/kit"},
        )
        (machine,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
        definition = resolve(machine["Properties"]["DefinitionString"])
        arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="fine-tuning", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/states"
        )["stateMachineArn"]

        functions = functions_of(template, resolve, stage.assembly_dir)
        state = Pipeline(arn, topic_arn, datasets, artifacts, group, functions=functions)
        undo_lambda = install_lambda_adapter(functions, state.calls)
        undo_sync = install_sagemaker_sync()
        SageMakerSync.requests.clear()
        SageMakerSync.on_created = None
        SageMakerSync.tuning_jobs = 2
        try:
            yield state
        finally:
            undo_sync()
            undo_lambda()
            SageMakerSync.on_created = None
            _forget_settings()
