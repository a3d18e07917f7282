"""The selected stage, fully resolved: the cdk.json context validated against the schema (``genai_kit.config``),
then every endpoint and the fine-tuning pipeline resolved against the catalog and the Neuron facts for the stage's
region. Every configuration error, with its key path, is raised here, before any construct exists.
"""

from genai_kit.stage.loader import ConfigError, ResolvedStage, load_stage

__all__ = ["ConfigError", "ResolvedStage", "load_stage"]
