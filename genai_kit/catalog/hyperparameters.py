"""Check user hyperparameters against a spec's declared types, ranges and options.

A training job that gets a bad hyperparameter fails minutes later on a Trainium instance; this
check fails at synth time instead, naming the key, the bad value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.schema import HyperparameterSpec

_BOOL_STRINGS = {"True": True, "False": False, "true": True, "false": False}


def validate_hyperparameters(
    specs: Iterable[HyperparameterSpec], values: Mapping[str, object], *, model: str = "the model"
) -> dict[str, str]:
    """Validate ``values`` against ``specs`` and return them as the strings SageMaker receives.

    Raises CatalogError for an unknown key, a value of the wrong type, a value outside
    ``min``/``max`` (or the exclusive bounds), or a value not among ``options``.
    """
    by_name = {spec.name: spec for spec in specs}
    result: dict[str, str] = {}
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            raise CatalogError(f"unknown hyperparameter {name!r} for {model}; known: {choices(by_name)}")
        result[name] = _check(spec, value, model)
    return result


def _check(spec: HyperparameterSpec, value: object, model: str) -> str:
    def fail(allowed: str) -> CatalogError:
        return CatalogError(f"hyperparameter {spec.name!r} of {model} cannot be {value!r}: allowed {allowed}")

    number: float | None = None
    if spec.type == "int":
        number = _as_int(value)
        if number is None:
            raise fail("an integer")
    elif spec.type == "float":
        number = _as_float(value)
        if number is None:
            raise fail("a number")
    elif spec.type == "bool":
        if not isinstance(value, bool) and value not in _BOOL_STRINGS:
            raise fail("True or False")
    elif not isinstance(value, str):
        raise fail("a string")

    if spec.options is not None and str(value) not in {str(o) for o in spec.options}:
        raise fail(f"one of {', '.join(str(o) for o in spec.options)}")
    if number is not None:
        _check_range(spec, number, fail)
    return str(value)


def _check_range(spec: HyperparameterSpec, number: float, fail: Callable[[str], CatalogError]) -> None:
    if spec.min is not None and number < spec.min:
        raise fail(f">= {spec.min}")
    if spec.max is not None and number > spec.max:
        raise fail(f"<= {spec.max}")
    if spec.exclusive_min is not None and number <= spec.exclusive_min:
        raise fail(f"> {spec.exclusive_min}")
    if spec.exclusive_max is not None and number >= spec.exclusive_max:
        raise fail(f"< {spec.exclusive_max}")


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _as_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
