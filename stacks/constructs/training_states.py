"""The fine-tuning pipeline's state machine definition, as one Amazon States Language document.

    CheckInput -> Prepare -> ValidateDataset -> Train (SageMaker .sync on Trainium) -> Evaluate -> Register -> Notify

(the Hugging Face kind adds PrepareServing between an accepted model and Register: ``training_serving_states``)

The first state hands the execution input, whatever JSON value it is, to a Lambda that checks it; no state reads
the input before that, and later states read only fields the checked input and the steps' results are known to
have. Every path ends in ``Notify`` (the foundation's topic) and then in ``Succeeded`` or in ``Failed`` with the
error and reason of the outcome: input refused, dataset refused, model rejected, or a step failed (caught, then
described in one line by ``DescribeFailure``: the training job's FailureReason, a Lambda's error message). Nothing
is created before training starts, a training job's name derives from the execution's, and the model package
carries an idempotency token, so a retried or redriven execution neither starts a second job nor registers a
second version.

The document is plain data with CloudFormation tokens for the ARNs: the composing construct serialises it with
``Stack.to_json_string`` and grants the state machine's role what each Task does (the functions' invocation, the
``.sync`` training job, the model package, the topic), since no task construct grants it.
"""

from __future__ import annotations

from typing import Any

from genai_kit.contracts.training_prepare import DEFINITION_MEMBERS
from genai_kit.stage.hf_training import ResolvedHfTraining
from genai_kit.stage.training import ResolvedTraining
from stacks.constructs.training_asl import (
    DESCRIBE_FAILURE,
    DISCARD,
    LAMBDA_RETRY,
    NOTIFY,
    SAGEMAKER_SYNC_RETRY,
    SUCCEEDED,
    integration_arn,
    literal,
    outcome,
)
from stacks.constructs.training_asl import (
    catch as _catch,
)
from stacks.constructs.training_functions import PipelineFunctions
from stacks.constructs.training_layout import RESULT_KEYS, TRAIN_STEP
from stacks.constructs.training_serving_states import PREPARE_SERVING_STEP, finetuned_inference_specification
from stacks.constructs.training_tuning_states import tuning_states

# The members of the CreateTrainingJob request the prepare step builds (SageMaker API reference): those a tuning
# job's definition copies, and the job's own name, hyperparameters and checkpoints, in the API's order.
TRAINING_JOB_FIELDS = (
    "TrainingJobName",
    DEFINITION_MEMBERS[0],
    "HyperParameters",
    *DEFINITION_MEMBERS[1:-1],
    "CheckpointConfig",
    DEFINITION_MEMBERS[-1],
)


def pipeline_definition(
    *,
    comment: str,
    functions: PipelineFunctions,
    training: ResolvedTraining | ResolvedHfTraining,
    training_role_arn: str,
    model_package_group_name: str,
    topic_arn: str,
    prepare_serving: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The state machine's Amazon States Language document (JSONPath), its ARNs CloudFormation tokens.

    ``training_role_arn``: the only role the Train state passes to SageMaker; ``model_package_group_name``: where
    Register creates a version (PendingManualApproval); ``topic_arn``: where Notify publishes every outcome;
    ``prepare_serving``: the Hugging Face kind's PrepareServing state (``training_serving_states``), between an
    accepted model and Register.
    """
    group = model_package_group_name
    tuned = training.config.tuning is not None
    # With tuning, the best training job of the tuning job goes on; its tuning job is named alongside it. The report
    # records what the job was trained on (the dataset and its content hash) and with what (Prepare's summary).
    evaluate: dict[str, Any] = {
        "trainingJobName.$": "$.training.TrainingJobName",
        "dataset": {
            "uri.$": "$.prepared.dataset.uri",
            "contentSha256.$": f"$.{RESULT_KEYS['ValidateDataset']}.contentSha256",
        },
        "summary.$": f"$.{RESULT_KEYS['Prepare']}.summary",
    }
    job, job_args = "training job {}", "$.training.TrainingJobName"
    if tuned:
        evaluate["tuningJobName.$"] = "$.training.HyperParameterTuningJobName"
        job, job_args = "training job {} (best of tuning job {})", f"{job_args}, $.training.HyperParameterTuningJobName"
    train = (
        tuning_states(training.config.tuning, training_role_arn=training_role_arn, group=group)
        if training.config.tuning is not None
        else {TRAIN_STEP: _train(training_role_arn)}
    )
    serving = {PREPARE_SERVING_STEP: prepare_serving} if prepare_serving is not None else {}
    return {
        "Comment": comment,
        "StartAt": "CheckInput",
        "States": {
            **_checks(functions, group),
            **train,
            "Evaluate": _lambda_task(
                functions.evaluate.function.function_arn,
                parameters=evaluate,
                result_path=f"$.{RESULT_KEYS['Evaluate']}",
                next_state="ModelAccepted?",
            ),
            **_unless_refused(
                "ModelAccepted?",
                result=RESULT_KEYS["Evaluate"],
                refused=("Rejected", "REJECTED", "rejected the model"),
                accepted=PREPARE_SERVING_STEP if serving else "Register",
                group=group,
            ),
            **serving,
            "Register": _register(training, group, job=(job, job_args)),
            "Registered": outcome(
                SUCCEEDED,
                "none",
                f"States.Format('Registered {{}} (PendingManualApproval) from {job}. {{}}', "
                f"$.registered.ModelPackageArn, {job_args}, $.evaluation.reason)",
                "GenAI kit fine-tuning succeeded: model pending approval",
                group,
            ),
            **_failure_states(functions, group),
            **_ending(topic_arn),
        },
    }


def _checks(functions: PipelineFunctions, group: str) -> dict[str, Any]:
    """CheckInput, Prepare and ValidateDataset, each followed by the choice that refuses a bad input or dataset."""
    return {
        # The first state: the function's event is the execution input itself (no Parameters, so no path can fail
        # and the input cannot grow past Step Functions' 256 KiB), and its result replaces the input, so every
        # later state reads an object the check returned.
        "CheckInput": _lambda_task(
            functions.check_input.function.function_arn,
            result_selector={f"{RESULT_KEYS['CheckInput']}.$": "$"},
            # Its error output replaces the input likewise (a path such as $.error cannot be set on an array or a
            # string), then moves to $.error like every step's.
            catch=_catch("CheckInputErrored", result_path="$"),
            next_state="InputAccepted?",
        ),
        "CheckInputErrored": {"Type": "Pass", "Parameters": {"error.$": "$"}, "Next": DESCRIBE_FAILURE},
        **_unless_refused(
            "InputAccepted?",
            result=RESULT_KEYS["CheckInput"],
            refused=("InputRefused", "FAILED", "refused its input"),
            accepted="Prepare",
            group=group,
        ),
        "Prepare": _lambda_task(
            functions.prepare.function.function_arn,
            parameters={
                "input.$": f"$.{RESULT_KEYS['CheckInput']}.input",
                "execution": {"name.$": "$$.Execution.Name", "id.$": "$$.Execution.Id"},
            },
            result_path=f"$.{RESULT_KEYS['Prepare']}",
            next_state="ValidateDataset",
        ),
        "ValidateDataset": _lambda_task(
            functions.validate_dataset.function.function_arn,
            parameters={"bucket.$": "$.prepared.dataset.bucket", "prefix.$": "$.prepared.dataset.prefix"},
            result_path=f"$.{RESULT_KEYS['ValidateDataset']}",
            next_state="DatasetAccepted?",
        ),
        **_unless_refused(
            "DatasetAccepted?",
            result=RESULT_KEYS["ValidateDataset"],
            refused=("DatasetRefused", "FAILED", "refused the dataset"),
            accepted=TRAIN_STEP,
            group=group,
        ),
    }


def _train(training_role_arn: str) -> dict[str, Any]:
    """CreateTrainingJob.sync with the full API shape (the CDK task lacks checkpoints, spot, isolation...)."""
    parameters: dict[str, Any] = {f"{name}.$": f"$.prepared.request.{name}" for name in TRAINING_JOB_FIELDS}
    # Fixed here, not taken from the Lambda's output: the state machine can pass this role and no other.
    parameters["RoleArn"] = training_role_arn
    return {
        "Type": "Task",
        "Resource": integration_arn("sagemaker:createTrainingJob.sync"),
        "Parameters": parameters,
        "ResultSelector": {
            "TrainingJobName.$": "$.TrainingJobName",
            "TrainingJobArn.$": "$.TrainingJobArn",
            "TrainingJobStatus.$": "$.TrainingJobStatus",
        },
        "ResultPath": f"$.{RESULT_KEYS[TRAIN_STEP]}",
        # Throttling and transient service errors; a job that exists already (same name) is not created twice.
        "Retry": [SAGEMAKER_SYNC_RETRY],
        "Catch": _catch(DESCRIBE_FAILURE),
        "Next": "Evaluate",
    }


def _register(training: ResolvedTraining | ResolvedHfTraining, group: str, *, job: tuple[str, str]) -> dict[str, Any]:
    """CreateModelPackage in the pipeline's group, pending approval, served by the model's serving image (the
    JumpStart model's hosting image with the job's output, or the Hugging Face kind's container with the prepared
    model).

    ``job``: how the description names the job, as a States.Format template part and its arguments."""
    config = training.config
    if isinstance(training, ResolvedHfTraining):
        label = training.huggingface.model_label
        specification = finetuned_inference_specification(training.serving, config.serving_instance_type)
    else:
        hosting = training.hosting
        label = f"{config.model_id}@{config.version}"
        specification = {
            "Containers": [
                {
                    "Image": hosting.image_uri,
                    "Environment": dict(hosting.environment),
                    "ModelDataSource": {"S3DataSource.$": "$.evaluation.modelData"},
                }
            ],
            "SupportedRealtimeInferenceInstanceTypes": [config.serving_instance_type],
            "SupportedContentTypes": [hosting.payload.content_type or "application/json"],
            "SupportedResponseMIMETypes": [hosting.payload.accept or "application/json"],
        }
    description = literal(f"Fine-tuned {label} by ")
    return {
        "Type": "Task",
        "Resource": integration_arn("aws-sdk:sagemaker:createModelPackage"),
        "Parameters": {
            "ModelPackageGroupName": group,
            "ModelPackageDescription.$": f"States.Format('{description}{job[0]}', {job[1]})",
            "ModelApprovalStatus": "PendingManualApproval",
            "ClientToken.$": "$.prepared.clientToken",
            "InferenceSpecification": specification,
            "ModelMetrics": {"ModelQuality": {"Statistics.$": "$.evaluation.report"}},
            "CustomerMetadataProperties.$": "$.evaluation.metadata",
        },
        "ResultSelector": {"ModelPackageArn.$": "$.ModelPackageArn"},
        "ResultPath": f"$.{RESULT_KEYS['Register']}",
        "Retry": [{"ErrorEquals": ["SageMaker.ThrottlingException"], "MaxAttempts": 3, "BackoffRate": 2}],
        "Catch": _catch(DESCRIBE_FAILURE),
        "Next": "Registered",
    }


def _failure_states(functions: PipelineFunctions, group: str) -> dict[str, Any]:
    """A step's error, caught at $.error, described in one line by a Lambda that receives the whole state."""
    return {
        DESCRIBE_FAILURE: _lambda_task(
            functions.describe_failure.function.function_arn,
            # No Parameters: the function's event is the whole state.
            result_path="$.failure",
            # Describing failed too: the error output itself, which always exists, still tells what happened.
            catch=_catch("FailureNotDescribed", result_path=None),
            next_state="StepFailed",
        ),
        # Error names of the execution are the kit's own: "States.*" names are reserved for Step Functions.
        "StepFailed": outcome(
            "FAILED",
            "$.failure.error",
            "$.failure.reason",
            "States.Format('GenAI kit fine-tuning failed at {}', $.failure.step)",
            group,
        ),
        "FailureNotDescribed": outcome(
            "FAILED",
            "PipelineError",
            "States.JsonToString($.error)",
            "GenAI kit fine-tuning failed (pipeline error)",
            group,
        ),
    }


def _ending(topic_arn: str) -> dict[str, Any]:
    """Publish the outcome, then end in Succeeded or Failed with the outcome's error and reason."""
    return {
        NOTIFY: {
            "Type": "Task",
            "Resource": integration_arn("sns:publish"),
            "Parameters": {"TopicArn": topic_arn, "Message.$": "$.outcome", "Subject.$": "$.outcome.subject"},
            "ResultPath": DISCARD,
            "Retry": [{"ErrorEquals": ["SNS.ThrottledException", "SNS.InternalErrorException"], "MaxAttempts": 3}],
            # An error output must have "Error" and should have "Cause" (Amazon States Language): the whole of it,
            # as text.
            "Catch": _catch("NotificationFailed"),
            "Next": "OutcomeSucceeded?",
        },
        "NotificationFailed": {
            "Type": "Fail",
            "Error": "NotificationFailed",
            "CausePath": "States.JsonToString($.error)",
        },
        "OutcomeSucceeded?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.outcome.status", "StringEquals": SUCCEEDED, "Next": "Succeeded"}],
            "Default": "Failed",
        },
        "Succeeded": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "ErrorPath": "$.outcome.error", "CausePath": "$.outcome.reason"},
    }


def _lambda_task(
    function_arn: str,
    *,
    next_state: str,
    parameters: dict[str, Any] | None = None,
    result_selector: dict[str, str] | None = None,
    result_path: str | None = None,
    catch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Task invoking the function itself (its Resource the function's ARN): the state's result is the function's
    response, retried on Lambda's transient errors, caught to DescribeFailure at $.error unless ``catch`` says."""
    state: dict[str, Any] = {"Type": "Task", "Resource": function_arn}
    if parameters is not None:
        state["Parameters"] = parameters
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    if result_path is not None:
        state["ResultPath"] = result_path
    state["Retry"] = [LAMBDA_RETRY]
    state["Catch"] = catch if catch is not None else _catch(DESCRIBE_FAILURE)
    state["Next"] = next_state
    return state


def _unless_refused(
    state_id: str, *, result: str, refused: tuple[str, str, str], accepted: str, group: str
) -> dict[str, dict[str, Any]]:
    """A Choice going on to ``accepted`` unless the step's result at ``$.<result>`` says ``ok: false``, and the
    outcome it goes to then: ``refused`` gives that state's name, its status and what the subject says happened."""
    refused_state, status, happened = refused
    return {
        state_id: {
            "Type": "Choice",
            "Choices": [{"Variable": f"$.{result}.ok", "BooleanEquals": False, "Next": refused_state}],
            "Default": accepted,
        },
        refused_state: outcome(
            status, f"$.{result}.error", f"$.{result}.reason", f"GenAI kit fine-tuning {happened}", group
        ),
    }
