"""The one way a construct hands a Lambda function its configuration, and the function reads it back.

A contract is a frozen pydantic model; each field is the environment variable of its upper-cased name. A string
field is the variable's value as is; any other field (a number, a flag, a list, a mapping, a nested model) is its
JSON, with sorted keys, so the synthesized template is stable. The construct calls ``to_environment()``, the
handler ``from_environment(os.environ)`` once per execution environment: a missing or malformed variable fails the
function at start-up with the variable's name, before it handles an event.
"""

from __future__ import annotations

import functools
import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class FunctionEnvironment(BaseModel):
    """Base of every function's contract (see the module's docstring for the encoding).

    Raises
    ------
    ValueError
        From ``from_environment``, naming each bad variable, e.g. ``invalid training_evaluate environment:
        THRESHOLDS: Field required``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_environment(self) -> dict[str, str]:
        """The Lambda environment variables, as strings (unset optional fields are left out)."""
        values = self.model_dump(mode="json", exclude_none=True)
        return {
            name.upper(): value
            if _is_text(type(self), name)
            else json.dumps(value, sort_keys=True, separators=(",", ":"))
            for name, value in values.items()
        }

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Self:
        """Parse the variables this contract names out of ``environ`` (other variables are ignored)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in cls.model_fields:
            raw = environ.get(name.upper())
            if raw is None or raw == "":
                continue
            if _is_text(cls, name):
                values[name] = raw
                continue
            try:
                values[name] = json.loads(raw)
            except ValueError as error:
                if raw.lstrip().startswith(("{", "[")):
                    problems.append(f"{name.upper()}: not JSON ({error})")
                else:
                    values[name] = raw  # a scalar: the model's own message says what it should be
        if not problems:
            try:
                return cls.model_validate(values)
            except ValidationError as error:
                # A rule across variables (a model validator) has no location: its message names them itself.
                problems = [
                    ".".join([str(detail["loc"][0]).upper(), *(str(part) for part in detail["loc"][1:])])
                    + f": {detail['msg']}"
                    if detail["loc"]
                    else str(detail["msg"])
                    for detail in error.errors(include_url=False)
                ]
        raise ValueError(f"invalid {cls.contract_name()} environment: " + "; ".join(problems))

    @classmethod
    def contract_name(cls) -> str:
        """The function the contract belongs to, for messages: its module's name (``api_router``)."""
        return cls.__module__.rsplit(".", 1)[-1]


Contract = TypeVar("Contract", bound=FunctionEnvironment)


def environment_reader(contract: type[Contract]) -> functools._lru_cache_wrapper[Contract]:
    """A function's reader of its own environment: parses ``os.environ`` with ``contract`` on the first call and
    returns that instance afterwards (once per execution environment; tests start over with ``.cache_clear()``).

    Raises ``ValueError`` naming the variable, as ``FunctionEnvironment.from_environment`` does."""

    @functools.cache
    def environment() -> Contract:
        return contract.from_environment(os.environ)

    return environment


def _is_text(model: type[BaseModel], name: str) -> bool:
    """Whether the field holds a string, one of some strings, or an optional one: its variable is the string
    itself, not JSON."""
    return _text(model.model_fields[name].annotation)


def _text(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        return len(members) == 1 and _text(members[0])
    if origin is typing.Literal:
        return all(isinstance(value, str) for value in typing.get_args(annotation))
    return annotation is str
