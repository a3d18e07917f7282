"""The DescribeFailure function's configuration, parsed once per execution environment from the variables the
pipeline's construct sets.

The contract is ``genai_kit.contracts.training_failure``; a malformed environment fails at start-up with the
variable's name.
"""

from __future__ import annotations

import os
from functools import cache

from genai_kit.contracts.training_failure import FailureEnvironment

__all__ = ["FailureEnvironment", "environment"]


@cache
def environment() -> FailureEnvironment:
    """The parsed environment (cached; tests reset it with ``environment.cache_clear()``)."""
    return FailureEnvironment.from_environment(os.environ)
