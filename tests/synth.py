"""Synthesizes the kit the way ``app.py`` does, with cdk.json's context, into a temporary cloud assembly."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import load_stage
from stacks.kit_app import build_kit
from stacks.kit_stage import KitStage


@dataclass(frozen=True)
class SynthResult:
    """A synthesized stage: the assembly on disk, the stage's constructs and each stack's template."""

    assembly_dir: Path
    stage: KitStage
    templates: dict[str, dict[str, Any]]

    def template(self, stack: str) -> Template:
        """An assertions Template of a stack by its construct id (e.g. ``Foundation``)."""
        return Template.from_json(self.templates[stack])


def kit_context(stage: str = "dev", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """cdk.json's context with ``stage`` selected and top-level keys replaced by ``overrides``."""
    return {**cdk_json_context(), "stage": stage, **(overrides or {})}


def synthesize(
    *, stage: str = "dev", overrides: dict[str, Any] | None = None, builtin_validation: bool = False
) -> SynthResult:
    """Build and synthesize the kit; CloudFormation built-in validation is off unless asked (it costs seconds)."""
    context = kit_context(stage, overrides)
    # In the test session's own temporary folder (tests/conftest.py), removed with it when the session ends.
    outdir = Path(tempfile.mkdtemp(prefix="kit-synth-"))
    app = cdk.App(context=context, outdir=str(outdir), builtin_cloud_formation_validation=builtin_validation)
    kit_stage = build_kit(app, load_stage(context))
    assembly = app.synth()
    stage_assembly = assembly.get_nested_assembly(kit_stage.artifact_id)
    templates = {
        stack.node.id: json.loads((Path(stage_assembly.directory) / stack.template_file).read_text())
        for stack in kit_stage.node.children
        if isinstance(stack, cdk.Stack)
    }
    return SynthResult(assembly_dir=outdir, stage=kit_stage, templates=templates)
