"""Builds the kit into a CDK app: the selected stage and the checks every synth runs."""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag

from genai_kit.config import KitConfig
from stacks.kit_stage import KitStage


def build_kit(app: cdk.App, config: KitConfig) -> KitStage:
    """Add the stage for ``config`` and the AwsSolutions checks (cdk-nag) to ``app``."""
    stage = KitStage(app, config=config)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return stage
