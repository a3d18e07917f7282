"""Prints what a synthesis built, read from a cloud assembly directory (``cdk.out``).

For each stack: its name, environment, resource count (by type) and its outputs; then any
warnings CDK recorded and the validation (cdk-nag) report. Reads files only: no aws_cdk import.

Usage: ``python -m genai_kit.synth_summary [cdk.out]``
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STACK = "aws:cloudformation:stack"
_NESTED_ASSEMBLY = "cdk:cloud-assembly"
_WARNING = "aws:cdk:warning"


@dataclass(frozen=True)
class StackSummary:
    """What one synthesized stack contains."""

    name: str
    environment: str
    resource_types: Counter[str]
    outputs: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def resource_count(self) -> int:
        return sum(self.resource_types.values())


def summarize(assembly_dir: Path) -> list[StackSummary]:
    """Summaries of every stack in the assembly, nested stage assemblies included, in manifest order."""
    return list(_stacks(assembly_dir))


def stack_artifacts(assembly_dir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every stack artifact of the assembly with the directory its files are in, nested stage assemblies included."""
    manifest = _read_json(assembly_dir / "manifest.json")
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == _NESTED_ASSEMBLY:
            yield from stack_artifacts(assembly_dir / artifact["properties"]["directoryName"])
        elif artifact.get("type") == _STACK:
            yield assembly_dir, artifact


def _stacks(assembly_dir: Path) -> Iterator[StackSummary]:
    for directory, artifact in stack_artifacts(assembly_dir):
        properties = artifact.get("properties", {})
        template = _read_json(directory / properties["templateFile"])
        yield StackSummary(
            name=properties.get("stackName", artifact.get("displayName", "?")),
            environment=artifact.get("environment", "?"),
            resource_types=Counter(resource["Type"] for resource in template.get("Resources", {}).values()),
            # Outputs without a description are CDK's own cross-stack plumbing, not meant for people.
            outputs={
                key: output["Description"]
                for key, output in sorted(template.get("Outputs", {}).items())
                if output.get("Description")
            },
            warnings=_warnings(directory, artifact),
        )


def _warnings(assembly_dir: Path, artifact: dict[str, Any]) -> list[str]:
    # Newer assemblies move construct metadata out of the manifest into a per-stack file.
    metadata = dict(artifact.get("metadata", {}))
    if "additionalMetadataFile" in artifact:
        metadata.update(_read_json(assembly_dir / artifact["additionalMetadataFile"]))
    return [
        f"{path}: {entry['data']}"
        for path, entries in sorted(metadata.items())
        for entry in entries
        if entry.get("type") == _WARNING
    ]


def validation_findings(assembly_dir: Path) -> list[str]:
    """Unacknowledged findings of the validation plugins (cdk-nag), one line each."""
    report_file = assembly_dir / "validation-report.json"
    if not report_file.exists():
        return []
    findings = []
    for plugin in _read_json(report_file).get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for resource in violation.get("violatingConstructs", violation.get("violatingResources", [])):
                findings.append(f"{violation['ruleName']}: {resource.get('constructPath', '?')}")
    return findings


def render(stacks: list[StackSummary], findings: list[str]) -> str:
    """Human-readable report: one block per stack, then warnings and findings."""
    lines = []
    for stack in stacks:
        lines.append(f"{stack.name}  ({stack.environment})  {stack.resource_count} resources")
        for resource_type, count in sorted(stack.resource_types.items()):
            lines.append(f"    {count:3d}  {resource_type}")
        if stack.outputs:
            lines.append("  outputs:")
            width = max(len(key) for key in stack.outputs)
            lines.extend(f"    {key:<{width}}  {description}" for key, description in stack.outputs.items())
        lines.append("")
    warnings = [warning for stack in stacks for warning in stack.warnings]
    total = sum(stack.resource_count for stack in stacks)
    lines.append(f"{len(stacks)} stacks, {total} resources, {len(warnings)} warnings, {len(findings)} nag findings")
    lines.extend(f"  warning: {warning}" for warning in warnings)
    lines.extend(f"  finding: {finding}" for finding in findings)
    return "\n".join(lines)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    assembly_dir = Path(args[0] if args else "cdk.out")
    if not (assembly_dir / "manifest.json").exists():
        print(f"no cloud assembly in {assembly_dir}: run the synth first", file=sys.stderr)  # noqa: T201
        return 2
    stacks = summarize(assembly_dir)
    findings = validation_findings(assembly_dir)
    print(render(stacks, findings))  # noqa: T201
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
