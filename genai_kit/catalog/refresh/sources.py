"""Where JumpStart specs are read from: a local folder or the live JumpStart bucket.

Both follow the same layout (the SageMaker SDK's local-override layout mirrors the bucket):
``models_manifest.json`` lists ``{model_id, version, spec_key}`` rows and each spec is a JSON
file at its ``spec_key``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from genai_kit.catalog.errors import CatalogError, choices

MANIFEST_KEY = "models_manifest.json"


class SpecSource(Protocol):
    """Reads the manifest and specs of one JumpStart content location."""

    def manifest(self) -> list[dict[str, Any]]: ...

    def spec(self, spec_key: str) -> dict[str, Any]: ...

    def describe(self, spec_key: str) -> str:
        """The provenance string recorded in the catalog entry."""
        ...


@dataclass(frozen=True)
class FolderSource:
    """A folder in the SDK's local-override layout (offline refresh, tests)."""

    root: Path

    def manifest(self) -> list[dict[str, Any]]:
        return _json_list(self._read(MANIFEST_KEY), MANIFEST_KEY)

    def spec(self, spec_key: str) -> dict[str, Any]:
        return _json_dict(self._read(spec_key), spec_key)

    def describe(self, spec_key: str) -> str:
        return f"jumpstart-spec:local:{spec_key}"

    def _read(self, key: str) -> bytes:
        path = self.root / key
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CatalogError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class BucketSource:
    """The live ``jumpstart-cache-prod-<region>`` bucket (needs AWS credentials and network)."""

    region: str

    @property
    def bucket(self) -> str:
        return f"jumpstart-cache-prod-{self.region}"

    def manifest(self) -> list[dict[str, Any]]:
        return _json_list(self._read(MANIFEST_KEY), MANIFEST_KEY)

    def spec(self, spec_key: str) -> dict[str, Any]:
        return _json_dict(self._read(spec_key), spec_key)

    def describe(self, spec_key: str) -> str:
        return f"s3://{self.bucket}/{spec_key}"

    def _read(self, key: str) -> bytes:
        # Imported here: boto3 is only needed on the machine that refreshes from AWS.
        boto3 = importlib.import_module("boto3")
        client = boto3.client("s3", region_name=self.region)
        body: bytes = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


def select_row(manifest: list[dict[str, Any]], model_id: str, version: str | None) -> dict[str, Any]:
    """The manifest row of ``model_id`` at ``version``, or at its highest version if None."""
    rows = [row for row in manifest if row.get("model_id") == model_id]
    if not rows:
        known = choices(str(row.get("model_id")) for row in manifest)
        raise CatalogError(f"model {model_id!r} is not in the JumpStart manifest; it has: {known}")
    if version is None:
        return max(rows, key=lambda row: version_key(str(row["version"])))
    for row in rows:
        if row["version"] == version:
            return row
    raise CatalogError(
        f"version {version!r} of model {model_id!r} is not in the JumpStart manifest; "
        f"it has: {choices(str(row['version']) for row in rows)}"
    )


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key ordering 2.16.2 after 2.9.0."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.split("."))


def _json_list(raw: bytes, key: str) -> list[dict[str, Any]]:
    data = json.loads(raw)
    if not isinstance(data, list):
        raise CatalogError(f"{key} is not a JSON list")
    return data


def _json_dict(raw: bytes, key: str) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise CatalogError(f"{key} is not a JSON object")
    return data
