"""The dataset rules, parsed once per execution environment from the variables the pipeline's construct sets.

The contract is ``genai_kit.contracts.training_validate_dataset``; a malformed environment fails at start-up with
the variable's name.
"""

from __future__ import annotations

import os
from functools import cache

from genai_kit.contracts.training_validate_dataset import ValidateDatasetEnvironment
from lambdas.training_validate_dataset.dataset import Rules


@cache
def rules() -> Rules:
    """The stage's dataset rules (cached; tests reset them with ``rules.cache_clear()``)."""
    configured = ValidateDatasetEnvironment.from_environment(os.environ).dataset_rules
    return Rules(
        required_fields=configured.required_fields,
        min_examples=configured.min_examples,
        max_files=configured.max_files,
        max_file_mb=configured.max_file_mb,
        max_record_kb=configured.max_record_kb,
        record_format=configured.record_format,
    )
