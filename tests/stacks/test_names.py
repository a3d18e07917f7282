"""The names genai_kit.names gives are the ones the app synthesizes (the ops CLI finds stacks by them)."""

from __future__ import annotations

import aws_cdk as cdk

from genai_kit.names import STAGE_TAG, StageNames
from tests.synth import SynthResult


def test_every_stack_of_the_stage_is_named_by_genai_kit_names(dev: SynthResult) -> None:
    names = StageNames("dev")
    stacks = [child for child in dev.stage.node.children if isinstance(child, cdk.Stack)]
    assert dev.stage.stage_name == names.stage_id == "GenAiKit-dev"
    assert {stack.stack_name for stack in stacks} == {names.stack_name(stack.node.id) for stack in stacks}
    assert all(stack.stack_name.startswith(names.stack_prefix) for stack in stacks)


def test_resource_names_carry_the_stage_prefix(dev: SynthResult) -> None:
    names = StageNames("dev")
    (endpoint,) = dev.template("Inference").find_resources("AWS::SageMaker::Endpoint").values()
    assert endpoint["Properties"]["EndpointName"] == names.endpoint("tinyllama") == "genai-kit-dev-tinyllama"
    (group,) = dev.template("Training").find_resources("AWS::SageMaker::ModelPackageGroup").values()
    assert group["Properties"]["ModelPackageGroupName"] == names.model_package_group
    (alias,) = dev.template("Foundation").find_resources("AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == names.kms_alias == "alias/genai-kit-dev"
    (dashboard,) = dev.template("Monitoring").find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == names.prefix


def test_every_resource_carries_the_stage_tag(dev: SynthResult) -> None:
    (bucket, *_) = dev.template("Foundation").find_resources("AWS::S3::Bucket").values()
    assert {"Key": STAGE_TAG, "Value": "dev"} in bucket["Properties"]["Tags"]
