"""The kit's deployable unit: one CDK Stage per configured stage, composing every stack of the kit."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from genai_kit.names import API, BEDROCK, FOUNDATION, INFERENCE, MONITORING, TRAINING
from genai_kit.stage import ResolvedStage
from genai_kit.stage.api import endpoint_targets
from stacks.api_stack import ApiStack
from stacks.bedrock_stack import BedrockStack
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack
from stacks.monitoring_stack import MonitoringStack
from stacks.training_stack import TrainingStack


class KitStage(cdk.Stage):
    """Every stack of one stage, wired through constructor arguments."""

    def __init__(self, scope: Construct, *, config: ResolvedStage) -> None:
        settings = config.settings
        super().__init__(
            scope,
            config.names.stage_id,
            env=cdk.Environment(account=settings.account, region=settings.region),
        )
        names = config.names
        self.foundation = FoundationStack(
            self,
            FOUNDATION,
            names=names,
            storage=settings.storage,
            removal_policy=settings.removal_policy,
            alarm_emails=settings.alarm_emails,
            api_images_expiration_days=settings.api.image_retention_days if _serves_images(config) else None,
            description=f"Generative AI kit ({config.stage}): KMS key, buckets, alarm topic",
        )
        self.bedrock = BedrockStack(
            self,
            BEDROCK,
            names=names,
            bedrock=settings.bedrock,
            foundation=self.foundation,
            amazon_q_developer=settings.amazon_q_developer,
            description=f"Generative AI kit ({config.stage}): Bedrock models, guardrail, invoke policy, logging",
        )
        # CloudFormation refuses a stack without resources: no endpoints, no inference stack.
        self.inference = (
            InferenceStack(
                self,
                INFERENCE,
                endpoints=config.endpoints,
                foundation=self.foundation,
                names=names,
                tags=config.resource_tags,
                description=f"Generative AI kit ({config.stage}): Inferentia2 endpoints",
            )
            if config.endpoints
            else None
        )
        self.training = (
            TrainingStack(
                self,
                TRAINING,
                names=names,
                training=config.training,
                foundation=self.foundation,
                tags=config.resource_tags,
                description=f"Generative AI kit ({config.stage}): fine-tuning pipeline on Trainium",
            )
            if config.training is not None
            else None
        )
        self.api = self._api(config) if settings.api.enabled else None
        if self.api is not None and self.inference is not None:
            # Clients can call the API as soon as it exists: deploy the endpoints it routes to first.
            self.api.add_stack_dependency(self.inference)
        self.monitoring = self._monitoring(config)

        for key, value in config.resource_tags.items():
            cdk.Tags.of(self).add(key, value)

    def _api(self, config: ResolvedStage) -> ApiStack:
        """The OpenAI-compatible API over the stage's Bedrock models and endpoints."""
        return ApiStack(
            self,
            API,
            names=config.names,
            api=config.settings.api,
            endpoints=endpoint_targets(config),
            foundation=self.foundation,
            bedrock=self.bedrock,
            description=f"Generative AI kit ({config.stage}): OpenAI-compatible API",
        )

    def _monitoring(self, config: ResolvedStage) -> MonitoringStack:
        """The dashboard, alarms and budget over what the other stacks of the stage expose."""
        training_pipeline = self.training.pipeline if self.training is not None else None
        return MonitoringStack(
            self,
            MONITORING,
            names=config.names,
            monitoring=config.settings.monitoring,
            foundation=self.foundation,
            inference=self.inference,
            bedrock_model_ids=[model.id for model in config.settings.bedrock.models if model.kind != "image"],
            bedrock_image_models=_image_models(config),
            api=self.api.api if self.api is not None else None,
            api_router=self.api.function if self.api is not None else None,
            training_pipeline=training_pipeline.state_machine if training_pipeline is not None else None,
            training_job_prefix=training_pipeline.job_prefix if training_pipeline is not None else None,
            description=f"Generative AI kit ({config.stage}): dashboard, alarms, budget",
        )


def _serves_images(config: ResolvedStage) -> bool:
    """Whether the stage's API serves an image model (and so stores images for ``response_format: "url"``)."""
    settings = config.settings
    bedrock_images = any(model.kind == "image" for model in settings.bedrock.models)
    endpoint_images = any(endpoint.images is not None for endpoint in config.endpoints)
    return settings.api.enabled and (bedrock_images or endpoint_images)


def _image_models(config: ResolvedStage) -> dict[str, list[str]]:
    """The stage's Bedrock image model ids, each with the API aliases that serve it."""
    aliases: dict[str, list[str]] = {}
    for model in config.settings.bedrock.models:
        if model.kind == "image":
            aliases.setdefault(model.id, []).append(model.alias)
    return aliases
