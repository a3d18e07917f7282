"""The model directory layout, from fake trainer saves (the Neuron consolidation and peft merge are faked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit_training.outputs import OutputError, write_model_dir

CALLS: list[tuple[str, ...]] = []


def _consolidate(checkpoint_dir: Path, output_dir: Path) -> None:
    """Like optimum-neuron: adapter_default goes straight into output_dir, a model's shards as model weights."""
    CALLS.append(("consolidate", checkpoint_dir.name, output_dir.name))
    output_dir.mkdir(parents=True, exist_ok=True)
    name = "adapter_model.safetensors" if (checkpoint_dir / "adapter_default").is_dir() else "model.safetensors"
    (output_dir / name).write_text("weights")


def _merge(base: str, adapter_dir: Path, output_dir: Path) -> None:
    CALLS.append(("merge", base, adapter_dir.name, output_dir.name))
    assert (adapter_dir / "adapter_model.safetensors").is_file()
    assert (adapter_dir / "adapter_config.json").is_file()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.json").write_text("{}")
    (output_dir / "model.safetensors").write_text("merged")


def _tokenizer_files(folder: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        (folder / name).write_text(name)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_lora_writes_the_merged_model_and_the_adapter(tmp_path: Path) -> None:
    saved = tmp_path / "final"
    (saved / "adapter_default" / "adapter_shards" / "model").mkdir(parents=True)
    (saved / "adapter_default" / "adapter_config.json").write_text("{}")
    (saved / "training_args.bin").write_text("x")
    _tokenizer_files(saved)
    out = tmp_path / "model_dir"
    write_model_dir(saved, out, method="lora", consolidate=_consolidate, merge=_merge, base="org/name")
    assert CALLS == [("consolidate", "final", "adapter"), ("merge", "org/name", "adapter", "model")]
    tokenizer = ["chat_template.jinja", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    assert _files(out) == sorted(
        [f"adapter/{f}" for f in ["adapter_config.json", "adapter_model.safetensors", *tokenizer]]
        + [f"model/{f}" for f in ["config.json", "model.safetensors", *tokenizer]]
    )


def test_full_fine_tuning_with_tensor_parallelism_consolidates_the_shards(tmp_path: Path) -> None:
    saved = tmp_path / "final"
    (saved / "shards").mkdir(parents=True)
    for name in ("config.json", "generation_config.json", "trn_config.json"):
        (saved / name).write_text("{}")
    _tokenizer_files(saved)
    write_model_dir(saved, tmp_path / "out", method="full", consolidate=_consolidate, merge=_merge, base="b")
    assert CALLS == [("consolidate", "final", "model")]
    assert _files(tmp_path / "out") == [
        "model/chat_template.jinja",
        "model/config.json",
        "model/generation_config.json",
        "model/model.safetensors",
        "model/special_tokens_map.json",
        "model/tokenizer.json",
        "model/tokenizer_config.json",
    ]


def test_full_fine_tuning_without_shards_copies_the_weights(tmp_path: Path) -> None:
    saved = tmp_path / "final"
    saved.mkdir()
    (saved / "config.json").write_text("{}")
    (saved / "model-00001-of-00002.safetensors").write_text("w1")
    (saved / "model-00002-of-00002.safetensors").write_text("w2")
    (saved / "model.safetensors.index.json").write_text("{}")
    _tokenizer_files(saved)
    write_model_dir(saved, tmp_path / "out", method="full", consolidate=_consolidate, merge=_merge, base="b")
    assert CALLS == []
    assert "model/model.safetensors.index.json" in _files(tmp_path / "out")
    assert "model/model-00002-of-00002.safetensors" in _files(tmp_path / "out")


def test_a_lora_save_without_an_adapter_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "final").mkdir()
    with pytest.raises(OutputError, match=r"no adapter_config\.json"):
        write_model_dir(
            tmp_path / "final", tmp_path / "o", method="lora", consolidate=_consolidate, merge=_merge, base="b"
        )


def test_a_model_folder_without_a_tokenizer_is_an_error(tmp_path: Path) -> None:
    saved = tmp_path / "final"
    (saved / "shards").mkdir(parents=True)
    (saved / "config.json").write_text("{}")
    with pytest.raises(OutputError, match=r"no tokenizer_config\.json"):
        write_model_dir(saved, tmp_path / "o", method="full", consolidate=_consolidate, merge=_merge, base="b")
