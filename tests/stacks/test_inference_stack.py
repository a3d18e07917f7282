"""Assertions on the inference stack: the default Hugging Face endpoint and a gated JumpStart model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.constructs.sagemaker_role import ecr_repository_arn
from tests.synth import SynthResult

LLAMA2_NEURON_ENDPOINT = {
    "name": "llama2-7b",
    "source": {
        "kind": "jumpstart",
        "model_id": "meta-textgenerationneuron-llama-2-7b",
        "version": "1.0.0",
        "accept_eula": True,
    },
    "instance_type": "ml.inf2.xlarge",
    "data_capture": {"sampling_percentage": 25},
    "autoscaling": {"min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 5},
}


@pytest.fixture(scope="module")
def default(dev: SynthResult) -> Template:
    return dev.template("Inference")


@pytest.fixture(scope="module")
def gated(synth: Callable[..., SynthResult]) -> Template:
    stages = {"dev": {"endpoints": [LLAMA2_NEURON_ENDPOINT]}}
    return synth("dev", stages=stages).template("Inference")


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, got {len(resources)}"
    return dict(next(iter(resources.values()))["Properties"])


def _policy_statements(template: Template) -> dict[str, dict[str, Any]]:
    return {
        statement["Sid"]: statement
        for statement in _only(template, "AWS::IAM::Policy")["PolicyDocument"]["Statement"]
        if "Sid" in statement
    }


def test_default_model_runs_tgi_neuron_with_serving_variables(default: Template) -> None:
    model = _only(default, "AWS::SageMaker::Model")
    assert model["PrimaryContainer"] == {
        "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-tgi-inference:2.7.0-optimum3.3.6-neuronx-py310-ubuntu22.04",
        "Mode": "SingleModel",
        "Environment": {
            "HF_MODEL_ID": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            "HF_NUM_CORES": "2",
            "HF_AUTO_CAST_TYPE": "bf16",
            "HF_BATCH_SIZE": "4",
            "HF_SEQUENCE_LENGTH": "2048",
            "MAX_BATCH_SIZE": "4",
            "MAX_TOTAL_TOKENS": "2048",
        },
    }
    # The container downloads the model from the Hub, which network isolation would forbid.
    assert model["EnableNetworkIsolation"] is False


def test_gated_model_reads_uncompressed_artifacts_with_the_eula_accepted(gated: Template) -> None:
    container = _only(gated, "AWS::SageMaker::Model")["PrimaryContainer"]
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["S3Uri"] == (
        "s3://jumpstart-private-cache-prod-us-east-1/"
        "meta-textgenerationneuron/meta-textgenerationneuron-llama-2-7b/artifacts/inference-prepack/v1.0.0/"
    )
    assert source["S3DataType"] == "S3Prefix"
    assert source["CompressionType"] == "None"
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    assert "ModelDataUrl" not in container
    assert container["Image"].startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:")
    assert _only(gated, "AWS::SageMaker::Model")["EnableNetworkIsolation"] is True


def test_variant_carries_neuron_timeouts_instance_and_volume(gated: Template) -> None:
    (variant,) = _only(gated, "AWS::SageMaker::EndpointConfig")["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == "ml.inf2.xlarge"
    assert variant["InitialInstanceCount"] == 1
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 3600
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 3600
    assert variant["VolumeSizeInGB"] == 256


def test_endpoint_storage_and_data_capture_use_the_kit_key(default: Template) -> None:
    config = _only(default, "AWS::SageMaker::EndpointConfig")
    assert config["KmsKeyId"] == config["DataCaptureConfig"]["KmsKeyId"]
    assert "Fn::GetStackOutput" in config["KmsKeyId"] or "Fn::ImportValue" in config["KmsKeyId"]


def test_data_capture_samples_to_the_artifacts_bucket(gated: Template) -> None:
    capture = _only(gated, "AWS::SageMaker::EndpointConfig")["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 25
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["DestinationS3Uri"] == {
        "Fn::Join": [
            "",
            [
                "s3://genai-kit-dev-artifacts-",
                {"Ref": "AWS::AccountId"},
                "-",
                {"Ref": "AWS::Region"},
                "/data-capture/genai-kit-dev-llama2-7b/",
            ],
        ]
    }


def test_endpoint_updates_blue_green_and_rolls_back_on_its_alarms(default: Template) -> None:
    endpoint = _only(default, "AWS::SageMaker::Endpoint")
    assert endpoint["EndpointName"] == "genai-kit-dev-tinyllama"
    alarm_ids = sorted(default.find_resources("AWS::CloudWatch::Alarm"))
    deployment = endpoint["DeploymentConfig"]
    assert sorted(alarm["AlarmName"]["Ref"] for alarm in deployment["AutoRollbackConfiguration"]["Alarms"]) == alarm_ids
    assert deployment["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 14400,
    }


@pytest.mark.parametrize(
    ("metric", "statistic", "threshold"),
    [("Invocation5XXErrors", "Sum", 5), ("InvocationModelErrors", "Sum", 5), ("ModelLatency", None, 30_000_000)],
)
def test_alarms_page_the_topic(default: Template, metric: str, statistic: str | None, threshold: int) -> None:
    expected: dict[str, Any] = {
        "Namespace": "AWS/SageMaker",
        "MetricName": metric,
        "Dimensions": Match.array_with(
            [
                {"Name": "EndpointName", "Value": "genai-kit-dev-tinyllama"},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ]
        ),
        "Threshold": threshold,
        "Period": 300,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [Match.any_value()],
        "OKActions": [Match.any_value()],
    }
    if statistic:
        expected["Statistic"] = statistic
    else:
        expected["ExtendedStatistic"] = "p90"
    default.has_resource_properties("AWS::CloudWatch::Alarm", expected)


def test_autoscaling_tracks_invocations_per_instance(gated: Template) -> None:
    target = _only(gated, "AWS::ApplicationAutoScaling::ScalableTarget")
    # No RoleARN: Application Auto Scaling uses its service-linked role for SageMaker.
    assert {key: value for key, value in target.items() if key != "Tags"} == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/genai-kit-dev-llama2-7b/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 3,
    }
    policy = _only(gated, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 5,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
    }


def test_execution_role_is_assumed_only_by_sagemaker_and_has_no_managed_policy(default: Template) -> None:
    role = _only(default, "AWS::IAM::Role")
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role


def test_role_pulls_only_its_image_repository(default: Template) -> None:
    statement = _policy_statements(default)["PullServingImage"]
    assert statement["Action"] == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference",
            ],
        ]
    }


def test_role_wildcards_are_only_those_aws_forces(default: Template) -> None:
    statements = _policy_statements(default)
    unscoped = sorted(sid for sid, statement in statements.items() if statement["Resource"] == "*")
    assert unscoped == ["AuthenticateToEcr", "PublishOwnMetrics"]
    assert statements["AuthenticateToEcr"]["Action"] == "ecr:GetAuthorizationToken"
    assert statements["PublishOwnMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}
    }


def test_role_writes_only_its_own_log_group(default: Template) -> None:
    statement = _policy_statements(default)["WriteOwnLogs"]
    suffixes = [resource["Fn::Join"][1][-1] for resource in statement["Resource"]]
    assert suffixes == [
        ":log-group:/aws/sagemaker/Endpoints/genai-kit-dev-tinyllama",
        ":log-group:/aws/sagemaker/Endpoints/genai-kit-dev-tinyllama:log-stream:*",
    ]


def test_role_writes_data_capture_only_under_its_prefix(default: Template) -> None:
    statement = _policy_statements(default)["WriteDataCapture"]
    assert statement["Action"] == "s3:PutObject"
    assert statement["Resource"]["Fn::Join"][1][-1] == "/data-capture/genai-kit-dev-tinyllama/*"


def test_hub_model_reads_no_s3_artifacts(default: Template) -> None:
    assert not {"ReadModelArtifacts", "ListModelArtifacts"} & set(_policy_statements(default))


def test_gated_model_role_reads_only_its_artifact_prefix(gated: Template) -> None:
    statements = _policy_statements(gated)
    read, listing = statements["ReadModelArtifacts"], statements["ListModelArtifacts"]
    model_uri = _only(gated, "AWS::SageMaker::Model")["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"]
    key = model_uri.removeprefix("s3://jumpstart-private-cache-prod-us-east-1/")
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"]["Fn::Join"][1][-1] == f":s3:::jumpstart-private-cache-prod-us-east-1/{key}*"
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{key}*"]}}


def test_outputs_give_ops_the_name_model_size_and_invoke_line(default: Template) -> None:
    outputs = default.find_outputs("*")
    assert outputs["TinyllamaEndpointName"]["Value"] == "genai-kit-dev-tinyllama"
    assert outputs["TinyllamaModel"]["Value"] == "huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert outputs["TinyllamaInstances"]["Value"] == "ml.inf2.xlarge x 1-1"
    assert outputs["TinyllamaInvokeCommand"]["Value"] == (
        "aws sagemaker-runtime invoke-endpoint --region us-east-1 --endpoint-name genai-kit-dev-tinyllama "
        "--content-type application/json --cli-binary-format raw-in-base64-out "
        # the default TGI container serves the Messages API on /invocations (MESSAGES_API_ENABLED)
        """--body '{"messages":[{"role":"user","content":"What is AWS Inferentia2?"}],"max_tokens":64}' /dev/stdout"""
    )
    assert "TinyllamaEndpointArn" in outputs


def test_no_endpoints_means_no_inference_stack(synth: Callable[..., SynthResult]) -> None:
    assert "Inference" not in synth("dev", stages={"dev": {"endpoints": []}}).templates


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-neuronx-sdk2.19.1", "djl-inference"),
        ("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b:1.0", "a/b"),
    ],
)
def test_ecr_repository_arn_drops_the_tag(image: str, repository: str) -> None:
    assert ecr_repository_arn(image).endswith(f":repository/{repository}")
