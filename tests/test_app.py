"""The CDK entry point: a bad configuration stops synth with the message and no stack trace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from genai_kit.cdk_context import PROJECT_ROOT, cdk_json_context


def test_invalid_configuration_stops_app_py_with_one_clear_message(tmp_path: Path) -> None:
    context = {**cdk_json_context(), "stages": {"dev": {"region": "us-east"}}}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "invalid configuration:\n"
        "  - stages.dev.region: got 'us-east'; expected an AWS region code such as us-east-1 or eu-west-2"
    )
    assert not (tmp_path / "manifest.json").exists()


def test_app_py_writes_the_whole_assembly_and_exits_zero(tmp_path: Path) -> None:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(cdk_json_context()), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (stage,) = [artifact for artifact in manifest["artifacts"].values() if artifact["type"] == "cdk:cloud-assembly"]
    nested = tmp_path / stage["properties"]["directoryName"]
    templates = {path.name: json.loads(path.read_text()) for path in nested.glob("*.template.json")}
    stacks = ("Api", "Bedrock", "Foundation", "Inference", "Monitoring", "Training")
    assert sorted(re.sub(r"[0-9A-F]{8}\.template\.json$", "", name) for name in templates) == [
        f"GenAiKitdev{stack}" for stack in stacks
    ]
    assert all(template["Resources"] for template in templates.values())
