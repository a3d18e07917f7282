"""The ValidateDataset function's contract: the rules travel as one JSON variable and bad rules are named."""

from __future__ import annotations

import json

import pytest

from genai_kit.contracts.training_validate_dataset import DatasetRules, ValidateDatasetEnvironment

ENVIRONMENT = ValidateDatasetEnvironment(
    dataset_rules=DatasetRules(
        required_fields=("prompt", "completion"), min_examples=10, max_files=3, max_file_mb=1, max_record_kb=64
    )
)


def test_the_rules_are_one_compact_json_variable() -> None:
    variables = ENVIRONMENT.to_environment()
    assert set(variables) == {"DATASET_RULES"}
    assert json.loads(variables["DATASET_RULES"])["required_fields"] == ["prompt", "completion"]
    assert ValidateDatasetEnvironment.from_environment(variables) == ENVIRONMENT


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("{", "DATASET_RULES: not JSON"),
        ('{"required_fields": []}', "DATASET_RULES.required_fields: Tuple should have at least 1 item"),
        (
            '{"required_fields": ["text"], "min_examples": 0, "max_files": 1, "max_file_mb": 1, "max_record_kb": 1}',
            "DATASET_RULES.min_examples: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_rules_are_named(rules: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid training_validate_dataset environment") as caught:
        ValidateDatasetEnvironment.from_environment({"DATASET_RULES": rules})
    assert message in str(caught.value)
