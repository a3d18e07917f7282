"""The fine-tuning pipeline: a Step Functions state machine from dataset to a registered model version.

    CheckInput -> Prepare -> ValidateDataset -> Train (SageMaker .sync on Trainium) -> Evaluate -> Register -> Notify

The first state hands the execution input, whatever JSON value it is, to a Lambda that checks it; no state reads
the input before that, and later states read only fields the checked input and the steps' results are known to
have. Every path ends in ``Notify`` (the foundation's topic) and then in ``Succeeded`` or in ``Failed`` with the
error and reason of the outcome: input refused, dataset refused, model rejected, or a step failed (caught, then
described in one line by ``DescribeFailure``: the training job's FailureReason, a Lambda's error message). Nothing
is created before training starts, a training job's name derives from the execution's, and the model package
carries an idempotency token, so a retried or redriven execution neither starts a second job nor registers a
second version.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from genai_kit.contracts.training_evaluate import EvaluateEnvironment, MetricThreshold
from genai_kit.contracts.training_failure import FailureEnvironment
from genai_kit.contracts.training_prepare import SETTINGS_FILE, PipelineSettings, PrepareEnvironment
from genai_kit.contracts.training_validate_dataset import DatasetRules, ValidateDatasetEnvironment
from genai_kit.names import StageNames
from genai_kit.neuron import NEURON_INSTANCES
from genai_kit.stage.training import ResolvedTraining
from stacks.constructs.kit_function import KitFunction
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.neuron_endpoint import split_s3_uri
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements

DATASETS_PREFIX = "fine-tuning/"
OUTPUT_PREFIX = "training/output/"
CHECKPOINT_PREFIX = "training/checkpoints/"
COMPILE_CACHE_PREFIX = "training/neuron-compile-cache/"
EVALUATION_PREFIX = "training/evaluation/"
# Where SageMaker training jobs write their logs and instance metrics (with the training role).
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
# The managed rule Step Functions creates to learn when a .sync training job ends.
SYNC_RULE_NAME = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"
SUCCEEDED = "SUCCEEDED"
# The steps in order, each with the key its result is written under: DescribeFailure finds the failed step as the
# first whose result is missing.
STEPS = (
    ("CheckInput", "checked"),
    ("Prepare", "prepared"),
    ("ValidateDataset", "dataset"),
    ("Train", "training"),
    ("Evaluate", "evaluation"),
    ("Register", "registered"),
)
_RESULT = dict(STEPS)
TRAIN_STEP = "Train"

# The Powertools metrics namespace of the fine-tuning functions.
METRICS_NAMESPACE = "GenAiKit/FineTuning"
# Who calls the pipeline's functions: synchronously (the state catches every error), one at a time per execution.
STATE_MACHINE_TASK = "a Task state of the fine-tuning pipeline, once per execution"


def pipeline_settings(training: ResolvedTraining) -> PipelineSettings:
    """What the prepare step reads from its asset (``pipeline.json``): the resolved catalog facts and configuration."""
    config = training.config
    return PipelineSettings(
        model_id=config.model_id,
        version=config.version,
        eula_uri=training.hosting.eula_uri,
        specs=dict(training.specs),
        default_instance_type=training.default_instance_type,
        instance_count=config.instance_count,
        max_instance_count=config.max_instance_count,
        hyperparameters=dict(training.hyperparameters),
        max_runtime_seconds=config.max_runtime_seconds,
        volume_size_gb=config.volume_size_gb,
        spot=config.spot.enabled,
        spot_max_wait_seconds=config.spot.max_wait_seconds,
        warm_pool_seconds=config.warm_pool_seconds,
        efa_instance_types=training.efa_instance_types,
        # Trainium instances carry local NVMe storage (hardware-encrypted); SageMaker refuses VolumeKmsKeyId for
        # instance types with local storage (CreateTrainingJob ResourceConfig.VolumeKmsKeyId, botocore's model).
        local_storage_instance_types=tuple(t for t in sorted(NEURON_INSTANCES) if NEURON_INSTANCES[t].local_storage),
    )


class TrainingPipeline(Construct):
    """State machine, its Lambdas and roles, the training role and the model package group.

    Exposes ``state_machine``, ``training_role``, ``model_package_group_name``, ``job_prefix`` and ``settings`` (what
    the prepare step reads).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training: ResolvedTraining,
        encryption_key: kms.IKey,
        datasets_bucket_name: str,
        artifacts_bucket_name: str,
        topic: sns.ITopic,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        names = StageNames(training.stage)
        self.settings = pipeline_settings(training)
        self.job_prefix = names.training_job_prefix
        self.model_package_group_name = names.model_package_group
        self._partition_arn = f"arn:{cdk.Aws.PARTITION}"
        self._datasets_bucket = datasets_bucket_name
        self._artifacts_bucket = artifacts_bucket_name

        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=self.model_package_group_name,
            model_package_group_description=(
                f"Fine-tuned {self.settings.model_id}@{self.settings.version} versions, "
                f"served on {training.config.serving_instance_type}"
            ),
        )
        group.apply_removal_policy(removal_policy)

        self.training_role = self._training_role(training, encryption_key)
        self._functions(training, encryption_key, log_retention, removal_policy)

        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment=f"Fine-tune {self.settings.model_id} on Trainium, evaluate, register (stage {training.stage})",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(training, topic)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self._state_machine_permissions(training, encryption_key, topic)

    # ---- roles -------------------------------------------------------------------------------------------

    def _training_role(self, training: ResolvedTraining, key: kms.IKey) -> iam.Role:
        role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of the {training.stage} fine-tuning jobs ({self.job_prefix}-*)",
        )
        datasets = f"{self._partition_arn}:s3:::{self._datasets_bucket}"
        artifacts = f"{self._partition_arn}:s3:::{self._artifacts_bucket}"
        specs = self.settings.specs.values()
        jumpstart_objects = sorted(
            {uri for spec in specs for uri in (spec.script_uri, spec.gated_model_uri, spec.model_artifact_uri) if uri}
        )
        writable = [OUTPUT_PREFIX, CHECKPOINT_PREFIX, COMPILE_CACHE_PREFIX]
        log_group = (
            f"{self._partition_arn}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:{TRAINING_JOBS_NAMESPACE}"
        )
        statements = [
            iam.PolicyStatement(
                sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{datasets}/{DATASETS_PREFIX}*"]
            ),
            iam.PolicyStatement(
                sid="ListDatasets",
                actions=["s3:ListBucket"],
                resources=[datasets],
                conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadJumpStartArtifacts",
                actions=["s3:GetObject"],
                resources=[
                    f"{self._partition_arn}:s3:::{split_s3_uri(uri)[0]}/{split_s3_uri(uri)[1]}"
                    for uri in jumpstart_objects
                ],
            ),
            iam.PolicyStatement(
                sid="ListJumpStartArtifacts",
                actions=["s3:ListBucket"],
                resources=sorted({f"{self._partition_arn}:s3:::{split_s3_uri(uri)[0]}" for uri in jumpstart_objects}),
                conditions={"StringEquals": {"s3:prefix": [split_s3_uri(uri)[1] for uri in jumpstart_objects]}},
            ),
            iam.PolicyStatement(
                sid="WriteTrainingOutput",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[f"{artifacts}/{prefix}*" for prefix in writable],
            ),
            iam.PolicyStatement(
                sid="ListTrainingOutput",
                actions=["s3:ListBucket"],
                resources=[artifacts],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in writable]}},
            ),
            *container_statements(
                image_uris=[spec.image_uri for spec in specs],
                log_group_arn=log_group,
                log_streams=f"{self.job_prefix}-*",
                metrics_namespace=TRAINING_JOBS_NAMESPACE,
                image_sid="PullTrainingImage",
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        # Reads the SSE-KMS dataset, writes SSE-KMS output, checkpoints and the compile cache.
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_container_wildcards(policy, metrics_namespace=TRAINING_JOBS_NAMESPACE)
        acknowledge_wildcards(
            policy,
            resources=[
                f"{datasets}/{DATASETS_PREFIX}*",
                *(f"{artifacts}/{prefix}*" for prefix in writable),
                f"{log_group}:log-stream:{self.job_prefix}-*",
            ],
            reason="Object and log-stream names are created at run time under prefixes owned by the pipeline: "
            "its datasets folder, its output/checkpoint/compile-cache prefixes and its jobs' log streams.",
        )
        return role

    # ---- Lambdas -----------------------------------------------------------------------------------------

    def _functions(
        self,
        training: ResolvedTraining,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        datasets = f"{self._partition_arn}:s3:::{self._datasets_bucket}"
        artifacts = f"{self._partition_arn}:s3:::{self._artifacts_bucket}"
        config = training.config
        prepare_environment = PrepareEnvironment(
            training_job_prefix=self.job_prefix,
            training_role_arn=self.training_role.role_arn,
            datasets_bucket=self._datasets_bucket,
            datasets_prefix=DATASETS_PREFIX,
            artifacts_bucket=self._artifacts_bucket,
            output_prefix=OUTPUT_PREFIX,
            checkpoint_prefix=CHECKPOINT_PREFIX,
            compile_cache_prefix=COMPILE_CACHE_PREFIX,
            kms_key_arn=key.key_arn,
        ).to_environment()
        settings_file = {f"lambdas/training_prepare/{SETTINGS_FILE}": self.settings.model_dump_json(indent=1)}
        # Two functions of one package: the check receives the raw execution input as its whole event (no room is
        # left for anything else in a 256 KiB input), Prepare the checked input with the execution's name and id.
        self.check_input = KitFunction(
            self,
            "CheckInputFunction",
            name="training_prepare",
            handler="check_input",
            description="Fine-tuning pipeline: check the execution input against the catalog and the configuration",
            metrics_namespace=METRICS_NAMESPACE,
            environment=prepare_environment,
            encryption_key=key,
            log_retention=retention,
            removal_policy=removal_policy,
            timeout=cdk.Duration.seconds(30),
            with_catalog=True,
            extra_files=settings_file,
            invoked_by=STATE_MACHINE_TASK,
        )
        self.prepare = KitFunction(
            self,
            "PrepareFunction",
            name="training_prepare",
            description="Fine-tuning pipeline: name the training job and build its CreateTrainingJob request",
            metrics_namespace=METRICS_NAMESPACE,
            environment=prepare_environment,
            encryption_key=key,
            log_retention=retention,
            removal_policy=removal_policy,
            timeout=cdk.Duration.seconds(30),
            with_catalog=True,
            extra_files=settings_file,
            invoked_by=STATE_MACHINE_TASK,
        )
        validate = KitFunction(
            self,
            "ValidateDatasetFunction",
            name="training_validate_dataset",
            description="Fine-tuning pipeline: check the dataset's files, records and size",
            metrics_namespace=METRICS_NAMESPACE,
            environment=ValidateDatasetEnvironment(
                dataset_rules=DatasetRules.model_validate(config.dataset.model_dump())
            ).to_environment(),
            encryption_key=key,
            log_retention=retention,
            removal_policy=removal_policy,
            # Streams every record of up to max_files files: allow Lambda's maximum. Parsing is CPU-bound and Lambda
            # gives one full vCPU at 1,769 MB ("Configure Lambda function memory", Lambda developer guide): the same
            # cost per dataset as less memory for longer, and a larger dataset checked in the 15 minutes.
            timeout=cdk.Duration.minutes(15),
            memory_mb=1769,
            invoked_by=STATE_MACHINE_TASK,
        )
        validate.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{datasets}/{DATASETS_PREFIX}*"]
            )
        )
        validate.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListDatasets",
                actions=["s3:ListBucket"],
                resources=[datasets],
                conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*"]}},
            )
        )
        key.grant(validate.role, "kms:Decrypt")
        self.validate_dataset = validate
        evaluate = KitFunction(
            self,
            "EvaluateFunction",
            name="training_evaluate",
            description="Fine-tuning pipeline: compare the training job's final metrics with the thresholds",
            metrics_namespace=METRICS_NAMESPACE,
            environment=EvaluateEnvironment(
                thresholds=tuple(MetricThreshold.model_validate(t.model_dump()) for t in config.thresholds),
                artifacts_bucket=self._artifacts_bucket,
                evaluation_prefix=EVALUATION_PREFIX,
            ).to_environment(),
            encryption_key=key,
            log_retention=retention,
            removal_policy=removal_policy,
            timeout=cdk.Duration.seconds(60),
            invoked_by=STATE_MACHINE_TASK,
        )
        evaluate.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeOwnTrainingJobs",
                actions=["sagemaker:DescribeTrainingJob"],
                resources=[self._training_job_arn()],
            )
        )
        evaluate.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteEvaluationReports", actions=["s3:PutObject"], resources=[f"{artifacts}/{EVALUATION_PREFIX}*"]
            )
        )
        key.grant(evaluate.role, "kms:GenerateDataKey")
        acknowledge_wildcards(
            validate.role.node.find_child("DefaultPolicy"),
            resources=[f"{datasets}/{DATASETS_PREFIX}*"],
            reason="Datasets are any objects under the pipeline's datasets folder.",
        )
        acknowledge_wildcards(
            evaluate.role.node.find_child("DefaultPolicy"),
            resources=[self._training_job_arn(), f"{artifacts}/{EVALUATION_PREFIX}*"],
            reason="Training jobs and reports are named per execution under the pipeline's own prefixes.",
        )
        self.evaluate = evaluate
        self.describe_failure = KitFunction(
            self,
            "DescribeFailureFunction",
            name="training_failure",
            description="Fine-tuning pipeline: say why a step failed (the training job's reason, a Lambda's error)",
            metrics_namespace=METRICS_NAMESPACE,
            environment=FailureEnvironment(steps=STEPS, training_step=TRAIN_STEP).to_environment(),
            encryption_key=key,
            log_retention=retention,
            removal_policy=removal_policy,
            timeout=cdk.Duration.seconds(30),
            invoked_by=STATE_MACHINE_TASK,
        )
        self.describe_failure.role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeOwnTrainingJobs",
                actions=["sagemaker:DescribeTrainingJob"],
                resources=[self._training_job_arn()],
            )
        )
        acknowledge_wildcards(
            self.describe_failure.role.node.find_child("DefaultPolicy"),
            resources=[self._training_job_arn()],
            reason="Training jobs are named per execution under the pipeline's own prefix.",
        )

    def _training_job_arn(self) -> str:
        return f"{self._partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:training-job/{self.job_prefix}-*"

    # ---- state machine -----------------------------------------------------------------------------------

    def _definition(self, training: ResolvedTraining, topic: sns.ITopic) -> sfn.IChainable:
        def field(name: str, value: str) -> dict[str, str]:
            # A path or an intrinsic function is evaluated ("name.$"), anything else is a literal.
            return {f"{name}.$": value} if value.startswith(("$", "States.")) else {name: value}

        def outcome(state_id: str, status: str, error: str, reason: str, subject: str) -> sfn.Pass:
            """A Pass state recording how the execution ends, for the notification and the final state."""
            return sfn.Pass(
                self,
                state_id,
                parameters={
                    "status": status,
                    **field("error", error),
                    **field("reason", reason),
                    **field("subject", subject),
                    "pipeline": self.model_package_group_name,
                    "execution.$": "$$.Execution.Id",
                },
                result_path="$.outcome",
            )

        succeeded = sfn.Succeed(self, "Succeeded")
        failed = sfn.Fail(self, "Failed", error_path="$.outcome.error", cause_path="$.outcome.reason")
        notify = tasks.SnsPublish(
            self,
            "Notify",
            topic=topic,
            subject=sfn.JsonPath.string_at("$.outcome.subject"),
            message=sfn.TaskInput.from_json_path_at("$.outcome"),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(errors=["SNS.ThrottledException", "SNS.InternalErrorException"], max_attempts=3)
        # An error output must have "Error" and should have "Cause" (Amazon States Language): the whole of it, as text.
        notify.add_catch(
            sfn.Fail(self, "NotificationFailed", error="NotificationFailed", cause_path="States.JsonToString($.error)"),
            result_path="$.error",
        )
        notify.next(
            sfn.Choice(self, "OutcomeSucceeded?")
            .when(sfn.Condition.string_equals("$.outcome.status", SUCCEEDED), succeeded)
            .otherwise(failed)
        )

        # A step's error, caught at $.error, is described in one line by a Lambda that receives the whole state.
        # Error names of the execution are the kit's own: "States.*" names are reserved for Step Functions.
        step_failed = outcome(
            "StepFailed",
            "FAILED",
            "$.failure.error",
            "$.failure.reason",
            "States.Format('GenAI kit fine-tuning failed at {}', $.failure.step)",
        ).next(notify)
        describe_failure = tasks.LambdaInvoke(
            self,
            "DescribeFailure",
            lambda_function=self.describe_failure.function,
            # No payload: the function's event is the whole state.
            payload_response_only=True,
            result_path="$.failure",
        )
        describe_failure.add_catch(
            # Describing failed too: the error output itself, which always exists, still tells what happened.
            outcome(
                "FailureNotDescribed",
                "FAILED",
                "PipelineError",
                "States.JsonToString($.error)",
                "GenAI kit fine-tuning failed (pipeline error)",
            ).next(notify),
            result_path=sfn.JsonPath.DISCARD,
        )
        describe_failure.next(step_failed)

        # The first state: the function's event is the execution input itself (no Parameters, so no path can fail
        # and the input cannot grow past Step Functions' 256 KiB), and its result replaces the input, so every
        # later state reads an object the check returned.
        check_input = tasks.LambdaInvoke(
            self,
            "CheckInput",
            lambda_function=self.check_input.function,
            payload_response_only=True,
            result_selector={_RESULT["CheckInput"]: sfn.JsonPath.object_at("$")},
        )
        # Its error output replaces the input likewise (a path such as $.error cannot be set on an array or a
        # string), then moves to $.error like every step's.
        check_input.add_catch(
            sfn.Pass(self, "CheckInputErrored", parameters={"error": sfn.JsonPath.object_at("$")}).next(
                describe_failure
            ),
            result_path="$",
        )
        prepare = tasks.LambdaInvoke(
            self,
            "Prepare",
            lambda_function=self.prepare.function,
            payload=sfn.TaskInput.from_object(
                {
                    "input": sfn.JsonPath.object_at(f"$.{_RESULT['CheckInput']}.input"),
                    "execution": {
                        "name": sfn.JsonPath.string_at("$$.Execution.Name"),
                        "id": sfn.JsonPath.string_at("$$.Execution.Id"),
                    },
                }
            ),
            payload_response_only=True,
            result_path=f"$.{_RESULT['Prepare']}",
        )
        validate = tasks.LambdaInvoke(
            self,
            "ValidateDataset",
            lambda_function=self.validate_dataset.function,
            payload=sfn.TaskInput.from_object(
                {
                    "bucket": sfn.JsonPath.string_at("$.prepared.dataset.bucket"),
                    "prefix": sfn.JsonPath.string_at("$.prepared.dataset.prefix"),
                }
            ),
            payload_response_only=True,
            result_path=f"$.{_RESULT['ValidateDataset']}",
        )
        train = self._train_state(training)
        evaluate = tasks.LambdaInvoke(
            self,
            "Evaluate",
            lambda_function=self.evaluate.function,
            payload=sfn.TaskInput.from_object(
                {"trainingJobName": sfn.JsonPath.string_at("$.training.TrainingJobName")}
            ),
            payload_response_only=True,
            result_path=f"$.{_RESULT['Evaluate']}",
        )
        register = self._register_state(training)
        for state in (prepare, validate, train, evaluate, register):
            state.add_catch(describe_failure, result_path="$.error")

        registered = outcome(
            "Registered",
            SUCCEEDED,
            "none",
            "States.Format('Registered {} (PendingManualApproval) from training job {}. {}', "
            "$.registered.ModelPackageArn, $.training.TrainingJobName, $.evaluation.reason)",
            "GenAI kit fine-tuning succeeded: model pending approval",
        ).next(notify)

        register.next(registered)
        evaluate.next(
            sfn.Choice(self, "ModelAccepted?")
            .when(
                sfn.Condition.boolean_equals("$.evaluation.ok", False),
                outcome(
                    "Rejected",
                    "REJECTED",
                    "$.evaluation.error",
                    "$.evaluation.reason",
                    "GenAI kit fine-tuning rejected the model",
                ).next(notify),
            )
            .otherwise(register)
        )
        train.next(evaluate)
        validate.next(
            sfn.Choice(self, "DatasetAccepted?")
            .when(
                sfn.Condition.boolean_equals("$.dataset.ok", False),
                outcome(
                    "DatasetRefused",
                    "FAILED",
                    "$.dataset.error",
                    "$.dataset.reason",
                    "GenAI kit fine-tuning refused the dataset",
                ).next(notify),
            )
            .otherwise(train)
        )
        prepare.next(validate)
        check_input.next(
            sfn.Choice(self, "InputAccepted?")
            .when(
                sfn.Condition.boolean_equals("$.checked.ok", False),
                outcome(
                    "InputRefused",
                    "FAILED",
                    "$.checked.error",
                    "$.checked.reason",
                    "GenAI kit fine-tuning refused its input",
                ).next(notify),
            )
            .otherwise(prepare)
        )
        return check_input

    def _train_state(self, training: ResolvedTraining) -> sfn.CustomState:
        """CreateTrainingJob.sync with the full API shape (the L2 task lacks checkpoints, spot, isolation...)."""
        fields = [
            "TrainingJobName",
            "AlgorithmSpecification",
            "HyperParameters",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
            "EnableNetworkIsolation",
            "EnableInterContainerTrafficEncryption",
            "EnableManagedSpotTraining",
            "CheckpointConfig",
            "Environment",
        ]
        parameters: dict[str, Any] = {f"{name}.$": f"$.prepared.request.{name}" for name in fields}
        # Fixed here, not taken from the Lambda's output: the state machine can pass this role and no other.
        parameters["RoleArn"] = self.training_role.role_arn
        state = sfn.CustomState(
            self,
            TRAIN_STEP,
            state_json={
                "Type": "Task",
                "Resource": f"arn:{cdk.Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
                "Parameters": parameters,
                "ResultSelector": {
                    "TrainingJobName.$": "$.TrainingJobName",
                    "TrainingJobArn.$": "$.TrainingJobArn",
                    "TrainingJobStatus.$": "$.TrainingJobStatus",
                },
                "ResultPath": f"$.{_RESULT[TRAIN_STEP]}",
            },
        )
        # Throttling and transient service errors; a job that exists already (same name) is not created twice.
        state.add_retry(
            errors=["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"],
            interval=cdk.Duration.seconds(30),
            max_attempts=3,
            backoff_rate=2,
        )
        return state

    def _register_state(self, training: ResolvedTraining) -> tasks.CallAwsService:
        hosting = training.hosting
        state = tasks.CallAwsService(
            self,
            "Register",
            service="sagemaker",
            action="createModelPackage",
            iam_resources=[
                f"{self._partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:model-package-group/"
                f"{self.model_package_group_name}",
                f"{self._partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:model-package/"
                f"{self.model_package_group_name}/*",
            ],
            parameters={
                "ModelPackageGroupName": self.model_package_group_name,
                "ModelPackageDescription": sfn.JsonPath.format(
                    f"Fine-tuned {self.settings.model_id}@{self.settings.version} by training job {{}}",
                    sfn.JsonPath.string_at("$.training.TrainingJobName"),
                ),
                "ModelApprovalStatus": "PendingManualApproval",
                "ClientToken": sfn.JsonPath.string_at("$.prepared.clientToken"),
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": hosting.image_uri,
                            "Environment": hosting.environment,
                            "ModelDataSource": {
                                "S3DataSource": sfn.JsonPath.object_at("$.evaluation.modelData"),
                            },
                        }
                    ],
                    "SupportedRealtimeInferenceInstanceTypes": [training.config.serving_instance_type],
                    "SupportedContentTypes": [hosting.payload.content_type or "application/json"],
                    "SupportedResponseMIMETypes": [hosting.payload.accept or "application/json"],
                },
                "ModelMetrics": {"ModelQuality": {"Statistics": sfn.JsonPath.object_at("$.evaluation.report")}},
                "CustomerMetadataProperties": sfn.JsonPath.object_at("$.evaluation.metadata"),
            },
            result_selector={"ModelPackageArn": sfn.JsonPath.string_at("$.ModelPackageArn")},
            result_path=f"$.{_RESULT['Register']}",
        )
        state.add_retry(errors=["SageMaker.ThrottlingException"], max_attempts=3, backoff_rate=2)
        return state

    def _state_machine_permissions(self, training: ResolvedTraining, key: kms.IKey, topic: sns.ITopic) -> None:
        role = self.state_machine.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunOwnTrainingJobs",
                actions=["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
                resources=[self._training_job_arn()],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TrackTrainingJobsForSync",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[f"{self._partition_arn}:events:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:rule/{SYNC_RULE_NAME}"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassTrainingRoleToSageMaker",
                actions=["iam:PassRole"],
                resources=[self.training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        # Publishing to the KMS-encrypted topic needs a data key from the kit's key.
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        policy = self.state_machine.node.find_child("Role").node.find_child("DefaultPolicy")
        acknowledge_wildcards(
            policy,
            resources=[
                self._training_job_arn(),
                f"{self._partition_arn}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:model-package/"
                f"{self.model_package_group_name}/*",
                *(
                    f"<{cdk.Stack.of(self).get_logical_id(fn.function.node.default_child)}.Arn>:*"  # type: ignore[arg-type]
                    for fn in (
                        self.check_input,
                        self.prepare,
                        self.validate_dataset,
                        self.evaluate,
                        self.describe_failure,
                    )
                ),
            ],
            reason="Training jobs are named per execution under the pipeline's prefix; model package versions are "
            "numbered by SageMaker inside the pipeline's group; Lambda invoke covers the functions' versions.",
        )
        acknowledge_wildcards(
            policy,
            resources=["*"],
            reason="CloudWatch Logs delivery and X-Ray actions of Step Functions support no resource-level permission.",
        )
