"""Whole-app checks: cdk-nag (AwsSolutions) and cfn-lint on every synthesized template, built-in validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_s3 as s3

from genai_kit.synth_summary import validation_findings
from tests.cfn_lint import cfn_lint_problems
from tests.synth import SynthResult, synthesize


def test_nag_has_no_unacknowledged_findings(dev: SynthResult) -> None:
    assert validation_findings(dev.assembly_dir) == []


def test_nag_and_cfn_lint_are_clean_with_an_image_model(synth: Callable[..., SynthResult]) -> None:
    # An image model adds the router's image storage statements, whose prefix wildcard is acknowledged.
    models = [
        {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
    ]
    result = synth("dev", stages={"dev": {"bedrock": {"models": models}}})
    assert validation_findings(result.assembly_dir) == []
    assert cfn_lint_problems(result.assembly_dir) == []


def test_nag_reports_a_violation_when_there_is_one(tmp_path: Path) -> None:
    # GIVEN an app with a bucket that allows plain HTTP, checked the way build_kit checks the kit
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    s3.Bucket(cdk.Stack(app, "Probe"), "PlainBucket")
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    # WHEN it synthesizes THEN synth fails and the report names the rule
    with pytest.raises(RuntimeError):
        app.synth()
    assert "AwsSolutions-S10: Probe/PlainBucket/Resource" in validation_findings(tmp_path)


def test_cfn_lint_is_clean_on_every_template(dev: SynthResult) -> None:
    assert cfn_lint_problems(dev.assembly_dir) == []


def test_builtin_cloudformation_validation_passes() -> None:
    result = synthesize(stage="prod", builtin_validation=True)
    report = json.loads((result.assembly_dir / "validation-report.json").read_text())
    assert [plugin for plugin in report["pluginReports"] if plugin.get("violations")] == []
