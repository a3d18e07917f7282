"""The preparation job's script, with the Hub and optimum-cli replaced by fakes and S3 by moto."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jobs.model_preparation import prepare

BUCKET = "artifacts"
PREFIX = "prepared-models/org/model/0123456789abcdef0123456789abcdef01234567/weights/"
ENVIRONMENT = {
    "PREPARATION_MODEL_ID": "org/model",
    "PREPARATION_REVISION": "0123456789abcdef0123456789abcdef01234567",
    "PREPARATION_LAYOUT": "weights",
    "PREPARATION_BUCKET": BUCKET,
    "PREPARATION_PREFIX": PREFIX,
    "TRAINING_JOB_NAME": "genai-kit-dev-x-prep-abc-20261129000000",
}


class FakeHub:
    """huggingface_hub's two calls: the files of a revision, and a snapshot of them into a local folder."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]:
        self.calls.append(("list", {"repo_id": repo_id, **kwargs}))
        return list(self.files)

    def snapshot_download(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append(("snapshot", {"repo_id": repo_id, **kwargs}))
        folder = Path(kwargs["local_dir"])
        for name, data in self.files.items():
            if not any(Path(name).match(pattern) for pattern in kwargs.get("ignore_patterns") or []):
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
        (folder / ".cache").mkdir(exist_ok=True)
        (folder / ".cache" / "lock").write_text("x")
        return str(folder)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    fake = FakeHub(
        {
            "config.json": b'{"model_type": "llama"}',
            "model.safetensors": b"weights",
            "pytorch_model.bin": b"old weights",
            "tokenizer_config.json": b'{"chat_template": "..."}',
            "generation_config.json": b"{}",
        }
    )
    module = types.ModuleType("huggingface_hub")
    module.list_repo_files = fake.list_repo_files  # type: ignore[attr-defined]
    module.snapshot_download = fake.snapshot_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", module)
    monkeypatch.setattr(prepare, "WORK", tmp_path / "work")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield fake


def _objects() -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


def test_weights_are_published_as_they_are_with_ready_last(hub: FakeHub) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}model/stale.safetensors", Body=b"from a failed attempt")
    assert prepare.main(ENVIRONMENT) == 0
    objects = _objects()
    assert sorted(objects) == sorted(
        f"{PREFIX}{name}"
        for name in (
            "READY",
            "model/config.json",
            "model/generation_config.json",
            "model/genai-kit-preparation.json",
            "model/model.safetensors",
            "model/tokenizer_config.json",
        )
    )
    ready = json.loads(objects[f"{PREFIX}READY"])
    assert ready["revision"] == ENVIRONMENT["PREPARATION_REVISION"]
    assert ready["model"] == f"s3://{BUCKET}/{PREFIX}model/"
    assert ready["training_job"] == ENVIRONMENT["TRAINING_JOB_NAME"]
    (snapshot,) = [kwargs for call, kwargs in hub.calls if call == "snapshot"]
    assert (snapshot["revision"], snapshot["token"]) == (ENVIRONMENT["PREPARATION_REVISION"], None)
    assert snapshot["ignore_patterns"] == ["*.bin", "*.pth", "*.pt"]  # safetensors exist: no pickled weights


def test_an_export_runs_optimum_cli_from_the_local_download(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[list[str]] = []

    def run(command: list[str], check: bool) -> None:
        commands.append(command)
        out = Path(command[-1])
        out.mkdir(parents=True)
        (out / "neuron_config.json").write_text("{}")
        (out / "model.pt").write_bytes(b"neff")

    monkeypatch.setattr(subprocess, "run", run)
    arguments = "--task text-generation --batch_size 4 --sequence_length 2048 --num_cores 2 --auto_cast_type bf16"
    environment = {**ENVIRONMENT, "PREPARATION_LAYOUT": "export", "PREPARATION_EXPORT_ARGUMENTS": arguments}
    assert prepare.main(environment) == 0
    (command,) = commands
    assert command[:5] == ["optimum-cli", "export", "neuron", "--model", str(prepare.WORK / "source")]
    assert command[5:-1] == arguments.split()
    names = {key.removeprefix(f"{PREFIX}model/") for key in _objects() if key.startswith(f"{PREFIX}model/")}
    assert names == {"neuron_config.json", "model.pt", "generation_config.json", "genai-kit-preparation.json"}


@pytest.mark.parametrize("secret", ["hf_plain", '{"token": "hf_plain"}', '{"HF_TOKEN": "hf_plain"}'])
def test_the_token_comes_from_secrets_manager_and_goes_only_to_the_hub(hub: FakeHub, secret: str) -> None:
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="hf", SecretString=secret)["ARN"]
    assert prepare.main({**ENVIRONMENT, "PREPARATION_TOKEN_SECRET_ARN": arn}) == 0
    assert {kwargs["token"] for _, kwargs in hub.calls} == {"hf_plain"}
    assert b"hf_plain" not in b"".join(_objects().values())


def test_a_json_secret_without_a_token_is_refused(hub: FakeHub) -> None:
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="x", SecretString='{"a": 1}')[
        "ARN"
    ]
    with pytest.raises(ValueError, match="without a 'token' or 'HF_TOKEN' key"):
        prepare.main({**ENVIRONMENT, "PREPARATION_TOKEN_SECRET_ARN": arn})
    assert f"{PREFIX}READY" not in _objects()


def test_a_failed_export_publishes_nothing(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(command: list[str], check: bool) -> None:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(subprocess.CalledProcessError):
        prepare.main({**ENVIRONMENT, "PREPARATION_LAYOUT": "export"})
    assert _objects() == {}


def test_an_unknown_layout_is_refused(hub: FakeHub) -> None:
    with pytest.raises(ValueError, match="PREPARATION_LAYOUT is 'zip'"):
        prepare.main({**ENVIRONMENT, "PREPARATION_LAYOUT": "zip"})


CHANNEL_ENVIRONMENT = {
    "PREPARATION_SOURCE_CHANNEL": "model",
    "PREPARATION_LAYOUT": "weights",
    "PREPARATION_BUCKET": BUCKET,
    "PREPARATION_PREFIX": PREFIX,
    "TRAINING_JOB_NAME": "genai-kit-dev-x-prep-abc-20261129000000",
}


@pytest.fixture
def channel(hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The 'model' input channel as SageMaker leaves it in File mode, under a stand-in for /opt/ml/input/data."""
    monkeypatch.setattr(prepare, "INPUT_DATA", tmp_path / "input" / "data")
    folder = tmp_path / "input" / "data" / "model"
    folder.mkdir(parents=True)
    for name, data in {
        "config.json": b'{"model_type": "llama"}',
        "model-00001-of-00002.safetensors": b"w1",
        "model-00002-of-00002.safetensors": b"w2",
        "model.safetensors.index.json": b"{}",
        "tokenizer_config.json": b"{}",
        "generation_config.json": b"{}",
    }.items():
        (folder / name).write_bytes(data)
    return folder


def test_the_channel_is_the_input_data_folder_of_that_name() -> None:
    assert Path("/opt/ml/input/data/model") == prepare.INPUT_DATA / "model"


def test_a_channel_model_is_published_without_the_hub_or_a_token(
    hub: FakeHub, channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_secrets(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the token must not be read in channel mode")

    monkeypatch.setattr(prepare, "hugging_face_token", no_secrets)
    before = sorted(p.name for p in channel.iterdir())
    environment = {**CHANNEL_ENVIRONMENT, "PREPARATION_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:x"}
    assert prepare.main(environment) == 0
    assert hub.calls == []
    objects = _objects()
    names = {key.removeprefix(f"{PREFIX}model/") for key in objects if key.startswith(f"{PREFIX}model/")}
    assert names == {*before, "genai-kit-preparation.json"}
    ready = json.loads(objects[f"{PREFIX}READY"])
    assert (ready["source_channel"], ready["model_id"], ready["revision"]) == ("model", None, None)
    assert sorted(p.name for p in channel.iterdir()) == before  # the input channel is left as it was


def test_model_id_and_revision_are_labels_in_channel_mode(hub: FakeHub, channel: Path) -> None:
    labels = {"PREPARATION_MODEL_ID": "org/model-tuned", "PREPARATION_REVISION": "run-1"}
    assert prepare.main({**CHANNEL_ENVIRONMENT, **labels}) == 0
    ready = json.loads(_objects()[f"{PREFIX}READY"])
    marker = json.loads(_objects()[f"{PREFIX}model/genai-kit-preparation.json"])
    assert (ready["model_id"], ready["revision"]) == ("org/model-tuned", "run-1")
    assert (marker["model_id"], marker["revision"], marker["source_channel"]) == ("org/model-tuned", "run-1", "model")
    assert hub.calls == []


def test_a_channel_export_compiles_the_channel_folder(
    hub: FakeHub, channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def run(command: list[str], check: bool) -> None:
        commands.append(command)
        Path(command[-1]).mkdir(parents=True)
        (Path(command[-1]) / "model.pt").write_bytes(b"neff")

    monkeypatch.setattr(subprocess, "run", run)
    assert prepare.main({**CHANNEL_ENVIRONMENT, "PREPARATION_LAYOUT": "export"}) == 0
    (command,) = commands
    assert command[:5] == ["optimum-cli", "export", "neuron", "--model", str(channel)]
    names = {key.removeprefix(f"{PREFIX}model/") for key in _objects() if key.startswith(f"{PREFIX}model/")}
    assert names == {"model.pt", "generation_config.json", "genai-kit-preparation.json"}
    assert hub.calls == []


def test_a_missing_channel_is_refused_naming_it(hub: FakeHub, channel: Path) -> None:
    with pytest.raises(ValueError, match=r"'weights' but .*/input/data/weights does not exist: the job has no File"):
        prepare.main({**CHANNEL_ENVIRONMENT, "PREPARATION_SOURCE_CHANNEL": "weights"})
    assert _objects() == {}


def test_an_empty_channel_is_refused(hub: FakeHub, channel: Path) -> None:
    for path in channel.iterdir():
        path.unlink()
    (channel / "sub").mkdir()
    with pytest.raises(ValueError, match=r"input channel 'model' \(.*\) holds no file: its S3 prefix is empty"):
        prepare.main(CHANNEL_ENVIRONMENT)
    assert _objects() == {}


def test_a_channel_without_config_json_at_its_top_is_refused(hub: FakeHub, channel: Path) -> None:
    nested = channel / "model"
    nested.mkdir()
    (channel / "config.json").rename(nested / "config.json")
    with pytest.raises(ValueError, match=r"has no config.json at its top \(found: .*model.*\)"):
        prepare.main(CHANNEL_ENVIRONMENT)
    assert _objects() == {}


@pytest.mark.parametrize("name", ["..", ".", "code", "a/b", "x" * 65])
def test_a_bad_channel_name_is_refused(hub: FakeHub, name: str) -> None:
    with pytest.raises(ValueError, match=f"PREPARATION_SOURCE_CHANNEL is {name!r}; expected the name"):
        prepare.main({**CHANNEL_ENVIRONMENT, "PREPARATION_SOURCE_CHANNEL": name})


@pytest.mark.parametrize("variable", ["PREPARATION_MODEL_ID", "PREPARATION_REVISION"])
def test_hub_mode_still_requires_the_model_and_its_revision(hub: FakeHub, variable: str) -> None:
    environment = {k: v for k, v in ENVIRONMENT.items() if k != variable}
    with pytest.raises(ValueError, match=f"^{variable} not set: required to download from the Hub"):
        prepare.main(environment)
    assert hub.calls == []


@pytest.mark.parametrize("layout", ["weights", "export"])
def test_with_an_output_folder_the_result_stays_there_for_sagemaker_and_nothing_is_published(
    hub: FakeHub, channel: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, layout: str
) -> None:
    # GIVEN the fine-tuning pipeline's variables: the trained model in the 'model' channel, no bucket, an output folder
    def run(command: list[str], check: bool) -> None:
        Path(command[-1]).mkdir(parents=True)
        (Path(command[-1]) / "model.pt").write_bytes(b"neff")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(prepare, "WORK", tmp_path / "work")
    output = tmp_path / "opt-ml-model"
    environment = {
        "PREPARATION_SOURCE_CHANNEL": "model",
        "PREPARATION_LAYOUT": layout,
        "PREPARATION_OUTPUT_DIR": str(output),
        "PREPARATION_MODEL_ID": "huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    }
    before = sorted(p.name for p in channel.iterdir())
    # WHEN the job runs
    assert prepare.main(environment) == 0
    # THEN the result and the marker are in the output folder, nothing is written to S3, the channel is untouched
    kept = sorted(p.name for p in output.iterdir())
    expected = ["model.pt", "generation_config.json"] if layout == "export" else before
    assert kept == sorted([*expected, "genai-kit-preparation.json"])
    marker = json.loads((output / "genai-kit-preparation.json").read_text())
    assert (marker["model_id"], marker["source_channel"], marker["layout"]) == (
        "huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "model",
        layout,
    )
    assert _objects() == {}
    assert sorted(p.name for p in channel.iterdir()) == before
    assert hub.calls == []


def test_without_an_output_folder_the_bucket_and_prefix_are_required(hub: FakeHub, channel: Path) -> None:
    environment = {k: v for k, v in CHANNEL_ENVIRONMENT.items() if k != "PREPARATION_BUCKET"}
    with pytest.raises(ValueError, match="PREPARATION_BUCKET and PREPARATION_PREFIX not set"):
        prepare.main(environment)
