"""Renders the configuration reference (every setting, its default and meaning) as a Markdown table.

The README embeds this table between markers, and a test keeps the two identical:
``python -m genai_kit.config.reference`` prints it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from genai_kit.config.stage import StageConfig

BEGIN_MARKER = "<!-- config-reference:begin -->"
END_MARKER = "<!-- config-reference:end -->"


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: itself, the items of a tuple of models, or each member of a union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _models(args[0])
    if origin in (Union, UnionType):
        return [model for arg in args for model in _models(arg)]
    return []


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if get_origin(annotation) is tuple and _models(get_args(annotation)[0]):
            yield key, _default(field.default, field.default_factory), field.description or ""
            for item_model in _models(get_args(annotation)[0]):
                yield from _rows(item_model, f"{key}[].")
            continue
        members = _models(annotation)
        if len(members) > 1:
            yield key, "required", field.description or ""
            for member in members:
                kind = member.model_fields["kind"].annotation
                yield from _rows(member, f"{key} (kind {get_args(kind)[0]}).")
            continue
        if members:
            if field.default is None:
                # An optional section (absent by default): its own row says what setting it does.
                yield key, "none", field.description or ""
            yield from _rows(members[0], f"{key}.")
            continue
        yield key, _default(field.default, field.default_factory), field.description or ""


def _default(default: Any, factory: Any) -> str:
    if default is PydanticUndefined:
        if factory is None:
            return "required"
        default = factory()
    if isinstance(default, tuple) and default and isinstance(default[0], BaseModel):
        return f"{len(default)} (see cdk.json)" if len(default) > 1 else "one endpoint (below)"
    return f"`{json.dumps(default)}`"


def render() -> str:
    """The table, one row per leaf setting, keys relative to ``stages.<name>``."""
    lines = ["| key (under `stages.<name>`) | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | {default} | {meaning} |" for key, default, meaning in _rows(StageConfig, "")]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
