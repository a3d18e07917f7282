"""The router's configuration, parsed once per execution environment from the variables the API stack sets.

The variables and their meaning are the contract in ``genai_kit.contracts.api_router``; a malformed
environment fails at start-up with the variable's name, before the router accepts a request.
"""

from __future__ import annotations

import os
from functools import cache

from genai_kit.contracts.api_router import BedrockEmbeddingTarget, BedrockTarget, EndpointTarget, RouterEnvironment

__all__ = ["BedrockEmbeddingTarget", "BedrockTarget", "EndpointTarget", "RouterEnvironment", "settings"]


@cache
def settings() -> RouterEnvironment:
    """The parsed environment (cached; tests reset it with ``settings.cache_clear()``)."""
    return RouterEnvironment.from_environment(os.environ)
