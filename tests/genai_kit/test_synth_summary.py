"""The synth summary reads a cloud assembly: stacks, resource counts, outputs, warnings, nag findings."""

from __future__ import annotations

import json
from pathlib import Path

from genai_kit.synth_summary import main, render, summarize, validation_findings
from tests.synth import SynthResult


def test_summary_lists_each_stack_with_counts_and_outputs(dev: SynthResult) -> None:
    stacks = summarize(dev.assembly_dir)
    assert [stack.name for stack in stacks] == [
        "GenAiKit-dev-Foundation",
        "GenAiKit-dev-Inference",
        "GenAiKit-dev-Training",
    ]
    foundation = stacks[0]
    assert foundation.environment == "aws://unknown-account/us-east-1"
    assert foundation.resource_types["AWS::S3::Bucket"] == 3
    assert foundation.resource_count == len(dev.templates["Foundation"]["Resources"])
    assert foundation.outputs["AlarmTopicArn"] == "SNS topic for alarms and pipeline notifications"
    assert not [key for key in foundation.outputs if key.startswith("PublishOutput")], "CDK plumbing is hidden"


def test_render_ends_with_totals(dev: SynthResult) -> None:
    text = render(summarize(dev.assembly_dir), [])
    resources = sum(len(template["Resources"]) for template in dev.templates.values())
    assert text.splitlines()[-1] == f"{len(dev.templates)} stacks, {resources} resources, 0 warnings, 0 nag findings"


def _write_assembly(root: Path, metadata: dict[str, list[dict[str, str]]]) -> None:
    (root / "S.template.json").write_text(json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))
    (root / "S.metadata.json").write_text(json.dumps(metadata))
    manifest = {
        "artifacts": {
            "S": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/eu-west-1",
                "properties": {"templateFile": "S.template.json", "stackName": "S"},
                "additionalMetadataFile": "S.metadata.json",
            }
        }
    }
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_warnings_come_from_the_metadata_file(tmp_path: Path) -> None:
    _write_assembly(
        tmp_path, {"/S/T": [{"type": "aws:cdk:warning", "data": "look here"}, {"type": "other", "data": "x"}]}
    )
    assert summarize(tmp_path)[0].warnings == ["/S/T: look here"]


def test_findings_fail_the_summary(tmp_path: Path, capsys: object) -> None:
    _write_assembly(tmp_path, {})
    report = {
        "pluginReports": [
            {"violations": [{"ruleName": "AwsSolutions-S10", "violatingConstructs": [{"constructPath": "S/B"}]}]}
        ]
    }
    (tmp_path / "validation-report.json").write_text(json.dumps(report))
    assert validation_findings(tmp_path) == ["AwsSolutions-S10: S/B"]
    assert main([str(tmp_path)]) == 1


def test_missing_assembly_is_a_clear_error(tmp_path: Path) -> None:
    assert main([str(tmp_path / "nothing")]) == 2
