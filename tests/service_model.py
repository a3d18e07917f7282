"""Checks a request against its operation's botocore service model: what botocore's own validation leaves out.

botocore validates types, required members and minimums before sending; AWS also refuses a value outside an
enum, over a maximum (length, count or range), not matching a member's pattern, a union with other than one
member set, or a member the shape does not have. These are checked here, so a test that sends a request through
the fake AWS also proves the request is one the service would take. A pattern must match the whole value, as
the services check it ("Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+" refuses a tool name
with a space), so it is matched in full (``fullmatch``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import regex
from botocore.model import Shape


def violations(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``shape``'s constraints, each as ``path: reason`` (empty when it fits)."""
    if shape.metadata.get("document"):
        return []  # any JSON value
    check = _CHECKS.get(shape.type_name)
    return check(shape, value, path or "(request)", path) if check else []


def _structure(shape: Shape, value: Any, where: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a structure, got {type(value).__name__}"]
    members = shape.members
    problems = [f"{where}: '{name}' is not a member of {shape.name}" for name in sorted(set(value) - set(members))]
    if shape.metadata.get("union") and len(value) != 1:
        problems.append(f"{where}: the union {shape.name} must have exactly one member set, got {sorted(value)}")
    problems += [
        f"{where}: required member '{name}' is missing"
        for name in shape.metadata.get("required", [])
        if name not in value
    ]
    for name, item in value.items():
        if name in members:
            problems += violations(members[name], item, f"{path}.{name}" if path else name)
    return problems


def _list(shape: Shape, value: Any, where: str, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where}: expected a list, got {type(value).__name__}"]
    problems = _size(shape.metadata, len(value), where, "items")
    for index, item in enumerate(value):
        problems += violations(shape.member, item, f"{path}[{index}]")
    return problems


def _map(shape: Shape, value: Any, where: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a map, got {type(value).__name__}"]
    problems: list[str] = []
    for key, item in value.items():
        problems += violations(shape.key, key, f"{path}.(key)")
        problems += violations(shape.value, item, f"{path}.{key}")
    return problems


def _string(shape: Shape, value: Any, where: str, _path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: expected a string, got {type(value).__name__}"]
    enum = shape.enum
    problems = [f"{where}: {value!r} is not one of {enum}"] if enum and value not in enum else []
    problems += _size(shape.metadata, len(value), where, "characters")
    pattern = _pattern(shape.metadata.get("pattern"))
    if pattern is not None and not pattern.fullmatch(value):
        problems.append(f"{where}: {value!r:.80} does not match {shape.metadata['pattern']!r:.80}")
    return problems


def _blob(shape: Shape, value: Any, where: str, _path: str) -> list[str]:
    if not isinstance(value, bytes | bytearray | str):
        return [f"{where}: expected bytes, got {type(value).__name__}"]
    return _size(shape.metadata, len(value), where, "bytes")


def _number(shape: Shape, value: Any, where: str, _path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{where}: expected a number, got {type(value).__name__}"]
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        return [f"{where}: {value} is below the minimum {low}"]
    if high is not None and value > high:
        return [f"{where}: {value} is above the maximum {high}"]
    return []


def _boolean(_shape: Shape, value: Any, where: str, _path: str) -> list[str]:
    return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {type(value).__name__}"]


_CHECKS: dict[str, Callable[[Shape, Any, str, str], list[str]]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "blob": _blob,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
    "boolean": _boolean,
}


def _size(metadata: dict[str, Any], size: int, where: str, unit: str) -> list[str]:
    if "min" in metadata and size < metadata["min"]:
        return [f"{where}: {size} {unit}, fewer than the minimum {metadata['min']}"]
    if "max" in metadata and size > metadata["max"]:
        return [f"{where}: {size} {unit}, more than the maximum {metadata['max']}"]
    return []


# AWS patterns are Java regular expressions: the third-party ``regex`` module reads their Unicode properties
# (\p{L}, \p{Alnum}); a few Java-only spellings are translated: \p{Print} and \p{ASCII}, \z, and a UTF-16 surrogate
# pair range, which stands for the characters beyond the Basic Multilingual Plane.
_JAVA_SPELLINGS = {
    r"\p{Print}": r"\x20-\x7e",
    r"\p{ASCII}": r"[\x00-\x7f]",
    r"\z": r"\Z",
    r"\uD800\uDC00-\uDBFF\uDFFF": r"\U00010000-\U0010FFFF",
}


@cache
def _pattern(pattern: str | None) -> regex.Pattern[str] | None:
    if pattern is None:
        return None
    for java, python in _JAVA_SPELLINGS.items():
        pattern = pattern.replace(java, python)
    return regex.compile(pattern, regex.DOTALL)
