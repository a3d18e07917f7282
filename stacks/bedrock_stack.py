"""Bedrock access stack: governed access to Amazon Bedrock models for the kit's API and other applications.

Composes the configured models (with their application inference profiles), the guardrail and its published
version, the least-privilege invoke policy, when asked, model invocation logging, and, when enabled, the developers'
Amazon Q Developer policy (``stacks.constructs.amazon_q_policy``).
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_kit.config.bedrock import BedrockConfig
from genai_kit.config.developer import AmazonQDeveloperConfig
from genai_kit.names import StageNames
from stacks.constructs.amazon_q_policy import amazon_q_developer_policy
from stacks.constructs.bedrock_guardrail import KitGuardrail
from stacks.constructs.bedrock_invocation_logging import InvocationLogging
from stacks.constructs.bedrock_invoke_policy import BedrockInvokePolicy
from stacks.constructs.bedrock_models import BedrockModel, BedrockModels, pascal
from stacks.foundation_stack import FoundationStack


class BedrockStack(cdk.Stack):
    """Bedrock models, guardrail, invoke policy and optional invocation logging of one stage.

    Public API for other stacks:

    - :meth:`grant_invoke` attaches the invoke policy to a role (the API's Lambda role first);
    - ``models``: alias -> :class:`~stacks.constructs.bedrock_models.BedrockModel`, whose ``invoke_id`` is the
      ``modelId`` to call (application inference profile ARN, else the system profile or foundation model id);
    - ``guardrail_id`` and ``guardrail_version`` (``None`` when the guardrail is disabled), the pair the API passes
      in ``guardrailConfig``;
    - ``invoke_policy``: the customer-managed policy, for principals outside the kit.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        bedrock: BedrockConfig,
        foundation: FoundationStack,
        amazon_q_developer: AmazonQDeveloperConfig | None = None,
        **kwargs: object,
    ) -> None:
        """``bedrock``: the stage's section, resolved for its region (``genai_kit.stage.bedrock``);
        ``amazon_q_developer``: the developers' Amazon Q Developer access, created when enabled."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]

        self.models: Mapping[str, BedrockModel] = BedrockModels(
            self,
            "Models",
            stage=names.stage,
            models=bedrock.models,
            application_inference_profiles=bedrock.application_inference_profiles,
        ).models

        self.guardrail: KitGuardrail | None = None
        self.guardrail_id: str | None = None
        self.guardrail_version: str | None = None
        if bedrock.guardrail.enabled:
            self.guardrail = KitGuardrail(
                self,
                "Guardrail",
                name=names.prefix,
                config=bedrock.guardrail,
                encryption_key=foundation.key,
            )
            self.guardrail_id = self.guardrail.guardrail_id
            self.guardrail_version = self.guardrail.version

        self._invoke_policy = BedrockInvokePolicy(
            self,
            "InvokePolicy",
            models=self.models,
            guardrail=self.guardrail,
            enforce_guardrail=bedrock.guardrail.enforce_with_iam,
        )
        self.invoke_policy = self._invoke_policy.policy

        self.invocation_logging: InvocationLogging | None = None
        if bedrock.invocation_logging.enabled:
            self.invocation_logging = InvocationLogging(
                self,
                "InvocationLogging",
                stage=names.stage,
                config=bedrock.invocation_logging,
                encryption_key=foundation.key,
                bucket=foundation.artifacts_bucket,
                removal_policy=foundation.removal_policy,
            )

        self.amazon_q_developer_policy: iam.ManagedPolicy | None = None
        if amazon_q_developer is not None and amazon_q_developer.enabled:
            self.amazon_q_developer_policy = amazon_q_developer_policy(
                self, "AmazonQDeveloperPolicy", names=names, config=amazon_q_developer
            )

        self._outputs()

    def grant_invoke(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (a role, user or group) invoke the configured models through the kit's guardrail."""
        self._invoke_policy.attach_to(grantee)

    def _outputs(self) -> None:
        outputs: dict[str, tuple[str, str]] = {
            "InvokePolicyArn": (
                self.invoke_policy.managed_policy_arn,
                "Managed policy that allows invoking the configured Bedrock models",
            ),
            "ModelAliases": (",".join(self.models), "Aliases of the Bedrock models the API exposes"),
        }
        if self.amazon_q_developer_policy is not None:
            outputs["AmazonQDeveloperPolicyArn"] = (
                self.amazon_q_developer_policy.managed_policy_arn,
                "Managed policy that lets developer roles chat with Amazon Q Developer and get code suggestions",
            )
        if self.guardrail is not None:
            outputs["GuardrailId"] = (self.guardrail.guardrail_id, "Id of the kit's Bedrock guardrail")
            outputs["GuardrailVersion"] = (self.guardrail.version, "Published guardrail version the API applies")
        for alias, model in self.models.items():
            outputs[f"Model{pascal(alias)}InvokeId"] = (model.invoke_id, f"modelId to invoke '{alias}' with")
            if model.application_profile_arn is not None:
                outputs[f"Model{pascal(alias)}ProfileArn"] = (
                    model.application_profile_arn,
                    f"Application inference profile of '{alias}' (cost allocation)",
                )
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
