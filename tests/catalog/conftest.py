"""Fixtures of the catalog tests: fake AWS credentials, the reference folder, the SDK oracle."""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from genai_kit.catalog.loader import DEFAULT_ROOT
from genai_kit.catalog.refresh import FolderSource, refresh

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_ENV = "KIT_JUMPSTART_REFERENCE_DIR"


def reference_dir_path() -> Path:
    """The JumpStart reference folder: $KIT_JUMPSTART_REFERENCE_DIR or the repository's tests/data/jumpstart."""
    return Path(os.environ.get(REFERENCE_ENV) or REPO_ROOT / "tests" / "data" / "jumpstart")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that takes ``model_id`` and ``version`` once per reference spec."""
    if {"model_id", "version"} <= set(metafunc.fixturenames):
        metafunc.parametrize(("model_id", "version"), _reference_models())


def _reference_models() -> list[tuple[str, str]]:
    manifest = reference_dir_path() / "models_manifest.json"
    if not manifest.is_file():
        # Still collected: the reference_dir fixture then fails each of these tests with the reason.
        return [("reference-folder-missing", "0")]
    return [(row["model_id"], row["version"]) for row in json.loads(manifest.read_text())]


@pytest.fixture(scope="session", autouse=True)
def fake_aws_credentials() -> Iterator[None]:
    """Every catalog test runs with fake credentials, so nothing can reach a real account."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference specs (JumpStart's local-override layout, tests/data/jumpstart/README.md for provenance).

    They are part of the repository, so a missing folder is an error, not a reason to skip the oracle.
    """
    path = reference_dir_path()
    if not (path / "models_manifest.json").is_file():
        pytest.fail(f"JumpStart reference folder not found at {path} (no models_manifest.json); see {REFERENCE_ENV}")
    return path


@pytest.fixture(scope="session")
def reference_catalog(reference_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog generated from EVERY reference spec (the committed one ships only some)."""
    root = tmp_path_factory.mktemp("reference-catalog")
    rows = json.loads((reference_dir / "models_manifest.json").read_text())
    refresh(
        FolderSource(reference_dir),
        out=root,
        date="2000-01-01",
        models=[(row["model_id"], row["version"]) for row in rows],
        images_dir=reference_dir / "sdk_image_uri_config",
    )
    return root


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A writable copy of the committed catalog, for tests that damage or extend it."""
    root = tmp_path / "catalog"
    shutil.copytree(DEFAULT_ROOT, root)
    return root


@pytest.fixture(scope="session")
def sdk(reference_dir: Path) -> Iterator[SimpleNamespace]:
    """The SageMaker SDK, resolving the reference folder fully offline; imported once (~1-3 s)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_JUMPSTART_MANIFEST_LOCAL_ROOT_DIR_OVERRIDE", str(reference_dir))
        mp.setenv("AWS_JUMPSTART_SPECS_LOCAL_ROOT_DIR_OVERRIDE", str(reference_dir))
        mp.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        boto3 = importlib.import_module("boto3")  # untyped; only its client factory is wrapped
        import sagemaker  # noqa: PLC0415
        import sagemaker.utils as sm_utils  # noqa: PLC0415
        from sagemaker import (  # noqa: PLC0415
            environment_variables,
            hyperparameters,
            image_uris,
            instance_types,
            metric_definitions,
            model_uris,
            script_uris,
        )
        from sagemaker.jumpstart import cache as js_cache  # noqa: PLC0415
        from sagemaker.jumpstart import utils as js_utils  # noqa: PLC0415
        from sagemaker.jumpstart.artifacts import kwargs as js_kwargs  # noqa: PLC0415
        from sagemaker.jumpstart.artifacts import model_uris as js_model_uris  # noqa: PLC0415

        # Only logs (EULA notice, deprecation warnings), but it looks up the content bucket of
        # another region and so resets the SDK's spec cache on every call: 30x slower.
        mp.setattr(js_utils, "emit_logs_based_on_model_specs", lambda *_args, **_kwargs: None)
        # The SDK rebuilds its spec cache, and a boto3 S3 client with it (~25 ms), each time the
        # region or content bucket changes. With the local override the client is never used:
        # hand out one client per region instead of a new one each time.
        mp.setattr(js_cache, "boto3", SimpleNamespace(client=functools.cache(boto3.client)))
        # image_uris.retrieve re-reads botocore's endpoint data on every call (~40 ms); it is constant.
        mp.setattr(sm_utils, "_botocore_resolver", functools.cache(sm_utils._botocore_resolver))
        yield SimpleNamespace(
            version=sagemaker.__version__,
            environment_variables=environment_variables,
            hyperparameters=hyperparameters,
            image_uris=image_uris,
            instance_types=instance_types,
            metric_definitions=metric_definitions,
            model_uris=model_uris,
            script_uris=script_uris,
            js_utils=js_utils,
            js_kwargs=js_kwargs,
            js_model_uris=js_model_uris,
        )
