"""Assertions on deploy on approval: the EventBridge rule, the deploy Lambda, its roles and the rollback alarms."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from genai_kit.config.training import ROLLOUT_RESERVED_CONCURRENCY
from genai_kit.contracts.training_deploy import DeployEnvironment
from genai_kit.stage import ConfigError, load_stage
from lambdas.training_deploy import events
from stacks.constructs.model_rollout import ENDPOINT_STATE_CHANGE, PACKAGE_STATE_CHANGE
from tests.synth import SynthResult, kit_context

ENDPOINT = "genai-kit-dev-finetuned"
ALARMS = [f"{ENDPOINT}-invocation-5xx", f"{ENDPOINT}-model-errors", f"{ENDPOINT}-model-latency-p90"]


@pytest.fixture(scope="module")
def training(dev: SynthResult) -> Template:
    return dev.template("Training")


def _resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template.find_resources(resource_type).items()}


def _statements(template: Template, path_part: str) -> dict[str, dict[str, Any]]:
    """Statements by Sid of the one IAM policy whose logical id contains ``path_part``."""
    (policy,) = [p for k, p in _resources(template, "AWS::IAM::Policy").items() if path_part in k]
    return {s.get("Sid") or ",".join(s["Action"]): s for s in policy["PolicyDocument"]["Statement"]}


def _tail(resource: Any) -> str:
    """The literal end of an ARN built with Fn::Join (what follows the account pseudo parameter)."""
    return str(resource["Fn::Join"][1][-1])


def _deploy_function(template: Template) -> dict[str, Any]:
    (function,) = [f for k, f in _resources(template, "AWS::Lambda::Function").items() if "DeployFunction" in k]
    return function


def _rule(template: Template, detail_type: str) -> dict[str, Any]:
    (rule,) = [
        r
        for r in _resources(template, "AWS::Events::Rule").values()
        if r["EventPattern"]["detail-type"] == [detail_type]
    ]
    return rule


def test_rule_sends_approved_and_rejected_versions_of_the_kit_group_to_the_deploy_lambda(training: Template) -> None:
    rule = _rule(training, PACKAGE_STATE_CHANGE)
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": ["genai-kit-dev-finetuned"],
            "ModelApprovalStatus": ["Approved", "Rejected"],
        },
    }
    (target,) = rule["Targets"]
    assert "DeployFunction" in target["Arn"]["Fn::GetAtt"][0]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2}


def test_every_state_change_of_the_fine_tuned_endpoint_reaches_the_deploy_lambda(training: Template) -> None:
    rule = _rule(training, ENDPOINT_STATE_CHANGE)
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Endpoint State Change"],
        "detail": {"EndpointName": [ENDPOINT]},
    }
    (target,) = rule["Targets"]
    assert "DeployFunction" in target["Arn"]["Fn::GetAtt"][0]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [_queue_id(training), "Arn"]}}
    statement = _statements(training, "RolloutDeployFunctionRole")["TrackRolloutOutcome"]
    assert statement["Action"] == ["sagemaker:DeleteTags", "sagemaker:ListTags"]
    assert _tail(statement["Resource"]) == f":endpoint/{ENDPOINT}"


def test_the_rules_match_the_detail_types_the_function_handles() -> None:
    assert (PACKAGE_STATE_CHANGE, ENDPOINT_STATE_CHANGE) == (events.PACKAGE_STATE_CHANGE, events.ENDPOINT_STATE_CHANGE)


def _queue_id(template: Template) -> str:
    (queue_id,) = template.find_resources("AWS::SQS::Queue")
    return queue_id


def test_the_deploy_lambda_handles_one_event_at_a_time(training: Template) -> None:
    # An approval and the endpoint's state change must not interleave; preflight counts the same reservation.
    assert _deploy_function(training)["ReservedConcurrentExecutions"] == ROLLOUT_RESERVED_CONCURRENCY == 1


def test_failed_invocation_is_retried_twice_then_kept_in_the_failure_queue(training: Template) -> None:
    (config,) = _resources(training, "AWS::Lambda::EventInvokeConfig").values()
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [_queue_id(training), "Arn"]}}}
    (target,) = _rule(training, PACKAGE_STATE_CHANGE)["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [_queue_id(training), "Arn"]}}


def test_failure_queue_is_encrypted_with_the_kit_key_and_takes_only_tls_and_the_rule(training: Template) -> None:
    (queue,) = _resources(training, "AWS::SQS::Queue").values()
    assert queue["KmsMasterKeyId"]["Fn::GetStackOutput"]["StackName"] == "GenAiKit-dev-Foundation"
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = _resources(training, "AWS::SQS::QueuePolicy").values()
    deny, *allows = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    assert {allow["Principal"]["Service"] for allow in allows} == {"events.amazonaws.com"}
    assert {allow["Action"] for allow in allows} == {"sqs:SendMessage"}
    rules = sorted(allow["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0][:-8] for allow in allows)
    assert rules == ["RolloutApprovalRule", "RolloutEndpointStateRule"]
    statement = _statements(training, "RolloutDeployFunctionRole")["KeepFailedEvents"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [_queue_id(training), "Arn"]}


def test_a_message_in_the_failure_queue_pages_the_topic(training: Template) -> None:
    (alarm,) = [
        a
        for a in _resources(training, "AWS::CloudWatch::Alarm").values()
        if a.get("Namespace") == "AWS/SQS" and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [_queue_id(training), "QueueName"]}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["Statistic"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        "Maximum",
    )
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"]
    assert alarm["AlarmActions"][0]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefAlarmTopic")


def test_deploy_lambda_environment_names_the_endpoint_alarms_and_neuron_settings(training: Template) -> None:
    function = _deploy_function(training)
    assert function["Handler"] == "lambdas.training_deploy.handler.handler"
    env = function["Environment"]["Variables"]
    assert {k: v for k, v in env.items() if isinstance(v, str)} == {
        "POWERTOOLS_SERVICE_NAME": "training_deploy",
        "POWERTOOLS_METRICS_NAMESPACE": "GenAiKit/FineTuning",
        "MODEL_PACKAGE_GROUP_NAME": "genai-kit-dev-finetuned",
        "RESOURCE_PREFIX": "genai-kit-dev-ft",
        "ENDPOINT_NAME": ENDPOINT,
        "INSTANCE_TYPE": "ml.inf2.xlarge",
        "INSTANCE_COUNT": "1",
        "MODEL_DATA_DOWNLOAD_TIMEOUT": "3600",
        "CONTAINER_STARTUP_HEALTH_CHECK_TIMEOUT": "3600",
        "VOLUME_SIZE_GB": "256",
        "DATA_CAPTURE_ENABLED": "true",
        "DATA_CAPTURE_SAMPLING_PERCENTAGE": "10",
        "WAIT_INTERVAL_SECONDS": "600",
        "TERMINATION_WAIT_SECONDS": "300",
        "MAXIMUM_EXECUTION_TIMEOUT_SECONDS": "14400",
        "ROLLBACK_ALARMS": json.dumps(ALARMS, separators=(",", ":")),
        "TAGS": '{"genai-kit:stage":"dev"}',
    }
    assert _tail(env["DATA_CAPTURE_URI"]) == f"/data-capture/{ENDPOINT}/"
    assert _tail(env["MODEL_DATA_PREFIX"]) == "/training/output/"
    assert {"EXECUTION_ROLE_ARN", "KMS_KEY_ARN", "TOPIC_ARN"} <= set(env)
    assert env["FAILURE_QUEUE_URL"] == {"Ref": _queue_id(training)}


def test_rollback_alarms_exist_before_the_endpoint_and_page_the_topic(training: Template) -> None:
    alarms = {a["AlarmName"]: a for a in _resources(training, "AWS::CloudWatch::Alarm").values() if "AlarmName" in a}
    assert sorted(alarms) == sorted(ALARMS)
    for alarm in alarms.values():
        assert {"Name": "EndpointName", "Value": ENDPOINT} in alarm["Dimensions"]
        assert {"Name": "VariantName", "Value": "AllTraffic"} in alarm["Dimensions"]
        assert len(alarm["AlarmActions"]) == 1
    assert alarms[f"{ENDPOINT}-model-latency-p90"]["ExtendedStatistic"] == "p90"


def test_deploy_lambda_touches_only_the_kit_names(training: Template) -> None:
    statements = _statements(training, "RolloutDeployFunctionRole")
    assert _tail(statements["ReadModelPackages"]["Resource"]) == ":model-package/genai-kit-dev-finetuned/*"
    assert _tail(statements["ManageVersionModels"]["Resource"]) == ":model/genai-kit-dev-ft-*"
    assert _tail(statements["ManageVersionEndpointConfigs"]["Resource"]) == ":endpoint-config/genai-kit-dev-ft-*"
    rollout = statements["RollOutEndpoint"]
    assert rollout["Action"] == ["sagemaker:CreateEndpoint", "sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpoint"]
    assert sorted(_tail(r) for r in rollout["Resource"]) == [
        ":endpoint-config/genai-kit-dev-ft-*",
        f":endpoint/{ENDPOINT}",
    ]
    assert statements["ReplaceFailedEndpoint"]["Action"] == "sagemaker:DeleteEndpoint"
    assert _tail(statements["ReplaceFailedEndpoint"]["Resource"]) == f":endpoint/{ENDPOINT}"
    assert _tail(statements["CheckModelData"]["Resource"]) == "/training/output/*"
    assert statements["CheckModelData"]["Action"] == "s3:GetObject"
    assert statements["ListModelData"]["Condition"] == {"StringLike": {"s3:prefix": ["training/output/*"]}}
    assert statements["GrantKeyToEndpointStorage"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert statements["Notify"]["Action"] == "sns:Publish"
    unscoped = sorted(sid for sid, s in statements.items() if s["Resource"] == "*")
    assert unscoped == ["xray:PutTelemetryRecords,xray:PutTraceSegments"]


def test_deploy_lambda_passes_only_the_serving_role_and_only_to_sagemaker(training: Template) -> None:
    statement = _statements(training, "RolloutDeployFunctionRole")["PassServingRoleToSageMaker"]
    assert statement["Action"] == "iam:PassRole"
    assert "ServingRole" in statement["Resource"]["Fn::GetAtt"][0]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_serving_role_reads_only_training_output_and_pulls_only_the_serving_image(training: Template) -> None:
    (role,) = [r for k, r in _resources(training, "AWS::IAM::Role").items() if "ServingRole" in k]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    statements = _statements(training, "RolloutServingRole")
    assert _tail(statements["ReadFineTunedWeights"]["Resource"]) == "/training/output/*"
    assert statements["ListFineTunedWeights"]["Condition"] == {"StringLike": {"s3:prefix": ["training/output/*"]}}
    assert _tail(statements["WriteDataCapture"]["Resource"]) == f"/data-capture/{ENDPOINT}/*"
    assert _tail(statements["PullServingImage"]["Resource"]).startswith(":ecr:us-east-1:763104351884:repository/")
    unscoped = sorted(sid for sid, s in statements.items() if s["Resource"] == "*")
    assert unscoped == ["AuthenticateToEcr", "PublishOwnMetrics"]


def test_outputs_name_the_endpoint_and_how_to_approve(training: Template) -> None:
    outputs = training.find_outputs("*")
    assert outputs["FineTunedEndpointName"]["Value"] == ENDPOINT
    assert outputs["RolloutFailureQueueUrl"]["Value"] == {"Ref": _queue_id(training)}
    command = "".join(p if isinstance(p, str) else "<token>" for p in outputs["ApproveCommand"]["Value"]["Fn::Join"][1])
    assert command == (
        "aws sagemaker update-model-package --region us-east-1 --model-package-arn "
        "arn:aws:sagemaker:us-east-1:<token>:model-package/genai-kit-dev-finetuned/<version> "
        "--model-approval-status Approved"
    )


def test_rollout_can_be_turned_off(synth: Callable[..., SynthResult]) -> None:
    template = synth("dev", stages={"dev": {"training": {"rollout": {"enabled": False}}}}).template("Training")
    template.resource_count_is("AWS::Events::Rule", 0)
    template.resource_count_is("AWS::SQS::Queue", 0)
    assert "FineTunedEndpointName" not in template.find_outputs("*")


def test_rollout_settings_reach_the_deploy_lambda(synth: Callable[..., SynthResult]) -> None:
    rollout = {"instance_count": 2, "blue_green": {"wait_interval_seconds": 900}, "data_capture": {"enabled": False}}
    template = synth("dev", stages={"dev": {"training": {"rollout": rollout}}}).template("Training")
    env = _deploy_function(template)["Environment"]["Variables"]
    assert (env["INSTANCE_COUNT"], env["WAIT_INTERVAL_SECONDS"], env["DATA_CAPTURE_ENABLED"]) == ("2", "900", "false")


def test_an_endpoint_named_finetuned_clashes_with_the_rollout() -> None:
    endpoint = {
        "name": "finetuned",
        "source": {
            "kind": "s3",
            "s3_uri": "s3://bucket/weights/",
            "container": "djl-neuronx",
            "container_version": "0.29.0",
        },
    }
    with pytest.raises(ConfigError) as error:
        load_stage(kit_context(overrides={"stages": {"dev": {"endpoints": [endpoint]}}}))
    assert error.value.problems == [
        "stages.dev: endpoint name 'finetuned' is taken by the fine-tuned model's endpoint (training.rollout); "
        "choose another name"
    ]


def test_the_deploy_functions_synthesized_environment_is_what_its_handler_reads(training: Template) -> None:
    # Every CloudFormation value (an ARN, a queue URL) shown as TOKEN, as a deployed function would see a string.
    variables = {
        name: value if isinstance(value, str) else "TOKEN"
        for name, value in _deploy_function(training)["Environment"]["Variables"].items()
    }
    environment = DeployEnvironment.from_environment(variables)
    assert environment.endpoint_name == ENDPOINT
    assert list(environment.rollback_alarms) == ALARMS
    assert environment.to_environment().keys() <= variables.keys()
