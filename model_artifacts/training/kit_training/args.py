"""Hyperparameters and SageMaker paths of the training script, parsed with the standard library.

SageMaker's training toolkit hands every hyperparameter to the script as ``--name value`` (JSON-decoded, then
``str()``: ``true`` arrives as ``True``) and the paths as ``SM_*`` environment variables: ``SM_CHANNEL_<NAME>`` per
input channel, ``SM_MODEL_DIR`` (aws/sagemaker-training-toolkit ``mapping.to_cmd_args``, ``environment.py``).
The ranges are checked at synth and at each execution's start (``genai_kit.config.hf_training``); here only the
choices and types are, so a job started some other way still fails on its first line with the key named.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

METHODS = ("full", "lora")
PRECISIONS = ("bf16", "fp32")
# transformers.SchedulerType values the kit offers (transformers 4.55.4 trainer_utils.SchedulerType).
LR_SCHEDULERS = ("constant", "constant_with_warmup", "cosine", "linear")
# Hugging Face layout written under the model directory (SM_MODEL_DIR), see outputs.py.
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"
DEFAULT_MODEL_DIR = "/opt/ml/model"
# Environment variable holding the ARN of the Secrets Manager secret with a Hugging Face token (gated models).
HF_TOKEN_SECRET_ENV = "HF_TOKEN_SECRET_ARN"  # noqa: S105 - a variable name, not a secret
# A Hugging Face hub commit id (the form genai_kit.config.hf_training accepts for ``revision``).
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ScriptArgs:
    """What the script trains, on which data, and where it writes (one value per hyperparameter)."""

    model_id: str | None
    revision: str | None
    method: str
    tensor_parallel_size: int
    max_seq_length: int
    precision: str
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    num_train_epochs: float
    max_steps: int
    learning_rate: float
    lr_scheduler_type: str
    warmup_ratio: float
    weight_decay: float
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_target_modules: tuple[str, ...]
    validation_split_ratio: float
    seed: int
    logging_steps: int
    save_steps: int
    train_dir: Path
    validation_dir: Path | None
    model_channel_dir: Path | None
    model_dir: Path
    checkpoint_dir: Path
    hf_token_secret_arn: str | None

    @property
    def base_model(self) -> str:
        """What ``from_pretrained`` loads: the ``model`` channel's folder if given, else the hub id."""
        if self.model_channel_dir is not None:
            return str(self.model_channel_dir)
        if self.model_id is None:
            raise ValueError("model_id: no hub model id and no 'model' input channel; give one of them")
        return self.model_id

    @property
    def base_revision(self) -> str | None:
        """The hub commit ``from_pretrained`` loads ``base_model`` at: ``revision`` for a hub id, None for the
        ``model`` channel's folder (a local folder has no revision)."""
        return None if self.model_channel_dir is not None else self.revision


def _commit(value: str) -> str:
    if not COMMIT_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"got {value!r}; expected a hub commit id (40 lowercase hexadecimal characters), not a branch or tag"
        )
    return value


def _modules(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of module names, e.g. q_proj,v_proj")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The script's command line: every hyperparameter the kit sends, with its default."""
    parser = argparse.ArgumentParser(prog="train.py", description="Fine-tune a causal LM on Trainium (optimum-neuron)")
    add = parser.add_argument
    add("--model_id", default=None, help="Hugging Face hub id; ignored when a 'model' channel is given")
    add("--revision", type=_commit, default=None, help="hub commit of model_id (default: main); ignored with 'model'")
    add("--method", choices=METHODS, default="lora", help="full fine-tuning or LoRA")
    add("--tensor_parallel_size", type=int, default=8, help="NeuronCores one model replica is sharded over")
    add("--max_seq_length", type=int, default=2048, help="tokens per example (padded/truncated to it)")
    add("--precision", choices=PRECISIONS, default="bf16", help="bf16 (with fp32 master weights) or fp32")
    add("--per_device_train_batch_size", type=int, default=1)
    add("--gradient_accumulation_steps", type=int, default=8)
    add("--num_train_epochs", type=float, default=1.0)
    add("--max_steps", type=int, default=-1, help="optimizer steps; -1: train num_train_epochs")
    add("--learning_rate", type=float, default=5e-5)
    add("--lr_scheduler_type", choices=LR_SCHEDULERS, default="linear")
    add("--warmup_ratio", type=float, default=0.0)
    add("--weight_decay", type=float, default=0.0)
    add("--lora_r", type=int, default=16)
    add("--lora_alpha", type=int, default=32)
    add("--lora_dropout", type=float, default=0.05)
    add("--lora_target_modules", type=_modules, default=("q_proj", "k_proj", "v_proj", "o_proj"))
    add("--validation_split_ratio", type=float, default=0.05, help="held-out share of train when no validation channel")
    add("--seed", type=int, default=42)
    add("--logging_steps", type=int, default=10)
    add("--save_steps", type=int, default=500, help="optimizer steps between checkpoints")
    add("--train_dir", type=Path, default=None, help="default: $SM_CHANNEL_TRAIN")
    add("--validation_dir", type=Path, default=None, help="default: $SM_CHANNEL_VALIDATION if set")
    add("--model_channel_dir", type=Path, default=None, help="default: $SM_CHANNEL_MODEL if set")
    add("--model_dir", type=Path, default=None, help="default: $SM_MODEL_DIR or /opt/ml/model")
    add("--checkpoint_dir", type=Path, default=Path(DEFAULT_CHECKPOINT_DIR))
    return parser


def parse_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ScriptArgs:
    """Parse ``argv`` (default: sys.argv) with SageMaker's ``SM_*`` variables from ``environ`` (default: os.environ).

    Exits with argparse's usage error (status 2) naming the option for a bad choice or type; raises ValueError for
    a missing train channel.
    """
    env = os.environ if environ is None else environ
    ns = build_parser().parse_args(argv)
    train_dir = ns.train_dir or _path(env, "SM_CHANNEL_TRAIN")
    if train_dir is None:
        raise ValueError("train channel: no --train_dir and no SM_CHANNEL_TRAIN; the job needs a 'train' channel")
    values = {name: getattr(ns, name) for name in vars(ns)}
    values.update(
        train_dir=train_dir,
        validation_dir=ns.validation_dir or _path(env, "SM_CHANNEL_VALIDATION"),
        model_channel_dir=ns.model_channel_dir or _path(env, "SM_CHANNEL_MODEL"),
        model_dir=ns.model_dir or Path(env.get("SM_MODEL_DIR") or DEFAULT_MODEL_DIR),
        hf_token_secret_arn=env.get(HF_TOKEN_SECRET_ENV) or None,
    )
    return ScriptArgs(**values)


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value) if value else None
