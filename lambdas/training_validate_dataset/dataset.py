"""What the dataset step checks: a folder of JSON Lines files in S3, read as streams, refused at the first problem.

The dataset is a folder in the datasets bucket holding JSON Lines files (``*.jsonl``: UTF-8, one JSON object per
line with the fields the model's training script reads) and optionally the JumpStart ``template.json``.

Cost: time is linear in the bytes read (each byte is searched for a line break once, decoded once and parsed
once) and memory holds at most one record (``max_record_kb``) plus one read of ``READ_CHUNK_BYTES``. A line longer
than the record limit is refused as soon as that many bytes arrive without a line break, so a JSON array saved
as ``.jsonl`` (one huge line) costs one or two reads, not the file. ``scripts/bench_dataset.py`` measures it.

The accepted dataset's content hash (``contentSha256``) is computed from the same reads; see :func:`content_sha256`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from lambdas.shared.aws import client

DATA_SUFFIX = ".jsonl"
# JumpStart text-generation scripts accept a prompt template next to the data.
TEMPLATE_FILE = "template.json"
KIB = 1024
MIB = 1024 * KIB
# Bytes per read from an S3 object's stream: large enough that Python's per-read cost vanishes, small against the
# function's memory.
READ_CHUNK_BYTES = MIB

DATASET_INVALID = "DatasetInvalid"
DATASET_TOO_LARGE = "DatasetTooLarge"


class DatasetError(ValueError):
    """The dataset is not usable; ``error`` names the kind, the message says what is wrong and where."""

    def __init__(self, reason: str, error: str = DATASET_INVALID) -> None:
        self.error = error
        super().__init__(reason)


class Readable(Protocol):
    """A binary stream: an S3 ``StreamingBody`` or an open file."""

    def read(self, amt: int = ..., /) -> bytes: ...


class Digest(Protocol):
    """What the reader feeds the bytes it reads to: a ``hashlib`` hash object."""

    def update(self, data: bytes, /) -> None: ...


class DatasetSummary(TypedDict):
    """An accepted dataset: data files, records, bytes of the data files and the content hash of all its files."""

    files: int
    examples: int
    bytes: int
    contentSha256: str


@dataclass(frozen=True)
class Rules:
    """The stage's dataset rules (``training.dataset`` in the configuration); sizes in MiB and KiB."""

    required_fields: tuple[str, ...]
    min_examples: int
    max_files: int
    max_file_mb: int
    max_record_kb: int
    # "kit_script": each record must be one of the kit's training script's formats (required_fields unused).
    record_format: str | None = None


def _unlimited() -> float:
    return math.inf


@dataclass
class Progress:
    """A dataset's check so far: ``read`` of ``total`` bytes of ``location``, and the seconds it may still take."""

    location: str
    total: int
    time_left: Callable[[], float]
    read: int = 0


def validate_dataset(
    bucket: str, prefix: str, rules: Rules, *, time_left: Callable[[], float] = _unlimited
) -> DatasetSummary:
    """Check every file under ``s3://bucket/prefix``.

    ``time_left``: seconds the check may still take (the function's remaining time less a margin); when it reaches
    0 the check stops with ``DatasetTooLarge`` instead of being cut off by the function's timeout.

    Returns ``{"files": n, "examples": n, "bytes": n, "contentSha256": hex}`` (data files, records, bytes of the data
    files, :func:`content_sha256` of every file, computed from the bytes the checks read: each file is read once).

    Raises
    ------
    DatasetError
        At the first problem, naming the object (``s3://...``) and, inside a data file, the line.
    """
    location = f"s3://{bucket}/{prefix}"
    objects = list(_objects(bucket, prefix))
    if not objects:
        raise DatasetError(f"{location}: no files found; upload the JSON Lines files there first")
    data_files = [o for o in objects if o["Key"].endswith(DATA_SUFFIX)]
    for obj in objects:
        name = obj["Key"].removeprefix(prefix)
        if not name.endswith(DATA_SUFFIX) and name != TEMPLATE_FILE:
            raise DatasetError(
                f"s3://{bucket}/{obj['Key']}: unexpected file; expected only *{DATA_SUFFIX} data files "
                f"(and an optional {TEMPLATE_FILE}) in {location}"
            )
        if obj["Size"] > rules.max_file_mb * MIB:
            raise DatasetError(
                f"s3://{bucket}/{obj['Key']}: {obj['Size'] / MIB:.1f} MiB is above the {rules.max_file_mb} MiB limit "
                "(training.dataset.max_file_mb); split it into several files"
            )
    if not data_files:
        raise DatasetError(f"{location}: no *{DATA_SUFFIX} data files found")
    if len(data_files) > rules.max_files:
        raise DatasetError(
            f"{location}: {len(data_files)} data files is above the limit of {rules.max_files} "
            "(training.dataset.max_files)"
        )
    # Each file's SHA-256 by its name relative to the prefix, from the bytes the checks read.
    digests: dict[str, bytes] = {}
    template = next((o for o in objects if o["Key"].removeprefix(prefix) == TEMPLATE_FILE), None)
    if template is not None:
        digests[TEMPLATE_FILE] = hashlib.sha256(_check_template(bucket, template, rules)).digest()

    size = sum(o["Size"] for o in data_files)
    progress = Progress(location=location, total=size, time_left=time_left)
    examples = 0
    for obj in data_files:
        where = f"s3://{bucket}/{obj['Key']}"
        digest = hashlib.sha256()
        with contextlib.closing(client("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"]) as body:
            examples += check_records(body, where=where, rules=rules, progress=progress, digest=digest)
        digests[obj["Key"].removeprefix(prefix)] = digest.digest()
    if examples < rules.min_examples:
        raise DatasetError(
            f"{location}: {examples} examples is below the minimum of {rules.min_examples} "
            "(training.dataset.min_examples)"
        )
    return {"files": len(data_files), "examples": examples, "bytes": size, "contentSha256": content_sha256(digests)}


def content_sha256(file_digests: dict[str, bytes]) -> str:
    """The dataset's content hash, as lowercase hex, from each file's SHA-256 by its name.

    A file's name is its S3 key less the dataset prefix (``part-1.jsonl``, ``template.json``); every file the step
    accepts counts (the data files and the optional template). Exactly::

        sha256( for each file, in ascending order of its name's UTF-8 bytes (the order S3 lists keys in):
                    len(name) as 8 bytes, big-endian || name (UTF-8) || sha256(the file's bytes) (32 bytes) )

    The length prefix and the fixed-size file digest make the encoding unambiguous: no two datasets (names and
    contents) give the same input. Reproducible outside AWS from a copy of the folder, e.g. in Python::

        h = hashlib.sha256()
        for name in sorted(names, key=lambda n: n.encode()):
            h.update(len(name.encode()).to_bytes(8, "big") + name.encode() + hashlib.sha256(data[name]).digest())
        h.hexdigest()
    """
    combined = hashlib.sha256()
    for name in sorted(file_digests, key=lambda n: n.encode()):
        encoded = name.encode()
        combined.update(len(encoded).to_bytes(8, "big") + encoded + file_digests[name])
    return combined.hexdigest()


def check_records(
    stream: Readable,
    *,
    where: str,
    rules: Rules,
    progress: Progress | None = None,
    digest: Digest | None = None,
) -> int:
    """Check each line of one JSON Lines stream and return the number of records (blank lines are skipped).

    ``where`` names the file in messages (``<where> line <n>: ...``, lines counted from 1). Reads ``stream`` in
    ``READ_CHUNK_BYTES`` reads; keeps at most ``max_record_kb`` of an unfinished line between reads. ``digest``, when
    given, is updated with every byte read, in order (the whole stream once the function returns).

    Raises
    ------
    DatasetError
        For the first line that is too long, not UTF-8, not JSON, not an object or lacks a required field; with
        ``DatasetTooLarge`` when ``progress.time_left()`` reaches 0 first.
    """
    limit = rules.max_record_kb * KIB
    pending = bytearray()  # the start of a line whose line break has not been read yet
    number = 0  # lines finished so far
    count = 0
    while True:
        if progress is not None:
            _check_time(progress)
        chunk = stream.read(READ_CHUNK_BYTES)
        if not chunk:
            break
        if progress is not None:
            progress.read += len(chunk)
        if digest is not None:
            digest.update(chunk)
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if lines:
            first = lines[0]
            if pending:
                if len(pending) + len(first) > limit:
                    raise _too_long(where, number + 1, rules, pending, size=len(pending) + len(first))
                pending += first
                lines[0] = bytes(pending)
                pending.clear()
            for line in lines:
                number += 1
                count += _check_line(line, where=where, number=number, rules=rules, limit=limit)
        if len(pending) + len(tail) > limit:
            raise _too_long(where, number + 1, rules, pending or tail)
        pending += tail
    if pending:
        count += _check_line(bytes(pending), where=where, number=number + 1, rules=rules, limit=limit)
    return count


def _check_line(line: bytes, *, where: str, number: int, rules: Rules, limit: int) -> int:
    """1 for a valid record, 0 for a blank line; raise DatasetError otherwise."""
    if len(line) > limit:
        raise _too_long(where, number, rules, line, size=len(line))
    text = line.strip()
    if not text:
        return 0
    try:
        record = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DatasetError(f"{where} line {number}: not UTF-8 (byte {error.start + 1} of the line)") from None
    except json.JSONDecodeError as error:
        raise DatasetError(f"{where} line {number}: not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise DatasetError(f"{where} line {number}: expected a JSON object, got {type(record).__name__}")
    if rules.record_format == "kit_script":
        _check_script_record(record, f"{where} line {number}")
        return 1
    for field in rules.required_fields:
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            problem = "missing" if field not in record else "not a non-empty string"
            raise DatasetError(f"{where} line {number}: field '{field}' is {problem}")
    return 1


def _check_script_record(record: dict[str, Any], where: str) -> None:
    """Refuse a record the kit's training script cannot read, by the script's own rules: ``kit_training.data``
    (model_artifacts/training), packaged with this function for the Hugging Face kind, decides what a ``text``,
    instruction/response or ``messages`` record is (its chat template is applied later, in the job)."""
    # Imported here: only the Hugging Face kind's function has the script's package in its asset.
    from kit_training.data import DataError, conversation  # noqa: PLC0415

    try:
        conversation(record, where)
    except DataError as error:
        raise DatasetError(str(error)) from None


def _too_long(
    where: str, number: int, rules: Rules, start: bytes | bytearray, *, size: int | None = None
) -> DatasetError:
    """``size``: the line's length when its end was read; None when the limit was passed before its end."""
    length = f"{size / KIB:,.0f} KiB" if size is not None else f"more than {rules.max_record_kb:,} KiB so far"
    # A file whose first line never ends and starts with '[' is almost always a JSON array saved as .jsonl.
    hint = (
        "; it starts with '[': a JSON array is not JSON Lines (write one object per line)"
        if number == 1 and start.lstrip()[:1] == b"["
        else ""
    )
    return DatasetError(
        f"{where} line {number} exceeds the record limit of {rules.max_record_kb:,} KiB "
        f"(training.dataset.max_record_kb): {length}{hint}"
    )


def _check_time(progress: Progress) -> None:
    if progress.time_left() > 0:
        return
    raise DatasetError(
        f"{progress.location}: not checked within the step's time limit: {progress.read / MIB:.0f} of "
        f"{progress.total / MIB:.0f} MiB read; train on a smaller dataset (fewer or smaller files)",
        DATASET_TOO_LARGE,
    )


def _objects(bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    try:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            # Zero-byte "folder" markers created by the console are not files.
            yield from (o for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    except client("s3").exceptions.NoSuchBucket:
        raise DatasetError(f"s3://{bucket}: bucket does not exist") from None


def _check_template(bucket: str, obj: dict[str, Any], rules: Rules) -> bytes:
    """Check the prompt template and return its bytes."""
    where = f"s3://{bucket}/{obj['Key']}"
    # One JSON object, like a record: the same limit keeps the function's memory bounded.
    if obj["Size"] > rules.max_record_kb * KIB:
        raise DatasetError(
            f"{where}: {obj['Size'] / KIB:.0f} KiB is above the record limit of {rules.max_record_kb} KiB "
            "(training.dataset.max_record_kb)"
        )
    body: bytes = client("s3").get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    try:
        template = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{where}: not valid JSON ({error})") from None
    if not isinstance(template, dict) or not {"prompt", "completion"} <= set(template):
        raise DatasetError(f"{where}: expected a JSON object with 'prompt' and 'completion' templates")
    return body
