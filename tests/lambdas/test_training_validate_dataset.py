"""The dataset step against moto S3: file types, sizes, JSON Lines records and counts, each with its location."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from lambdas.training_validate_dataset.handler import DatasetError, Rules, validate_dataset
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
    assert summary == {"files": 1, "examples": 120, "bytes": len(_sample("valid.jsonl"))}


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
        ((("part.jsonl", b'{"text": "' + b"x" * 2000 + b'"}\n'),), "line 1: record of 2 KiB is above the 1 KiB limit"),
        ((("notes.csv", b"a,b\n"),), "fine-tuning/set/notes.csv: unexpected file"),
        ((("part.jsonl", b"x" * (1024 * 1024 + 1)),), "MiB is above the 1 MiB limit (training.dataset.max_file_mb)"),
        ((("part.jsonl", b'{"text": "one"}\n'),), "1 examples is below the minimum of 100"),
        (tuple((f"p{i}.jsonl", b'{"text": "a"}\n') for i in range(4)), "4 data files is above the limit of 3"),
        ((("template.json", b"{}"), ("a.jsonl", b'{"text": "a"}\n')), "expected a JSON object with 'prompt'"),
    ],
)
def test_bad_dataset_says_what_and_where(files: tuple[tuple[str, bytes], ...], message: str) -> None:
    _upload(*files)
    with pytest.raises(DatasetError) as refused:
        validate_dataset(DATASETS_BUCKET, "fine-tuning/set/", RULES)
    assert message in str(refused.value)
