"""Which stage the CLI works on: its validated configuration from cdk.json, and the names of its stacks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genai_kit.cdk_context import CDK_JSON, cdk_json_context
from genai_kit.cli.errors import CliError
from genai_kit.stage import ConfigError, ResolvedStage, load_stage


def default_stage(path: Path = CDK_JSON) -> str:
    """The stage cdk.json selects (``context.stage``), which ``make synth`` and ``cdk deploy`` use too."""
    return str(cdk_json_context(path).get("stage", "dev"))


def configured_stage(stage: str, context: Mapping[str, Any] | None = None) -> ResolvedStage:
    """The validated ``ResolvedStage`` of ``stage``; an unknown stage or invalid configuration is a ``CliError``."""
    try:
        return load_stage({**(cdk_json_context() if context is None else context), "stage": stage})
    except ConfigError as error:
        raise CliError(str(error)) from None
