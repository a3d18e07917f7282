"""The training run on Trainium: the only module that imports torch, torch_xla, transformers, peft, datasets,
boto3 and optimum-neuron, all inside its functions (they are in the training image, not in the kit's tests).

Written against optimum-neuron 0.4.1 (the image's, genai_kit catalog ``images/huggingface-neuronx.json``); the
calls and where they are defined at tag v0.4.1 (commit a3ded34):

- ``NeuronSFTConfig`` / ``NeuronSFTTrainer`` exported by optimum/neuron/__init__.py:39-41; the trainer's
  ``__init__(model, args, ..., tokenizer, peft_config, formatting_func)`` trainers/sft_trainer.py:87-101 wraps the
  model with optimum-neuron's ``get_peft_model`` when ``peft_config`` is given (:164-187);
- ``NeuronModelForCausalLM.from_pretrained(name_or_path, trn_config, token=, revision=, torch_dtype=)``
  models/training/modeling_auto.py:35-41 -> modeling_utils.py:679-693 (the training class, not
  ``optimum.neuron.NeuronModelForCausalLM``, which is the inference one); ``args.trn_config`` is built in
  ``NeuronTrainingArguments.__post_init__`` (trainers/training_args.py:627-641);
- ``trainer.train()`` transformers.py:1036 (returns None; no ``resume_from_checkpoint``, :1040-1041);
  ``trainer.save_model(dir)`` :1183; ``is_main_worker()`` utils/misc.py:51;
- ``consolidate_model_parallel_checkpoints_to_unified_checkpoint(checkpoint_dir, output_dir)``
  models/training/checkpointing.py:160 (exported by models/training/__init__.py:19).

Held-out evaluation: the 0.4.1 trainer refuses an ``eval_dataset`` (transformers.py:132-133) and ``do_eval``
(training_args.py:585-586), so ``held_out_loss`` runs the forward pass itself, once on the model as loaded before
training (``base_eval_*``) and once on the trained model (``eval_*``), reusing the trainer's own pieces:
trl's ``_prepare_dataset`` (the same tokenization and padding as the training set, copied onto the trainer class at
sft_trainer.py:66-70), ``_get_dataloader`` (the same data-parallel sharding, transformers.py:479-518),
``autocast_smart_context_manager`` (:727) and the all-reduce over data-parallel groups the trainer uses for its
logged loss (:997).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

from kit_training.args import ScriptArgs
from kit_training.data import format_records, read_records, split_held_out
from kit_training.metrics import BASE_EVAL, EVAL, held_out_metrics, metric_line, train_metrics, write_report
from kit_training.outputs import REPORT_FILE, write_model_dir
from kit_training.settings import TEXT_FIELD, lora_config_kwargs, sft_config_kwargs

FINAL_SAVE = "final"  # under checkpoint_dir: the trainer's own save, turned into the model layout by rank 0
# The optimum-neuron release this module is written against: the training image's (catalog
# images/huggingface-neuronx.json "packages"; tests/training/test_settings.py keeps the two equal). Another release
# fails the job at its start.
OPTIMUM_NEURON_VERSION = "0.4.1"


def check_optimum_neuron(installed: str) -> None:
    """Raise RuntimeError unless ``installed`` (optimum.neuron.version.__version__) is the release the script knows."""
    if installed != OPTIMUM_NEURON_VERSION:
        raise RuntimeError(
            f"optimum-neuron {installed} is installed; this script is written for {OPTIMUM_NEURON_VERSION} "
            "(its trainer, checkpoint layout and trl version differ between releases): use the catalog's training image"
        )


def hf_token(secret_arn: str | None, client: Any = None) -> str | None:
    """The Hugging Face token from Secrets Manager (the secret's SecretString), read with the job's role.

    ``client`` is a boto3 Secrets Manager client (default: one for the job's region). The token stays in this
    process: it is passed to ``from_pretrained`` and never written to the environment or disk.
    """
    if not secret_arn:
        return None
    if client is None:
        import boto3  # noqa: PLC0415

        client = boto3.client("secretsmanager")
    secret = client.get_secret_value(SecretId=secret_arn).get("SecretString")
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError(f"{secret_arn}: the secret has no SecretString holding a Hugging Face token")
    return secret.strip()


def hub_kwargs(args: ScriptArgs, token: str | None) -> dict[str, str | None]:
    """The keyword arguments of every ``from_pretrained`` of the base model: the token, and ``revision`` when the
    base is a hub id pinned to a commit (left out otherwise, so each loader keeps its own default, "main":
    transformers 4.55.4 ``from_pretrained``; optimum-neuron models/training/modeling_utils.py:690)."""
    kwargs: dict[str, str | None] = {"token": token}
    if args.base_revision is not None:
        kwargs["revision"] = args.base_revision
    return kwargs


def run(args: ScriptArgs) -> None:
    """Evaluate the model as loaded on the held-out set, train, evaluate again, and write the model directory
    (outputs.py). Runs under torchrun."""
    import torch  # noqa: PLC0415
    import torch_xla.core.xla_model as xm  # noqa: PLC0415
    from datasets import Dataset  # noqa: PLC0415
    from optimum.neuron import NeuronSFTConfig, NeuronSFTTrainer  # noqa: PLC0415
    from optimum.neuron.models.training import NeuronModelForCausalLM  # noqa: PLC0415
    from optimum.neuron.utils.misc import is_main_worker  # noqa: PLC0415
    from optimum.neuron.version import __version__  # noqa: PLC0415
    from peft import LoraConfig  # noqa: PLC0415
    from transformers import AutoTokenizer  # noqa: PLC0415

    check_optimum_neuron(__version__)
    token = hf_token(args.hf_token_secret_arn)
    base = args.base_model
    # Every load of a hub model is pinned to the same commit when one is given (tokenizer, training weights, and the
    # base weights the LoRA adapter is merged into); without one the hub's default branch is used, as before.
    source = hub_kwargs(args, token)
    # transformers is typed where the kit's tests install it and absent where they do not: either ignore may go unused.
    tokenizer = AutoTokenizer.from_pretrained(base, **source)  # type: ignore[no-untyped-call, unused-ignore]
    if tokenizer.pad_token is None:
        # Padding to max_seq_length needs a pad token, and the collator masks every pad id out of the labels
        # (DataCollatorForLanguageModeling): prefer <unk> so the end-of-sequence token stays learnt; a model without
        # either pads with EOS, which then is not learnt where a chat template does not close turns otherwise.
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    tokenizer.padding_side = "right"
    texts = format_records(read_records(args.train_dir), tokenizer)
    if args.validation_dir is not None:
        held_out = format_records(read_records(args.validation_dir), tokenizer)
    else:
        texts, held_out = split_held_out(texts, args.validation_split_ratio, args.seed)
    _warn_if_restarted(args.checkpoint_dir)

    sft_config = NeuronSFTConfig(**sft_config_kwargs(args))
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    model = NeuronModelForCausalLM.from_pretrained(base, sft_config.trn_config, torch_dtype=dtype, **source)
    lora = lora_config_kwargs(args)
    trainer = NeuronSFTTrainer(
        model=model,
        args=sft_config,
        train_dataset=Dataset.from_dict({TEXT_FIELD: texts}),
        tokenizer=tokenizer,
        peft_config=LoraConfig(**lora) if lora is not None else None,
        callbacks=[_metrics_callback()],
    )

    def emit(line: str) -> None:
        if is_main_worker():
            print(line, flush=True)  # noqa: T201 - the job's metric definitions read stdout

    def measure() -> float:  # called only with a held-out example (held_out_metrics)
        return held_out_loss(trainer, Dataset.from_dict({TEXT_FIELD: held_out}))

    if held_out:
        # The model as loaded is measured by the same pass as the trained one (for LoRA that is the base model: peft
        # starts every lora_B at zero, peft 0.17.0 tuners/lora/layer.py:256-271, which optimum-neuron's LoRA layers
        # call, optimum/neuron/peft/tuners/lora/layer.py:213-214). At v0.4.1, before train() the model is on the
        # CPU: from_pretrained built its tensor-parallel layers (the parallel groups exist since trn_config was
        # built, models/training/config.py:48-52) and loaded this rank's shard, moving it to the device only for
        # device_map="xla" (models/training/modeling_utils.py:1337-1338). train() prepares it in setup_training
        # (trainers/transformers.py:841) with the accelerator's prepare_model (accelerate/accelerator.py:338-398:
        # bf16 cast in FULL_BF16 mode :370-371, move to the XLA device :372, tie weights), so that call is made here
        # first. train() then empties the accelerator's list of prepared models (free_memory, transformers.py:1045;
        # accelerate 1.8.1 Accelerator.free_memory) and prepares it again: the cast and the move find it done, and
        # gradient checkpointing, enabled before that (:839), only sets module flags (modeling_utils.py:242).
        trainer.model = trainer.accelerator.prepare_model(trainer.model)
    base_metrics = held_out_metrics(len(held_out), measure, BASE_EVAL, emit)
    trainer.train()
    metrics = held_out_metrics(len(held_out), measure, EVAL, emit)

    saved = args.checkpoint_dir / FINAL_SAVE
    if is_main_worker():
        # A restarted job gets the previous attempt's checkpoint folder back from S3: never mix its files in. The
        # other ranks write only after save_model's own barrier, which they reach after this.
        shutil.rmtree(saved, ignore_errors=True)
    trainer.save_model(str(saved))
    xm.rendezvous("genai_kit_saved")
    if is_main_worker():
        write_model_dir(
            saved, args.model_dir, method=args.method, consolidate=_consolidate, merge=_merger(source, dtype), base=base
        )
        if metrics is not None and base_metrics is not None:
            write_report(args.model_dir / REPORT_FILE, metrics, base_metrics, len(held_out))
    # No barrier after: the other ranks have nothing left to do, and a merge on CPU can outlast a collective's timeout.


def held_out_loss(trainer: Any, dataset: Any) -> float:
    """Mean next-token loss of the model over ``dataset`` (a one-column ``text`` Dataset), across data-parallel ranks.

    Each rank sums the loss of its batches (all ranks of a tensor-parallel group see the same batch and loss); the
    sums and batch counts are all-reduced over the data-parallel groups, as the trainer reduces its logged loss.
    """
    import torch  # noqa: PLC0415
    import torch_xla.core.xla_model as xm  # noqa: PLC0415
    from neuronx_distributed.parallel_layers.parallel_state import get_data_parallel_replica_groups  # noqa: PLC0415

    args = trainer.args
    prepared = trainer._prepare_dataset(  # the trainer's own tokenization of its training set
        dataset,
        trainer.processing_class,
        False,
        TEXT_FIELD,
        args.max_seq_length,
        None,
        args.num_of_sequences,
        args.chars_per_token,
        remove_unused_columns=True,
        **args.dataset_kwargs,
    )
    loader = trainer._get_dataloader(prepared, description="Evaluation", batch_size=args.per_device_eval_batch_size)
    device = xm.xla_device()
    total = torch.zeros(2, dtype=torch.float32, device=device)
    trainer.model.eval()
    with torch.no_grad():
        for batch in loader:
            inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            with trainer.autocast_smart_context_manager():
                outputs = trainer.model(**inputs)
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
            total += torch.stack([loss.detach().float(), torch.ones((), device=device)])
            xm.mark_step()
    trainer.model.train()
    reduced = xm.all_reduce(xm.REDUCE_SUM, total, groups=get_data_parallel_replica_groups()).cpu()
    loss_sum, batches = float(reduced[0]), float(reduced[1])
    if batches == 0:
        raise ValueError("held-out set: no batch to evaluate")
    return loss_sum / batches if math.isfinite(loss_sum) else math.nan


def _consolidate(checkpoint_dir: Path, output_dir: Path) -> None:
    from optimum.neuron.models.training import (  # noqa: PLC0415
        consolidate_model_parallel_checkpoints_to_unified_checkpoint,
    )

    consolidate_model_parallel_checkpoints_to_unified_checkpoint(checkpoint_dir, output_dir, save_format="safetensors")


def _merger(source: dict[str, str | None], dtype: Any) -> Any:
    def merge(base: str, adapter_dir: Path, output_dir: Path) -> None:
        """Base weights + LoRA adapter -> one model (peft ``merge_and_unload``), on CPU, saved as safetensors."""
        from peft import PeftModel  # noqa: PLC0415
        from transformers import AutoModelForCausalLM  # noqa: PLC0415

        model = AutoModelForCausalLM.from_pretrained(base, torch_dtype=dtype, **source)
        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
        merged.save_pretrained(str(output_dir), safe_serialization=True)

    return merge


def _metrics_callback() -> Any:
    from transformers import TrainerCallback  # noqa: PLC0415

    class KitMetrics(TrainerCallback):  # type: ignore[misc, unused-ignore]
        """Prints the kit's training metric line for each trainer log entry, on the main process only."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            values = train_metrics(logs or {})
            if values and state.is_world_process_zero:
                print(metric_line(values), flush=True)  # noqa: T201

    return KitMetrics()


def _warn_if_restarted(checkpoint_dir: Path) -> None:
    previous = sorted(checkpoint_dir.glob("checkpoint-*")) if checkpoint_dir.is_dir() else []
    if previous and int(os.environ.get("RANK", "0")) == 0:
        print(  # noqa: T201
            f"genai_kit: found {previous[-1].name} from an interrupted run; optimum-neuron 0.4.1 cannot resume "
            "(NeuronTrainer.train refuses resume_from_checkpoint), so training restarts from the base model",
            flush=True,
        )
