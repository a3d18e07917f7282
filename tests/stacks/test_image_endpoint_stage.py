"""A stage with a Stable Diffusion XL endpoint on Inferentia2 and Nova Canvas on Bedrock: what it synthesizes.

The endpoint is configured like any other (KMS, alarms, autoscaling, blue/green, its own role) with network
isolation on and data capture off (its responses are images; docs/catalog.md); the API serves both image models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk.assertions import Template

from genai_kit.cli.assembly import stage_stacks
from genai_kit.cli.cost import synthesized_endpoints
from genai_kit.contracts.api_router import BedrockImageTarget, EndpointImageTarget, RouterEnvironment
from genai_kit.synth_summary import validation_findings
from tests.cfn_lint import cfn_lint_problems
from tests.synth import SynthResult

SDXL_ENDPOINT = {
    "name": "sdxl",
    "source": {
        "kind": "jumpstart",
        "model_id": "huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0",
        "version": "1.1.15",
    },
    "instance_type": "ml.inf2.8xlarge",
    "images": {"sizes": ["1024x1024"]},
    "autoscaling": {"max_instances": 2},
}
STAGE = {
    "bedrock": {
        "models": [
            {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
            {"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
        ]
    },
    "endpoints": [SDXL_ENDPOINT],
}


@pytest.fixture(scope="module")
def images_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": STAGE})
    return result


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, got {len(resources)}"
    return dict(next(iter(resources.values()))["Properties"])


def test_the_stage_is_nag_and_cfn_lint_clean(images_stage: SynthResult) -> None:
    assert validation_findings(images_stage.assembly_dir) == []
    assert cfn_lint_problems(images_stage.assembly_dir) == []


def test_the_model_serves_the_prepacked_artifact_isolated(images_stage: SynthResult) -> None:
    model = _only(images_stage.template("Inference"), "AWS::SageMaker::Model")
    container = model["PrimaryContainer"]
    assert container["Image"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "1.13.1-transformers4.34.1-neuronx-py310-sdk2.15.0-ubuntu20.04"
    )
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["S3Uri"] == (
        "s3://jumpstart-cache-prod-us-east-1/huggingface-txt2imgneuron/"
        "huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0/artifacts/inference-prepack/v1.0.0/"
    )
    assert (source["S3DataType"], source["CompressionType"]) == ("S3Prefix", "None")
    assert "ModelAccessConfig" not in source
    assert container["Environment"]["NEURON_RT_NUM_CORES"] == "2"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert model["EnableNetworkIsolation"] is True


def test_the_endpoint_config_is_encrypted_and_captures_nothing(images_stage: SynthResult) -> None:
    config = _only(images_stage.template("Inference"), "AWS::SageMaker::EndpointConfig")
    assert "KmsKeyId" in config
    assert config["DataCaptureConfig"]["EnableCapture"] is False
    (variant,) = config["ProductionVariants"]
    assert variant["InstanceType"] == "ml.inf2.8xlarge"
    # The catalog's source gives no timeouts or volume size: SageMaker's defaults apply.
    assert not {"ModelDataDownloadTimeoutInSeconds", "VolumeSizeInGB"} & set(variant)


def test_the_endpoint_scales_updates_blue_green_and_has_alarms(images_stage: SynthResult) -> None:
    inference = images_stage.template("Inference")
    endpoint = _only(inference, "AWS::SageMaker::Endpoint")
    assert "BlueGreenUpdatePolicy" in endpoint["DeploymentConfig"]
    scaling = [r["Properties"] for r in inference.find_resources("Custom::EndpointScaling").values()]
    after = next(p for p in scaling if p["Position"] == "after")
    assert (after["EndpointName"], after["MinCapacity"], after["MaxCapacity"]) == ("genai-kit-dev-sdxl", "1", "2")
    assert len(inference.find_resources("AWS::CloudWatch::Alarm")) >= 3


def test_the_api_serves_both_image_models_and_stores_their_images(images_stage: SynthResult) -> None:
    api = images_stage.template("Api")
    functions = api.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "lambdas/api_router/run.sh"}})
    (router,) = functions.values()
    variables = {name: _text(value) for name, value in router["Properties"]["Environment"]["Variables"].items()}
    environment = RouterEnvironment.from_environment(variables)
    assert environment.models["sdxl"] == EndpointImageTarget(
        endpoint="genai-kit-dev-sdxl", family="jumpstart-txt2img", sizes=("1024x1024",), max_images=1
    )
    assert isinstance(environment.models["nova-canvas"], BedrockImageTarget)
    assert environment.image_urls


def test_the_invoke_command_sends_the_text_to_image_request(images_stage: SynthResult) -> None:
    outputs = images_stage.templates["Inference"]["Outputs"]
    (command,) = [o["Value"] for name, o in outputs.items() if name.startswith("SdxlInvokeCommand")]
    assert "--accept 'application/json;jpeg'" in command
    assert """--body '{"prompt":""" in command
    assert '"num_images_per_prompt":1}' in command


def test_an_image_endpoint_alone_gets_the_image_storage_and_its_expiry(synth: Callable[..., SynthResult]) -> None:
    # GIVEN a stage whose only image model is the endpoint
    result = synth("dev", stages={"dev": {"endpoints": [SDXL_ENDPOINT]}})
    # THEN the artifacts bucket expires the stored images and the router may store them
    rules = [
        rule
        for bucket in result.template("Foundation").find_resources("AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    assert "ExpireApiImages" in [rule.get("Id") for rule in rules]
    api = result.template("Api")
    (policy,) = api.find_resources("AWS::IAM::Policy").values()
    sids = {s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert {"StoreApiImages", "EncryptApiImages"} <= sids
    parts = {r["Properties"]["PathPart"] for r in api.find_resources("AWS::ApiGateway::Resource").values()}
    assert {"images", "generations"} <= parts


def test_the_dashboard_shows_the_images_the_api_returned_from_the_endpoint(images_stage: SynthResult) -> None:
    (dashboard,) = images_stage.template("Monitoring").find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.loads(_text(dashboard["Properties"]["DashboardBody"]))
    graphs = {
        widget["properties"].get("title"): widget["properties"].get("metrics", [])
        for widget in body["widgets"]
        if widget["type"] == "metric"
    }
    namespace, name, *dimensions, _options = graphs["Invocations and errors"][1]
    assert (namespace, name) == ("GenAiKit/Api", "Images")
    assert dict(zip(dimensions[::2], dimensions[1::2], strict=True)) == {"service": "genai-kit-api", "model": "sdxl"}


def _text(value: Any) -> str:
    """A variable's value with each CloudFormation value in it (another stack's output) shown as TOKEN."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    return "TOKEN"


def test_the_endpoint_is_priced_by_the_instance_hour(images_stage: SynthResult) -> None:
    stacks = stage_stacks(images_stage.assembly_dir, "GenAiKit-dev-")
    assert synthesized_endpoints(stacks) == [("genai-kit-dev-sdxl", "ml.inf2.8xlarge", 1, 2)]
