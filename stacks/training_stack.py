"""Training stack: the fine-tuning pipeline on AWS Trainium, from dataset to a model version awaiting approval."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.names import StageNames
from genai_kit.stage.hf_training import ResolvedHfTraining
from genai_kit.stage.training import ResolvedTraining
from stacks.constructs.model_rollout import ModelRollout
from stacks.constructs.training_layout import DATASETS_PREFIX, OUTPUT_PREFIX
from stacks.constructs.training_pipeline import TrainingPipeline
from stacks.foundation_stack import DATA_CAPTURE_PREFIX, FoundationStack, bucket_name

LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def sample_input(datasets_bucket: str, training: ResolvedTraining | ResolvedHfTraining) -> dict[str, object]:
    """An execution input that fine-tunes the configured model on a dataset folder, for the outputs and docs."""
    sample: dict[str, object] = {
        "dataset": f"s3://{datasets_bucket}/{DATASETS_PREFIX}my-dataset/",
        "instance_type": training.default_instance_type,
        "instance_count": (
            training.huggingface.instance_count
            if isinstance(training, ResolvedHfTraining)
            else training.config.instance_count
        ),
        "hyperparameters": {"max_steps": 100},
    }
    if isinstance(training, ResolvedTraining) and any(spec.accept_eula_required for spec in training.specs.values()):
        sample["accept_eula"] = True
    return sample


@dataclass(frozen=True)
class ServingContainer:
    """What serves the fine-tuned versions (timeouts in seconds, volume in GB; None: SageMaker's default)."""

    image_uri: str
    model_data_download_timeout: int | None
    container_startup_health_check_timeout: int | None
    volume_size_gb: int | None


def serving_container(training: ResolvedTraining | ResolvedHfTraining) -> ServingContainer:
    """The JumpStart model's hosting image and timeouts, or the Hugging Face kind's serving container."""
    if isinstance(training, ResolvedHfTraining):
        serving = training.serving
        return ServingContainer(
            serving.image_uri, serving.model_data_download_timeout, serving.container_startup_health_check_timeout, None
        )
    hosting = training.hosting
    return ServingContainer(
        hosting.image_uri,
        hosting.model_data_download_timeout,
        hosting.container_startup_health_check_timeout,
        hosting.volume_size_gb,
    )


def _model_label(training: ResolvedTraining | ResolvedHfTraining) -> str:
    if isinstance(training, ResolvedHfTraining):
        return training.huggingface.model_label
    return f"{training.config.model_id}@{training.config.version}"


class TrainingStack(cdk.Stack):
    """The fine-tuning pipeline and, when ``training.config.rollout`` is enabled, the rollout of approved versions
    to the fine-tuned endpoint; ``pipeline`` exposes the state machine, roles and model package group, ``rollout``
    the endpoint's name and failure queue (None without rollout)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        training: ResolvedTraining | ResolvedHfTraining,
        foundation: FoundationStack,
        tags: Mapping[str, str],
        **kwargs: object,
    ) -> None:
        """``training``: the stage's training section resolved for its region (``genai_kit.stage.training``);
        ``tags``: the stage's resource tags, which what the deploy Lambda creates outside CloudFormation carries."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        removal_policy = foundation.removal_policy
        datasets_bucket = bucket_name(names, "datasets")
        self.pipeline = TrainingPipeline(
            self,
            "Pipeline",
            names=names,
            training=training,
            encryption_key=foundation.key,
            datasets_bucket_name=datasets_bucket,
            artifacts_bucket_name=foundation.artifacts_bucket_name,
            topic=foundation.alarm_topic,
            log_retention=LOG_RETENTION,
            removal_policy=removal_policy,
        )
        self.rollout: ModelRollout | None = None
        if training.config.rollout.enabled:
            serving = serving_container(training)
            self.rollout = ModelRollout(
                self,
                "Rollout",
                rollout=training.config.rollout,
                endpoint_name=names.finetuned_endpoint,
                resource_prefix=self.pipeline.job_prefix,
                model_package_group_name=self.pipeline.model_package_group_name,
                serving_instance_type=training.config.serving_instance_type,
                serving_image_uri=serving.image_uri,
                model_data_download_timeout=serving.model_data_download_timeout,
                container_startup_health_check_timeout=serving.container_startup_health_check_timeout,
                volume_size_gb=serving.volume_size_gb,
                model_artifacts_prefix=OUTPUT_PREFIX,
                data_capture_prefix=DATA_CAPTURE_PREFIX,
                artifacts_bucket_name=foundation.artifacts_bucket_name,
                encryption_key=foundation.key,
                topic=foundation.alarm_topic,
                tags=tags,
                log_retention=LOG_RETENTION,
                removal_policy=removal_policy,
            )
        self._outputs(self.pipeline, training, datasets_bucket)

    def _outputs(
        self, pipeline: TrainingPipeline, training: ResolvedTraining | ResolvedHfTraining, datasets_bucket: str
    ) -> None:
        state_machine_arn = pipeline.state_machine.state_machine_arn
        settings = pipeline.settings
        sample = json.dumps(sample_input(datasets_bucket, training), separators=(",", ":"))
        values = {
            "StateMachineArn": (state_machine_arn, "Fine-tuning pipeline (Step Functions state machine)"),
            "ModelPackageGroupName": (
                pipeline.model_package_group_name,
                "Model registry group of the fine-tuned versions (review and approve them here)",
            ),
            "DatasetsPrefix": (
                f"s3://{datasets_bucket}/{DATASETS_PREFIX}",
                "Upload each dataset as a folder of JSON Lines files under this prefix",
            ),
            "TrainingModel": (
                f"{_model_label(training)} on {settings.default_instance_type}",
                "Model fine-tuned and its default Trainium instance type",
            ),
            "StartExecutionCommand": (
                f"aws stepfunctions start-execution --region {self.region} --state-machine-arn {state_machine_arn} "
                f"--name my-run-1 --input '{sample}'",
                "Start a fine-tuning run with a sample input (edit the dataset folder first)",
            ),
        }
        if self.rollout is not None:
            package = (
                f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:model-package/"
                f"{pipeline.model_package_group_name}/<version>"
            )
            values["FineTunedEndpointName"] = (
                self.rollout.endpoint_name,
                "Endpoint each approved model version is rolled out to (created on the first approval)",
            )
            values["RolloutFailureQueueUrl"] = (
                self.rollout.failure_queue.queue_url,
                "Deploy-on-approval events that failed every attempt (see docs/fine-tuning.md to send them again)",
            )
            values["ApproveCommand"] = (
                f"aws sagemaker update-model-package --region {self.region} --model-package-arn {package} "
                "--model-approval-status Approved",
                "Approve a registered version (replace <version>): it is rolled out blue/green",
            )
        for output_id, (value, description) in values.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
