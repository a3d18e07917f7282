"""Read the pinned catalog files: one model version at a time, parsed once, cached.

Synth resolves a handful of models, so nothing here walks or parses the whole catalog: a model
version is one small file, read when first asked for.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.schema import CatalogEntry, ImageTable, ModelRef, RegionTable

_T = TypeVar("_T", CatalogEntry, RegionTable, ImageTable)

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "model_artifacts" / "catalog"

# Ids and versions become path components: refuse anything that could step outside the catalog.
_MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.\-]*$")


def entry_path(root: Path, model_id: str, version: str) -> Path:
    """Path of a model version's catalog file under ``root``."""
    return root / "jumpstart" / model_id / f"{version}.json"


def list_models(root: Path | None = None) -> tuple[ModelRef, ...]:
    """All (model id, version) pairs in the catalog, sorted, from file names alone."""
    base = (root or DEFAULT_ROOT) / "jumpstart"
    refs = [ModelRef(model_id=p.parent.name, version=p.stem) for p in base.glob("*/*.json")]
    return tuple(sorted(refs, key=lambda r: (r.model_id, _version_key(r.version))))


def list_versions(model_id: str, root: Path | None = None) -> tuple[str, ...]:
    """Versions of one model in the catalog, oldest first."""
    folder = (root or DEFAULT_ROOT) / "jumpstart" / model_id
    return tuple(sorted((p.stem for p in folder.glob("*.json")), key=_version_key))


def load_entry(model_id: str, version: str, *, root: Path | None = None) -> CatalogEntry:
    """Parse one model version's catalog file (cached per root, id and version)."""
    return _load_entry(root or DEFAULT_ROOT, model_id, version)


@functools.cache
def _load_entry(root: Path, model_id: str, version: str) -> CatalogEntry:
    if not _MODEL_ID.match(model_id) or not (root / "jumpstart" / model_id).is_dir():
        known = choices(ref.model_id for ref in list_models(root))
        raise CatalogError(f"unknown model id {model_id!r}; the catalog has: {known}")
    path = entry_path(root, model_id, version)
    if not _VERSION.match(version) or not path.is_file():
        known = choices(list_versions(model_id, root))
        raise CatalogError(f"unknown version {version!r} of model {model_id!r}; the catalog has: {known}")
    return _parse(CatalogEntry, path)


@functools.cache
def load_regions(root: Path | None = None) -> RegionTable:
    """The JumpStart regions and buckets table (``regions.json``)."""
    return _parse(RegionTable, (root or DEFAULT_ROOT) / "regions.json")


def load_image_table(framework: str, *, root: Path | None = None) -> ImageTable:
    """One Neuron DLC image table (``images/<framework>.json``)."""
    return _load_image_table(root or DEFAULT_ROOT, framework)


@functools.cache
def _load_image_table(root: Path, framework: str) -> ImageTable:
    path = root / "images" / f"{framework}.json"
    if not _MODEL_ID.match(framework) or not path.is_file():
        known = choices(p.stem for p in (root / "images").glob("*.json"))
        raise CatalogError(f"unknown Neuron DLC framework {framework!r}; the catalog has image tables for: {known}")
    return _parse(ImageTable, path)


def _parse(model: type[_T], path: Path) -> _T:
    try:
        return model.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise CatalogError(f"catalog file {path} is unreadable or does not match the schema: {exc}") from exc


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key that orders 1.10.0 after 1.9.0 (numeric parts numerically)."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.split("."))
