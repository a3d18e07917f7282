"""What the deploy function knows before any event arrives: its environment, parsed once per execution
environment with its contract (``genai_kit.contracts.training_deploy``)."""

from __future__ import annotations

from genai_kit.contracts.base import environment_reader
from genai_kit.contracts.training_deploy import DeployEnvironment

# The handler's modules name it after what it is to them.
Environment = DeployEnvironment


# Parsed once per execution environment (tests start over with ``environment.cache_clear()``).
environment = environment_reader(DeployEnvironment)
