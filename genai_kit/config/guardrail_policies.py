"""The policies of the kit's Bedrock guardrail: content filters, denied topics, sensitive information (PII types
and custom patterns) and contextual grounding.

Enumerations and limits are the Bedrock API's own: botocore's ``bedrock`` service model (CreateGuardrail) and the
CloudFormation schema of ``AWS::Bedrock::Guardrail`` (its ContentPolicyConfig, TopicPolicyConfig,
SensitiveInformationPolicyConfig and ContextualGroundingPolicyConfig). Checking them here turns a failed
deployment into a synth error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from genai_kit.config.base import StrictModel

# GuardrailTopicName (botocore): letters, digits and -_ !?.
_TOPIC_NAME_RE = re.compile(r"^[0-9a-zA-Z\-_ !?.]{1,100}$")

FilterStrength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
PiiEntityType = Literal[
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
]
SensitiveInformationAction = Literal["BLOCK", "ANONYMIZE", "NONE"]

Threshold = Annotated[float, Field(ge=0, le=0.99)]


class FilterStrengths(StrictModel):
    """How strongly one content filter category filters prompts (input) and model responses (output)."""

    input: FilterStrength
    output: FilterStrength


# Defaults are plain JSON (validated into models, as validate_default is on) so the README reference can show them.
_HIGH: Any = {"input": "HIGH", "output": "HIGH"}
_INPUT_HIGH: Any = {"input": "HIGH", "output": "NONE"}


class ContentFiltersConfig(StrictModel):
    """Content filter strengths per harmful category; ``null`` leaves a category unfiltered."""

    sexual: FilterStrengths | None = Field(_HIGH, description="Sexual content filter: `{input, output}` strengths.")
    violence: FilterStrengths | None = Field(_HIGH, description="Violence filter: `{input, output}` strengths.")
    hate: FilterStrengths | None = Field(_HIGH, description="Hate filter: `{input, output}` strengths.")
    insults: FilterStrengths | None = Field(_HIGH, description="Insults filter: `{input, output}` strengths.")
    misconduct: FilterStrengths | None = Field(_HIGH, description="Misconduct filter: `{input, output}` strengths.")
    prompt_attack: FilterStrengths | None = Field(
        _INPUT_HIGH,
        description="Prompt attack (jailbreak, injection) filter; applies to prompts only, so `output` is NONE.",
    )

    @model_validator(mode="after")
    def _prompt_attack_filters_prompts_only(self) -> ContentFiltersConfig:
        if self.prompt_attack is not None and self.prompt_attack.output != "NONE":
            raise ValueError(
                f"prompt_attack.output: got '{self.prompt_attack.output}'; the prompt attack filter applies to "
                "prompts only, so its output strength must be NONE"
            )
        return self

    def configured(self) -> dict[str, FilterStrengths]:
        """The filters to create, keyed by the API's category name (e.g. ``PROMPT_ATTACK``)."""
        return {name.upper(): value for name, value in self if value is not None}


class DeniedTopicConfig(StrictModel):
    """A topic the guardrail blocks in prompts and responses."""

    name: str = Field(description="Topic name: letters, digits and -_ !?., at most 100 characters.")
    definition: str = Field(min_length=1, max_length=200, description="What the topic covers.")
    examples: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        (), max_length=5, description="Up to 5 example prompts that belong to the topic."
    )

    @field_validator("name")
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not _TOPIC_NAME_RE.match(value):
            raise ValueError(f"got '{value}'; expected 1-100 letters, digits, spaces or -_!?.")
        return value


class PiiEntityConfig(StrictModel):
    """What the guardrail does with one type of personally identifiable information."""

    type: PiiEntityType
    action: SensitiveInformationAction


class RegexConfig(StrictModel):
    """A custom pattern of sensitive information, and what the guardrail does when it matches."""

    name: str = Field(min_length=1, max_length=100)
    pattern: str = Field(min_length=1, max_length=500)
    action: SensitiveInformationAction
    description: str | None = Field(None, min_length=1, max_length=1000)


class ContextualGroundingConfig(StrictModel):
    """Thresholds below which a response counts as ungrounded in the source, or irrelevant to the query."""

    grounding_threshold: Threshold | None = Field(
        None, description="Block responses less grounded in the source than this (0-0.99); null: no check."
    )
    relevance_threshold: Threshold | None = Field(
        None, description="Block responses less relevant to the query than this (0-0.99); null: no check."
    )
