"""Prepare a Hugging Face model for a Neuron serving container, inside that container's own image.

Runs as a SageMaker training job whose image is the endpoint's serving image, so the export is made by exactly
the optimum-neuron and neuronx-cc the server loads it with (an export from any other version is refused at
start-up: optimum-neuron configuration_utils.py checks both versions). Steps:

1. read the Hugging Face token from Secrets Manager, if the model is gated (it is never written anywhere);
2. download the pinned revision to a local directory (``huggingface_hub.snapshot_download``);
   or, with ``PREPARATION_SOURCE_CHANNEL`` set (e.g. ``model``), take the model from that File-mode input
   channel's folder ``/opt/ml/input/data/<channel>`` instead: no download and no token (``channel_source``);
3. ``export``: compile it with ``optimum-cli export neuron`` for the endpoint's exact serving settings, from the
   local directory, so the export holds the weights (``checkpoint/``) and serves without the Hub;
   ``weights``: keep the files as they are (LMI compiles them at start-up, offline);
4. replace what is under ``s3://<bucket>/<prefix>model/`` with the result and the marker
   ``genai-kit-preparation.json`` (what was prepared, from where), then write ``<prefix>READY`` last: a prefix
   without it is incomplete and never served; or, with ``PREPARATION_OUTPUT_DIR`` set (the fine-tuning pipeline
   sets ``/opt/ml/model``), leave the result and the marker in that folder, which SageMaker uploads to the job's
   output when the job succeeds (``keep``): the job then needs no network and no bucket of its own.

Configuration: the ``PREPARATION_*`` environment variables (see ``Job``; SageMaker limits a training job's
variable to 512 characters, so each field has its own). Exit status 0 on success; any failure raises, which fails
the job with its message (the deploy that waits on it reports the reason).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import boto3

logger = logging.getLogger("model_preparation")
WORK = Path(os.environ.get("PREPARATION_WORK_DIR", "/opt/ml/prepare"))
# Where SageMaker puts each input channel of a File-mode training job: /opt/ml/input/data/<channel name>
# (SageMaker Developer Guide, "How Amazon SageMaker Provides Training Information", your-algorithms-training-algo-
# running-container.md; aws/sagemaker-training-toolkit environment.py ``channel_path``).
INPUT_DATA = Path("/opt/ml/input/data")
# CreateTrainingJob's Channel.ChannelName: 1-64 of these characters (botocore sagemaker service model).
_CHANNEL_NAME_RE = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
# The channel holding this script's own code (stacks/constructs/model_preparation.py), never a model.
CODE_CHANNEL = "code"
READY = "READY"
MARKER = "genai-kit-preparation.json"


@dataclass(frozen=True)
class Job:
    """What to prepare, from the variables the inference stack sets (genai_kit.stage.endpoints.Preparation).

    Hub mode (no ``PREPARATION_SOURCE_CHANNEL``): ``model_id`` and ``revision`` name what is downloaded and are
    required. Channel mode: the model is the input channel ``source_channel``'s folder; ``model_id`` and
    ``revision`` are optional labels recorded in the marker, and no token is read. ``output_dir``
    (``PREPARATION_OUTPUT_DIR``): the result stays there for SageMaker to upload; otherwise ``bucket`` and
    ``prefix`` (``PREPARATION_BUCKET``, ``PREPARATION_PREFIX``) are where it is published.
    """

    model_id: str | None
    revision: str | None
    layout: Literal["export", "weights"]
    export_arguments: tuple[str, ...]
    bucket: str | None
    prefix: str | None
    token_secret_arn: str | None
    source_channel: str | None = None
    output_dir: Path | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str]) -> Job:
        """Raises ValueError naming the variable for a bad layout, a bad channel name, or a missing hub model."""
        layout = environ["PREPARATION_LAYOUT"]
        if layout not in ("export", "weights"):
            raise ValueError(f"PREPARATION_LAYOUT is {layout!r}; expected export or weights")
        channel = environ.get("PREPARATION_SOURCE_CHANNEL") or None
        model_id = environ.get("PREPARATION_MODEL_ID") or None
        revision = environ.get("PREPARATION_REVISION") or None
        token_secret_arn = environ.get("PREPARATION_TOKEN_SECRET_ARN") or None
        if channel is not None:
            if not _CHANNEL_NAME_RE.match(channel) or channel in (".", "..", CODE_CHANNEL):
                raise ValueError(
                    f"PREPARATION_SOURCE_CHANNEL is {channel!r}; expected the name of the job's input channel holding "
                    f"the model (1-64 letters, digits, '.', '-', '_'; not {CODE_CHANNEL!r}, the script's own channel)"
                )
            if token_secret_arn is not None:
                logger.info("the model comes from channel %s: PREPARATION_TOKEN_SECRET_ARN is not read", channel)
                token_secret_arn = None
        else:
            missing = [name for name, value in (("MODEL_ID", model_id), ("REVISION", revision)) if value is None]
            if missing:
                raise ValueError(
                    f"{' and '.join('PREPARATION_' + name for name in missing)} not set: required to download from "
                    "the Hub (or set PREPARATION_SOURCE_CHANNEL to prepare the model of an input channel)"
                )
        output_dir = environ.get("PREPARATION_OUTPUT_DIR") or None
        bucket, prefix = environ.get("PREPARATION_BUCKET") or None, environ.get("PREPARATION_PREFIX") or None
        if output_dir is None and (bucket is None or prefix is None):
            raise ValueError(
                "PREPARATION_BUCKET and PREPARATION_PREFIX not set: required to publish the result (or set "
                "PREPARATION_OUTPUT_DIR to leave it for SageMaker to upload)"
            )
        return cls(
            model_id=model_id,
            revision=revision,
            layout=layout,  # type: ignore[arg-type]
            export_arguments=tuple(environ.get("PREPARATION_EXPORT_ARGUMENTS", "").split()),
            bucket=bucket,
            prefix=prefix,
            token_secret_arn=token_secret_arn,
            source_channel=channel,
            output_dir=Path(output_dir) if output_dir is not None else None,
        )


def channel_source(channel: str) -> Path:
    """The folder SageMaker copied the input channel ``channel`` into (under INPUT_DATA), checked to hold a Hugging
    Face model: raises ValueError when it is missing, holds no file, or has no config.json at its top."""
    folder = INPUT_DATA / channel
    if not folder.is_dir():
        raise ValueError(
            f"PREPARATION_SOURCE_CHANNEL is {channel!r} but {folder} does not exist: the job has no File-mode input "
            f"channel named {channel!r}"
        )
    if not any(path.is_file() for path in folder.rglob("*")):
        raise ValueError(f"input channel {channel!r} ({folder}) holds no file: its S3 prefix is empty")
    if not (folder / "config.json").is_file():
        top = ", ".join(sorted(path.name for path in folder.iterdir())[:10])
        raise ValueError(
            f"input channel {channel!r} ({folder}) has no config.json at its top (found: {top}); point the channel "
            "at the S3 folder of the model's Hugging Face files"
        )
    return folder


def hugging_face_token(secret_arn: str | None) -> str | None:
    """The token in the secret: its plain string, or the ``token`` (or ``HF_TOKEN``) key of a JSON secret."""
    if secret_arn is None:
        return None
    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    try:
        parsed = json.loads(value)
    except ValueError:
        return str(value).strip()
    if isinstance(parsed, dict):
        for key in ("token", "HF_TOKEN"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
        raise ValueError(f"the secret {secret_arn} is JSON without a 'token' or 'HF_TOKEN' key")
    return str(parsed)


def download(job: Job, token: str | None, into: Path) -> Path:
    """The pinned revision's files in ``into`` (the Hub's pickled weights are skipped where safetensors exist)."""
    # The serving images have huggingface_hub; the kit's own environment does not need it.
    from huggingface_hub import list_repo_files, snapshot_download  # noqa: PLC0415

    if job.model_id is None or job.revision is None:  # Job.from_environment requires both in hub mode
        raise ValueError("download: no PREPARATION_MODEL_ID / PREPARATION_REVISION to download")
    files = list_repo_files(job.model_id, revision=job.revision, token=token)
    ignore = ["*.bin", "*.pth", "*.pt"] if any(name.endswith(".safetensors") for name in files) else []
    snapshot_download(job.model_id, revision=job.revision, local_dir=into, token=token, ignore_patterns=ignore)
    return into


def export(job: Job, source: Path, into: Path) -> Path:
    """``optimum-cli export neuron`` of ``source`` into ``into`` with the endpoint's settings."""
    command = ["optimum-cli", "export", "neuron", "--model", str(source), *job.export_arguments, str(into)]
    logger.info("running %s", " ".join(command))
    # A fixed executable; the arguments are the kit's own settings and paths.
    subprocess.run(command, check=True)  # noqa: S603
    # The export copies the tokenizer; the generation defaults are read by the servers too.
    for name in ("generation_config.json",):
        if (source / name).is_file() and not (into / name).exists():
            shutil.copy2(source / name, into / name)
    return into


def keep(output_dir: Path, directory: Path, details: dict[str, Any], *, move: bool) -> int:
    """Leave ``directory``'s files and the marker in ``output_dir`` for SageMaker to upload; returns the bytes kept.
    ``move``: the files are the job's own export (moved); otherwise the source's, copied (an input channel stays as
    SageMaker left it)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and ".cache" not in p.parts):
        relative = path.relative_to(directory)
        if relative.as_posix() == MARKER:
            continue  # written below from this run's details, never copied from a source
        (output_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (shutil.move if move else shutil.copy2)(path, output_dir / relative)
    (output_dir / MARKER).write_text(json.dumps(details, indent=1, sort_keys=True), encoding="utf-8")
    return sum(p.stat().st_size for p in output_dir.rglob("*") if p.is_file())


def publish(job: Job, directory: Path, details: dict[str, Any]) -> int:
    """Replace ``<prefix>model/`` with ``directory``, then write ``<prefix>READY``; returns the bytes uploaded."""
    if job.bucket is None or job.prefix is None:  # Job.from_environment requires both without an output folder
        raise ValueError("publish: no PREPARATION_BUCKET / PREPARATION_PREFIX to publish to")
    s3 = boto3.client("s3")
    target = f"{job.prefix}model/"
    stale = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=job.bucket, Prefix=target)
        for item in page.get("Contents", [])
    ]
    for start in range(0, len(stale), 1000):
        batch = [{"Key": key} for key in stale[start : start + 1000]]
        s3.delete_objects(Bucket=job.bucket, Delete={"Objects": batch, "Quiet": True})
    total = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and ".cache" not in p.parts):
        if path.relative_to(directory).as_posix() == MARKER:
            continue  # written below from this run's details, never copied from a source
        s3.upload_file(str(path), job.bucket, target + path.relative_to(directory).as_posix())
        total += path.stat().st_size
    # Put, not written into ``directory``: in channel mode that is the input channel, which stays as SageMaker left it.
    marker = json.dumps(details, indent=1, sort_keys=True).encode()
    s3.put_object(Bucket=job.bucket, Key=target + MARKER, Body=marker)
    total += len(marker)
    ready = {**details, "model": f"s3://{job.bucket}/{target}", "bytes": total}
    s3.put_object(Bucket=job.bucket, Key=f"{job.prefix}{READY}", Body=json.dumps(ready, sort_keys=True).encode())
    return total


def main(environ: dict[str, str]) -> int:
    """Prepare and publish the model the ``PREPARATION_*`` variables describe; 0 on success, raises otherwise."""
    job = Job.from_environment(environ)
    started = time.time()
    if job.source_channel is not None:
        source = channel_source(job.source_channel)
    else:
        source = download(job, hugging_face_token(job.token_secret_arn), WORK / "source")
    result = export(job, source, WORK / "export") if job.layout == "export" else source
    details: dict[str, Any] = {
        "model_id": job.model_id,
        "revision": job.revision,
        "layout": job.layout,
        "export_arguments": list(job.export_arguments),
        "training_job": environ.get("TRAINING_JOB_NAME", ""),
    }
    if job.source_channel is not None:
        details["source_channel"] = job.source_channel
    if job.output_dir is not None:
        total = keep(job.output_dir, result, details, move=job.layout == "export")
        logger.info("prepared %d bytes in %.0f s in %s", total, time.time() - started, job.output_dir)
        return 0
    total = publish(job, result, details)
    logger.info("prepared %d bytes in %.0f s: s3://%s/%smodel/", total, time.time() - started, job.bucket, job.prefix)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sys.exit(main(dict(os.environ)))
