"""Renders the configuration reference (every setting, its default and meaning) as a Markdown table.

The README embeds this table between markers, and a test keeps the two identical:
``python -m genai_kit.config.reference`` prints it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from genai_kit.config.stage import StageConfig

BEGIN_MARKER = "<!-- config-reference:begin -->"
END_MARKER = "<!-- config-reference:end -->"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rows(annotation, f"{key}.")
            continue
        yield key, _default(field.default, field.default_factory), field.description or ""


def _default(default: Any, factory: Any) -> str:
    if default is PydanticUndefined:
        default = factory() if factory is not None else None
        if default is None:
            return "required"
    return f"`{json.dumps(default)}`"


def render() -> str:
    """The table, one row per leaf setting, keys relative to ``stages.<name>``."""
    lines = ["| key (under `stages.<name>`) | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | {default} | {meaning} |" for key, default, meaning in _rows(StageConfig, "")]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
