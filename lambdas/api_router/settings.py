"""The router's configuration, read once from its environment (set by the API stack at deploy time).

``MODELS`` maps each alias the API exposes to its backend::

    {"tinyllama": {"backend": "sagemaker", "endpoint": "genai-kit-dev-tinyllama", "format": "messages"},
     "nova-lite": {"backend": "bedrock", "model": "arn:aws:bedrock:...:application-inference-profile/..."}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Literal

RequestFormat = Literal["messages", "prompt"]


@dataclass(frozen=True)
class BedrockTarget:
    model: str


@dataclass(frozen=True)
class EndpointTarget:
    endpoint: str
    format: RequestFormat


@dataclass(frozen=True)
class Settings:
    models: dict[str, BedrockTarget | EndpointTarget]
    guardrail_id: str | None
    guardrail_version: str | None
    max_body_bytes: int
    log_payloads: bool
    model_timeout_seconds: int


@cache
def settings() -> Settings:
    """Parse the environment once per execution environment; a malformed one fails loudly in the logs."""
    models: dict[str, BedrockTarget | EndpointTarget] = {}
    for alias, target in json.loads(os.environ.get("MODELS", "{}")).items():
        if target["backend"] == "bedrock":
            models[alias] = BedrockTarget(model=target["model"])
        else:
            models[alias] = EndpointTarget(endpoint=target["endpoint"], format=target.get("format", "messages"))
    return Settings(
        models=models,
        guardrail_id=os.environ.get("GUARDRAIL_ID") or None,
        guardrail_version=os.environ.get("GUARDRAIL_VERSION") or None,
        max_body_bytes=int(os.environ.get("MAX_BODY_BYTES", "1048576")),
        log_payloads=os.environ.get("LOG_PAYLOADS", "false").lower() == "true",
        model_timeout_seconds=int(os.environ.get("MODEL_TIMEOUT_SECONDS", "25")),
    )
