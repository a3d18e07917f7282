"""The model directory the job leaves behind, in the Hugging Face layout the serving path prepares and compiles.

Under ``SM_MODEL_DIR`` (uploaded to the job's S3 output)::

    model/            merged weights: config.json, generation_config.json, *.safetensors (+ index), tokenizer
                      files (tokenizer.json, tokenizer_config.json, special_tokens_map.json, chat_template.jinja)
    adapter/          LoRA only: adapter_config.json, adapter_model.safetensors, tokenizer files
    evaluation.json   held-out loss and perplexity of the trained model and of the model as loaded
                      (metrics.evaluation_report), when there is a held-out set

What ``NeuronTrainer.save_model(dir)`` writes first (optimum-neuron 0.4.1): with tensor parallelism, sharded model
weights in ``dir/shards`` plus ``config.json`` and ``generation_config.json`` (``NeuronModel.save_pretrained``,
optimum/neuron/models/training/modeling_utils.py:1352-1475); for LoRA, always sharded adapter weights in
``dir/adapter_default/adapter_shards`` next to ``adapter_config.json`` (``NeuronPeftModel.save_pretrained``,
optimum/neuron/peft/peft_model.py:209-293); the tokenizer in ``dir`` (trainers/transformers.py:1228-1229). Shards
become one Hugging Face checkpoint with ``consolidate_model_parallel_checkpoints_to_unified_checkpoint``
(models/training/checkpointing.py:160), which writes ``adapter_default`` straight into its output folder
(:196-204); a LoRA adapter is merged into the base weights with peft (optimum-neuron has no merge helper). Both are
passed in as functions, so this module is plain file handling, tested with fakes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

MODEL_SUBDIR = "model"
ADAPTER_SUBDIR = "adapter"
REPORT_FILE = "evaluation.json"
SHARDS_DIR = "shards"  # MODEL_PARALLEL_SHARDS_DIR_NAME, modeling_utils.py:109
ADAPTER_DIR = "adapter_default"  # f"adapter_{adapter_name}" for the default adapter, peft_model.py:209
ADAPTER_SHARDS_DIR = "adapter_shards"  # ADAPTER_MODEL_PARALLEL_SHARDS_DIR_NAME
# Files of a Hugging Face model folder that are not weights: copied from the trainer's save as they are.
SIDE_FILES = (
    "added_tokens.json",
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "merges.txt",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer.model",
    "tokenizer_config.json",
    "vocab.json",
)
TOKENIZER_FILES = tuple(f for f in SIDE_FILES if f not in {"config.json", "generation_config.json"})
WEIGHT_SUFFIXES = (".safetensors", ".bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")

Consolidate = Callable[[Path, Path], None]
"""(checkpoint folder holding shards/ or adapter_*/, output folder) -> writes unified weights there."""
Merge = Callable[[str, Path, Path], None]
"""(base model id or folder, adapter folder, output folder) -> writes the merged model there."""


class OutputError(RuntimeError):
    """The trainer's save does not have what the layout needs; the message names the missing piece."""


def write_model_dir(
    saved: Path, model_dir: Path, *, method: str, consolidate: Consolidate, merge: Merge, base: str
) -> None:
    """Turn the trainer's save in ``saved`` into ``model_dir``'s layout (module docstring) for ``method``.

    Raises OutputError when ``saved`` lacks the weights or when the result is not a loadable model folder.
    """
    model_out = model_dir / MODEL_SUBDIR
    if method == "lora":
        adapter_out = model_dir / ADAPTER_SUBDIR
        adapter_saved = saved / ADAPTER_DIR
        if not (adapter_saved / "adapter_config.json").is_file():
            raise OutputError(f"{adapter_saved}: no adapter_config.json, so the LoRA adapter was not saved")
        if (adapter_saved / ADAPTER_SHARDS_DIR).is_dir():
            consolidate(saved, adapter_out)
        else:
            _copy_weights(adapter_saved, adapter_out)
        _copy(adapter_saved, adapter_out, ("adapter_config.json",))
        _copy(saved, adapter_out, TOKENIZER_FILES)
        merge(base, adapter_out, model_out)
        _copy(saved, model_out, TOKENIZER_FILES, overwrite=False)
    elif method == "full":
        if (saved / SHARDS_DIR).is_dir():
            consolidate(saved, model_out)
        else:
            _copy_weights(saved, model_out)
        _copy(saved, model_out, SIDE_FILES)
    else:
        raise OutputError(f"method {method!r}: expected full or lora")
    check_model_folder(model_out)


def check_model_folder(folder: Path) -> None:
    """Raise OutputError unless ``folder`` has config.json, weights and a tokenizer (what serving loads)."""
    if not (folder / "config.json").is_file():
        raise OutputError(f"{folder}: no config.json")
    if not any(p.suffix in WEIGHT_SUFFIXES for p in folder.iterdir()):
        raise OutputError(f"{folder}: no *.safetensors or *.bin weights")
    if not (folder / "tokenizer_config.json").is_file():
        raise OutputError(f"{folder}: no tokenizer_config.json")


def _copy_weights(source: Path, target: Path) -> None:
    names = tuple(p.name for p in source.iterdir() if p.suffix in WEIGHT_SUFFIXES or p.name in WEIGHT_INDEXES)
    if not names:
        raise OutputError(f"{source}: neither shards nor weights files")
    _copy(source, target, names)


def _copy(source: Path, target: Path, names: tuple[str, ...], *, overwrite: bool = True) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (source / name).is_file() and (overwrite or not (target / name).exists()):
            shutil.copy2(source / name, target / name)
