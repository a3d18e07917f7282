"""Regenerate the pinned catalog from JumpStart specs and the SageMaker SDK's image tables.

Run as ``python -m genai_kit.catalog.refresh``; see ``docs/catalog.md``. Output is
deterministic (sorted keys, fixed indentation, the date given), so regenerating from the same
inputs reproduces the committed files byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from genai_kit.catalog.errors import CatalogError
from genai_kit.catalog.loader import entry_path, list_models, load_entry
from genai_kit.catalog.refresh.convert import convert_spec
from genai_kit.catalog.refresh.gacc import convert_gacc, is_gacc_source
from genai_kit.catalog.refresh.sources import BucketSource, FolderSource, SpecSource, select_row
from genai_kit.catalog.refresh.tables import image_tables, region_table

__all__ = ["BucketSource", "FolderSource", "SpecSource", "dump", "parse_model_arg", "refresh", "refresh_from_extract"]


def parse_model_arg(value: str) -> tuple[str, str | None]:
    """``ID`` or ``ID@VERSION`` -> (id, version or None)."""
    model_id, _, version = value.partition("@")
    return model_id, version or None


def refresh(
    source: SpecSource,
    *,
    out: Path,
    date: str,
    models: Sequence[tuple[str, str | None]] | None = None,
    images_dir: Path | None = None,
) -> list[Path]:
    """Write catalog entries (and, given ``images_dir``, the region and image tables) under ``out``.

    ``models`` defaults to the (id, version) pairs the catalog under ``out`` already holds that were converted from a
    JumpStart spec (entries converted from the third-party extract are refreshed by ``refresh_from_extract``).
    Returns the files written.
    """
    wanted = (
        list(models)
        if models is not None
        else [
            (r.model_id, r.version)
            for r in list_models(out)
            if not is_gacc_source(load_entry(r.model_id, r.version, root=out).source)
        ]
    )
    if not wanted:
        raise CatalogError(f"no model to refresh: {out} holds no entry and no --model was given")
    written: list[Path] = []
    manifest = source.manifest()
    for model_id, version in wanted:
        row = select_row(manifest, model_id, version)
        spec_key = str(row["spec_key"])
        entry = convert_spec(source.spec(spec_key), source=source.describe(spec_key), date=date)
        written.append(_write(entry_path(out, entry.model_id, entry.version), entry))
    if images_dir is not None:
        written.append(_write(out / "regions.json", region_table(images_dir, date=date)))
        written.extend(_write(out / "images" / f"{t.framework}.json", t) for t in image_tables(images_dir, date=date))
    return written


def refresh_from_extract(extract: Path, *, out: Path, date: str, keys: Sequence[str]) -> list[Path]:
    """Write the catalog entries of the rows ``keys`` of a generative-ai-cdk-constructs catalog extract (JSON object
    of rows by key, ``genai_kit.catalog.refresh.gacc``) under ``out``. Returns the files written."""
    rows = json.loads(extract.read_text(encoding="utf-8"))
    written: list[Path] = []
    for key in keys:
        if key not in rows:
            raise CatalogError(f"row {key!r} is not in {extract}; it has: {', '.join(sorted(rows))}")
        entry = convert_gacc(key, rows[key], date=date)
        written.append(_write(entry_path(out, entry.model_id, entry.version), entry))
    return written


def dump(model: BaseModel) -> str:
    """The canonical text of a catalog file: sorted keys, two-space indent, final newline."""
    data = model.model_dump(mode="json", by_alias=True)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write(path: Path, model: BaseModel) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(model), encoding="utf-8")
    return path
