"""Lambda packaging: each function's asset holds exactly its code, the kit modules it imports and its pinned
libraries, and a library that cannot be shipped as pinned is refused by name."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from stacks.constructs import lambda_code
from stacks.constructs.lambda_code import LambdaPackagingError


def test_a_pipeline_function_holds_its_code_the_shared_code_and_the_catalog() -> None:
    asset = lambda_code.stage_function(
        "training_prepare",
        include=("lambdas/shared", "genai_kit/catalog"),
        exclude=("genai_kit/catalog/refresh",),
        extra_files={"lambdas/training_prepare/settings.json": "{}"},
    )
    assert sorted(p.name for p in (asset / "lambdas").iterdir()) == ["__init__.py", "shared", "training_prepare"]
    assert sorted(p.name for p in (asset / "genai_kit").iterdir()) == ["__init__.py", "catalog"]
    assert not (asset / "genai_kit" / "catalog" / "refresh").exists()
    assert (asset / "lambdas" / "training_prepare" / "settings.json").read_text() == "{}"
    assert not list(asset.rglob("__pycache__"))


def test_a_library_at_another_version_than_pinned_is_refused(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("starlette==0.0.1\n")
    with pytest.raises(LambdaPackagingError, match=r"starlette is pinned at 0.0.1 but 1\.10\.0 is installed"):
        list(lambda_code._distribution_files(requirements))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"pydantic_core=={importlib.metadata.version('pydantic_core')}", "ships compiled code"),
        ("no-such-library==1.0", "is not installed"),
        ("starlette", "expected 'name==version'"),
    ],
)
def test_what_cannot_be_packaged_is_named(tmp_path: Path, line: str, message: str) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(line + "\n")
    with pytest.raises(LambdaPackagingError, match=message):
        list(lambda_code._distribution_files(requirements))


def test_same_content_reuses_its_folder_and_a_change_replaces_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lambda_code, "STAGING_ROOT", tmp_path)
    first = lambda_code._stage("fn", {"a.py": b"x = 1\n"})
    assert lambda_code._stage("fn", {"a.py": b"x = 1\n"}) == first
    second = lambda_code._stage("fn", {"a.py": b"x = 2\n"})
    assert second != first
    assert sorted(p.name for p in tmp_path.iterdir()) == [second.name]
