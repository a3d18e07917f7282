"""Lambda packaging: each function's asset holds exactly its code and pinned libraries, is self-contained, and
the router's asset starts the way the AWS Lambda Web Adapter starts it (its handler script)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from genai_kit.cdk_context import PROJECT_ROOT
from stacks.api_stack import ROUTER_AWS_SERVICES
from stacks.constructs import lambda_code
from stacks.constructs.lambda_code import LambdaPackagingError, pinned_requirements
from stacks.constructs.model_preparation import PREPARATION_PACKAGE
from tests.synth import SynthResult

ROUTER_REQUIREMENTS = PROJECT_ROOT / "lambdas" / "api_router" / "requirements.txt"
# What the router gets without packaging it: the Powertools layer (Powertools with its extras, pydantic among them).
PROVIDED_BY_THE_LAYER = {"aws_lambda_powertools", "pydantic", "pydantic_core", "annotated_types", "typing_inspection"}
# Imported only where installed, with a fallback the function uses in Lambda: anyio's sniffio (asyncio is assumed),
# botocore's certifi (its own CA bundle); and the test environment's setuptools hook.
OPTIONAL_IMPORTS = {"sniffio", "certifi", "_distutils_hack"}


@pytest.fixture(scope="module")
def router_asset() -> Path:
    return lambda_code.stage_function("api_router", include=("genai_kit/contracts",), aws_services=ROUTER_AWS_SERVICES)


def test_router_asset_holds_its_code_the_contract_and_its_pinned_libraries(router_asset: Path) -> None:
    top = sorted(p.name for p in router_asset.iterdir() if not p.name.endswith(".dist-info"))
    assert top == [
        "anyio", "botocore", "click", "dateutil", "genai_kit", "h11", "idna", "jmespath", "lambdas", "six.py",
        "starlette", "typing_extensions.py", "tzdata", "urllib3", "uvicorn",
    ]  # fmt: skip
    assert sorted(p.name for p in (router_asset / "lambdas").iterdir()) == ["__init__.py", "api_router"]
    assert sorted(p.name for p in (router_asset / "genai_kit").iterdir()) == ["__init__.py", "contracts"]
    assert not list(router_asset.rglob("__pycache__"))
    assert os.access(router_asset / "lambdas" / "api_router" / "run.sh", os.X_OK)
    shipped = {path.parent.name.lower().replace("_", "-") for path in router_asset.glob("*.dist-info/METADATA")}
    pinned = {
        f"{name}-{version}.dist-info".lower().replace("_", "-")
        for name, version in pinned_requirements(ROUTER_REQUIREMENTS).items()
    }
    assert shipped == pinned


def test_the_router_ships_the_models_of_the_services_it_calls_only(router_asset: Path) -> None:
    models = sorted(p.name for p in (router_asset / "botocore" / "data").iterdir())
    assert models == [
        "_retry.json",
        "bedrock-runtime",
        "endpoints.json",
        "partitions.json",
        "s3",
        "sagemaker-runtime",
        "sdk-default-configuration.json",
    ]


def test_the_preparation_job_ships_its_script_and_an_aws_sdk_for_s3_and_secrets_manager() -> None:
    # the serving images have no AWS SDK (see jobs/model_preparation/prepare.py)
    staged = lambda_code.stage_package(PREPARATION_PACKAGE, aws_services=("s3", "secretsmanager"))
    top = sorted(p.name for p in staged.iterdir() if not p.name.endswith(".dist-info"))
    assert top == ["boto3", "botocore", "dateutil", "jmespath", "jobs", "s3transfer", "six.py", "urllib3"]
    assert sorted(p.name for p in (staged / "jobs" / "model_preparation").iterdir()) == [
        "__init__.py",
        "prepare.py",
        "requirements.txt",
    ]
    models = sorted(p.name for p in (staged / "botocore" / "data").iterdir() if p.is_dir())
    assert models == ["s3", "secretsmanager"]


def test_botocore_without_named_services_is_refused(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"botocore=={importlib.metadata.version('botocore')}\n")
    with pytest.raises(LambdaPackagingError, match="name the AWS services the function calls"):
        list(lambda_code._distribution_files(requirements))


def test_router_asset_needs_nothing_but_the_layer(router_asset: Path) -> None:
    script = (
        "import json, sys; from lambdas.api_router.app import create_app; create_app();"
        "import lambdas.api_router.server;"
        "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()}))"
    )
    environment = {**os.environ, **_router_environment(), "PYTHONPATH": str(router_asset)}
    result = subprocess.run(  # noqa: S603  (this interpreter, with the test's own script)
        [sys.executable, "-c", script], env=environment, cwd=router_asset, capture_output=True, text=True, check=True
    )
    modules: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    outside = {
        name.split(".")[0]
        for name, path in modules.items()
        if path
        and not path.startswith((str(router_asset), sys.base_prefix))
        and name.split(".")[0] not in sys.stdlib_module_names
    }
    unexpected = outside - PROVIDED_BY_THE_LAYER - OPTIONAL_IMPORTS
    assert not unexpected, f"imported from outside the asset: {unexpected}"


def test_run_script_serves_the_router_on_the_adapters_port(router_asset: Path, tmp_path: Path) -> None:
    # GIVEN the environment Lambda gives the handler: the task root, the adapter's port, the router's variables,
    # and a `python` on the path (this environment's, standing for the runtime's and the layer's packages)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    port = _free_port()
    environment = {
        **os.environ,
        **_router_environment(),
        "LAMBDA_TASK_ROOT": str(router_asset),
        "AWS_LWA_PORT": str(port),
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
    }
    environment.pop("PYTHONPATH", None)
    # WHEN the adapter runs the handler script
    process = subprocess.Popen(  # noqa: S603
        [str(router_asset / "lambdas" / "api_router" / "run.sh")], env=environment, cwd=router_asset
    )
    try:
        # THEN the readiness path answers, and so does the API
        assert _ready(f"http://127.0.0.1:{port}/health", process)
        models = requests.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["m"]
    finally:
        process.terminate()
        process.wait(timeout=10)


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
    first = lambda_code.stage_files("fn", {"a.py": b"x = 1\n"})
    assert lambda_code.stage_files("fn", {"a.py": b"x = 1\n"}) == first
    second = lambda_code.stage_files("fn", {"a.py": b"x = 2\n"})
    assert second != first
    assert sorted(p.name for p in tmp_path.iterdir()) == [second.name]


def test_bytecode_a_local_run_wrote_is_not_shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lambda_code, "STAGING_ROOT", tmp_path)
    staged = lambda_code.stage_files("fn", {"pkg/a.py": b"x = 1\n"})
    (staged / "pkg" / "__pycache__").mkdir()
    (staged / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert lambda_code.stage_files("fn", {"pkg/a.py": b"x = 1\n"}) == staged
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*")) == ["pkg", "pkg/a.py"]


def _router_environment() -> dict[str, str]:
    return {
        "MODELS": json.dumps({"m": {"backend": "bedrock", "model": "amazon.nova-lite-v1:0"}}),
        "MAX_BODY_BYTES": "1024",
        "MODEL_TIMEOUT_SECONDS": "10",
        "MODEL_WAIT_SECONDS": "10",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "genai-kit-api",
        "POWERTOOLS_METRICS_NAMESPACE": "GenAiKit/Api",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    for _ in range(600):
        if process.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return True
        except requests.ConnectionError:
            time.sleep(0.05)
    return False


# The kit's own packages: a function must find each of them in its asset, never in the repository.
KIT_PACKAGES = ("genai_kit", "lambdas", "stacks", "jobs")


def _staged_asset(assembly_dir: Path, code: dict[str, object]) -> Path:
    key = str(code["S3Key"])
    (folder,) = assembly_dir.rglob(f"asset.{key.removesuffix('.zip')}")
    return folder


def test_every_function_of_the_stage_imports_its_handler_from_its_asset_alone(dev: SynthResult) -> None:
    functions = [
        (stack, resource["Properties"])
        for stack, template in dev.templates.items()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and str(resource["Properties"].get("Handler", "")).count(".") >= 2
    ]
    assert len(functions) >= 8
    for stack, function in functions:
        asset = _staged_asset(dev.assembly_dir, function["Code"])
        module, _, _ = function["Handler"].rpartition(".")
        variables = {k: v for k, v in function["Environment"]["Variables"].items() if isinstance(v, str)}
        script = (
            f"import json, sys; import {module};"
            "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()}))"
        )
        environment = {**os.environ, **variables, "PYTHONPATH": str(asset), "AWS_DEFAULT_REGION": "us-east-1"}
        result = subprocess.run(  # noqa: S603  (this interpreter, with the test's own script)
            [sys.executable, "-c", script], env=environment, cwd=asset, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{stack} {function['Handler']}: {result.stderr}"
        modules: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
        outside = sorted(
            name
            for name, path in modules.items()
            if name.split(".")[0] in KIT_PACKAGES and path and not path.startswith(str(asset))
        )
        assert outside == [], f"{stack} {function['Handler']} imported from outside its asset: {outside}"


@pytest.mark.parametrize("name", ["endpoint_scheduler", "endpoint_lifecycle"])
def test_functions_that_evaluate_a_schedule_ship_the_time_zone_database(name: str) -> None:
    # zoneinfo reads the system's database first, then the tzdata package: the function does not rely on the
    # runtime image having one.
    staged = lambda_code.stage_function(name, include=("lambdas/shared", "genai_kit/contracts"))
    assert (staged / "tzdata" / "zoneinfo" / "Europe" / "Paris").is_file()
    assert (staged / "genai_kit" / "contracts" / "schedule.py").is_file()
