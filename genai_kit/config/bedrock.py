"""Configuration of the Amazon Bedrock access stack: models, guardrail, invocation logging, cost attribution.

Enumerations and limits are the Bedrock API's own: botocore's ``bedrock`` service model (CreateGuardrail,
PutModelInvocationLoggingConfiguration) and the CloudFormation schemas of ``AWS::Bedrock::Guardrail`` and
``AWS::Bedrock::ApplicationInferenceProfile``. Checking them here turns a failed deployment into a synth error.
The guardrail's policies are in ``genai_kit.config.guardrail_policies``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from genai_kit.bedrock_ids import EMBEDDING_FAMILIES, IMAGE_FAMILIES, ImageFamilyName, ModelRef, parse_model_id
from genai_kit.config.base import LogRetentionDays, StrictModel
from genai_kit.config.guardrail_policies import (
    ContentFiltersConfig,
    ContextualGroundingConfig,
    DeniedTopicConfig,
    PiiEntityConfig,
    RegexConfig,
)

DEFAULT_MODEL_ALIAS = "nova-lite"
DEFAULT_FOUNDATION_MODEL = "amazon.nova-lite-v1:0"
ALIAS_MAX_LENGTH = 32
_ALIAS_RE = re.compile(rf"^(?=.{{1,{ALIAS_MAX_LENGTH}}}$)[a-z0-9]+(-[a-z0-9]+)*$")
# Bedrock's TagKey/TagValue patterns (botocore, CreateInferenceProfile): ASCII only, unlike most services.
_BEDROCK_TAG_KEY_RE = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]{1,128}$")
_BEDROCK_TAG_VALUE_RE = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]{0,256}$")


def _model_id(value: str) -> str:
    parse_model_id(value)
    return value


def _alias(value: str) -> str:
    if not _ALIAS_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected 1-{ALIAS_MAX_LENGTH} lowercase letters or digits in words joined by '-', "
            "e.g. nova-lite"
        )
    return value


def _bedrock_tags(value: dict[str, str]) -> dict[str, str]:
    for key, tag_value in value.items():
        if not _BEDROCK_TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
            raise ValueError(
                f"tag key '{key}' is not valid; expected 1-128 ASCII letters, digits, spaces or _.:/=+-@, "
                "not starting with aws:"
            )
        if not _BEDROCK_TAG_VALUE_RE.match(tag_value):
            raise ValueError(
                f"tag '{key}' has value '{tag_value}'; expected 0-256 ASCII letters, digits, spaces or _.:/=+-@"
            )
    return value


def _key_prefix(value: str) -> str:
    if value.startswith("/") or not value.endswith("/") or "//" in value or len(value) > 200:
        raise ValueError(f"got '{value}'; expected an S3 key prefix ending in '/', such as bedrock-invocation-logs/")
    return value


ModelId = Annotated[str, AfterValidator(_model_id)]
Alias = Annotated[str, AfterValidator(_alias)]
BedrockTags = Annotated[dict[str, str], AfterValidator(_bedrock_tags)]
BlockedMessage = Annotated[str, Field(min_length=1, max_length=500)]


DEFAULT_EMBEDDING_ALIAS = "titan-embed"
DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"


class BedrockModelConfig(StrictModel):
    """One Bedrock model the kit's API exposes, under its alias: a chat model (the default), an embedding model or
    an image model."""

    alias: Alias = Field(description="Name the API exposes the model under.")
    id: ModelId = Field(description="Foundation model id or system inference profile id.")
    kind: Literal["chat", "embedding", "image"] = Field(
        "chat",
        description="`chat` (POST /v1/chat/completions, Converse), `embedding` (POST /v1/embeddings, InvokeModel: "
        "amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3, cohere.embed-v4:0) "
        "or `image` (POST /v1/images/generations, InvokeModel: amazon.nova-canvas-v1:0 or "
        "stability.stable-image-core-v1:1, by foundation model id).",
    )
    tags: BedrockTags = Field(
        default_factory=dict, description="Cost-allocation tags of this model's application inference profile."
    )
    max_output_tokens: int | None = Field(
        None,
        ge=1,
        description="Chat models: the most tokens the model writes, from its model card; the API refuses a larger "
        "max_tokens (unset: Bedrock's own check applies).",
    )
    structured_output: Literal["tool", "json_schema"] = Field(
        "tool",
        description="Chat models: how a JSON schema response_format is honoured: `json_schema` where the model "
        "enforces schemas natively (Converse outputConfig; e.g. Claude Sonnet 4.5), `tool` (a forced tool call, "
        "which Amazon Nova constrains) otherwise.",
    )
    reasoning: Literal["none", "effort", "nova"] = Field(
        "none",
        description="Chat models: how reasoning_effort is passed: `effort` (Converse outputConfig.effort), `nova` "
        "(Amazon Nova 2's reasoningConfig), or `none` (the API refuses reasoning_effort).",
    )

    @property
    def ref(self) -> ModelRef:
        return parse_model_id(self.id)

    @property
    def embedding_family(self) -> Literal["titan-v2", "cohere-v3", "cohere-v4"] | None:
        """The request format of an embedding model (None for a chat model)."""
        return EMBEDDING_FAMILIES.get(self.ref.foundation_model_id) if self.kind == "embedding" else None

    @property
    def image_family(self) -> ImageFamilyName | None:
        """The request format of an image model (None for a chat or embedding model)."""
        return IMAGE_FAMILIES.get(self.ref.foundation_model_id) if self.kind == "image" else None

    @model_validator(mode="after")
    def _kind_settings(self) -> BedrockModelConfig:
        if self.kind == "chat":
            if self.ref.foundation_model_id in EMBEDDING_FAMILIES:
                raise ValueError(
                    f"kind: '{self.id}' is an embedding model, which Converse cannot chat with; "
                    'set "kind": "embedding" to serve it on POST /v1/embeddings'
                )
            if self.ref.foundation_model_id in IMAGE_FAMILIES:
                raise ValueError(
                    f"kind: '{self.id}' is an image model, which Converse cannot chat with; "
                    'set "kind": "image" to serve it on POST /v1/images/generations'
                )
            return self
        if self.kind == "embedding" and self.ref.foundation_model_id not in EMBEDDING_FAMILIES:
            raise ValueError(
                f"id: '{self.id}' is not an embedding model the API speaks to; supported: "
                f"{', '.join(sorted(EMBEDDING_FAMILIES))} (or their inference profiles)"
            )
        # By foundation model id only: no AWS page read here documents a system inference profile of either image
        # model (AWS's own Stable Image Core example calls the foundation model id in us-west-2).
        if self.kind == "image" and self.id not in IMAGE_FAMILIES:
            raise ValueError(
                f"id: '{self.id}' is not an image model the API speaks to; supported: "
                f"{', '.join(sorted(IMAGE_FAMILIES))} (by foundation model id)"
            )
        chat_only = {
            "max_output_tokens": self.max_output_tokens is not None,
            "structured_output": self.structured_output != "tool",
            "reasoning": self.reasoning != "none",
            # Embedding and image models get no application inference profile (see stacks/constructs/
            # bedrock_models.py), so there is nothing to tag.
            "tags": bool(self.tags),
        }
        wrong = [name for name, set_ in chat_only.items() if set_]
        if wrong:
            raise ValueError(f"{wrong[0]}: applies to chat models only, not to the {self.kind} model '{self.alias}'")
        return self


class GuardrailConfig(StrictModel):
    """The kit's guardrail: the API applies its published version to every Bedrock call."""

    enabled: bool = Field(True, description="Create the guardrail and let the invoke policy apply it.")
    enforce_with_iam: bool = Field(
        False,
        description="Deny model invocation without this guardrail version "
        "(IAM condition `bedrock:GuardrailIdentifier`).",
    )
    blocked_input_message: BlockedMessage = Field(
        "Sorry, I can't help with that request.", description="Returned instead of a response when a prompt is blocked."
    )
    blocked_output_message: BlockedMessage = Field(
        "Sorry, I can't provide that response.", description="Returned instead of a response that is blocked."
    )
    content_filters: ContentFiltersConfig = Field(
        default_factory=ContentFiltersConfig, description="Filter strengths per harmful category."
    )
    denied_topics: tuple[DeniedTopicConfig, ...] = Field(
        (), max_length=30, description="Topics to block, each with a name, a definition and example prompts."
    )
    words: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        (), max_length=10000, description="Words or phrases to block."
    )
    profanity_filter: bool = Field(False, description="Block the words of AWS's managed profanity list.")
    pii_entities: tuple[PiiEntityConfig, ...] = Field(
        (), description="PII types (e.g. EMAIL) and their action: BLOCK, ANONYMIZE or NONE (detect only)."
    )
    regexes: tuple[RegexConfig, ...] = Field(
        (), max_length=30, description="Custom sensitive-information patterns and their action."
    )
    contextual_grounding: ContextualGroundingConfig = Field(
        default_factory=ContextualGroundingConfig, description="Grounding and relevance thresholds."
    )

    @field_validator("denied_topics")
    @classmethod
    def _unique_topics(cls, value: tuple[DeniedTopicConfig, ...]) -> tuple[DeniedTopicConfig, ...]:
        _no_duplicates([topic.name for topic in value], "topic name")
        return value

    @field_validator("pii_entities")
    @classmethod
    def _unique_pii_types(cls, value: tuple[PiiEntityConfig, ...]) -> tuple[PiiEntityConfig, ...]:
        _no_duplicates([entity.type for entity in value], "PII type")
        return value

    @field_validator("regexes")
    @classmethod
    def _unique_regexes(cls, value: tuple[RegexConfig, ...]) -> tuple[RegexConfig, ...]:
        _no_duplicates([regex.name for regex in value], "regex name")
        return value

    @model_validator(mode="after")
    def _enforced_only_if_enabled(self) -> GuardrailConfig:
        if self.enforce_with_iam and not self.enabled:
            raise ValueError("enforce_with_iam: is true but enabled is false; there is no guardrail to enforce")
        if self.enabled and not self.has_policy:
            raise ValueError(
                "a guardrail needs at least one policy: content_filters, denied_topics, words, profanity_filter, "
                "pii_entities, regexes or contextual_grounding (or set enabled to false)"
            )
        return self

    @property
    def has_policy(self) -> bool:
        grounding = self.contextual_grounding
        return bool(
            self.content_filters.configured()
            or self.denied_topics
            or self.words
            or self.profanity_filter
            or self.pii_entities
            or self.regexes
            or grounding.grounding_threshold is not None
            or grounding.relevance_threshold is not None
        )


class InvocationLoggingConfig(StrictModel):
    """Bedrock model invocation logging: an account-and-region-wide setting, so off unless asked for."""

    enabled: bool = Field(
        False,
        description="Turn on model invocation logging for the whole account and region "
        "(replaces any existing setting).",
    )
    log_retention_days: LogRetentionDays = Field(90, description="Days the invocation log group keeps its events.")
    s3_key_prefix: Annotated[str, AfterValidator(_key_prefix)] = Field(
        "bedrock-invocation-logs/", description="Prefix of the invocation logs in the artifacts bucket."
    )
    text_data: bool = Field(True, description="Log the text of prompts and responses.")
    image_data: bool = Field(False, description="Log image inputs and outputs.")
    embedding_data: bool = Field(False, description="Log embeddings.")
    video_data: bool = Field(False, description="Log video inputs and outputs.")
    audio_data: bool = Field(False, description="Log audio inputs and outputs.")


_DEFAULT_MODELS: Any = (
    {"alias": DEFAULT_MODEL_ALIAS, "id": f"us.{DEFAULT_FOUNDATION_MODEL}"},
    {"alias": DEFAULT_EMBEDDING_ALIAS, "id": DEFAULT_EMBEDDING_MODEL, "kind": "embedding"},
)


class BedrockConfig(StrictModel):
    """Governed access to Amazon Bedrock models for the kit's API and other applications."""

    # An Amazon model needs no AWS Marketplace subscription; a geography profile spreads load over its regions.
    models: tuple[BedrockModelConfig, ...] = Field(
        _DEFAULT_MODELS,
        description="Bedrock models by alias: `[{alias, id, kind, ...}]`; `id` is a foundation model id "
        "(`amazon.nova-lite-v1:0`) or a system inference profile id (`us.…`, `eu.…`, `apac.…`, `global.…`). "
        "The default follows the stage's region: the `us.`, `eu.` or `apac.` Nova Lite profile, and Amazon Titan "
        "Text Embeddings V2 (`titan-embed`).",
    )
    application_inference_profiles: bool = Field(
        True,
        description="Create an application inference profile per model, tagged for cost allocation, "
        "and route the API through it.",
    )
    guardrail: GuardrailConfig = Field(default_factory=GuardrailConfig, description="The kit's guardrail.")
    invocation_logging: InvocationLoggingConfig = Field(
        default_factory=InvocationLoggingConfig, description="Model invocation logging."
    )

    @field_validator("models")
    @classmethod
    def _unique_aliases(cls, value: tuple[BedrockModelConfig, ...]) -> tuple[BedrockModelConfig, ...]:
        # Checked here rather than with min_length, which also fires when an item is invalid.
        if not value:
            raise ValueError(
                'got []; expected at least one model, e.g. [{"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"}]'
            )
        _no_duplicates([model.alias for model in value], "alias")
        return value


def _no_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} '{value}' appears twice; each must be unique")
        seen.add(value)
