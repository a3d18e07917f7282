"""The DescribeFailure function's configuration, parsed once per execution environment from the variables the
pipeline's construct sets.

The contract is ``genai_kit.contracts.training_failure``; a malformed environment fails at start-up with the
variable's name.
"""

from __future__ import annotations

from genai_kit.contracts.base import environment_reader
from genai_kit.contracts.training_failure import FailureEnvironment

__all__ = ["FailureEnvironment", "environment"]


# Parsed once per execution environment (tests start over with ``environment.cache_clear()``).
environment = environment_reader(FailureEnvironment)
