"""The dataset step: against moto S3 (file types, sizes, JSON Lines records and counts, each with its location), and
the record reader on streams (chunk boundaries, long lines refused early, the time limit)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.training_validate_dataset.dataset import (
    DATASET_TOO_LARGE,
    READ_CHUNK_BYTES,
    DatasetError,
    Progress,
    Rules,
    check_records,
    content_sha256,
    validate_dataset,
)
from tests.lambdas.conftest import DATASETS_BUCKET, REGION

DATASETS = Path(__file__).resolve().parents[1] / "data" / "datasets"
RULES = Rules(required_fields=("text",), min_examples=100, max_files=3, max_file_mb=1, max_record_kb=1)


def _upload(*files: tuple[str, bytes]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for key, body in files:
        s3.put_object(Bucket=DATASETS_BUCKET, Key=f"fine-tuning/set/{key}", Body=body)


def _sample(name: str) -> bytes:
    return (DATASETS / name).read_bytes()


@pytest.mark.usefixtures("aws")
def test_valid_dataset_is_counted() -> None:
    _upload(("part-1.jsonl", _sample("valid.jsonl")), ("template.json", b'{"prompt": "{text}", "completion": ""}'))
    summary = validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", RULES)
    assert summary == {
        "files": 1,
        "examples": 120,
        "bytes": len(_sample("valid.jsonl")),
        "contentSha256": _expected_sha256(
            {"part-1.jsonl": _sample("valid.jsonl"), "template.json": b'{"prompt": "{text}", "completion": ""}'}
        ),
    }


def _expected_sha256(files: dict[str, bytes]) -> str:
    """The content hash as the docstring of ``content_sha256`` defines it, written out independently."""
    combined = b""
    for name in sorted(files, key=str.encode):
        combined += len(name.encode()).to_bytes(8, "big") + name.encode() + hashlib.sha256(files[name]).digest()
    return hashlib.sha256(combined).hexdigest()


@pytest.mark.usefixtures("aws")
def test_the_content_hash_covers_each_files_name_and_bytes_in_key_order() -> None:
    # GIVEN two data files (uploaded out of key order) of 2.5 reads each: the hash is fed across read boundaries
    big = (b'{"text": "' + b"x" * 500 + b'"}\n') * (READ_CHUNK_BYTES * 5 // 2 // 513)
    rules = Rules(required_fields=("text",), min_examples=1, max_files=3, max_file_mb=4, max_record_kb=1)
    _upload(("b.jsonl", big), ("a.jsonl", _sample("valid.jsonl")))
    first = validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", rules)["contentSha256"]
    assert first == _expected_sha256({"a.jsonl": _sample("valid.jsonl"), "b.jsonl": big})
    # WHEN a file is renamed, the same bytes under another name, THEN the hash changes
    boto3.client("s3", region_name=REGION).delete_object(Bucket=DATASETS_BUCKET, Key="fine-tuning/set/b.jsonl")
    _upload(("c.jsonl", big))
    renamed = validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", rules)["contentSha256"]
    assert renamed not in (first, _expected_sha256({"a.jsonl": _sample("valid.jsonl") + big}))
    # WHEN one byte changes THEN the hash changes too
    _upload(("c.jsonl", big.replace(b"xx", b"xy", 1)))
    assert validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", rules)["contentSha256"] != renamed


def test_the_content_hash_does_not_depend_on_the_order_files_are_given_in() -> None:
    digests = {"b.jsonl": hashlib.sha256(b"b").digest(), "a.jsonl": hashlib.sha256(b"a").digest()}
    assert content_sha256(digests) == content_sha256(dict(reversed(digests.items())))
    assert content_sha256(digests) == _expected_sha256({"a.jsonl": b"a", "b.jsonl": b"b"})


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("files", "message"),
    [
        ((), "s3://datasets-bucket/fine-tuning/set/: no files found"),
        ((("part.jsonl", _sample("broken_line3.jsonl")),), "fine-tuning/set/part.jsonl line 3: not valid JSON"),
        (
            (("part.jsonl", _sample("missing_field.jsonl")),),
            "fine-tuning/set/part.jsonl line 2: field 'text' is missing",
        ),
        ((("part.jsonl", b'{"text": 7}\n'),), "line 1: field 'text' is not a non-empty string"),
        ((("part.jsonl", b"[1, 2]\n"),), "line 1: expected a JSON object, got list"),
        (
            (("part.jsonl", b'{"text": "a"}\n{"text": "' + b"x" * 2000 + b'"}\n'),),
            "part.jsonl line 2 exceeds the record limit of 1 KiB (training.dataset.max_record_kb): 2 KiB",
        ),
        ((("part.jsonl", b'{"text": "\xff"}\n'),), "part.jsonl line 1: not UTF-8 (byte 11 of the line)"),
        ((("notes.csv", b"a,b\n"),), "fine-tuning/set/notes.csv: unexpected file"),
        ((("part.jsonl", b"x" * (1024 * 1024 + 1)),), "MiB is above the 1 MiB limit (training.dataset.max_file_mb)"),
        ((("part.jsonl", b'{"text": "one"}\n'),), "1 examples is below the minimum of 100"),
        (tuple((f"p{i}.jsonl", b'{"text": "a"}\n') for i in range(4)), "4 data files is above the limit of 3"),
        ((("template.json", b"{}"), ("a.jsonl", b'{"text": "a"}\n')), "expected a JSON object with 'prompt'"),
        (
            (("template.json", b" " * 2048), ("a.jsonl", b'{"text": "a"}\n')),
            "template.json: 2 KiB is above the record limit of 1 KiB",
        ),
    ],
)
def test_bad_dataset_says_what_and_where(files: tuple[tuple[str, bytes], ...], message: str) -> None:
    _upload(*files)
    with pytest.raises(DatasetError) as refused:
        validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", RULES)
    assert message in str(refused.value)


class CountingStream(io.RawIOBase):
    """A stream of ``data`` that serves at most ``step`` bytes a read and counts what it served."""

    def __init__(self, data: bytes, step: int = READ_CHUNK_BYTES) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.served = 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._data.read(min(self._step, size if size >= 0 else self._step))
        self.served += len(chunk)
        return chunk


def _check(data: bytes, *, step: int = READ_CHUNK_BYTES, rules: Rules = RULES) -> int:
    return check_records(CountingStream(data, step), where="s3://b/k.jsonl", rules=rules)


@pytest.mark.parametrize("step", [1, 7, 64, READ_CHUNK_BYTES])
def test_records_split_across_reads_are_counted_once_each(step: int) -> None:
    # GIVEN records, a blank line, CRLF endings and a last line without a line break, served in pieces of `step`
    data = b'{"text": "one"}\n\n{"text": "two"}\r\n  \n{"text": "three"}'
    # WHEN they are checked THEN every record counts once, wherever the reads cut them
    assert _check(data, step=step) == 3


@pytest.mark.parametrize("step", [1, 5, READ_CHUNK_BYTES])
def test_line_numbers_survive_read_boundaries(step: int) -> None:
    data = b'{"text": "a"}\n{"text": "b"}\n\n{"text": 3}\n{"text": "c"}\n'
    with pytest.raises(DatasetError, match=r"^s3://b/k.jsonl line 4: field 'text' is not a non-empty string$"):
        _check(data, step=step)


def test_a_json_array_saved_as_jsonl_is_refused_after_reading_about_the_record_limit() -> None:
    # GIVEN a 16 MiB file that is one JSON array on one line, and the default 1 MiB record limit
    rules = Rules(required_fields=("text",), min_examples=1, max_files=1, max_file_mb=2048, max_record_kb=1024)
    stream = CountingStream(b"[" + b'{"text": "x"},' * (16 * 1024 * 1024 // 14) + b"]")
    # WHEN it is checked
    with pytest.raises(DatasetError) as refused:
        check_records(stream, where="s3://b/array.jsonl", rules=rules)
    # THEN line 1 is refused for its length, with a hint, after at most the limit plus one read
    assert str(refused.value) == (
        "s3://b/array.jsonl line 1 exceeds the record limit of 1,024 KiB (training.dataset.max_record_kb): more than "
        "1,024 KiB so far; it starts with '[': a JSON array is not JSON Lines (write one object per line)"
    )
    assert stream.served <= 1024 * 1024 + READ_CHUNK_BYTES


def test_an_overlong_line_after_good_ones_is_named_by_its_number() -> None:
    data = b'{"text": "a"}\n' * 3 + b'{"text": "' + b"x" * (READ_CHUNK_BYTES * 3)
    with pytest.raises(DatasetError, match=r"^s3://b/k.jsonl line 4 exceeds the record limit of 1 KiB"):
        _check(data, step=4096)


def test_the_check_stops_with_dataset_too_large_when_its_time_is_up() -> None:
    # GIVEN a check that has used up its time after the first read
    calls = iter([5.0, 0.0])
    progress = Progress(location="s3://b/set/", total=3 * READ_CHUNK_BYTES, time_left=lambda: next(calls))
    stream = CountingStream(b'{"text": "a"}\n' * (3 * READ_CHUNK_BYTES // 14))
    # WHEN it goes on THEN it stops before the next read, saying how far it got
    with pytest.raises(DatasetError) as refused:
        check_records(stream, where="s3://b/set/a.jsonl", rules=RULES, progress=progress)
    assert refused.value.error == DATASET_TOO_LARGE
    assert str(refused.value) == (
        "s3://b/set/: not checked within the step's time limit: 1 of 3 MiB read; "
        "train on a smaller dataset (fewer or smaller files)"
    )
    assert stream.served == READ_CHUNK_BYTES


@pytest.mark.parametrize("step", [1, 7, 64, READ_CHUNK_BYTES])
def test_the_digest_sees_every_byte_read_once_in_order(step: int) -> None:
    data = _sample("valid.jsonl") + b"\n\n" + b'{"text": "no line break at the end"}'
    digest = hashlib.sha256()
    check_records(CountingStream(data, step), where="s3://b/k.jsonl", rules=RULES, digest=digest)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


SCRIPT_RULES = Rules(
    required_fields=("text",), min_examples=3, max_files=3, max_file_mb=1, max_record_kb=4, record_format="kit_script"
)


@pytest.fixture
def script_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """The script's package importable, as the Hugging Face kind's function asset carries it at its root."""
    from tests.training.conftest import SCRIPT_DIR  # noqa: PLC0415

    monkeypatch.syspath_prepend(str(SCRIPT_DIR))


@pytest.mark.usefixtures("aws", "script_package")
def test_the_kit_script_formats_are_accepted_together() -> None:
    records = [
        {"text": "Trainium trains."},
        {"instruction": "Name the accelerator.", "response": "Inferentia2.", "context": "AWS chips"},
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]},
    ]
    _upload(("mixed.jsonl", "\n".join(json.dumps(r) for r in records).encode()))
    assert validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", SCRIPT_RULES)["examples"] == 3


@pytest.mark.usefixtures("aws", "script_package")
@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"prompt": "x"}, "expected 'text', 'instruction' and 'response', or 'messages'; got ['prompt']"),
        ({"messages": [{"role": "bot", "content": "x"}]}, "messages[0].role is 'bot'; expected one of"),
        ({"instruction": "x"}, "'response'"),
    ],
)
def test_a_record_the_script_cannot_read_is_refused_by_the_scripts_own_rule(
    record: dict[str, Any], problem: str
) -> None:
    good = json.dumps({"text": "fine"})
    _upload(("part.jsonl", f"{good}\n{good}\n{json.dumps(record)}\n".encode()))
    with pytest.raises(DatasetError) as caught:
        validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", SCRIPT_RULES)
    assert str(caught.value).startswith(f"s3://{DATASETS_BUCKET}/fine-tuning/set/part.jsonl line 3: ")
    assert problem in str(caught.value)
