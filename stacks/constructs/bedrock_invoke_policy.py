"""The least-privilege policy to invoke the configured Bedrock models through the kit's guardrail.

It allows ``bedrock:InvokeModel`` (which also authorizes Converse) and ``bedrock:InvokeModelWithResponseStream``
(ConverseStream) on exactly the configured chat models, ``bedrock:InvokeModel`` alone on the embedding and image
models (neither streams), and nothing else of Bedrock but reading those inference profiles and applying the
kit's guardrail. Requiring the guardrail (``enforce_with_iam``) applies to the chat models: an embedding or image
call names no guardrail.

A system (cross-region) inference profile routes each call to the foundation model in one of its destination
regions, and IAM authorizes the call against the profile ARN and against the foundation model ARN in that
destination region: "When you specify an inference profile in the Resource field [...] you must also specify
the foundation model in each Region associated with it" (Amazon Bedrock user guide, Prerequisites for inference
profiles). The destination regions belong to AWS, not to this stack, and change as AWS adds regions, so the
foundation model ARN names region ``*``; the ``bedrock:InferenceProfileArn`` condition (same page) then limits
that statement to calls made through the configured profile, so the model cannot be called directly in any
region. Global profiles are also authorized against the region-less model ARN ``arn:...:bedrock:::
foundation-model/<id>`` (user guide, Global cross-Region inference), which is listed explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.bedrock_guardrail import KitGuardrail
from stacks.constructs.bedrock_models import BedrockModel, pascal

INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
EMBED_ACTIONS = ["bedrock:InvokeModel"]
IMAGE_ACTIONS = ["bedrock:InvokeModel"]


class BedrockInvokePolicy(Construct):
    """A customer-managed policy (``policy``) with the invoke statements, attachable with :meth:`attach_to`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        models: Mapping[str, BedrockModel],
        guardrail: KitGuardrail | None,
        enforce_guardrail: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        chat = [model for model in models.values() if model.config.kind == "chat"]
        embedding = [model for model in models.values() if model.config.kind == "embedding"]
        # Image models are called by foundation model id (no profile), so they need no destination statement.
        image = [model for model in models.values() if model.config.kind == "image"]
        chat_invoke = _invoke_statement(chat, "InvokeConfiguredModels", INVOKE_ACTIONS) if chat else None
        destination_statements = [
            _destination_statement(model, INVOKE_ACTIONS) for model in chat if model.ref.is_profile
        ]
        embedding_destinations = [
            _destination_statement(model, EMBED_ACTIONS) for model in embedding if model.ref.is_profile
        ]
        statements = [*([chat_invoke] if chat_invoke else []), *destination_statements]
        if embedding:
            statements.append(_invoke_statement(embedding, "InvokeEmbeddingModels", EMBED_ACTIONS))
            statements += embedding_destinations
        if image:
            statements.append(_invoke_statement(image, "InvokeImageModels", IMAGE_ACTIONS))
        profile_arns = _unique(arn for model in models.values() for arn in model.profile_arns)
        if profile_arns:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadInferenceProfiles", actions=["bedrock:GetInferenceProfile"], resources=profile_arns
                )
            )
        if guardrail is not None:
            statements += _guardrail_statements(guardrail)
            if enforce_guardrail and chat_invoke is not None:
                statements.append(_require_guardrail_statement(chat_invoke, destination_statements, guardrail))

        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Invoke the generative AI kit's Bedrock models through its guardrail",
            statements=statements,
        )
        every_destination = [*destination_statements, *embedding_destinations]
        for resource in _unique(r for s in every_destination for r in s.resources if "*" in r):
            cdk.Validations.of(self.policy).acknowledge(
                cdk.Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{_nag_resource(resource)}]",
                    reason="A cross-region inference profile calls the model in any of its destination regions, "
                    "which AWS chooses; the statement holds only for calls through the configured profile "
                    "(bedrock:InferenceProfileArn condition).",
                )
            )

    def attach_to(self, grantee: iam.IGrantable) -> None:
        """Attach the policy to the role, user or group behind ``grantee``.

        Raises
        ------
        TypeError
            If the grantee's principal cannot hold a managed policy (e.g. a service principal).
        """
        principal = grantee.grant_principal
        add_managed_policy = getattr(principal, "add_managed_policy", None)
        if add_managed_policy is None:
            raise TypeError(
                f"grant_invoke attaches a managed policy, so the grantee must be an IAM role, user or group; "
                f"got {type(principal).__name__}"
            )
        add_managed_policy(self.policy)


def _invoke_statement(models: Iterable[BedrockModel], sid: str, actions: list[str]) -> iam.PolicyStatement:
    resources: list[str] = []
    for model in models:
        resources += model.profile_arns if model.ref.is_profile else [model.foundation_model_arn, *model.profile_arns]
    return iam.PolicyStatement(sid=sid, actions=actions, resources=_unique(resources))


def _destination_statement(model: BedrockModel, actions: list[str]) -> iam.PolicyStatement:
    fm = model.ref.foundation_model_id
    resources = [f"arn:{cdk.Aws.PARTITION}:bedrock:*::foundation-model/{fm}"]
    if model.ref.geography == "global":
        resources.append(f"arn:{cdk.Aws.PARTITION}:bedrock:::foundation-model/{fm}")
    return iam.PolicyStatement(
        sid=f"Invoke{pascal(model.alias)}InDestinationRegions",
        actions=actions,
        resources=resources,
        # A call through the application profile runs through the system profile it copies: allow either ARN.
        conditions={"StringEquals": {"bedrock:InferenceProfileArn": _one_or_list(model.profile_arns)}},
    )


def _guardrail_statements(guardrail: KitGuardrail) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="ApplyKitGuardrail", actions=["bedrock:ApplyGuardrail"], resources=[guardrail.guardrail_arn]
        ),
        # The guardrail is encrypted with the kit's key: using it during inference needs kms:Decrypt
        # (Amazon Bedrock user guide, customer managed key for your guardrail).
        iam.PolicyStatement(
            sid="DecryptKitGuardrail", actions=["kms:Decrypt"], resources=[guardrail.encryption_key.key_arn]
        ),
    ]


def _require_guardrail_statement(
    invoke: iam.PolicyStatement, destinations: list[iam.PolicyStatement], guardrail: KitGuardrail
) -> iam.PolicyStatement:
    # StringNotEquals also matches a request without any guardrail (the key is absent), so every call must name
    # this guardrail version (Amazon Bedrock user guide, Enforce the use of specific guardrails).
    resources = _unique([*invoke.resources, *(r for statement in destinations for r in statement.resources)])
    return iam.PolicyStatement(
        sid="RequireKitGuardrail",
        effect=iam.Effect.DENY,
        actions=INVOKE_ACTIONS,
        resources=resources,
        conditions={"StringNotEquals": {"bedrock:GuardrailIdentifier": guardrail.versioned_arn}},
    )


def _nag_resource(resource: str) -> str:
    """How cdk-nag writes a resource in a finding id: tokens become ``<AWS::Partition>`` and the like."""
    return resource.replace(cdk.Aws.PARTITION, "<AWS::Partition>")


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
