"""The arguments the script gives optimum-neuron and peft, built from the hyperparameters as plain dicts.

Kept apart from the Neuron code so they are tested on CPU: ``sft_config_kwargs`` are the keyword arguments of
``optimum.neuron.NeuronSFTConfig`` (a ``NeuronTrainingArguments`` + trl 0.11.4 ``SFTConfig`` dataclass,
optimum/neuron/trainers/sft_config.py; field names checked in trainers/training_args.py @ v0.4.1 and
trl/trainer/sft_config.py 0.11.4), ``lora_config_kwargs`` those of ``peft.LoraConfig`` (peft 0.17.0).
"""

from __future__ import annotations

from kit_training.args import ScriptArgs

# Column of the datasets.Dataset the script builds from the formatted texts (SFTConfig.dataset_text_field).
TEXT_FIELD = "text"


def sft_config_kwargs(args: ScriptArgs) -> dict[str, object]:
    """``NeuronSFTConfig(**kwargs)`` for these hyperparameters.

    - checkpoints every ``save_steps`` to ``checkpoint_dir`` (``/opt/ml/checkpoints``, which SageMaker syncs to
      CheckpointConfig.S3Uri), model only: the 0.4.1 trainer cannot resume (``NeuronTrainer.train`` raises for any
      ``resume_from_checkpoint``, trainers/transformers.py:1040-1041), so optimizer state would only cost space;
    - ``zero_1`` (ZeRO-1 optimizer sharding, the library default, training_args.py:327) and, with bf16, its fp32
      master weights and gradient accumulation (training_args.py:332-352 defaults);
    - texts are padded and truncated to ``max_seq_length`` (NeuronSFTTrainer pads to max length so one graph is
      compiled, sft_trainer.py:336) and tokenized without extra special tokens (data.py makes complete texts);
    - no reporting integrations: the script prints its own metric lines (metrics.py).
    """
    return {
        "output_dir": str(args.checkpoint_dir),
        "overwrite_output_dir": True,
        "do_train": True,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "per_device_eval_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "learning_rate": args.learning_rate,
        "weight_decay": args.weight_decay,
        "num_train_epochs": args.num_train_epochs,
        "max_steps": args.max_steps,
        "lr_scheduler_type": args.lr_scheduler_type,
        "warmup_ratio": args.warmup_ratio,
        "logging_steps": args.logging_steps,
        "save_strategy": "steps",
        "save_steps": args.save_steps,
        "save_only_model": True,
        "seed": args.seed,
        "bf16": args.precision == "bf16",
        "tensor_parallel_size": args.tensor_parallel_size,
        "zero_1": True,
        "gradient_checkpointing": True,
        "report_to": "none",
        "dataset_text_field": TEXT_FIELD,
        "max_seq_length": args.max_seq_length,
        "packing": False,
        "dataset_kwargs": {"add_special_tokens": False},
    }


def lora_config_kwargs(args: ScriptArgs) -> dict[str, object] | None:
    """``peft.LoraConfig(**kwargs)`` for LoRA, None for full fine-tuning.

    ``target_modules`` use the model's original module names (q_proj, ...): optimum-neuron maps them onto its
    fused/parallel layers and back when saving (``adapt_peft_config_for_model`` / ``to_original_peft_config_for_model``,
    optimum/neuron/models/training/transformations_utils.py:1467-1484; peft/peft_model.py:253).
    """
    if args.method != "lora":
        return None
    return {
        "r": args.lora_r,
        "lora_alpha": args.lora_alpha,
        "lora_dropout": args.lora_dropout,
        "target_modules": list(args.lora_target_modules),
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }
