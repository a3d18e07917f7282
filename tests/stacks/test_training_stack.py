"""Assertions on the training stack: the state machine, the roles (least privilege) and the pipeline Lambdas."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from genai_kit.cdk_context import cdk_json_context
from genai_kit.config import StorageConfig
from genai_kit.config.training import RolloutConfig, TrainingConfig
from genai_kit.contracts.base import FunctionEnvironment
from genai_kit.contracts.training_evaluate import EvaluateEnvironment
from genai_kit.contracts.training_failure import FailureEnvironment
from genai_kit.contracts.training_prepare import SETTINGS_FILE, PipelineSettings, PrepareEnvironment
from genai_kit.contracts.training_validate_dataset import ValidateDatasetEnvironment
from genai_kit.names import StageNames
from genai_kit.stage import ConfigError, load_stage
from genai_kit.stage.training import resolve_training
from stacks.foundation_stack import FoundationStack
from stacks.training_stack import TrainingStack
from tests.synth import SynthResult, kit_context

# Each pipeline function's handler and the contract its environment is written and read with.
CONTRACTS: dict[str, type[FunctionEnvironment]] = {
    "lambdas.training_prepare.handler.check_input": PrepareEnvironment,
    "lambdas.training_prepare.handler.handler": PrepareEnvironment,
    "lambdas.training_validate_dataset.handler.handler": ValidateDatasetEnvironment,
    "lambdas.training_evaluate.handler.handler": EvaluateEnvironment,
    "lambdas.training_failure.handler.handler": FailureEnvironment,
}


@pytest.fixture(scope="module")
def training(dev: SynthResult) -> Template:
    return dev.template("Training")


@pytest.fixture(scope="module")
def alone() -> Template:
    """The training stack built alone, from the default training section resolved for a stage "qa" without rollout."""
    app = cdk.App(context=cdk_json_context(), builtin_cloud_formation_validation=False)  # the kit's feature flags
    env = cdk.Environment(account="123456789012", region="us-west-2")
    names = StageNames("qa")
    foundation = FoundationStack(
        app, "Foundation", names=names, storage=StorageConfig(), removal_policy="destroy", alarm_emails=(), env=env
    )
    resolved = resolve_training(
        TrainingConfig(rollout=RolloutConfig(enabled=False)), stage=names.stage, region="us-west-2"
    )
    stack = TrainingStack(app, "Training", names=names, training=resolved, foundation=foundation, tags={}, env=env)
    return Template.from_stack(stack)


def _resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template.find_resources(resource_type).items()}


def _render(value: Any) -> str:
    """A CloudFormation string value as text, each intrinsic function shown as a placeholder: ``<Logical.Arn>``,
    ``<AWS::Partition>``, ``<Output:name>`` (another stack's output), ``<AWS::AccountId>`` inside a ``Fn::Sub``."""
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Fn::Join":
        return str(argument[0]).join(_render(part) for part in argument[1])
    if function == "Fn::GetAtt":
        return f"<{argument[0]}.{argument[1]}>"
    if function == "Ref":
        return f"<{argument}>"
    if function == "Fn::GetStackOutput":
        return f"<Output:{argument['OutputName']}>"
    if function == "Fn::Sub" and isinstance(argument, str):
        # A CDK asset's S3 URL: the bootstrap bucket named by ${AWS::AccountId} and ${AWS::Region}.
        return argument.replace("${", "<").replace("}", ">")
    raise AssertionError(f"no placeholder for {function}")


def _definition(template: Template) -> dict[str, Any]:
    """The state machine definition as a document, with placeholders for what CloudFormation resolves."""
    (machine,) = _resources(template, "AWS::StepFunctions::StateMachine").values()
    definition: dict[str, Any] = json.loads(_render(machine["DefinitionString"]))
    return definition


def _policy(template: Template, path_part: str) -> dict[str, dict[str, Any]]:
    """Statements by Sid (or by action) of the one IAM policy whose logical id contains ``path_part``."""
    (policy,) = [p for k, p in _resources(template, "AWS::IAM::Policy").items() if path_part in k]
    statements = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statements[statement.get("Sid") or ",".join(actions)] = statement
    return statements


def _function(template: Template, handler: str) -> dict[str, Any]:
    (function,) = [f for f in _resources(template, "AWS::Lambda::Function").values() if f["Handler"] == handler]
    return function


def _variables(function: dict[str, Any]) -> dict[str, str]:
    """The function's environment with every CloudFormation value (an ARN, a bucket name) shown as TOKEN."""
    return {
        name: value if isinstance(value, str) else "TOKEN"
        for name, value in function["Environment"]["Variables"].items()
    }


@pytest.mark.parametrize("handler", sorted(CONTRACTS))
def test_the_synthesized_environment_is_what_the_function_reads(training: Template, handler: str) -> None:
    environment = CONTRACTS[handler].from_environment(_variables(_function(training, handler)))
    assert environment.to_environment().keys() <= _variables(_function(training, handler)).keys()


def test_the_prepare_functions_read_the_settings_file_of_their_asset(dev: SynthResult) -> None:
    for handler in ("lambdas.training_prepare.handler.check_input", "lambdas.training_prepare.handler.handler"):
        asset = dev.assembly_dir / f"asset.{_function(dev.template('Training'), handler)['Code']['S3Key'][:-4]}"
        settings = PipelineSettings.model_validate_json(
            (asset / "lambdas" / "training_prepare" / SETTINGS_FILE).read_text(encoding="utf-8")
        )
        assert settings.default_instance_type == "ml.trn1.32xlarge"
        assert (asset / "genai_kit" / "contracts" / "training_prepare.py").is_file()


def test_train_state_runs_sagemaker_sync_with_the_fixed_role(training: Template) -> None:
    train = _definition(training)["States"]["Train"]
    assert train["Resource"] == "arn:<AWS::Partition>:states:::sagemaker:createTrainingJob.sync"
    (role,) = [logical_id for logical_id in _resources(training, "AWS::IAM::Role") if "TrainingRole" in logical_id]
    assert train["Parameters"]["RoleArn"] == f"<{role}.Arn>"
    assert train["Parameters"]["TrainingJobName.$"] == "$.prepared.request.TrainingJobName"
    assert train["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DescribeFailure"}]
    assert train["Retry"][0]["ErrorEquals"] == ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"]


def test_the_first_state_gives_the_whole_input_to_the_check_and_reads_no_path_of_it(training: Template) -> None:
    definition = _definition(training)
    assert definition["StartAt"] == "CheckInput"
    check = definition["States"]["CheckInput"]
    # No Parameters, InputPath or ResultPath: nothing to fail on an array or a string, nothing added to its size.
    assert set(check) == {"Type", "Resource", "ResultSelector", "Retry", "Catch", "Next"}
    assert check["ResultSelector"] == {"checked.$": "$"}
    assert check["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$", "Next": "CheckInputErrored"}]
    assert definition["States"]["CheckInputErrored"] == {
        "Type": "Pass",
        "Parameters": {"error.$": "$"},
        "Next": "DescribeFailure",
    }


def test_each_step_writes_its_result_where_describe_failure_looks_for_it(training: Template) -> None:
    states = _definition(training)["States"]
    (function,) = [
        f for f in _resources(training, "AWS::Lambda::Function").values() if "training_failure" in f["Handler"]
    ]
    steps = json.loads(function["Environment"]["Variables"]["STEPS"])
    assert [state for state, _ in steps] == [
        "CheckInput",
        "Prepare",
        "ValidateDataset",
        "Train",
        "Evaluate",
        "Register",
    ]
    assert function["Environment"]["Variables"]["TRAINING_STEP"] == "Train"
    for state, result in steps[1:]:
        assert states[state]["ResultPath"] == f"$.{result}"
    assert states["CheckInput"]["ResultSelector"] == {f"{steps[0][1]}.$": "$"}


def test_every_task_is_caught_and_every_path_notifies(training: Template) -> None:
    states = _definition(training)["States"]
    tasks = [name for name, state in states.items() if state["Type"] == "Task" and name != "Notify"]
    assert sorted(tasks) == [
        "CheckInput",
        "DescribeFailure",
        "Evaluate",
        "Prepare",
        "Register",
        "Train",
        "ValidateDataset",
    ]
    assert all(states[name]["Catch"][0]["ErrorEquals"] == ["States.ALL"] for name in tasks)
    assert {states[name]["Catch"][0]["Next"] for name in tasks} == {
        "CheckInputErrored",
        "DescribeFailure",
        "FailureNotDescribed",
    }
    outcomes = [name for name, state in states.items() if state["Type"] == "Pass" and name != "CheckInputErrored"]
    assert sorted(outcomes) == [
        "DatasetRefused",
        "FailureNotDescribed",
        "InputRefused",
        "Registered",
        "Rejected",
        "StepFailed",
    ]
    assert {states[name]["Next"] for name in outcomes} == {"Notify"}
    assert states["DescribeFailure"]["Next"] == "StepFailed"
    assert states["Failed"] == {"Type": "Fail", "ErrorPath": "$.outcome.error", "CausePath": "$.outcome.reason"}
    assert states["NotificationFailed"] == {
        "Type": "Fail",
        "Error": "NotificationFailed",
        "CausePath": "States.JsonToString($.error)",
    }


@pytest.fixture(params=["stage", "alone"])
def either(request: pytest.FixtureRequest, training: Template) -> Template:
    """The training template of the whole stage's synth, then of the stack built alone."""
    return training if request.param == "stage" else request.getfixturevalue("alone")


def _transitions(state: dict[str, Any]) -> list[str]:
    """The names of the states ``state`` can go to: its Next, its Catch targets, its Choices and Default."""
    targets = [state["Next"]] if "Next" in state else []
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    return targets + ([state["Default"]] if "Default" in state else [])


def test_every_transition_of_the_definition_goes_to_a_state_and_every_state_is_reached(either: Template) -> None:
    definition = _definition(either)
    states = definition["States"]
    reached, pending = set(), [definition["StartAt"]]
    while pending:
        name = pending.pop()
        assert name in states, f"no state {name!r}"
        if name not in reached:
            reached.add(name)
            pending += _transitions(states[name])
    assert reached == set(states)
    for name, state in states.items():
        ends = state["Type"] in ("Succeed", "Fail", "Choice") or state.get("End") is True
        assert ends != ("Next" in state), f"{name} must either go on (Next) or end"


def _needs(state: dict[str, Any], job_prefix: str) -> list[tuple[str, str]]:
    """The actions, each with the resource it acts on, that running the Task ``state`` takes: a Lambda function's
    invocation, or what the service integration calls ("Integrating services with Step Functions", Step Functions
    developer guide; for a .sync training job, the job's actions and the managed rule that tracks it)."""
    resource, parameters = state["Resource"], state.get("Parameters", {})
    if resource.startswith("<"):  # a function's ARN: the function is invoked with the state's input
        return [("lambda:InvokeFunction", resource)]
    sagemaker, events = (
        f"arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>" for service in ("sagemaker", "events")
    )
    integration = resource.removeprefix("arn:<AWS::Partition>:states:::")
    if integration == "sagemaker:createTrainingJob.sync":
        job = f"{sagemaker}:training-job/{job_prefix}-run-1"
        rule = f"{events}:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
        return [
            *((f"sagemaker:{action}TrainingJob", job) for action in ("Create", "Describe", "Stop")),
            *((f"events:{action}", rule) for action in ("PutTargets", "PutRule", "DescribeRule")),
            ("iam:PassRole", parameters["RoleArn"]),
        ]
    if integration == "sns:publish":
        return [("sns:Publish", parameters["TopicArn"])]
    if integration == "aws-sdk:sagemaker:createModelPackage":
        group = parameters["ModelPackageGroupName"]
        return [
            ("sagemaker:CreateModelPackage", f"{sagemaker}:model-package-group/{group}"),
            ("sagemaker:CreateModelPackage", f"{sagemaker}:model-package/{group}/1"),
        ]
    raise AssertionError(f"no known permissions for {resource}")


def _allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether an Allow statement names ``action`` (IAM actions are case-insensitive) on ``resource``."""
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if (
            statement["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
            and any(fnmatch.fnmatchcase(resource, _render(r)) for r in resources)
        ):
            return True
    return False


def test_the_state_machine_role_permits_what_every_task_does(either: Template) -> None:
    statements = list(_policy(either, "StateMachineRole").values())
    job_prefix = PrepareEnvironment.from_environment(
        _variables(_function(either, "lambdas.training_prepare.handler.handler"))
    ).training_job_prefix
    tasks = {name: state for name, state in _definition(either)["States"].items() if state["Type"] == "Task"}
    assert len(tasks) == 8
    for name, state in tasks.items():
        for action, resource in _needs(state, job_prefix):
            assert _allows(statements, action, resource), f"{name}: {action} on {resource}"


def test_the_state_machine_is_created_after_its_role_can_run_the_tasks(either: Template) -> None:
    (machine,) = either.find_resources("AWS::StepFunctions::StateMachine").values()
    (policy,) = [k for k in either.find_resources("AWS::IAM::Policy") if "StateMachineRole" in k]
    assert policy in machine["DependsOn"]


def test_describe_failure_may_only_describe_the_pipelines_training_jobs(training: Template) -> None:
    statements = _policy(training, "DescribeFailureFunctionRole")
    assert sorted(statements) == [
        "DescribeOwnTrainingJobs",
        "WriteOwnLogs",
        "xray:PutTelemetryRecords,xray:PutTraceSegments",
    ]
    jobs = statements["DescribeOwnTrainingJobs"]
    assert jobs["Action"] == "sagemaker:DescribeTrainingJob"
    assert jobs["Resource"]["Fn::Join"][1][-1] == ":training-job/genai-kit-dev-ft-*"


def test_evaluate_reads_only_its_own_groups_versions_and_gets_what_the_report_records(training: Template) -> None:
    statements = _policy(training, "EvaluateFunctionRole")
    registry = statements["ReadOwnModelPackages"]
    assert sorted(registry["Action"]) == ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"]
    assert sorted(_render(arn) for arn in registry["Resource"]) == [
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package-group/genai-kit-dev-finetuned",
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/genai-kit-dev-finetuned/*",
    ]
    variables = _variables(_function(training, "lambdas.training_evaluate.handler.handler"))
    assert EvaluateEnvironment.from_environment(variables).model_package_group_name == "genai-kit-dev-finetuned"
    assert _definition(training)["States"]["Evaluate"]["Parameters"] == {
        "trainingJobName.$": "$.training.TrainingJobName",
        "dataset": {"uri.$": "$.prepared.dataset.uri", "contentSha256.$": "$.dataset.contentSha256"},
        "summary.$": "$.prepared.summary",
    }


def test_register_creates_a_version_pending_approval_served_on_inf2(training: Template) -> None:
    register = _definition(training)["States"]["Register"]
    assert register["Resource"] == "arn:<AWS::Partition>:states:::aws-sdk:sagemaker:createModelPackage"
    parameters = register["Parameters"]
    assert parameters["ModelApprovalStatus"] == "PendingManualApproval"
    assert parameters["ModelPackageGroupName"] == "genai-kit-dev-finetuned"
    assert parameters["ClientToken.$"] == "$.prepared.clientToken"
    spec = parameters["InferenceSpecification"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.inf2.xlarge"]
    assert spec["Containers"][0]["Environment"]["OPTION_TENSOR_PARALLEL_DEGREE"] == "2"


def test_state_machine_passes_only_the_training_role_and_only_to_sagemaker(training: Template) -> None:
    statement = _policy(training, "StateMachineRole")["PassTrainingRoleToSageMaker"]
    assert statement["Action"] == "iam:PassRole"
    assert statement["Resource"] == {"Fn::GetAtt": [statement["Resource"]["Fn::GetAtt"][0], "Arn"]}
    assert "TrainingRole" in statement["Resource"]["Fn::GetAtt"][0]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_state_machine_runs_only_its_own_training_jobs(training: Template) -> None:
    statements = _policy(training, "StateMachineRole")
    jobs = statements["RunOwnTrainingJobs"]
    assert jobs["Action"] == [
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
    ]
    assert jobs["Resource"]["Fn::Join"][1][-1] == ":training-job/genai-kit-dev-ft-*"
    rule = statements["TrackTrainingJobsForSync"]
    assert rule["Resource"]["Fn::Join"][1][-1] == ":rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
    assert statements["sagemaker:createModelPackage"]["Resource"][0]["Fn::Join"][1][-1] == (
        ":model-package-group/genai-kit-dev-finetuned"
    )


def test_training_role_is_sagemaker_only_and_reads_only_the_datasets_folder(training: Template) -> None:
    (role,) = [r for k, r in _resources(training, "AWS::IAM::Role").items() if "TrainingRole" in k]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    statements = _policy(training, "TrainingRole")
    assert statements["ReadDatasets"]["Resource"]["Fn::Join"][1][-1] == "/fine-tuning/*"
    jumpstart = sorted(r["Fn::Join"][1][-1] for r in statements["ReadJumpStartArtifacts"]["Resource"])
    assert jumpstart == [
        ":s3:::jumpstart-cache-prod-us-east-1/source-directory-tarballs/meta/transfer_learning/textgenerationneuron/"
        "prepack/v1.0.0/sourcedir.tar.gz",
        ":s3:::jumpstart-private-cache-prod-us-east-1/meta-training/trn1/v1.0.0/"
        "train-meta-textgenerationneuron-llama-2-7b.tar.gz",
        ":s3:::jumpstart-private-cache-prod-us-east-1/meta-training/trn1n/v1.0.0/"
        "train-meta-textgenerationneuron-llama-2-7b.tar.gz",
    ]
    assert statements["PullTrainingImage"]["Resource"]["Fn::Join"][1][-1] == (
        ":ecr:us-east-1:763104351884:repository/pytorch-training-neuronx"
    )
    unscoped = sorted(sid for sid, s in statements.items() if s["Resource"] == "*")
    assert unscoped == ["AuthenticateToEcr", "PublishOwnMetrics"]


def test_lambdas_use_powertools_layer_and_encrypted_log_groups(training: Template) -> None:
    functions = _resources(training, "AWS::Lambda::Function")
    assert len(functions) == 6
    for function in functions.values():
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["x86_64"]
        assert function["Layers"] == [
            "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
        ]
        assert function["TracingConfig"] == {"Mode": "Active"}
    for log_group in _resources(training, "AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in log_group
        assert log_group["RetentionInDays"] == 90


def test_outputs_give_a_ready_to_run_start_execution_line(training: Template) -> None:
    outputs = training.find_outputs("*")
    assert {"StateMachineArn", "ModelPackageGroupName", "DatasetsPrefix", "StartExecutionCommand"} <= set(outputs)
    command = "".join(
        p if isinstance(p, str) else "<arn>" for p in outputs["StartExecutionCommand"]["Value"]["Fn::Join"][1]
    )
    assert command.startswith("aws stepfunctions start-execution --region us-east-1 --state-machine-arn <arn> --name ")
    sample = json.loads(command.split("--input '", 1)[1].rstrip("'").replace("<arn>", ""))
    assert sample["accept_eula"] is True
    assert sample["instance_type"] == "ml.trn1.32xlarge"


def test_foundation_key_lets_cloudwatch_logs_encrypt_the_account_log_groups(dev: SynthResult) -> None:
    (key,) = _resources(dev.template("Foundation"), "AWS::KMS::Key").values()
    (statement,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowCloudWatchLogsToEncrypt"]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert condition["Fn::Join"][1][-1] == ":log-group:*"


def test_disabled_training_deploys_no_training_stack(synth: Callable[..., SynthResult]) -> None:
    result = synth("dev", stages={"dev": {"training": {"enabled": False}}})
    assert "Training" not in result.templates


@pytest.mark.parametrize(
    ("training", "expected"),
    [
        (
            {"hyperparameters": {"learning_rate": 5}},
            "stages.dev.training: hyperparameters.learning_rate: hyperparameter 'learning_rate' of "
            "meta-textgenerationneuron-llama-2-7b@1.0.0 cannot be 5: allowed <= 1",
        ),
        (
            {"hyperparameters": {"sagemaker_program": "x.py"}},
            "stages.dev.training: hyperparameters.sagemaker_program: set by the training container, not configurable",
        ),
        (
            {"instance_type": "ml.inf2.xlarge"},
            "stages.dev.training: instance_type: got 'ml.inf2.xlarge'; meta-textgenerationneuron-llama-2-7b@1.0.0 "
            "trains on: ml.trn1.32xlarge, ml.trn1n.32xlarge",
        ),
        (
            {"thresholds": [{"metric": "loss", "max": 1}]},
            "stages.dev.training: thresholds.0.metric: metric 'loss' is not reported by "
            "meta-textgenerationneuron-llama-2-7b@1.0.0; its metrics are: meta-textgenerationneuron:train-loss",
        ),
        (
            {
                "thresholds": [
                    {"metric": "meta-textgenerationneuron:train-loss", "max": 1},
                    {"metric": "meta-textgenerationneuron:train-loss", "max_metric": "base_eval_loss"},
                ]
            },
            "stages.dev.training: thresholds.1.max_metric: metric 'base_eval_loss' is not reported by "
            "meta-textgenerationneuron-llama-2-7b@1.0.0; its metrics are: meta-textgenerationneuron:train-loss",
        ),
        (
            {"thresholds": [{"metric": "meta-textgenerationneuron:train-loss"}]},
            "stages.dev.training.thresholds.0: threshold for 'meta-textgenerationneuron:train-loss' sets none of "
            "max, min, max_metric, min_metric; expected at least one",
        ),
        (
            {"dataset": {"max_record_kb": 65537}},
            "stages.dev.training.dataset.max_record_kb: got 65537; input should be less than or equal to 65536",
        ),
        (
            {"spot": {"enabled": True}, "warm_pool_seconds": 600},
            "stages.dev.training: warm_pool_seconds: SageMaker warm pools do not work with managed spot training",
        ),
    ],
)
def test_bad_training_settings_stop_synth_naming_the_key(training: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_stage(kit_context(overrides={"stages": {"dev": {"training": training}}}))
    assert error.value.problems == [expected]


def test_the_stack_built_alone_names_everything_after_its_stage(alone: Template) -> None:
    (group,) = _resources(alone, "AWS::SageMaker::ModelPackageGroup").values()
    assert group["ModelPackageGroupName"] == "genai-kit-qa-finetuned"
    jobs = _policy(alone, "StateMachineRole")["RunOwnTrainingJobs"]
    assert jobs["Resource"]["Fn::Join"][1][-1] == ":training-job/genai-kit-qa-ft-*"
    assert _definition(alone)["States"]["Register"]["Parameters"]["ModelPackageGroupName"] == "genai-kit-qa-finetuned"


def test_without_rollout_the_stack_has_the_pipeline_only(alone: Template) -> None:
    assert not alone.find_resources("AWS::Events::Rule")
    assert not alone.find_resources("AWS::SQS::Queue")
    assert len(_resources(alone, "AWS::Lambda::Function")) == 5
    assert set(alone.find_outputs("*")) == {
        "StateMachineArn",
        "ModelPackageGroupName",
        "DatasetsPrefix",
        "TrainingModel",
        "StartExecutionCommand",
    }
