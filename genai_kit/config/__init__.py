"""The schema of the kit's configuration (cdk.json's ``stages``): typed, validated, nothing resolved yet.

``genai_kit.stage`` loads a stage from the CDK context with this schema and resolves it for its region.
"""

from genai_kit.config.stage import StageConfig, StorageConfig

__all__ = ["StageConfig", "StorageConfig"]
