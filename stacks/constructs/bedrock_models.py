"""The configured Bedrock models: their ARNs, the application inference profiles that attribute their cost.

ARN forms (Amazon Bedrock service authorization reference):
foundation model ``arn:<partition>:bedrock:<region>::foundation-model/<model id>`` (no account),
system inference profile ``arn:<partition>:bedrock:<region>:<account>:inference-profile/<geography>.<model id>``,
application inference profile ``arn:<partition>:bedrock:<region>:<account>:application-inference-profile/<id>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

from genai_kit.bedrock_ids import ModelRef
from genai_kit.config.bedrock import BedrockModelConfig
from genai_kit.names import StageNames

ALIAS_TAG = "genai-kit:model-alias"


@dataclass(frozen=True)
class BedrockModel:
    """One configured model as the router and the invoke policy see it.

    ``invoke_id`` is what the API passes as ``modelId``: the application inference profile ARN when there is
    one (so the call is attributed to it), else the system profile id or the foundation model id.
    """

    alias: str
    ref: ModelRef
    config: BedrockModelConfig
    invoke_id: str
    foundation_model_arn: str
    """The foundation model in this stack's region."""
    system_profile_arn: str | None
    application_profile_arn: str | None

    @property
    def profile_arns(self) -> list[str]:
        """Every inference profile a call to this model may name: system, then application."""
        return [arn for arn in (self.system_profile_arn, self.application_profile_arn) if arn is not None]


class BedrockModels(Construct):
    """Resolves each configured model to its ARNs and, if asked, creates its application inference profile (chat
    models only).

    An application inference profile copies its source (``ModelSource.CopyFrom``): the system inference profile
    for a profile id, the foundation model in this region otherwise. Its tags (the model's ``tags``, the stage's
    tags and the alias) are cost-allocation tags once activated in the Billing console.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        models: tuple[BedrockModelConfig, ...],
        application_inference_profiles: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        resolved: dict[str, BedrockModel] = {}
        for model in models:
            ref = model.ref
            foundation_model_arn = stack.format_arn(
                service="bedrock",
                account="",
                resource="foundation-model",
                resource_name=ref.foundation_model_id,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
            system_profile_arn = (
                stack.format_arn(
                    service="bedrock",
                    resource="inference-profile",
                    resource_name=ref.id,
                    arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                )
                if ref.is_profile
                else None
            )
            application_profile_arn = None
            # Embedding models take no application inference profile (Bedrock user guide, "Supported Regions and
            # models for inference profiles": "Some models, such as embedding models, do not support" them). Image
            # models get none either: no AWS page checked here lists Amazon Nova Canvas as a source of one, and
            # a profile Bedrock refuses would fail the deployment, so they are called by foundation model id.
            if application_inference_profiles and model.kind == "chat":
                profile = bedrock.CfnApplicationInferenceProfile(
                    self,
                    f"{pascal(model.alias)}Profile",
                    inference_profile_name=StageNames(stage).inference_profile(model.alias, model.id),
                    description=f"GenAI kit {stage} {model.alias} via {ref.id}",
                    model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                        copy_from=system_profile_arn or foundation_model_arn
                    ),
                    tags=[cdk.CfnTag(key=key, value=value) for key, value in sorted(model.tags.items())],
                )
                cdk.Tags.of(profile).add(ALIAS_TAG, model.alias)
                application_profile_arn = profile.attr_inference_profile_arn
            resolved[model.alias] = BedrockModel(
                alias=model.alias,
                ref=ref,
                config=model,
                invoke_id=application_profile_arn or ref.id,
                foundation_model_arn=foundation_model_arn,
                system_profile_arn=system_profile_arn,
                application_profile_arn=application_profile_arn,
            )
        self.models: Mapping[str, BedrockModel] = resolved


def pascal(alias: str) -> str:
    """An alias as a PascalCase identifier (construct ids, policy Sids, output ids): ``nova-lite`` -> ``NovaLite``."""
    return "".join(word.capitalize() for word in alias.split("-"))
