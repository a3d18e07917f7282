"""The training script's ``sourcedir.tar.gz``: deterministic, laid out as SageMaker's training toolkit extracts it,
staged once per content, and a file asset; the preparation job's code as a zipped folder asset."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import aws_cdk as cdk
import pytest

from genai_kit.cdk_context import PROJECT_ROOT
from stacks.constructs import lambda_code, training_source
from stacks.constructs.training_source import (
    ARCHIVE_MTIME,
    SOURCE_ARCHIVE,
    TRAINING_SOURCE_DIR,
    asset_object_arn,
    preparation_code,
    source_archive,
    stage_training_source,
)

SOURCE = PROJECT_ROOT / TRAINING_SOURCE_DIR


def _tracked_files() -> list[str]:
    """The training folder's files, relative to it, without the bytecode a test run may have left there."""
    return sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def _extract_like_the_toolkit(archive: bytes, tmp_path: Path) -> Path:
    """What aws/sagemaker-training-toolkit files.py download_and_extract does with an s3:// object."""
    downloaded = tmp_path / "tar_file"
    downloaded.write_bytes(archive)
    code = tmp_path / "code"
    code.mkdir()
    with tarfile.open(name=downloaded, mode="r:gz") as t:
        t.extractall(path=code)  # noqa: S202 (the archive under test; the toolkit extracts it this way)
    return code


def test_two_builds_are_byte_identical_whatever_the_files_times_and_modes(tmp_path: Path) -> None:
    # GIVEN a copy of the training folder whose files have other times and modes than the checkout's
    copy = tmp_path / "training"
    shutil.copytree(SOURCE, copy)
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        if path.is_file():
            path.chmod(0o600)
    # WHEN both are archived (twice for the checkout) THEN the bytes are the same
    first = source_archive()
    assert source_archive() == first
    assert source_archive(copy) == first


def test_the_archive_holds_train_py_at_its_root_and_the_kit_training_package() -> None:
    with tarfile.open(fileobj=io.BytesIO(source_archive()), mode="r:gz") as archive:
        names = archive.getnames()
    assert "train.py" in names
    assert "kit_training" in names
    assert "kit_training/__init__.py" in names
    assert sorted(name for name in names if name != "kit_training") == _tracked_files()
    assert names == sorted(names)


def test_entries_have_fixed_times_owners_and_modes_and_gzip_no_name_or_time() -> None:
    archive = source_archive()
    # RFC 1952: FLG (byte 3) 0 means no FNAME/FCOMMENT/FEXTRA; MTIME (bytes 4-7) 0 means no time stored.
    assert archive[:3] == b"\x1f\x8b\x08"
    assert archive[3] == 0
    assert archive[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as opened:
        members = opened.getmembers()
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", ARCHIVE_MTIME)}
    assert {m.name: m.mode for m in members if m.isdir()} == {"kit_training": 0o755}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    assert all(m.isfile() or m.isdir() for m in members)


def test_caches_tests_and_hidden_files_are_left_out(tmp_path: Path) -> None:
    # GIVEN the training folder with what a local run, a test run and an editor leave behind
    copy = tmp_path / "training"
    shutil.copytree(SOURCE, copy)
    (copy / "kit_training" / "__pycache__").mkdir(exist_ok=True)
    (copy / "kit_training" / "__pycache__" / "args.cpython-310.pyc").write_bytes(b"\0")
    (copy / "stray.pyc").write_bytes(b"\0")
    (copy / "tests").mkdir()
    (copy / "tests" / "test_train.py").write_text("def test(): pass\n")
    (copy / "kit_training" / "test_data.py").write_text("def test(): pass\n")
    (copy / "kit_training" / "data_test.py").write_text("def test(): pass\n")
    (copy / "conftest.py").write_text("\n")
    (copy / ".pytest_cache").mkdir()
    (copy / ".pytest_cache" / "README.md").write_text("cache\n")
    (copy / ".train.py.swp").write_bytes(b"\0")
    # WHEN it is archived THEN none of it ships, and the archive is that of the clean folder
    archive = source_archive(copy)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as opened:
        names = opened.getnames()
    assert not [n for n in names if "pycache" in n or n.endswith(".pyc") or "test" in n or n.startswith(".")]
    assert archive == source_archive()


def test_extracting_it_as_the_training_toolkit_does_gives_the_source_files(tmp_path: Path) -> None:
    code = _extract_like_the_toolkit(source_archive(), tmp_path)
    extracted = sorted(str(p.relative_to(code)) for p in code.rglob("*") if p.is_file())
    assert extracted == _tracked_files()
    for relative in extracted:
        assert (code / relative).read_bytes() == (SOURCE / relative).read_bytes(), relative


def test_the_same_sources_reuse_the_staged_archive_and_write_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lambda_code, "STAGING_ROOT", tmp_path)
    staged = stage_training_source()
    archive = staged / SOURCE_ARCHIVE
    assert archive.read_bytes() == source_archive()
    written = archive.stat().st_mtime_ns
    os.utime(archive, ns=(written - 10**9, written - 10**9))
    assert stage_training_source() == staged
    assert archive.stat().st_mtime_ns == written - 10**9  # not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [staged.name]
    assert staged.name.startswith("sourcedir-")


def test_the_script_is_a_file_asset_and_the_preparation_code_a_zipped_folder(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)  # a stack of assets only
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="123456789012", region="us-east-1"))
    script = training_source.training_source(stack)
    code = preparation_code(stack)
    # Packaging FILE: uploaded as it is (is_zip_archive only says the file is an archive, .tar.gz included).
    assert script.is_file
    assert not code.is_file
    assert code.is_zip_archive
    assert script.asset_hash != code.asset_hash
    resolved = stack.resolve([asset_object_arn(script), script.s3_object_url])
    key = script.s3_object_key
    # A file asset keeps its extension's last part in its key; the toolkit downloads it under its own name.
    assert key.endswith(".gz")
    assert resolved[1] == f"s3://cdk-hnb659fds-assets-123456789012-us-east-1/{key}"
    assert resolved[0]["Fn::Join"][1][-1] == f":s3:::cdk-hnb659fds-assets-123456789012-us-east-1/{key}"
    app.synth()
    manifest = json.loads(next(tmp_path.glob("*.assets.json")).read_text())
    (source,) = [f["source"] for f in manifest["files"].values() if f["source"]["path"].endswith(".tar.gz")]
    assert source["packaging"] == "file"
    assert (tmp_path / source["path"]).read_bytes() == source_archive()
