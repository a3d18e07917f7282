"""The Evaluate function's configuration, parsed once per execution environment from the variables the pipeline's
construct sets.

The contract is ``genai_kit.contracts.training_evaluate``; a malformed environment fails at start-up with the
variable's name.
"""

from __future__ import annotations

import os
from functools import cache

from genai_kit.contracts.training_evaluate import EvaluateEnvironment

__all__ = ["EvaluateEnvironment", "environment"]


@cache
def environment() -> EvaluateEnvironment:
    """The parsed environment (cached; tests reset it with ``environment.cache_clear()``)."""
    return EvaluateEnvironment.from_environment(os.environ)
