"""Builds the kit into a CDK app: the selected stage (or the pipeline deploying it) and the checks of every synth."""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag

from genai_kit.names import PIPELINE_STACK_NAME
from genai_kit.stage import ResolvedStage
from stacks.kit_stage import KitStage


def build_kit(app: cdk.App, config: ResolvedStage) -> KitStage:
    """Add the stage for ``config`` and the AwsSolutions checks (cdk-nag) to ``app``.

    With ``pipeline.enabled`` the stage is built inside the pipeline stack, which deploys it with the other
    stages the pipeline lists; the returned stage is then the pipeline's copy of the selected stage.
    """
    settings = config.settings
    if settings.pipeline.enabled:
        # Imported only here: CDK Pipelines and CodeBuild's bindings are a cost every other synth would pay.
        from stacks.pipeline_stack import PipelineStack  # noqa: PLC0415

        pipeline = PipelineStack(
            app,
            PIPELINE_STACK_NAME,
            config=config,
            env=cdk.Environment(account=settings.account, region=settings.region),
            description=f"Generative AI kit: CI/CD pipeline deploying {', '.join(settings.pipeline.stages)}",
        )
        stage = pipeline.stages[config.stage]
    else:
        stage = KitStage(app, config=config)
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return stage
