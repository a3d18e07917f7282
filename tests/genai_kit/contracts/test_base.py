"""The environment encoding every function contract shares."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from genai_kit.contracts.base import FunctionEnvironment


class Nested(BaseModel):
    b: int
    a: str


class Example(FunctionEnvironment):
    name: str
    kind: Literal["x", "y"]
    label: str | None = None
    count: int = Field(ge=1)
    enabled: bool = False
    items: tuple[str, ...] = ()
    nested: dict[str, Nested] = Field(default_factory=dict)
    limit: int | None = None


def test_text_is_the_value_itself_and_everything_else_compact_sorted_json() -> None:
    example = Example(name="42", kind="x", count=3, enabled=True, items=("p", "q"), nested={"k": Nested(b=1, a="z")})
    assert example.to_environment() == {
        "NAME": "42",
        "KIND": "x",
        "COUNT": "3",
        "ENABLED": "true",
        "ITEMS": '["p","q"]',
        "NESTED": '{"k":{"a":"z","b":1}}',
    }


def test_the_environment_round_trips_and_other_variables_are_ignored() -> None:
    example = Example(name="true", kind="y", label="[1]", count=1, limit=7)
    assert Example.from_environment({**example.to_environment(), "PATH": "/bin"}) == example


def test_a_bad_or_missing_variable_is_named() -> None:
    with pytest.raises(ValueError, match=r"invalid test_base environment: COUNT: Field required") as missing:
        Example.from_environment({"NAME": "n", "KIND": "x"})
    assert "NAME" not in str(missing.value)
    with pytest.raises(ValueError, match=r"COUNT: Input should be a valid integer"):
        Example.from_environment({"NAME": "n", "KIND": "x", "COUNT": "lots"})
    with pytest.raises(ValueError, match=r"ITEMS: not JSON"):
        Example.from_environment({"NAME": "n", "KIND": "x", "COUNT": "1", "ITEMS": "[p"})
    with pytest.raises(ValueError, match=r"COUNT: Input should be greater than or equal to 1"):
        Example.from_environment({"NAME": "n", "KIND": "x", "COUNT": "0"})
    with pytest.raises(ValueError, match=r"KIND: Input should be 'x' or 'y'"):
        Example.from_environment({"NAME": "n", "KIND": "z", "COUNT": "1"})
