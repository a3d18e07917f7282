"""The kit's Amazon Bedrock guardrail and the published version the API pins."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_kms as kms
from constructs import Construct

from genai_kit.config.bedrock import GuardrailConfig


class KitGuardrail(Construct):
    """An ``AWS::Bedrock::Guardrail`` built from configuration, encrypted with the kit's key, and its version.

    A guardrail version is an immutable snapshot of the guardrail, and ``AWS::Bedrock::GuardrailVersion`` changes
    only when its ``Description`` (create-only) does. The description carries a digest of the settings, so a
    changed guardrail publishes a new version, which the API then pins; an unchanged one keeps its version.

    Attributes: ``guardrail_id``, ``guardrail_arn``, ``version``, ``versioned_arn`` (``<arn>:<version>``, the value
    of the ``bedrock:GuardrailIdentifier`` condition key), ``encryption_key``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        config: GuardrailConfig,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key = encryption_key
        properties = _guardrail_properties(config)
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=name,
            description="Guardrail of the generative AI kit's API",
            blocked_input_messaging=config.blocked_input_message,
            blocked_outputs_messaging=config.blocked_output_message,
            kms_key_arn=encryption_key.key_arn,
            **properties,
        )
        digest = hashlib.sha256(
            json.dumps(
                {**properties, "messages": [config.blocked_input_message, config.blocked_output_message]},
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        self.guardrail_version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"Published by the generative AI kit; settings digest {digest}",
        )
        self.guardrail_id = self.guardrail.attr_guardrail_id
        self.guardrail_arn = self.guardrail.attr_guardrail_arn
        self.version = self.guardrail_version.attr_version
        self.versioned_arn = cdk.Fn.join(":", [self.guardrail_arn, self.version])


def _guardrail_properties(config: GuardrailConfig) -> dict[str, Any]:
    """The policy properties of ``AWS::Bedrock::Guardrail``; a policy with nothing configured is left out."""
    properties: dict[str, Any] = {}
    filters = config.content_filters.configured()
    if filters:
        properties["content_policy_config"] = {
            "filtersConfig": [
                {"type": category, "inputStrength": strengths.input, "outputStrength": strengths.output}
                for category, strengths in filters.items()
            ]
        }
    if config.denied_topics:
        properties["topic_policy_config"] = {
            "topicsConfig": [
                {
                    "name": topic.name,
                    "definition": topic.definition,
                    "type": "DENY",
                    **({"examples": list(topic.examples)} if topic.examples else {}),
                }
                for topic in config.denied_topics
            ]
        }
    words: dict[str, object] = {}
    if config.words:
        words["wordsConfig"] = [{"text": word} for word in config.words]
    if config.profanity_filter:
        words["managedWordListsConfig"] = [{"type": "PROFANITY"}]
    if words:
        properties["word_policy_config"] = words
    sensitive: dict[str, object] = {}
    if config.pii_entities:
        sensitive["piiEntitiesConfig"] = [{"type": pii.type, "action": pii.action} for pii in config.pii_entities]
    if config.regexes:
        sensitive["regexesConfig"] = [
            {
                "name": regex.name,
                "pattern": regex.pattern,
                "action": regex.action,
                **({"description": regex.description} if regex.description else {}),
            }
            for regex in config.regexes
        ]
    if sensitive:
        properties["sensitive_information_policy_config"] = sensitive
    grounding = config.contextual_grounding
    thresholds = {"GROUNDING": grounding.grounding_threshold, "RELEVANCE": grounding.relevance_threshold}
    grounding_filters = [
        {"type": kind, "threshold": threshold} for kind, threshold in thresholds.items() if threshold is not None
    ]
    if grounding_filters:
        properties["contextual_grounding_policy_config"] = {"filtersConfig": grounding_filters}
    return properties
