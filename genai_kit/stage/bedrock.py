"""The stage's Bedrock section resolved for its region: the default models follow the region's geography, and
every configured system inference profile must be callable from the region."""

from __future__ import annotations

from genai_kit.bedrock_ids import GEOGRAPHY_SOURCE_REGIONS, default_geography, source_region_allowed
from genai_kit.config.bedrock import (
    DEFAULT_EMBEDDING_ALIAS,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_FOUNDATION_MODEL,
    DEFAULT_MODEL_ALIAS,
    BedrockConfig,
    BedrockModelConfig,
)
from genai_kit.stage.errors import ResolutionError


class BedrockError(ResolutionError):
    """A configured model cannot be called from the stage's region; ``key`` is below ``bedrock``."""


def resolve_bedrock(config: BedrockConfig, *, region: str) -> BedrockConfig:
    """``config`` for a stage in ``region``: unless ``models`` is configured, the Amazon Nova Lite profile of the
    region's geography (``us.``, ``eu.``, ``apac.``) and Amazon Titan Text Embeddings V2.

    Raises
    ------
    BedrockError
        ``models.<i>.id`` when a system inference profile cannot be called from ``region`` (a profile exists only
        in the regions of its geography: Amazon Bedrock user guide, "Supported Regions and models for inference
        profiles").
    """
    geography = default_geography(region)
    if "models" not in config.model_fields_set and geography is not None:
        chat = BedrockModelConfig(alias=DEFAULT_MODEL_ALIAS, id=f"{geography}.{DEFAULT_FOUNDATION_MODEL}")
        embedding = BedrockModelConfig(alias=DEFAULT_EMBEDDING_ALIAS, id=DEFAULT_EMBEDDING_MODEL, kind="embedding")
        return config.model_copy(update={"models": (chat, embedding)})
    for index, model in enumerate(config.models):
        profile_geography = model.ref.geography
        if profile_geography is not None and not source_region_allowed(profile_geography, region):
            raise BedrockError(
                f"models.{index}.id",
                f"'{model.id}' is a '{profile_geography}' inference profile, which can only be called from "
                f"{GEOGRAPHY_SOURCE_REGIONS[profile_geography]}; the stage's region is '{region}', so configure a "
                "model or profile offered there",
            )
    return config
