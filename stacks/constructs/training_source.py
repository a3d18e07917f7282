"""The code the kit's SageMaker training jobs run, as CDK assets: the fine-tuning script's ``sourcedir.tar.gz`` and
the model preparation job's zip.

**The fine-tuning script** (``model_artifacts/training``) runs in the Hugging Face Neuron training image through
SageMaker's training toolkit, which takes the archive's S3 URI from the ``sagemaker_submit_directory``
hyperparameter (``genai_kit.stage.hf_training_job``). What the toolkit does with it (aws/sagemaker-training-toolkit
at 33839372, ``src/sagemaker_training``):

- ``environment.py:664`` reads ``sagemaker_submit_directory`` as the module directory; ``trainer.py:99-105`` passes it
  to ``entry_point.run``, whose ``entry_point.py:96`` calls ``files.download_and_extract(uri, /opt/ml/code)``;
- ``files.py:134-142``: only when ``/opt/ml/code`` is empty, an ``s3://`` URI is downloaded (``files.py:159-177``:
  boto3 ``download_file`` with the job's role, so the role needs ``s3:GetObject`` on it) to a temporary file named
  ``tar_file`` (so the object's key, ``<hash>.gz`` for a CDK file asset, does not matter) and opened with
  ``tarfile.open(mode="r:gz")``, then ``extractall`` into ``/opt/ml/code``: it must be a gzip-compressed tar (a
  zip fails), with the entry point at the archive's root;
- ``entry_point.py:97,113-132`` then puts ``/opt/ml/code`` on ``sys.path`` and, for a ``.py`` entry point without a
  ``setup.py`` beside it, pip-installs a ``requirements.txt`` if the archive has one (``_entry_point_type.py``,
  ``modules.py:53-62``): the script needs none (model_artifacts/training/README.md), so there is none.

The archive is built deterministically (entries sorted by path, fixed mtime, uid/gid 0, no owner names, mode 0644
for files and 0755 for folders, gzip header without file name and with mtime 0), so the same sources give the same
bytes, and staged the way the Lambda code is (``stacks.constructs.lambda_code.stage_files``: a folder named by the
digest of its content, written only when that content is new). It holds every file of ``model_artifacts/training``
except bytecode caches, tests and hidden files. The asset is the file itself (a file asset is uploaded as it is).

**The preparation job** (``jobs/model_preparation``) is a zipped folder asset, which the job's ``code`` channel copies
as it is and its entry point unzips (``stacks.constructs.model_preparation``).
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from genai_kit.cdk_context import PROJECT_ROOT
from stacks.constructs.lambda_code import stage_files, stage_package
from stacks.constructs.model_preparation import PREPARATION_PACKAGE

TRAINING_SOURCE_DIR = "model_artifacts/training"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
# Neither bytecode nor tests belong in the job; hidden files are editors' and tools' caches.
_SKIPPED_DIRS = {"__pycache__", "tests", "test"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_TEST_FILE_PREFIX = "test_"
_TEST_FILE_SUFFIX = "_test.py"
_TEST_FILES = {"conftest.py"}
# Entries' modification time: 1980-01-01T00:00:00Z, the earliest a zip can hold (tools treat 0 as "unset").
ARCHIVE_MTIME = 315532800
_FILE_MODE = 0o644
_DIR_MODE = 0o755


def training_source(scope: Construct, construct_id: str = "TrainingSource") -> s3_assets.Asset:
    """The ``sourcedir.tar.gz`` of ``model_artifacts/training`` as a file asset in ``scope``: its ``s3_object_url``
    is what ``sagemaker_submit_directory`` names. Grant a job's role its read with :func:`asset_object_arn`."""
    staged = stage_training_source()
    # The staged folder's name is the digest of its content (stacks.constructs.lambda_code.stage_files).
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(staged / SOURCE_ARCHIVE),
        asset_hash=staged.name,
        asset_hash_type=cdk.AssetHashType.CUSTOM,
    )


def preparation_code(scope: Construct, construct_id: str = "PreparationCode") -> s3_assets.Asset:
    """The model preparation job's code (``jobs/model_preparation`` with its pinned libraries and the botocore models
    of S3 and Secrets Manager, which it calls) as a zipped folder asset in ``scope``; its ``s3_object_url`` is the
    job's ``code`` channel (``stacks.constructs.model_preparation.preparation_job_request``).

    Raises ``LambdaPackagingError`` when a pinned library is missing or not the pinned version."""
    staged = stage_package(PREPARATION_PACKAGE, aws_services=("s3", "secretsmanager"))
    return s3_assets.Asset(
        scope, construct_id, path=str(staged), asset_hash=staged.name, asset_hash_type=cdk.AssetHashType.CUSTOM
    )


def asset_object_arn(asset: s3_assets.Asset) -> str:
    """The ARN of an asset's S3 object (``arn:<partition>:s3:::<bucket>/<key>``): what a job's role reads it by.

    Not ``asset.grant_read``: that grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*`` on the whole bootstrap
    bucket and every object in it (aws-cdk-lib 2.275 ``aws-s3-assets/lib/asset.js`` ``grantRead`` calls the bucket's
    ``grantRead`` with the key pattern ``*``; ``aws-s3/lib/perms.js`` ``BUCKET_READ_ACTIONS``), i.e. every other
    stack's assets too. A job needs ``s3:GetObject`` on its own object only. It needs no KMS permission: the key of the
    bootstrap bucket (the one ``cdk bootstrap`` creates, or ``aws/s3``) lets every principal of the account use it
    through S3 (aws-cdk CLI 2.1148.1 ``bootstrap-template.yaml``, ``FileAssetsBucketEncryptionKey``'s policy:
    ``kms:ViaService`` ``s3.<region>.amazonaws.com`` and ``kms:CallerAccount``); a bucket bootstrapped with a key of
    one's own (``--bootstrap-kms-key-id``) needs that key's policy to allow the same."""
    return f"arn:{cdk.Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}"


def stage_training_source() -> Path:
    """The staged folder holding ``sourcedir.tar.gz`` (see the module's docstring); unchanged sources reuse it."""
    return stage_files("sourcedir", {SOURCE_ARCHIVE: source_archive()})


def source_archive(root: Path | None = None) -> bytes:
    """The deterministic ``sourcedir.tar.gz`` bytes of ``root`` (default ``model_artifacts/training``): its files at
    the archive's root, by their paths relative to ``root``."""
    root = root or PROJECT_ROOT / TRAINING_SOURCE_DIR
    buffer = io.BytesIO()
    # filename="" keeps the name out of the gzip header; mtime=0 keeps the time out.
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for relative, path in _source_entries(root):
            info = tarfile.TarInfo(relative)
            info.mtime = ARCHIVE_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = _DIR_MODE
                archive.addfile(info)
            else:
                data = path.read_bytes()
                info.mode = _FILE_MODE
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _source_entries(root: Path) -> Iterator[tuple[str, Path]]:
    """Folders and files under ``root`` that ship, sorted by relative path (a folder before what it holds)."""
    entries = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(_skipped_dir(part) for part in relative.parts[:-1]) or _skipped(relative.name, path.is_dir()):
            continue
        if path.is_dir() or path.is_file():
            entries.append((relative.as_posix(), path))
    return iter(sorted(entries))


def _skipped_dir(name: str) -> bool:
    return name in _SKIPPED_DIRS or name.startswith(".")


def _skipped(name: str, is_dir: bool) -> bool:
    if is_dir:
        return _skipped_dir(name)
    return (
        name.startswith(".")
        or name.endswith(_SKIPPED_SUFFIXES)
        or name in _TEST_FILES
        or (name.startswith(_TEST_FILE_PREFIX) and name.endswith(".py"))
        or name.endswith(_TEST_FILE_SUFFIX)
    )
