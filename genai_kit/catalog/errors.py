"""The one exception type of the catalog package."""

from __future__ import annotations

from collections.abc import Iterable


class CatalogError(ValueError):
    """A model, version, region, instance type or value the pinned catalog cannot resolve.

    Messages name what was asked for and list what would be valid, so a config error shown at
    synth time tells the user how to fix it.
    """


def choices(values: Iterable[str]) -> str:
    """Format valid values for an error message: sorted, comma-separated, or ``none``."""
    ordered = sorted(set(values))
    return ", ".join(ordered) if ordered else "none"
