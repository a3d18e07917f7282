"""The CLI as a program: --help for each command, a clear error for an unknown stage, and a fast start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from genai_kit.cdk_context import PROJECT_ROOT
from genai_kit.cli.main import main


@pytest.mark.parametrize("command", ["preflight", "outputs", "cost"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"usage: python -m genai_kit.cli {command}" in capsys.readouterr().out


def test_unknown_stage_lists_the_configured_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--stage", "qa"]) == 2
    assert capsys.readouterr().err == (
        "error: invalid configuration:\n  - stage: got 'qa'; configured stages are: dev, prod\n"
    )


def test_help_loads_neither_aws_cdk_nor_boto3_nor_pydantic() -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['genai_kit.cli', '--help']\n"
        "try:\n    runpy.run_module('genai_kit.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('aws_cdk', 'boto3', 'pydantic') if m in sys.modules))\n"
    )
    result = subprocess.run(  # noqa: S603 (runs this test's own literal probe)
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_commands_never_load_aws_cdk() -> None:
    probe = "import sys, genai_kit.cli.commands; print('aws_cdk' in sys.modules)"
    result = subprocess.run(  # noqa: S603 (runs this test's own literal probe)
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
