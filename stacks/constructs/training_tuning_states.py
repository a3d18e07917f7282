"""The optional tuning stage of the fine-tuning pipeline: its states, its settings for the prepare step, its IAM.

With ``training.tuning`` configured the Train step runs a hyperparameter tuning job instead of one training job:

    Train (createHyperParameterTuningJob.sync) -> BestTrainingJob? -> BestTrainingJob -> Evaluate -> ...
                                                                   \\-> NoTrainingJobSucceeded -> Notify -> Failed

The tuning job's TrainingJobDefinition is the CreateTrainingJob request the prepare step builds, minus what a
definition does not take (its name, its HyperParameters, which become StaticHyperParameters less the tuned ones),
with the role fixed here. A ``.sync`` task's output is the job's Describe response (DescribeHyperParameterTuningJob):
its BestTrainingJob names the training job that goes on to Evaluate and Register exactly as the single job does
(the Evaluate function describes it for its model artifacts and final metrics). A tuning job that ends Failed or
Stopped fails the task (caught, then described by DescribeFailure); one that completes without a BestTrainingJob
(no job reported the objective metric) ends in ``NoTrainingJobSucceeded``.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from genai_kit.catalog import HyperparameterSpec
from genai_kit.config.training_tuning import TuningConfig, range_kind
from genai_kit.contracts.training_prepare import DEFINITION_MEMBERS, TuningSettings
from stacks.constructs.training_asl import (
    DESCRIBE_FAILURE,
    SAGEMAKER_SYNC_RETRY,
    catch,
    integration_arn,
    literal,
    outcome,
)
from stacks.constructs.training_layout import RESULT_KEYS, TRAIN_STEP

# The members of HyperParameterTrainingJobDefinition the prepare step fills from its CreateTrainingJob request
# (botocore's SageMaker model): the ones it copies, and StaticHyperParameters in HyperParameters' place; RoleArn is
# fixed by the state machine.
DEFINITION_FIELDS = (DEFINITION_MEMBERS[0], "StaticHyperParameters", *DEFINITION_MEMBERS[1:])
# The managed rule Step Functions creates to learn when a .sync tuning job ends (IAM policies of the Step Functions
# developer guide's SageMaker AI integration, CreateHyperParameterTuningJob).
TUNING_SYNC_RULE_NAME = "StepFunctionsGetEventsForSageMakerTuningJobsRule"
# Where the .sync task writes the tuning job's description.
TUNING_RESULT = "tuning"
NO_TRAINING_JOB_SUCCEEDED = "NoTrainingJobSucceeded"


def tuning_settings(tuning: TuningConfig | None, specs: tuple[HyperparameterSpec, ...]) -> TuningSettings | None:
    """What the prepare step needs of ``training.tuning`` (None when tuning is off): the tuning job's
    HyperParameterTuningJobConfig and WarmStartConfig, built here once, and what it checks per execution.
    ``specs``: the trained model's hyperparameters (the JumpStart spec's, or the kit's script's)."""
    if tuning is None:
        return None
    by_name = {spec.name: spec for spec in specs}
    return TuningSettings(
        job_config=_job_config(tuning, {name: by_name[name].type for name in tuning.parameter_ranges}),
        warm_start=(
            None
            if tuning.warm_start is None
            else {
                "ParentHyperParameterTuningJobs": [
                    {"HyperParameterTuningJobName": name} for name in tuning.warm_start.parent_jobs
                ],
                "WarmStartType": tuning.warm_start.type,
            }
        ),
        tuned=tuple(tuning.parameter_ranges),
        objective_metric=tuning.objective.metric,
        max_jobs=tuning.max_jobs,
        max_instance_hours=tuning.max_instance_hours,
    )


def _job_config(tuning: TuningConfig, types: dict[str, str]) -> dict[str, Any]:
    """HyperParameterTuningJobConfig (SageMaker API): Bayesian search over the ranges, every value a string."""
    ranges: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, value in tuning.parameter_ranges.items():
        kind = range_kind(types[name], value)
        if value.values is not None:
            # Sent as given, as the SageMaker SDK does for a JumpStartEstimator (an Estimator, not a Framework:
            # sagemaker-python-sdk v2.257.6 src/sagemaker/tuner.py _prepare_parameter_ranges_for_tuning JSON-encodes
            # categorical values for Framework estimators only); the training toolkit JSON-decodes a hyperparameter
            # and keeps the text when that fails (notes: training-neuron.md).
            ranges[kind].append({"Name": name, "Values": [str(v) for v in value.values]})
            continue
        low, high = (
            (str(int(value.min)), str(int(value.max)))  # type: ignore[arg-type]
            if kind == "IntegerParameterRanges"
            else (repr(value.min), repr(value.max))
        )
        ranges[kind].append({"Name": name, "MinValue": low, "MaxValue": high, "ScalingType": value.scaling})
    return {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": tuning.objective.type, "MetricName": tuning.objective.metric},
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": tuning.max_jobs,
            "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
        },
        "ParameterRanges": {kind: items for kind, items in ranges.items() if items},
        "TrainingJobEarlyStoppingType": tuning.early_stopping,
    }


def tuning_states(tuning: TuningConfig, *, training_role_arn: str, group: str) -> dict[str, Any]:
    """The Train state as a tuning job, the choice on its best training job and the outcome without one."""
    parameters: dict[str, Any] = {
        "HyperParameterTuningJobName.$": "$.prepared.tuning.HyperParameterTuningJobName",
        "HyperParameterTuningJobConfig.$": "$.prepared.tuning.HyperParameterTuningJobConfig",
        "TrainingJobDefinition": {
            **{f"{name}.$": f"$.prepared.tuning.TrainingJobDefinition.{name}" for name in DEFINITION_FIELDS},
            # Fixed here, not taken from the Lambda's output: the state machine can pass this role and no other.
            "RoleArn": training_role_arn,
        },
    }
    if tuning.warm_start is not None:
        parameters["WarmStartConfig.$"] = "$.prepared.tuning.WarmStartConfig"
    best = f"$.{TUNING_RESULT}.BestTrainingJob"
    return {
        TRAIN_STEP: {
            "Type": "Task",
            "Resource": integration_arn("sagemaker:createHyperParameterTuningJob.sync"),
            "Parameters": parameters,
            # The whole description: BestTrainingJob is absent when no job reported the objective metric, and a
            # ResultSelector path to it would fail the state instead of letting the choice below decide.
            "ResultPath": f"$.{TUNING_RESULT}",
            "Retry": [SAGEMAKER_SYNC_RETRY],
            "Catch": catch(DESCRIBE_FAILURE),
            "Next": "BestTrainingJob?",
        },
        "BestTrainingJob?": {
            "Type": "Choice",
            "Choices": [{"Variable": f"{best}.TrainingJobName", "IsPresent": True, "Next": "BestTrainingJob"}],
            "Default": NO_TRAINING_JOB_SUCCEEDED,
        },
        # What the single training job's state writes, plus the tuning job: Evaluate and Register read the same.
        "BestTrainingJob": {
            "Type": "Pass",
            "Parameters": {
                "TrainingJobName.$": f"{best}.TrainingJobName",
                "TrainingJobArn.$": f"{best}.TrainingJobArn",
                "TrainingJobStatus.$": f"{best}.TrainingJobStatus",
                "HyperParameterTuningJobName.$": f"$.{TUNING_RESULT}.HyperParameterTuningJobName",
            },
            "ResultPath": f"$.{RESULT_KEYS[TRAIN_STEP]}",
            "Next": "Evaluate",
        },
        NO_TRAINING_JOB_SUCCEEDED: outcome(
            "FAILED",
            NO_TRAINING_JOB_SUCCEEDED,
            f"States.Format('Tuning job {{}} ended {{}} without a best training job: no training job reported the "
            f"objective metric {literal(tuning.objective.metric)} (aws sagemaker "
            f"list-training-jobs-for-hyper-parameter-tuning-job --hyper-parameter-tuning-job-name {{}})', "
            f"$.{TUNING_RESULT}.HyperParameterTuningJobName, $.{TUNING_RESULT}.HyperParameterTuningJobStatus, "
            f"$.{TUNING_RESULT}.HyperParameterTuningJobName)",
            "GenAI kit fine-tuning failed: no training job of the tuning job succeeded",
            group,
        ),
    }


def tuning_job_arn(job_prefix: str) -> str:
    """ARN pattern of every tuning job the pipeline starts: ``...:hyper-parameter-tuning-job/<job_prefix>-*``
    (SageMaker's ARN format, Service Authorization Reference)."""
    return (
        f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
        f":hyper-parameter-tuning-job/{job_prefix}-*"
    )


def tuning_statements(job_prefix: str) -> list[iam.PolicyStatement]:
    """What ``createHyperParameterTuningJob.sync`` needs besides passing the training role (IAM policies of the Step
    Functions developer guide's SageMaker AI integration, CreateHyperParameterTuningJob, Run a Job (.sync); the same
    Create/Describe/Stop actions and rule name as AWS's Step Functions Data Science SDK's execution policy,
    aws/aws-step-functions-data-science-sdk-python ``tests/integ/resources/StepFunctionsMLWorkflowExecutionFullAccess-
    Policy.json``): the tuning job actions on the pipeline's own tuning jobs, and the EventBridge managed rule Step
    Functions creates."""
    return [
        iam.PolicyStatement(
            sid="RunOwnTuningJobs",
            actions=[
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            ],
            resources=[tuning_job_arn(job_prefix)],
        ),
        iam.PolicyStatement(
            sid="TrackTuningJobsForSync",
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[
                f"arn:{cdk.Aws.PARTITION}:events:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:rule/{TUNING_SYNC_RULE_NAME}"
            ],
        ),
    ]
