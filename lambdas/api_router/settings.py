"""The router's configuration, parsed once per execution environment from the variables the API stack sets.

The variables and their meaning are the contract in ``genai_kit.contracts.api_router``; a malformed
environment fails at start-up with the variable's name, before the router accepts a request.
"""

from __future__ import annotations

from genai_kit.contracts.api_router import (
    BedrockEmbeddingTarget,
    BedrockImageTarget,
    BedrockTarget,
    EndpointImageTarget,
    EndpointTarget,
    RouterEnvironment,
)
from genai_kit.contracts.base import environment_reader

__all__ = [
    "BedrockEmbeddingTarget",
    "BedrockImageTarget",
    "BedrockTarget",
    "EndpointImageTarget",
    "EndpointTarget",
    "RouterEnvironment",
    "settings",
]


# Parsed once per execution environment (tests start over with ``settings.cache_clear()``).
settings = environment_reader(RouterEnvironment)
