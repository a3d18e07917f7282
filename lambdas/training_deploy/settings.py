"""What the deploy function knows before any event arrives: its environment, parsed once per execution
environment with its contract (``genai_kit.contracts.training_deploy``)."""

from __future__ import annotations

import os
from functools import cache

from genai_kit.contracts.training_deploy import DeployEnvironment

# The handler's modules name it after what it is to them.
Environment = DeployEnvironment


@cache
def environment() -> DeployEnvironment:
    """The parsed environment (cached; tests reset it with ``environment.cache_clear()``)."""
    return DeployEnvironment.from_environment(os.environ)
