"""Reads a stage's stacks out of a synthesized cloud assembly (``cdk.out``): templates and bootstrap needs.

Files only, like ``genai_kit.synth_summary``: the CLI never loads aws_cdk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genai_kit.cdk_context import PROJECT_ROOT
from genai_kit.synth_summary import stack_artifacts

DEFAULT_ASSEMBLY_DIR = PROJECT_ROOT / "cdk.out"
# What CDK's default synthesizer has required since CDK 2.0; used when nothing was synthesized yet.
DEFAULT_BOOTSTRAP_VERSION = 6
DEFAULT_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


@dataclass(frozen=True)
class SynthesizedStack:
    """One stack of the assembly: its CloudFormation name, template and the bootstrap it needs."""

    name: str
    template: dict[str, Any]
    bootstrap_version: int
    bootstrap_parameter: str


def stage_stacks(assembly_dir: Path, prefix: str) -> list[SynthesizedStack]:
    """The stacks whose name starts with ``prefix`` (e.g. ``GenAiKit-dev-``), nested assemblies included."""
    if not (assembly_dir / "manifest.json").is_file():
        return []
    return [stack for stack in _stacks(assembly_dir) if stack.name.startswith(prefix)]


def bootstrap_requirement(stacks: list[SynthesizedStack]) -> tuple[int, str]:
    """The highest bootstrap version the stacks need and the SSM parameter that holds the deployed one."""
    if not stacks:
        return DEFAULT_BOOTSTRAP_VERSION, DEFAULT_BOOTSTRAP_PARAMETER
    strictest = max(stacks, key=lambda stack: stack.bootstrap_version)
    return strictest.bootstrap_version, strictest.bootstrap_parameter


def _stacks(assembly_dir: Path) -> Iterator[SynthesizedStack]:
    for directory, artifact in stack_artifacts(assembly_dir):
        properties = artifact.get("properties", {})
        yield SynthesizedStack(
            name=properties.get("stackName", artifact.get("displayName", "")),
            template=_read_json(directory / properties["templateFile"]),
            bootstrap_version=int(properties.get("requiresBootstrapStackVersion", DEFAULT_BOOTSTRAP_VERSION)),
            bootstrap_parameter=properties.get("bootstrapStackVersionSsmParameter", DEFAULT_BOOTSTRAP_PARAMETER),
        )


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
