"""One way to package any of the kit's Lambda functions: its own code, the kit modules it imports, pinned libraries.

The asset mirrors the repository layout (``lambdas/<name>/`` with ``lambdas/__init__.py``, and any package
the function imports, such as ``genai_kit/contracts``), so a handler imports the same modules in Lambda
as in the tests. A function that needs libraries the runtime and the Powertools layer lack lists them,
pinned, in ``lambdas/<name>/requirements.txt``; they are copied from the environment the app runs in (where
``requirements.txt`` installed them), after checking that the installed versions are the pinned ones and
that each is pure Python (the function's runtime is not the build machine's).

botocore ships the models of every AWS service (tens of megabytes); a function that ships it names the services
it calls (``aws_services``) and gets only their models, with the SDK's shared data (endpoints, partitions,
retry and default configuration).

No Docker, no network: the files are staged into a folder named by the digest of their paths, modes and
contents under the system's temporary directory. The same content reuses the same folder (synth stays
deterministic and fast); a new content replaces the function's previous folder (of the same checkout), so none
accumulate. The folder's name is the asset's hash (``AssetHashType.CUSTOM``): the CDK need not read and hash the
files a second time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from genai_kit.cdk_context import PROJECT_ROOT

# One folder per checkout: a checkout replaces its own previous staging of a function, never another's that a
# concurrent synth (another clone on the same CI machine) may be reading.
STAGING_ROOT = (
    Path(tempfile.gettempdir())
    / "genai-kit-lambda-assets"
    / hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:12]
)
_SKIPPED_NAMES = {"__pycache__"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
_DIST_INFO_KEPT = ("METADATA", "LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS", "licenses/")
_BOTOCORE_DATA = ("botocore", "data")
_BOTOCORE_SHARED_DATA = ("_retry.json", "endpoints.json", "partitions.json", "sdk-default-configuration.json")


class LambdaPackagingError(ValueError):
    """A function's code cannot be packaged as pinned (wrong or missing library, compiled code)."""


def function_code(
    name: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    extra_files: Mapping[str, str] | None = None,
    aws_services: Sequence[str] = (),
) -> lambda_.Code:
    """The code asset of ``lambdas/<name>``: the function's package, the repository packages in ``include``
    (paths such as ``genai_kit/contracts``, with their parents' ``__init__.py``), and the libraries pinned in
    ``lambdas/<name>/requirements.txt`` if it exists. ``exclude`` names sub-folders of ``include`` to leave out;
    ``extra_files`` maps asset paths to generated text (e.g. a settings file); ``aws_services`` names the botocore
    service models a function that ships botocore keeps (e.g. ``bedrock-runtime``).

    Raises
    ------
    LambdaPackagingError
        When a pinned library is missing, installed at another version, or not pure Python.
    """
    staged = stage_function(name, include=include, exclude=exclude, extra_files=extra_files, aws_services=aws_services)
    return lambda_.Code.from_asset(str(staged), asset_hash=staged.name, asset_hash_type=cdk.AssetHashType.CUSTOM)


def stage_function(
    name: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    extra_files: Mapping[str, str] | None = None,
    aws_services: Sequence[str] = (),
) -> Path:
    """The folder ``function_code`` makes its asset from (same arguments, same errors)."""
    return stage_package(
        f"lambdas/{name}", include=include, exclude=exclude, extra_files=extra_files, aws_services=aws_services
    )


def stage_package(
    package: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    extra_files: Mapping[str, str] | None = None,
    aws_services: Sequence[str] = (),
) -> Path:
    """The staged folder of any package of the repository (``lambdas/<name>``, ``jobs/<name>``): the package with
    its parents' ``__init__.py``, ``include``, and the libraries pinned in its ``requirements.txt`` (same rules and
    errors as ``function_code``)."""
    files: dict[str, Path | bytes] = dict(_repository_files([package, *include], exclude))
    requirements = PROJECT_ROOT / package / "requirements.txt"
    if requirements.is_file():
        files.update(_distribution_files(requirements, aws_services=aws_services))
    files.update({path: text.encode("utf-8") for path, text in (extra_files or {}).items()})
    return stage_files(Path(package).name, files)


def pinned_requirements(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (comments and blank lines skipped), by name."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        if not separator or not name.strip() or not version.strip():
            raise LambdaPackagingError(f"{path}:{number}: expected 'name==version', got {raw.strip()!r}")
        pins[name.strip()] = version.strip()
    return pins


def _repository_files(packages: Sequence[str], exclude: Sequence[str]) -> Iterator[tuple[str, Path | bytes]]:
    excluded = {PROJECT_ROOT / path for path in exclude}
    for package in packages:
        root = PROJECT_ROOT / package
        for parent in [*reversed(Path(package).parents[:-1]), Path(package)]:
            init = PROJECT_ROOT / parent / "__init__.py"
            if init.is_file():
                yield str(parent / "__init__.py"), init
        for path in sorted(root.rglob("*")):
            if path.is_file() and not _skipped(path) and not any(p in excluded for p in path.parents):
                yield str(path.relative_to(PROJECT_ROOT)), path


def _distribution_files(requirements: Path, *, aws_services: Sequence[str] = ()) -> Iterator[tuple[str, Path | bytes]]:
    pins = pinned_requirements(requirements)
    if "botocore" in pins and not aws_services:
        raise LambdaPackagingError(
            f"{_shown(requirements)}: botocore is shipped, so name the AWS services the function calls (aws_services)"
        )
    for name, pinned in pins.items():
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise LambdaPackagingError(
                f"{_shown(requirements)}: {name}=={pinned} is not installed; install the app's "
                "requirements (make synth does: pip install -r requirements.txt)"
            ) from None
        if distribution.version != pinned:
            raise LambdaPackagingError(
                f"{_shown(requirements)}: {name} is pinned at {pinned} but {distribution.version} "
                "is installed; install the app's requirements (pip install -r requirements.txt)"
            )
        # Filtered as strings: a distribution lists thousands of files (botocore's models), and a Path per file
        # costs more than the rest of the staging.
        for file in distribution.files or ():
            relative = str(file)
            parts = relative.split("/")
            if parts[0] == ".." or _skipped_name(relative) or not _kept_service_model(parts, aws_services):
                continue
            if parts[0].endswith(".dist-info") and not "/".join(parts[1:]).startswith(_DIST_INFO_KEPT):
                continue
            if relative.endswith(_COMPILED_SUFFIXES):
                raise LambdaPackagingError(
                    f"{_shown(requirements)}: {name} {pinned} ships compiled code ({file}); "
                    "only pure-Python libraries can be copied into a function"
                )
            yield relative, Path(str(distribution.locate_file(file)))


def _kept_service_model(parts: Sequence[str], aws_services: Sequence[str]) -> bool:
    """Whether a botocore file (its path's parts) stays: code and shared data always, a service's model only if it
    is named."""
    if tuple(parts[:2]) != _BOTOCORE_DATA:
        return True
    if len(parts) == 3:
        return parts[2] in _BOTOCORE_SHARED_DATA
    return parts[2] in aws_services


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _skipped(path: Path) -> bool:
    return _skipped_name(path.as_posix())


def _skipped_name(relative: str) -> bool:
    """Whether a file, by its "/"-separated path, is bytecode or inside a bytecode cache."""
    return relative.endswith(_SKIPPED_SUFFIXES) or any(part in _SKIPPED_NAMES for part in relative.split("/"))


def stage_files(name: str, files: Mapping[str, Path | bytes]) -> Path:
    """The folder ``<STAGING_ROOT>/<name>-<digest>`` holding ``files`` (asset path -> source file or generated bytes),
    written only if no folder of that content exists yet; the previous folders of ``name`` are removed. The folder's
    name is what a CDK asset of it takes as its custom hash."""
    contents = {relative: _content(source) for relative, source in files.items()}
    digest = hashlib.sha256()
    for relative in sorted(contents):
        data, executable = contents[relative]
        digest.update(f"{relative}\0{int(executable)}\0{len(data)}\0".encode())
        digest.update(data)
    target = STAGING_ROOT / f"{name}-{digest.hexdigest()[:20]}"
    if not target.is_dir():
        STAGING_ROOT.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=STAGING_ROOT))
        for relative, (data, executable) in contents.items():
            destination = building / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            os.chmod(destination, 0o755 if executable else 0o644)
        try:
            building.rename(target)
        except OSError:  # another process staged the same content first
            shutil.rmtree(building, ignore_errors=True)
    # Bytecode a local run of the staged code wrote is not part of the content (Lambda's code is read-only).
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    for previous in STAGING_ROOT.glob(f"{name}-*"):
        if previous != target:
            shutil.rmtree(previous, ignore_errors=True)
    return target


def _content(source: Path | bytes) -> tuple[bytes, bool]:
    """A file's bytes and whether it is executable (generated files are not)."""
    if isinstance(source, bytes):
        return source, False
    return source.read_bytes(), bool(source.stat().st_mode & stat.S_IXUSR)
