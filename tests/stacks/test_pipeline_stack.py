"""The opt-in CDK Pipelines pipeline: off by default; when on, it tests, synthesizes and deploys stages in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from genai_kit.stage import ConfigError, load_stage
from genai_kit.synth_summary import validation_findings
from tests.synth import SynthResult

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
PIPELINE = {"enabled": True, "connection_arn": CONNECTION, "repository": "my-org/genai-kit"}


@pytest.fixture(scope="module")
def enabled(synth: Any) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": {"removal_policy": "destroy", "pipeline": PIPELINE}, "prod": {}})
    return result


@pytest.fixture(scope="module")
def pipeline(enabled: SynthResult) -> Template:
    return Template.from_json(json.loads((enabled.assembly_dir / "GenAiKit-Pipeline.template.json").read_text()))


def test_no_pipeline_by_default(dev: SynthResult) -> None:
    assert not (dev.assembly_dir / "GenAiKit-Pipeline.template.json").exists()


def test_enabled_pipeline_synthesizes_offline_without_unacknowledged_findings(enabled: SynthResult) -> None:
    assert validation_findings(enabled.assembly_dir) == []


def test_source_is_the_configured_connection_repository_and_branch(pipeline: Template) -> None:
    pipeline.has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "Stages": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Name": "Source",
                            "Actions": [
                                Match.object_like(
                                    {
                                        "Configuration": Match.object_like(
                                            {
                                                "ConnectionArn": CONNECTION,
                                                "FullRepositoryId": "my-org/genai-kit",
                                                "BranchName": "main",
                                            }
                                        )
                                    }
                                )
                            ],
                        }
                    )
                ]
            )
        },
    )


def test_synth_step_runs_the_readme_test_and_synth_commands(pipeline: Template) -> None:
    [project] = [
        p
        for p in pipeline.find_resources("AWS::CodeBuild::Project").values()
        if '"make test"' in str(p["Properties"]["Source"]["BuildSpec"]).replace("\\", "")
    ]
    buildspec = str(project["Properties"]["Source"]["BuildSpec"])
    assert buildspec.index("make test") < buildspec.index("make synth")


def test_stages_deploy_in_order_with_approval_before_prod(pipeline: Template) -> None:
    [resource] = pipeline.find_resources("AWS::CodePipeline::Pipeline").values()
    stages = resource["Properties"]["Stages"]
    names = [stage["Name"] for stage in stages]
    assert names == ["Source", "Build", "UpdatePipeline", "Assets", "GenAiKit-dev", "GenAiKit-prod"]
    prod_actions = [action["ActionTypeId"]["Category"] for action in stages[-1]["Actions"]]
    dev_actions = [action["ActionTypeId"]["Category"] for action in stages[-2]["Actions"]]
    assert "Approval" in prod_actions
    assert "Approval" not in dev_actions


def test_pipeline_stage_copies_keep_the_stack_names(enabled: SynthResult) -> None:
    assert set(enabled.templates) == {"Foundation", "Bedrock", "Inference", "Training", "Api", "Monitoring"}
    assert enabled.stage.foundation.stack_name == "GenAiKit-dev-Foundation"


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            {"enabled": True, "repository": "my-org/genai-kit"},
            "stages.dev.pipeline: Value error, connection_arn required when the pipeline is enabled",
        ),
        (
            {**PIPELINE, "connection_arn": "arn:aws:s3:::bucket"},
            "stages.dev.pipeline.connection_arn: got 'arn:aws:s3:::bucket'; expected an AWS CodeConnections",
        ),
        ({**PIPELINE, "repository": "genai-kit"}, "stages.dev.pipeline.repository: got 'genai-kit'; expected"),
        (
            {**PIPELINE, "approval_before": ["qa"]},
            "approval_before names 'qa', which the pipeline does not deploy; expected one of: dev, prod",
        ),
    ],
)
def test_invalid_pipeline_settings_are_named(pipeline: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage({"stages": {"dev": {"pipeline": pipeline}, "prod": {}}})
    assert message.replace("Value error, ", "") in caught.value.problems[0]


def test_pipeline_of_an_unconfigured_stage_is_refused_when_the_stage_resolves() -> None:
    with pytest.raises(ConfigError, match=r"stages\.dev\.pipeline\.stages: 'qa' is not a configured stage"):
        load_stage({"stages": {"dev": {"pipeline": {**PIPELINE, "stages": ["dev", "qa"], "approval_before": []}}}})


def test_pipeline_that_does_not_deploy_its_home_stage_is_refused_when_the_stage_resolves() -> None:
    pipeline = {**PIPELINE, "stages": ["prod"], "approval_before": []}
    with pytest.raises(ConfigError, match=r"stages\.dev\.pipeline\.stages: must include 'dev'"):
        load_stage({"stages": {"dev": {"pipeline": pipeline}, "prod": {}}})


def test_the_resolved_stage_lists_the_stages_its_pipeline_deploys_in_order() -> None:
    home = load_stage({"stages": {"dev": {"pipeline": PIPELINE}, "prod": {}}})
    assert [stage.stage for stage in home.pipeline_stages] == ["dev", "prod"]  # the default order
    assert load_stage({"stages": {"dev": {}}}).pipeline_stages == ()
