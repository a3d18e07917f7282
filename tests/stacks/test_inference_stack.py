"""Assertions on the inference stack: the default prepared Hugging Face endpoint and a gated JumpStart model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from aws_cdk.assertions import Match, Template
from botocore.validate import validate_parameters

from stacks.constructs.sagemaker_role import ecr_repository_arn
from tests.service_model import violations
from tests.synth import SynthResult

REVISION = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
PREFIX = (
    f"prepared-models/TinyLlama/TinyLlama-1.1B-Chat-v1.0/{REVISION}/huggingface-llm-neuronx-0.3.0/"
    "tp2-batch4-seq2048-input1024-bf16/"
)

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


def _role_policy(template: Template, description: str) -> list[dict[str, Any]]:
    """The statements of the policy attached to the role whose description starts with ``description``."""
    roles = template.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": Match.string_like_regexp(f"^{description}")}}
    )
    assert len(roles) == 1, sorted(roles)
    (role_id,) = roles
    policies = [
        policy["Properties"]
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def _policy_statements(template: Template) -> dict[str, dict[str, Any]]:
    """The endpoint execution role's statements by Sid."""
    statements = _role_policy(template, "SageMaker execution role of endpoint")
    return {statement["Sid"]: statement for statement in statements if "Sid" in statement}


def test_default_model_serves_the_prepared_export_isolated(default: Template) -> None:
    model = _only(default, "AWS::SageMaker::Model")
    (preparation,) = default.find_resources("Custom::ModelPreparation")
    assert model["PrimaryContainer"] == {
        "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-tgi-inference:2.7.0-optimum3.3.6-neuronx-py310-ubuntu22.04",
        "Mode": "SingleModel",
        "Environment": {
            "MODEL_ID": "/opt/ml/model",
            "HF_NUM_CORES": "2",
            "MAX_BATCH_SIZE": "4",
            "MAX_TOTAL_TOKENS": "2048",
            "MAX_INPUT_TOKENS": "1024",
            "MAX_BATCH_PREFILL_TOKENS": "4096",
            "HF_AUTO_CAST_TYPE": "bf16",
            "USAGE_STATS": "off",
        },
        # the model (and so the endpoint) waits for the preparation: its URI is the preparation's attribute
        "ModelDataSource": {
            "S3DataSource": {
                "S3Uri": {"Fn::GetAtt": [preparation, "ModelS3Uri"]},
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        },
    }
    assert model["EnableNetworkIsolation"] is True


def test_the_preparation_is_keyed_by_model_revision_container_and_settings(default: Template) -> None:
    (properties,) = (r["Properties"] for r in default.find_resources("Custom::ModelPreparation").values())
    assert properties["Kind"] == "Preparation"
    assert properties["Prefix"] == PREFIX
    assert properties["JobNamePrefix"] == "genai-kit-dev-tinyllama-prep"
    assert properties["WaitSeconds"] == "3300"


def _resolved_request(default: Template) -> dict[str, Any]:
    """The preparation's CreateTrainingJob request with CloudFormation's values filled in as a deploy would."""
    (properties,) = (r["Properties"] for r in default.find_resources("Custom::ModelPreparation").values())
    filled = {
        "AWS::AccountId": "123456789012",
        "AWS::Region": "us-east-1",
        "AWS::Partition": "aws",
    }

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return filled[part["Ref"]]
        if "Fn::Sub" in part:
            value = part["Fn::Sub"]
            for name, replacement in filled.items():
                value = value.replace("${" + name + "}", replacement)
            return str(value)
        if "Fn::GetAtt" in part:
            return "arn:aws:iam::123456789012:role/preparation"
        return "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-0123-0123-0123456789ab"

    separator, parts = properties["Request"]["Fn::Join"]
    request: dict[str, Any] = json.loads(separator.join(text(part) for part in parts))
    return {"TrainingJobName": "genai-kit-dev-tinyllama-prep-0123456789-20261129120000", **request}


def test_the_preparation_job_request_is_one_sagemaker_takes(default: Template) -> None:
    request = _resolved_request(default)
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateTrainingJob").input_shape
    validate_parameters(request, shape)  # types, required members, minimums
    assert violations(shape, request) == []  # enums, maximums, patterns
    assert request["ResourceConfig"] == {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
    assert request["EnableNetworkIsolation"] is False  # it downloads from the Hub; the endpoint is isolated
    assert request["OutputDataConfig"]["CompressionType"] == "NONE"
    assert (
        request["AlgorithmSpecification"]["TrainingImage"]
        == _only(default, "AWS::SageMaker::Model")["PrimaryContainer"]["Image"]
    )
    assert request["Environment"] == {
        "PREPARATION_MODEL_ID": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "PREPARATION_REVISION": REVISION,
        "PREPARATION_LAYOUT": "export",
        "PREPARATION_EXPORT_ARGUMENTS": "--task text-generation --batch_size 4 --sequence_length 2048 "
        "--num_cores 2 --auto_cast_type bf16",
        "PREPARATION_BUCKET": "genai-kit-dev-artifacts-123456789012-us-east-1",
        "PREPARATION_PREFIX": PREFIX,
        "AWS_DEFAULT_REGION": "us-east-1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    assert {"Key": "genai-kit:stage", "Value": "dev"} in request["Tags"]


def test_the_preparation_role_writes_only_its_prefix_and_reads_only_its_code(default: Template) -> None:
    statements = _role_policy(default, "SageMaker execution role of the dev model preparation jobs")
    by_action = {json.dumps(s["Action"]): s for s in statements}
    write = by_action[json.dumps(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"])]
    assert write["Resource"]["Fn::Join"][1][-1] == f"/{PREFIX}*"
    listing = by_action['"s3:ListBucket"']
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}}
    code = next(s for s in statements if s.get("Sid") == "ReadPreparationCode")
    assert code["Action"] == "s3:GetObject"
    assert "*" not in json.dumps(code["Resource"])
    assert not any("secretsmanager:GetSecretValue" in json.dumps(s["Action"]) for s in statements)


def test_a_gated_models_token_is_read_by_the_preparation_job_only(synth: Callable[..., SynthResult]) -> None:
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    source = {
        "kind": "huggingface",
        "model_id": "meta-llama/Llama-3.1-8B-Instruct",
        "revision": "0e9e39f249a16976918f6564b8830bc894c89659",
        "container": "huggingface-llm-neuronx",
        "container_version": "0.3.0",
        "token_secret_arn": secret,
    }
    endpoint = {"name": "llama", "source": source, "instance_type": "ml.inf2.24xlarge"}
    template = synth("dev", stages={"dev": {"endpoints": [endpoint]}}).template("Inference")
    statements = _role_policy(template, "SageMaker execution role of the dev model preparation jobs")
    assert {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret} in statements
    assert secret not in json.dumps(_only(template, "AWS::SageMaker::Model"))
    for prefix in ("SageMaker execution role of endpoint", "Endpoints of dev"):
        for role in template.find_resources(
            "AWS::IAM::Role", {"Properties": {"Description": Match.string_like_regexp(f"^{prefix}")}}
        ):
            assert "secretsmanager" not in json.dumps(template.to_json()["Resources"][role])


def test_the_endpoint_is_ordered_between_its_two_scaling_resources(default: Template) -> None:
    (endpoint_id,) = default.find_resources("AWS::SageMaker::Endpoint")
    scaling = default.find_resources("Custom::EndpointScaling")
    by_position = {
        resource["Properties"]["Position"]: (logical_id, resource) for logical_id, resource in scaling.items()
    }
    before_id, _ = by_position["before"]
    _, after = by_position["after"]
    assert before_id in default.to_json()["Resources"][endpoint_id]["DependsOn"]
    assert endpoint_id in after["DependsOn"]
    assert {k: v for k, v in after["Properties"].items() if k not in ("ServiceToken", "Position")} == {
        "Kind": "Scaling",
        "EndpointName": "genai-kit-dev-tinyllama",
        "VariantName": "AllTraffic",
        "InstanceType": "ml.inf2.xlarge",
        "MinCapacity": "1",
        "MaxCapacity": "1",
        "TargetValue": "20",
        "ScaleInCooldown": "600",
        "ScaleOutCooldown": "300",
        "PolicyName": "genai-kit-dev-tinyllama-invocations-per-instance",
    }


def test_an_endpoint_update_keeps_the_instance_count_autoscaling_set(default: Template) -> None:
    assert _only(default, "AWS::SageMaker::Endpoint")["RetainAllVariantProperties"] is True


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


def test_autoscaling_is_registered_through_the_lifecycle_resources_not_in_the_template(gated: Template) -> None:
    # a template resource could not be deregistered before an instance-type change (see endpoint_lifecycle)
    gated.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    gated.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 0)
    (after,) = (
        r["Properties"]
        for r in gated.find_resources("Custom::EndpointScaling").values()
        if r["Properties"]["Position"] == "after"
    )
    assert (after["MinCapacity"], after["MaxCapacity"], after["TargetValue"]) == ("1", "3", "5")


def test_execution_role_is_assumed_only_by_sagemaker_and_has_no_managed_policy(default: Template) -> None:
    (role,) = (
        r["Properties"]
        for r in default.find_resources(
            "AWS::IAM::Role",
            {"Properties": {"Description": Match.string_like_regexp("^SageMaker execution role of endpoint")}},
        ).values()
    )
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


def test_prepared_model_role_reads_only_the_prepared_model(default: Template) -> None:
    statements = _policy_statements(default)
    assert statements["ReadModelArtifacts"]["Resource"]["Fn::Join"][1][-1] == f"/{PREFIX}model/*"
    assert statements["ListModelArtifacts"]["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}model/*"]}}


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
    assert outputs["TinyllamaModel"]["Value"] == f"huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0@{REVISION}"
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


def test_an_instance_type_change_updates_in_an_order_sagemaker_accepts(synth: Callable[..., SynthResult]) -> None:
    # GIVEN the same autoscaled endpoint on two instance types
    endpoint = {**LLAMA2_NEURON_ENDPOINT, "instance_type": "ml.inf2.xlarge"}
    old = synth("dev", stages={"dev": {"endpoints": [endpoint]}}).template("Inference").to_json()["Resources"]
    endpoint = {**LLAMA2_NEURON_ENDPOINT, "instance_type": "ml.inf2.24xlarge"}
    new = synth("dev", stages={"dev": {"endpoints": [endpoint]}}).template("Inference").to_json()["Resources"]
    changed = sorted(k for k in old if k in new and old[k]["Properties"] != new[k]["Properties"])
    types = {k: new[k]["Type"] for k in changed}
    # THEN the model (its spec's variables differ per instance type) and the endpoint config are replaced
    # (replacement properties), both scaling resources
    # are updated with the new type, and the endpoint, unchanged in the template, is updated by CloudFormation to
    # the new config (it reads the config's name, which the replacement changes) under the same name
    assert sorted(types.values()) == [
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Model",
        "Custom::EndpointScaling",
        "Custom::EndpointScaling",
    ]
    (config_id,) = (k for k in changed if types[k] == "AWS::SageMaker::EndpointConfig")
    (endpoint_id,) = (k for k, v in new.items() if v["Type"] == "AWS::SageMaker::Endpoint")
    assert new[endpoint_id]["Properties"]["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}
    scaling = {new[k]["Properties"]["Position"]: k for k in changed if types[k] == "Custom::EndpointScaling"}
    assert {new[k]["Properties"]["InstanceType"] for k in scaling.values()} == {"ml.inf2.24xlarge"}
    # AND CloudFormation acts in dependency order: "before" (deregisters), the endpoint, "after" (registers)
    assert scaling["before"] in new[endpoint_id]["DependsOn"]
    assert endpoint_id in new[scaling["after"]]["DependsOn"]
    # AND the update keeps the instance count autoscaling set
    assert new[endpoint_id]["Properties"]["RetainAllVariantProperties"] is True
