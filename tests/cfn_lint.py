"""cfn-lint over every template of a synthesized assembly, in one run: its rules are loaded once, not per template."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import ManualArgs, lint_by_config

# CDK emits DependsOn that CloudFormation would infer anyway (W3005); every other error and warning counts.
_REGIONS = ["us-east-1"]
_IGNORED = ["W3005"]


def cfn_lint_problems(assembly_dir: Path) -> list[str]:
    """Each error and warning cfn-lint finds in the assembly's templates, as ``<template>: <rule> <message>``."""
    templates = sorted(assembly_dir.rglob("*.template.json"))
    assert templates, f"no template was synthesized in {assembly_dir}"
    matches = lint_by_config(
        ManualArgs(templates=[str(path) for path in templates], regions=_REGIONS, ignore_checks=_IGNORED)
    )
    return [f"{Path(match.filename or '').name}: {match.rule.id} {match.message}" for match in matches]
