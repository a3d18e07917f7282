"""The refresh command: reproducible from the reference folder, and from a JumpStart-style bucket."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from moto import mock_aws

from genai_kit.catalog import CatalogError, list_models, load_entry
from genai_kit.catalog.loader import DEFAULT_ROOT
from genai_kit.catalog.refresh import BucketSource, FolderSource, refresh
from genai_kit.catalog.refresh.__main__ import main
from genai_kit.catalog.refresh.convert import RefreshError, convert_spec
from genai_kit.catalog.refresh.gacc import is_gacc_source
from genai_kit.catalog.refresh.sources import select_row

LLAMA2 = ("meta-textgenerationneuron-llama-2-7b", "1.0.0")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def _spec_files(root: Path) -> dict[str, bytes]:
    """The catalog's files less the entries converted from the third-party extract (test_gacc_entries.py)."""
    return {
        name: text for name, text in _files(root).items() if not is_gacc_source(str(json.loads(text).get("source", "")))
    }


def test_committed_catalog_is_reproduced_byte_for_byte(reference_dir: Path, tmp_path: Path) -> None:
    committed = _spec_files(DEFAULT_ROOT)
    dates = {json.loads(text)["refreshed"] for text in committed.values()}
    assert len(dates) == 1, f"the committed catalog mixes refresh dates {dates}"
    models = [
        (ref.model_id, ref.version)
        for ref in list_models()
        if f"jumpstart/{ref.model_id}/{ref.version}.json" in committed
    ]
    refresh(
        FolderSource(reference_dir),
        out=tmp_path,
        date=dates.pop(),
        models=models,
        images_dir=reference_dir / "sdk_image_uri_config",
    )
    assert _files(tmp_path) == committed


def test_default_models_are_those_the_catalog_holds_from_specs(reference_dir: Path, catalog_copy: Path) -> None:
    written = refresh(FolderSource(reference_dir), out=catalog_copy, date="2000-01-01")
    from_specs = [r.model_id for r in list_models() if not is_gacc_source(load_entry(r.model_id, r.version).source)]
    assert len(from_specs) < len(list_models())
    assert sorted(p.relative_to(catalog_copy).parts[1] for p in written) == sorted(from_specs)


@pytest.fixture
def jumpstart_bucket(reference_dir: Path) -> object:
    """moto S3 serving the reference folder as jumpstart-cache-prod-us-east-1."""
    with mock_aws():
        s3 = importlib.import_module("boto3").client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="jumpstart-cache-prod-us-east-1")
        for path in reference_dir.rglob("*.json"):
            key = str(path.relative_to(reference_dir))
            s3.put_object(Bucket="jumpstart-cache-prod-us-east-1", Key=key, Body=path.read_bytes())
        yield s3


@pytest.mark.usefixtures("jumpstart_bucket")
def test_bucket_refresh_records_the_s3_source(tmp_path: Path) -> None:
    refresh(BucketSource(region="us-east-1"), out=tmp_path, date="2000-01-01", models=[LLAMA2])
    entry = json.loads((tmp_path / "jumpstart" / LLAMA2[0] / "1.0.0.json").read_text())
    assert entry["source"] == (
        "s3://jumpstart-cache-prod-us-east-1/community_models/meta-textgenerationneuron-llama-2-7b/specs_v1.0.0.json"
    )


@pytest.mark.usefixtures("jumpstart_bucket")
def test_bucket_and_folder_give_the_same_entry_apart_from_source(reference_dir: Path, tmp_path: Path) -> None:
    refresh(BucketSource(region="us-east-1"), out=tmp_path / "bucket", date="2000-01-01", models=[LLAMA2])
    refresh(FolderSource(reference_dir), out=tmp_path / "folder", date="2000-01-01", models=[LLAMA2])
    bucket, folder = (
        json.loads((tmp_path / side / "jumpstart" / LLAMA2[0] / "1.0.0.json").read_text())
        for side in ("bucket", "folder")
    )
    bucket.pop("source")
    folder.pop("source")
    assert bucket == folder


def test_cli_writes_catalog_from_folder(
    reference_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--from-dir", str(reference_dir), "--model", "meta-textgenerationneuron-llama-2-7b", "--out", str(tmp_path)]
    )
    assert code == 0
    assert f"wrote {tmp_path}/jumpstart/meta-textgenerationneuron-llama-2-7b/1.0.0.json" in capsys.readouterr().out


def test_cli_reports_unknown_model_with_the_manifest_ids(
    reference_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--from-dir", str(reference_dir), "--model", "nope", "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err == (
        "error: model 'nope' is not in the JumpStart manifest; it has: meta-textgeneration-llama-3-1-70b, "
        "meta-textgenerationneuron-llama-2-7b, pytorch-ic-mobilenet-v2\n"
    )


def test_cli_bucket_needs_region(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--from-bucket"])
    assert "--from-bucket needs --region" in capsys.readouterr().err


def test_cli_rejects_a_bad_date(reference_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--from-dir", str(reference_dir), "--date", "26/11/2026"])
    assert "--date '26/11/2026' is not an ISO date (YYYY-MM-DD)" in capsys.readouterr().err


def test_refresh_without_models_in_an_empty_catalog_is_refused(reference_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no model to refresh: .* holds no entry and no --model was given"):
        refresh(FolderSource(reference_dir), out=tmp_path, date="2000-01-01")


def test_unknown_version_lists_manifest_versions() -> None:
    rows = [
        {"model_id": "m", "version": "1.0.0", "spec_key": "a"},
        {"model_id": "m", "version": "1.2.0", "spec_key": "b"},
    ]
    with pytest.raises(CatalogError) as excinfo:
        select_row(rows, "m", "9.9.9")
    assert str(excinfo.value) == "version '9.9.9' of model 'm' is not in the JumpStart manifest; it has: 1.0.0, 1.2.0"


def test_no_version_selects_the_highest() -> None:
    rows = [{"model_id": "m", "version": v, "spec_key": v} for v in ("1.9.0", "1.10.0", "1.2.0")]
    assert select_row(rows, "m", None)["version"] == "1.10.0"


def test_deprecated_spec_is_refused(reference_dir: Path) -> None:
    spec = json.loads((reference_dir / "community_models" / LLAMA2[0] / "specs_v1.0.0.json").read_text())
    spec.update(deprecated=True, deprecated_message="use llama 3")
    with pytest.raises(RefreshError) as excinfo:
        convert_spec(spec, source="test", date="2000-01-01")
    assert (
        str(excinfo.value) == "model 'meta-textgenerationneuron-llama-2-7b' version '1.0.0' is deprecated: use llama 3"
    )


def test_vulnerable_spec_is_refused(reference_dir: Path) -> None:
    spec = json.loads((reference_dir / "community_models" / LLAMA2[0] / "specs_v1.0.0.json").read_text())
    spec.update(inference_vulnerable=True, inference_vulnerabilities=["CVE-0"])
    with pytest.raises(RefreshError, match=r"version '1\.0\.0' has known inference vulnerabilities: \['CVE-0'\]"):
        convert_spec(spec, source="test", date="2000-01-01")
