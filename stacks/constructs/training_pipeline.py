"""The fine-tuning pipeline: a Step Functions state machine from dataset to a registered model version.

Composes the training jobs' role (``training_role``), the Lambda functions of the steps (``training_functions``),
the state machine with its definition (``training_states``) and the permissions its states need, and the model
package group the versions are registered in; for the Hugging Face kind also the training script's archive and the
preparation job's code (``training_source``) and the PrepareServing state (``training_serving_states``).
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
from constructs import Construct

from genai_kit.config.hf_training import hyperparameter_specs as hf_hyperparameter_specs
from genai_kit.contracts.training_prepare import PipelineSettings
from genai_kit.names import StageNames
from genai_kit.neuron import NEURON_INSTANCES
from genai_kit.stage.hf_training import ResolvedHfTraining
from genai_kit.stage.hf_training_job import hf_training_settings
from genai_kit.stage.training import ResolvedTraining
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.training_functions import pipeline_functions
from stacks.constructs.training_layout import OUTPUT_PREFIX, model_package_arns, training_job_arn
from stacks.constructs.training_role import S3Reads, training_job_role
from stacks.constructs.training_serving_states import PREPARE_SERVING_STEP, SERVING_RESULT, prepare_serving_state
from stacks.constructs.training_source import preparation_code, training_source
from stacks.constructs.training_states import pipeline_definition
from stacks.constructs.training_tuning_states import tuning_job_arn, tuning_settings, tuning_statements

# The managed rule Step Functions creates to learn when a .sync training job ends (named in the IAM policies of
# the Step Functions developer guide's SageMaker AI integration, CreateTrainingJob).
SYNC_RULE_NAME = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"


# Trainium instances carry local NVMe storage (hardware-encrypted); SageMaker refuses VolumeKmsKeyId for instance types
# with local storage (CreateTrainingJob ResourceConfig.VolumeKmsKeyId, botocore's model).
LOCAL_STORAGE_INSTANCE_TYPES = tuple(t for t in sorted(NEURON_INSTANCES) if NEURON_INSTANCES[t].local_storage)


def pipeline_settings(training: ResolvedTraining | ResolvedHfTraining) -> PipelineSettings:
    """What the prepare step reads from its asset (``pipeline.json``): the resolved catalog facts and configuration
    (for the Hugging Face kind, the training script's request parts and ranges)."""
    config = training.config
    # What both kinds take from the training section as it is.
    shared: dict[str, Any] = {
        "max_instance_count": config.max_instance_count,
        "max_runtime_seconds": config.max_runtime_seconds,
        "volume_size_gb": config.volume_size_gb,
        "spot": config.spot.enabled,
        "spot_max_wait_seconds": config.spot.max_wait_seconds,
        "warm_pool_seconds": config.warm_pool_seconds,
        "efa_instance_types": training.efa_instance_types,
        "local_storage_instance_types": LOCAL_STORAGE_INSTANCE_TYPES,
    }
    if isinstance(training, ResolvedHfTraining):
        hf = training.huggingface
        return PipelineSettings(
            model_id=hf.model_id or str(hf.model_s3_uri),
            # What the script downloads without a pinned revision: the Hub's default branch.
            version=hf.revision or "main",
            eula_uri=None,
            specs={},
            default_instance_type=hf.instance_type,
            instance_count=hf.instance_count,
            hyperparameters={},
            tuning=tuning_settings(config.tuning, hf_hyperparameter_specs()),
            huggingface=hf_training_settings(hf, region=training.region, instance_types=training.instance_types),
            **shared,
        )
    return PipelineSettings(
        model_id=config.model_id,
        version=config.version,
        eula_uri=training.hosting.eula_uri,
        specs=dict(training.specs),
        default_instance_type=training.default_instance_type,
        instance_count=config.instance_count,
        hyperparameters=dict(training.hyperparameters),
        tuning=tuning_settings(config.tuning, training.specs[training.default_instance_type].hyperparameters),
        **shared,
    )


class TrainingPipeline(Construct):
    """State machine, its Lambdas and roles, the training role and the model package group.

    Exposes ``state_machine``, ``training_role``, ``functions``, ``model_package_group_name``, ``job_prefix`` and
    ``settings`` (what the prepare step reads).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        training: ResolvedTraining | ResolvedHfTraining,
        encryption_key: kms.IKey,
        datasets_bucket_name: str,
        artifacts_bucket_name: str,
        topic: sns.ITopic,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        """``names``: the stage's names (the training jobs' prefix, the model package group); ``training``: the
        stage's training section resolved for its region (``genai_kit.stage.training``)."""
        super().__init__(scope, construct_id)
        self.settings = pipeline_settings(training)
        self.job_prefix = names.training_job_prefix
        self.model_package_group_name = names.model_package_group
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
        hf = training if isinstance(training, ResolvedHfTraining) else None
        # The Hugging Face kind's code: the training script's archive and the preparation job's zip.
        self.source = training_source(self) if hf is not None else None
        self.preparation_code = preparation_code(self) if hf is not None else None
        self.training_role = self._training_role(
            training,
            datasets_bucket_name=datasets_bucket_name,
            artifacts_bucket_name=artifacts_bucket_name,
            key=encryption_key,
        )
        self.functions = pipeline_functions(
            self,
            config=training.config,
            settings=self.settings,
            job_prefix=self.job_prefix,
            training_role_arn=self.training_role.role_arn,
            datasets_bucket_name=datasets_bucket_name,
            artifacts_bucket_name=artifacts_bucket_name,
            encryption_key=encryption_key,
            model_package_group_name=self.model_package_group_name,
            tuning_jobs=tuning_job_arn(self.job_prefix) if training.config.tuning is not None else None,
            log_retention=log_retention,
            removal_policy=removal_policy,
            source_archive_uri=self.source.s3_object_url if self.source is not None else None,
            preparation_step=(PREPARE_SERVING_STEP, SERVING_RESULT) if hf is not None else None,
        )
        self.state_machine = self._state_machine(
            training, topic, encryption_key, log_retention, removal_policy, artifacts_bucket_name=artifacts_bucket_name
        )
        self._allow_tasks(encryption_key, topic)
        if training.config.tuning is not None:
            self._allow_tuning()

    def _training_role(
        self,
        training: ResolvedTraining | ResolvedHfTraining,
        *,
        datasets_bucket_name: str,
        artifacts_bucket_name: str,
        key: kms.IKey,
    ) -> iam.Role:
        """The jobs' role: the JumpStart specs' images and objects, or the Hugging Face kind's training and serving
        images, its code assets, an S3 model folder and the token secret."""
        hf = training.huggingface if isinstance(training, ResolvedHfTraining) else None
        return training_job_role(
            self,
            stage=training.stage,
            job_prefix=self.job_prefix,
            datasets_bucket_name=datasets_bucket_name,
            artifacts_bucket_name=artifacts_bucket_name,
            encryption_key=key,
            specs=self.settings.specs if hf is None else None,
            image_uris=(training.image_uri, training.serving.image_uri)
            if isinstance(training, ResolvedHfTraining)
            else (),
            reads=[S3Reads("BaseModel", (hf.model_s3_uri,), folders=True)] if hf and hf.model_s3_uri else [],
            assets=[asset for asset in (self.source, self.preparation_code) if asset is not None],
            token_secret_arn=hf.hf_token_secret_arn if hf else None,
        )

    def _state_machine(
        self,
        training: ResolvedTraining | ResolvedHfTraining,
        topic: sns.ITopic,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        *,
        artifacts_bucket_name: str,
    ) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self, "StateMachineLogs", retention=retention, encryption_key=key, removal_policy=removal_policy
        )
        prepare_serving = None
        if isinstance(training, ResolvedHfTraining) and self.preparation_code is not None:
            prepare_serving = prepare_serving_state(
                training.serving,
                training_role_arn=self.training_role.role_arn,
                code_s3_url=self.preparation_code.s3_object_url,
                output_s3_url=f"s3://{artifacts_bucket_name}/{OUTPUT_PREFIX}",
                kms_key_arn=key.key_arn,
                model_label=training.huggingface.model_label,
                local_storage_instance_types=LOCAL_STORAGE_INSTANCE_TYPES,
            )
        definition = pipeline_definition(
            comment=f"Fine-tune {self.settings.model_id} on Trainium, evaluate, register (stage {training.stage})",
            functions=self.functions,
            training=training,
            training_role_arn=self.training_role.role_arn,
            model_package_group_name=self.model_package_group_name,
            topic_arn=topic.topic_arn,
            prepare_serving=prepare_serving,
        )
        return sfn.StateMachine(
            self,
            "StateMachine",
            # One document, not a chain of state constructs: the same definition for far fewer calls into jsii.
            definition_body=sfn.DefinitionBody.from_string(cdk.Stack.of(self).to_json_string(definition)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )

    def _allow_tasks(self, key: kms.IKey, topic: sns.ITopic) -> None:
        """Let the state machine invoke the pipeline's functions, run its own training jobs with ``.sync``, pass them
        the training role and nothing else, register versions in its group and publish to the foundation's
        KMS-encrypted topic: what each Task of the definition does.

        What ``.sync`` needs (the IAM policies of the Step Functions developer guide's SageMaker AI integration,
        CreateTrainingJob): the job actions, and the EventBridge managed rule Step Functions creates.
        """
        role = self.state_machine.role
        for function in self.functions.all():
            # The function and its versions (<arn>:*).
            function.function.grant_invoke(self.state_machine)
        # Spelled as the SDK integration's action (IAM action names are case-insensitive).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:createModelPackage"], resources=model_package_arns(self.model_package_group_name)
            )
        )
        # Not topic.grant_publish: it would also grant kms:GenerateDataKey* on the topic's key, granted narrower below.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunOwnTrainingJobs",
                actions=["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
                resources=[training_job_arn(self.job_prefix)],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TrackTrainingJobsForSync",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    f"arn:{cdk.Aws.PARTITION}:events:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:rule/{SYNC_RULE_NAME}"
                ],
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
        self._acknowledge_task_wildcards()

    def _allow_tuning(self) -> None:
        """Let the state machine run its own tuning jobs with ``.sync`` (the training role is passed as above)."""
        for statement in tuning_statements(self.job_prefix):
            self.state_machine.role.add_to_principal_policy(statement)
        acknowledge_wildcards(
            self.state_machine.node.find_child("Role").node.find_child("DefaultPolicy"),
            resources=[tuning_job_arn(self.job_prefix)],
            reason="Tuning jobs are named per execution under the pipeline's prefix.",
        )

    def _acknowledge_task_wildcards(self) -> None:
        policy = self.state_machine.node.find_child("Role").node.find_child("DefaultPolicy")
        stack = cdk.Stack.of(self)
        acknowledge_wildcards(
            policy,
            resources=[
                training_job_arn(self.job_prefix),
                model_package_arns(self.model_package_group_name)[1],
                *(
                    f"<{stack.get_logical_id(fn.function.node.default_child)}.Arn>:*"  # type: ignore[arg-type]
                    for fn in self.functions.all()
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
