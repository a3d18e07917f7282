"""What the CheckInput and Prepare functions know before any execution starts, read once per execution environment.

The contract is ``genai_kit.contracts.training_prepare``: the settings file ``pipeline.json`` the construct packages
next to this module (catalog facts and configuration fixed at synth) and the environment (names and ARNs known at
deploy time). A malformed environment fails at start-up with the variable's name.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from genai_kit.contracts.base import environment_reader
from genai_kit.contracts.training_prepare import SETTINGS_FILE, PipelineSettings, PrepareEnvironment

__all__ = ["SETTINGS_PATH_ENV", "PipelineSettings", "PrepareEnvironment", "environment", "load_settings"]

# Where the settings file is read from instead, when set (tests point it at a synthesized asset's copy).
SETTINGS_PATH_ENV = "PIPELINE_SETTINGS_PATH"


@cache
def load_settings() -> PipelineSettings:
    """Read ``pipeline.json`` (next to this module in the asset, or at ``$PIPELINE_SETTINGS_PATH``)."""
    path = Path(os.environ.get(SETTINGS_PATH_ENV) or Path(__file__).with_name(SETTINGS_FILE))
    return PipelineSettings.model_validate_json(path.read_text(encoding="utf-8"))


# Parsed once per execution environment (tests start over with ``environment.cache_clear()``).
environment = environment_reader(PrepareEnvironment)
