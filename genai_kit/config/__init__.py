"""Typed, validated configuration of the kit, read from the CDK context (cdk.json and ``--context``)."""

from genai_kit.config.loader import ConfigError, KitConfig, load_config
from genai_kit.config.stage import StageConfig, StorageConfig

__all__ = ["ConfigError", "KitConfig", "StageConfig", "StorageConfig", "load_config"]
