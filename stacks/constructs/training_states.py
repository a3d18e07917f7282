"""The fine-tuning pipeline's state machine definition.

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
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from genai_kit.stage.training import ResolvedTraining
from stacks.constructs.training_functions import PipelineFunctions
from stacks.constructs.training_layout import RESULT_KEYS, TRAIN_STEP

SUCCEEDED = "SUCCEEDED"


def pipeline_definition(
    scope: Construct,
    *,
    functions: PipelineFunctions,
    training: ResolvedTraining,
    training_role_arn: str,
    model_package_group_name: str,
    topic: sns.ITopic,
) -> sfn.DefinitionBody:
    """The state machine's definition, its states created in ``scope``.

    ``training_role_arn``: the only role the Train state passes to SageMaker; ``model_package_group_name``: where
    Register creates a version (PendingManualApproval); ``topic``: where Notify publishes every outcome.
    """
    states = _States(scope, model_package_group_name)
    notify = states.notify(topic)
    describe_failure = states.describe_failure(functions, notify)
    check_input, prepare, validate, evaluate = states.lambda_steps(functions, describe_failure)
    train = states.train(training_role_arn)
    register = states.register(training)
    for state in (prepare, validate, train, evaluate, register):
        state.add_catch(describe_failure, result_path="$.error")

    register.next(
        states.outcome(
            "Registered",
            SUCCEEDED,
            "none",
            "States.Format('Registered {} (PendingManualApproval) from training job {}. {}', "
            "$.registered.ModelPackageArn, $.training.TrainingJobName, $.evaluation.reason)",
            "GenAI kit fine-tuning succeeded: model pending approval",
        ).next(notify)
    )
    evaluate.next(
        states.unless_refused(
            "ModelAccepted?", "evaluation", ("Rejected", "REJECTED", "rejected the model"), register, notify
        )
    )
    train.next(evaluate)
    validate.next(
        states.unless_refused(
            "DatasetAccepted?", "dataset", ("DatasetRefused", "FAILED", "refused the dataset"), train, notify
        )
    )
    prepare.next(validate)
    check_input.next(
        states.unless_refused(
            "InputAccepted?", "checked", ("InputRefused", "FAILED", "refused its input"), prepare, notify
        )
    )
    return sfn.DefinitionBody.from_chainable(check_input)


class _States:
    """Creates the pipeline's states in one scope."""

    def __init__(self, scope: Construct, model_package_group_name: str) -> None:
        self.scope = scope
        self.group = model_package_group_name

    def outcome(self, state_id: str, status: str, error: str, reason: str, subject: str) -> sfn.Pass:
        """A Pass state recording how the execution ends, for the notification and the final state."""

        def field(name: str, value: str) -> dict[str, str]:
            # A path or an intrinsic function is evaluated ("name.$"), anything else is a literal.
            return {f"{name}.$": value} if value.startswith(("$", "States.")) else {name: value}

        return sfn.Pass(
            self.scope,
            state_id,
            parameters={
                "status": status,
                **field("error", error),
                **field("reason", reason),
                **field("subject", subject),
                "pipeline": self.group,
                "execution.$": "$$.Execution.Id",
            },
            result_path="$.outcome",
        )

    def unless_refused(
        self,
        state_id: str,
        result: str,
        refused: tuple[str, str, str],
        accepted: sfn.IChainable,
        notify: sfn.IChainable,
    ) -> sfn.Choice:
        """A Choice going on to ``accepted`` unless the step's result at ``$.<result>`` says ``ok: false``; then the
        outcome ``refused`` (its state id, status and what the subject says happened) with the result's error."""
        outcome_id, status, happened = refused
        return (
            sfn.Choice(self.scope, state_id)
            .when(
                sfn.Condition.boolean_equals(f"$.{result}.ok", False),
                self.outcome(
                    outcome_id,
                    status,
                    f"$.{result}.error",
                    f"$.{result}.reason",
                    f"GenAI kit fine-tuning {happened}",
                ).next(notify),
            )
            .otherwise(accepted)
        )

    def notify(self, topic: sns.ITopic) -> tasks.SnsPublish:
        """Publish the outcome, then end in Succeeded or Failed with the outcome's error and reason."""
        notify = tasks.SnsPublish(
            self.scope,
            "Notify",
            topic=topic,
            subject=sfn.JsonPath.string_at("$.outcome.subject"),
            message=sfn.TaskInput.from_json_path_at("$.outcome"),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_retry(errors=["SNS.ThrottledException", "SNS.InternalErrorException"], max_attempts=3)
        # An error output must have "Error" and should have "Cause" (Amazon States Language): the whole of it, as text.
        notify.add_catch(
            sfn.Fail(
                self.scope, "NotificationFailed", error="NotificationFailed", cause_path="States.JsonToString($.error)"
            ),
            result_path="$.error",
        )
        notify.next(
            sfn.Choice(self.scope, "OutcomeSucceeded?")
            .when(sfn.Condition.string_equals("$.outcome.status", SUCCEEDED), sfn.Succeed(self.scope, "Succeeded"))
            .otherwise(sfn.Fail(self.scope, "Failed", error_path="$.outcome.error", cause_path="$.outcome.reason"))
        )
        return notify

    def describe_failure(self, functions: PipelineFunctions, notify: sfn.IChainable) -> tasks.LambdaInvoke:
        """A step's error, caught at $.error, described in one line by a Lambda that receives the whole state."""
        # Error names of the execution are the kit's own: "States.*" names are reserved for Step Functions.
        step_failed = self.outcome(
            "StepFailed",
            "FAILED",
            "$.failure.error",
            "$.failure.reason",
            "States.Format('GenAI kit fine-tuning failed at {}', $.failure.step)",
        ).next(notify)
        describe_failure = tasks.LambdaInvoke(
            self.scope,
            "DescribeFailure",
            lambda_function=functions.describe_failure.function,
            # No payload: the function's event is the whole state.
            payload_response_only=True,
            result_path="$.failure",
        )
        describe_failure.add_catch(
            # Describing failed too: the error output itself, which always exists, still tells what happened.
            self.outcome(
                "FailureNotDescribed",
                "FAILED",
                "PipelineError",
                "States.JsonToString($.error)",
                "GenAI kit fine-tuning failed (pipeline error)",
            ).next(notify),
            result_path=sfn.JsonPath.DISCARD,
        )
        describe_failure.next(step_failed)
        return describe_failure

    def lambda_steps(
        self, functions: PipelineFunctions, describe_failure: sfn.IChainable
    ) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke, tasks.LambdaInvoke, tasks.LambdaInvoke]:
        """CheckInput, Prepare, ValidateDataset and Evaluate, each writing its result under its key."""
        # The first state: the function's event is the execution input itself (no Parameters, so no path can fail
        # and the input cannot grow past Step Functions' 256 KiB), and its result replaces the input, so every
        # later state reads an object the check returned.
        check_input = tasks.LambdaInvoke(
            self.scope,
            "CheckInput",
            lambda_function=functions.check_input.function,
            payload_response_only=True,
            result_selector={RESULT_KEYS["CheckInput"]: sfn.JsonPath.object_at("$")},
        )
        # Its error output replaces the input likewise (a path such as $.error cannot be set on an array or a
        # string), then moves to $.error like every step's.
        check_input.add_catch(
            sfn.Pass(self.scope, "CheckInputErrored", parameters={"error": sfn.JsonPath.object_at("$")}).next(
                describe_failure
            ),
            result_path="$",
        )
        payloads: dict[str, dict[str, Any]] = {
            "Prepare": {
                "input": sfn.JsonPath.object_at(f"$.{RESULT_KEYS['CheckInput']}.input"),
                "execution": {
                    "name": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "id": sfn.JsonPath.string_at("$$.Execution.Id"),
                },
            },
            "ValidateDataset": {
                "bucket": sfn.JsonPath.string_at("$.prepared.dataset.bucket"),
                "prefix": sfn.JsonPath.string_at("$.prepared.dataset.prefix"),
            },
            "Evaluate": {"trainingJobName": sfn.JsonPath.string_at("$.training.TrainingJobName")},
        }
        function_of = {
            "Prepare": functions.prepare,
            "ValidateDataset": functions.validate_dataset,
            "Evaluate": functions.evaluate,
        }
        prepare, validate, evaluate = (
            tasks.LambdaInvoke(
                self.scope,
                step,
                lambda_function=function_of[step].function,
                payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True,
                result_path=f"$.{RESULT_KEYS[step]}",
            )
            for step, payload in payloads.items()
        )
        return check_input, prepare, validate, evaluate

    def train(self, training_role_arn: str) -> sfn.CustomState:
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
        parameters["RoleArn"] = training_role_arn
        state = sfn.CustomState(
            self.scope,
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
                "ResultPath": f"$.{RESULT_KEYS[TRAIN_STEP]}",
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

    def register(self, training: ResolvedTraining) -> tasks.CallAwsService:
        """CreateModelPackage in the pipeline's group, pending approval, served by the model's hosting image."""
        hosting = training.hosting
        config = training.config
        state = tasks.CallAwsService(
            self.scope,
            "Register",
            service="sagemaker",
            action="createModelPackage",
            iam_resources=model_package_arns(self.group),
            parameters={
                "ModelPackageGroupName": self.group,
                "ModelPackageDescription": sfn.JsonPath.format(
                    f"Fine-tuned {config.model_id}@{config.version} by training job {{}}",
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
                    "SupportedRealtimeInferenceInstanceTypes": [config.serving_instance_type],
                    "SupportedContentTypes": [hosting.payload.content_type or "application/json"],
                    "SupportedResponseMIMETypes": [hosting.payload.accept or "application/json"],
                },
                "ModelMetrics": {"ModelQuality": {"Statistics": sfn.JsonPath.object_at("$.evaluation.report")}},
                "CustomerMetadataProperties": sfn.JsonPath.object_at("$.evaluation.metadata"),
            },
            result_selector={"ModelPackageArn": sfn.JsonPath.string_at("$.ModelPackageArn")},
            result_path=f"$.{RESULT_KEYS['Register']}",
        )
        state.add_retry(errors=["SageMaker.ThrottlingException"], max_attempts=3, backoff_rate=2)
        return state


def model_package_arns(group: str) -> list[str]:
    """ARNs of the model package group ``group`` and of every version in it (SageMaker numbers the versions):
    ``...:model-package-group/<group>`` and ``...:model-package/<group>/*`` in the stack's region and account."""
    prefix = f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
    return [f"{prefix}:model-package-group/{group}", f"{prefix}:model-package/{group}/*"]
