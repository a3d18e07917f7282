"""Hyperparameter validation against the spec's types, ranges and options."""

from __future__ import annotations

import pytest

from genai_kit.catalog import CatalogError, HyperparameterSpec, resolve_training, validate_hyperparameters

SPECS = resolve_training(
    "meta-textgenerationneuron-llama-2-7b", "1.0.0", region="us-east-1", instance_type="ml.trn1.32xlarge"
).hyperparameters
MODEL = "meta-textgenerationneuron-llama-2-7b"


def test_valid_values_come_back_as_strings() -> None:
    values = {"max_steps": 50, "learning_rate": "1e-05", "mixed_precision": "False", "max_input_length": "4096"}
    assert validate_hyperparameters(SPECS, values, model=MODEL) == {
        "max_steps": "50",
        "learning_rate": "1e-05",
        "mixed_precision": "False",
        "max_input_length": "4096",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_step": 1}, "unknown hyperparameter 'max_step' for {m}; known: adam_beta1, adam_beta2, append_eod,"),
        ({"max_steps": "many"}, "hyperparameter 'max_steps' of {m} cannot be 'many': allowed an integer"),
        ({"max_steps": True}, "hyperparameter 'max_steps' of {m} cannot be True: allowed an integer"),
        ({"max_steps": 1}, "hyperparameter 'max_steps' of {m} cannot be 1: allowed >= 2"),
        ({"learning_rate": "fast"}, "hyperparameter 'learning_rate' of {m} cannot be 'fast': allowed a number"),
        ({"learning_rate": 2}, "hyperparameter 'learning_rate' of {m} cannot be 2: allowed <= 1"),
        (
            {"tensor_parallel_degree": "4"},
            "hyperparameter 'tensor_parallel_degree' of {m} cannot be '4': allowed one of 8",
        ),
        ({"mixed_precision": 1}, "hyperparameter 'mixed_precision' of {m} cannot be 1: allowed a string"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(values: dict[str, object], message: str) -> None:
    with pytest.raises(CatalogError) as excinfo:
        validate_hyperparameters(SPECS, values, model=MODEL)
    assert str(excinfo.value).startswith(message.format(m=MODEL))


@pytest.mark.parametrize(
    ("spec", "value", "allowed"),
    [
        (HyperparameterSpec(name="p", type="float", default=0.5, scope="algorithm", exclusive_min=0), 0, "> 0"),
        (HyperparameterSpec(name="p", type="float", default=0.5, scope="algorithm", exclusive_max=1), 1, "< 1"),
        (HyperparameterSpec(name="p", type="bool", default=True, scope="algorithm"), "yes", "True or False"),
    ],
)
def test_exclusive_bounds_and_booleans(spec: HyperparameterSpec, value: object, allowed: str) -> None:
    with pytest.raises(CatalogError) as excinfo:
        validate_hyperparameters([spec], {"p": value})
    assert str(excinfo.value) == f"hyperparameter 'p' of the model cannot be {value!r}: allowed {allowed}"
