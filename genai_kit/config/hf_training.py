"""Configuration of fine-tuning a Hugging Face causal LM with the kit's own script on Trainium.

``HfTrainingConfig`` is the stage's ``training.huggingface`` section: when present, the pipeline fine-tunes this model
instead of a JumpStart one. It names the model (a hub id, optionally pinned to a commit ``revision``, or S3 weights),
its ``model_type`` (checked at synth against
the architectures optimum-neuron can train in the catalog's training image), the instances, the Secrets Manager ARN
of a Hugging Face token for gated models, the typed ``hyperparameters`` of ``model_artifacts/training`` with their
ranges, and the Neuron serving container and settings an approved version is compiled for.
``hyperparameter_specs`` gives the same ranges in the catalog's form: for tuning, and for the pipeline's CheckInput
step, which checks an execution's overrides against them (lambdas/training_prepare/hf_training_job.py).
``genai_kit.stage.hf_training_job`` turns the result into CreateTrainingJob's HyperParameters and Environment.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Annotated, Literal

import annotated_types
from pydantic import AfterValidator, Field, model_validator

from genai_kit.catalog import CatalogError, HyperparameterSpec, training_image
from genai_kit.config.base import HubCommit, StrictModel
from genai_kit.config.endpoints import NeuronContainer, ServingOptions, s3_prefix_uri
from genai_kit.neuron import NeuronError, has_efa, is_trainium, neuron_instance

# Hugging Face hub repository id: [namespace/]name of letters, digits, '-', '_', '.' (huggingface_hub's
# validate_repo_id: at most 96 characters, no '--' or '..').
_HUB_ID_RE = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
# A Secrets Manager secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>).
_SECRET_ARN_RE = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
TRAINIUM_TYPES = ("ml.trn1.2xlarge", "ml.trn1.32xlarge", "ml.trn1n.32xlarge")
# The training script's metric definitions (Name, Regex), which its log lines are tested against.
METRIC_DEFINITIONS_FILE = (
    Path(__file__).resolve().parents[2] / "model_artifacts" / "training" / "metric_definitions.json"
)


def _module_names(value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if not _MODULE_RE.match(name):
            raise ValueError(f"got {name!r}; expected a module name such as q_proj (letters, digits, _ and .)")
    return value


class HfTrainingHyperparameters(StrictModel):
    """The training script's hyperparameters (model_artifacts/training/README.md), with their ranges."""

    method: Literal["full", "lora"] = Field("lora", description="Full fine-tuning or LoRA (merged after training).")
    tensor_parallel_size: int = Field(
        8, ge=1, le=32, description="NeuronCores one model replica is sharded over (divides the instance's cores)."
    )
    max_seq_length: int = Field(2048, ge=128, le=32768, description="Tokens per example (padded and truncated).")
    precision: Literal["bf16", "fp32"] = Field("bf16", description="bf16 (fp32 master weights) or fp32.")
    per_device_train_batch_size: int = Field(1, ge=1, le=64, description="Examples per data-parallel rank and step.")
    gradient_accumulation_steps: int = Field(8, ge=1, le=1024, description="Micro-batches per optimizer step.")
    num_train_epochs: float = Field(1.0, gt=0, le=100, description="Passes over the data (unless max_steps is set).")
    max_steps: int = Field(-1, ge=-1, le=1_000_000, description="Optimizer steps; -1: train num_train_epochs.")
    learning_rate: float = Field(5e-5, gt=0, le=1, description="Peak learning rate.")
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "linear", description="Learning-rate schedule after warm-up."
    )
    warmup_ratio: float = Field(0.0, ge=0, le=1, description="Share of the steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="AdamW weight decay.")
    lora_r: int = Field(16, ge=1, le=512, description="LoRA rank.")
    lora_alpha: int = Field(32, ge=1, le=2048, description="LoRA scaling numerator (scale = alpha / r).")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA inputs.")
    lora_target_modules: Annotated[tuple[str, ...], AfterValidator(_module_names)] = Field(
        ("q_proj", "k_proj", "v_proj", "o_proj"), min_length=1, description="Modules that get LoRA adapters."
    )
    validation_split_ratio: float = Field(
        0.05, ge=0, le=0.5, description="Share of train held out when there is no validation channel (0: none)."
    )
    seed: int = Field(42, ge=0, le=2**31 - 1, description="Random seed (shuffling, held-out split, dropout).")
    logging_steps: int = Field(10, ge=1, le=100_000, description="Optimizer steps between metric lines.")
    save_steps: int = Field(500, ge=1, le=1_000_000, description="Optimizer steps between checkpoints.")

    @model_validator(mode="after")
    def _steps(self) -> HfTrainingHyperparameters:
        if self.max_steps == 0:
            raise ValueError("max_steps: got 0; expected -1 (train num_train_epochs) or at least 1")
        return self


class HfTrainingConfig(StrictModel):
    """Fine-tuning a Hugging Face causal LM on Trainium with the kit's script (optimum-neuron)."""

    model_id: str | None = Field(None, description="Hugging Face hub id of the model to fine-tune.")
    revision: HubCommit | None = Field(
        None,
        description="Hub commit id of model_id to train (40 lowercase hexadecimal characters); every download of the "
        "job loads this commit, so the run can be repeated (default: the hub's main branch at the time of the run).",
    )
    model_s3_uri: Annotated[str, AfterValidator(s3_prefix_uri)] | None = Field(
        None, description="S3 folder of the model's Hugging Face files."
    )
    model_type: str = Field(description="The model's config.json model_type (llama, qwen3, granite: trainable).")
    hf_token_secret_arn: str | None = Field(
        None, description="Secrets Manager secret holding a Hugging Face token (gated models); read by the job."
    )
    instance_type: Literal["ml.trn1.2xlarge", "ml.trn1.32xlarge", "ml.trn1n.32xlarge"] = Field(
        "ml.trn1.32xlarge", description="Training instance type."
    )
    instance_count: int = Field(1, ge=1, le=64, description="Instances (above 1: multi-node over EFA, 32xlarge).")
    hyperparameters: HfTrainingHyperparameters = Field(
        default_factory=HfTrainingHyperparameters, description="The script's hyperparameters."
    )
    # The vLLM Neuron container 0.4.1 (vLLM 0.10.2) ships optimum-neuron 0.4.1 and transformers 4.55.4, the versions
    # the training image writes the merged model with (the catalog's start-up contract sources; the training image's
    # packages in the catalog).
    container: NeuronContainer = Field(
        "huggingface-vllm-neuronx",
        description="Neuron serving container of the approved versions (compiled for it after training).",
    )
    container_version: str = Field("0.4.1", description="Its version, from the SageMaker SDK's image table.")
    serving: ServingOptions = Field(
        default_factory=ServingOptions,
        description="Serving settings the fine-tuned model is compiled for (as an endpoint's `serving`).",
    )

    @property
    def model_label(self) -> str:
        """What is fine-tuned, for names and reports: ``huggingface:<hub id>[@<revision>]`` or the S3 folder."""
        if self.model_id is None:
            return str(self.model_s3_uri)
        return f"huggingface:{self.model_id}" + (f"@{self.revision}" if self.revision else "")

    @model_validator(mode="after")
    def _checks(self) -> HfTrainingConfig:
        if (self.model_id is None) == (self.model_s3_uri is None):
            raise ValueError("model_id/model_s3_uri: set exactly one (a hub id, or an S3 folder of the weights)")
        if self.model_id is not None and not _HUB_ID_RE.match(self.model_id):
            raise ValueError(f"model_id: got {self.model_id!r}; expected a Hugging Face hub id such as org/name")
        if self.revision is not None and self.model_id is None:
            raise ValueError(
                f"revision: got {self.revision!r} with model_s3_uri; a revision pins a hub model_id, the S3 folder's "
                "weights are read as they are: remove revision, or train model_id at it"
            )
        if self.hf_token_secret_arn is not None and not _SECRET_ARN_RE.match(self.hf_token_secret_arn):
            raise ValueError(
                f"hf_token_secret_arn: got {self.hf_token_secret_arn!r}; expected a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)"
            )
        check_model_type(self.model_type, key="model_type")
        check_placement(self.instance_type, self.instance_count, self.hyperparameters)
        return self


@functools.cache
def metric_definitions() -> tuple[tuple[str, str], ...]:
    """(Name, Regex) of each metric the training script logs, from ``metric_definitions.json``."""
    definitions = json.loads(METRIC_DEFINITIONS_FILE.read_text(encoding="utf-8"))
    return tuple((item["Name"], item["Regex"]) for item in definitions)


def hf_metric_names() -> tuple[str, ...]:
    """The names of the training script's metrics (what thresholds and a tuning objective may name)."""
    return tuple(name for name, _ in metric_definitions())


def check_model_type(model_type: str, *, key: str) -> None:
    """Refuse a ``model_type`` the training image's optimum-neuron has no training class for (from the catalog)."""
    try:
        trainable = training_image().model_types or ()
    except CatalogError as error:
        raise ValueError(f"{key}: {error}") from None
    if model_type not in trainable:
        raise ValueError(
            f"{key}: got {model_type!r}; optimum-neuron in the training image trains only: {', '.join(trainable)}"
        )


def check_placement(instance_type: str, instance_count: int, hyperparameters: HfTrainingHyperparameters) -> None:
    """Multi-node needs EFA (32xlarge); the tensor-parallel degree must divide the instance's NeuronCores.

    torchrun starts one process per NeuronCore (2 on trn1.2xlarge, 32 on the 32xlarge types, genai_kit.neuron) and
    NxD groups consecutive ranks of one instance into a tensor-parallel group.
    """
    if not is_trainium(instance_type):
        raise ValueError(f"instance_type: got {instance_type!r}; expected one of {', '.join(TRAINIUM_TYPES)}")
    try:
        cores = neuron_instance(instance_type).neuron_cores
        efa = has_efa(instance_type)
    except NeuronError as error:
        raise ValueError(f"instance_type: {error}") from None
    if instance_count > 1 and not efa:
        raise ValueError(
            f"instance_count: {instance_count} instances of {instance_type}, which has no EFA networking; "
            "expected 1, or ml.trn1.32xlarge / ml.trn1n.32xlarge"
        )
    tp = hyperparameters.tensor_parallel_size
    if cores % tp:
        valid = ", ".join(str(d) for d in range(1, cores + 1) if cores % d == 0)
        default = "" if "tensor_parallel_size" in hyperparameters.model_fields_set else " (the default)"
        raise ValueError(
            f"hyperparameters.tensor_parallel_size: got {tp}{default}; {instance_type} has {cores} NeuronCores, "
            f"so it must be one of {valid}"
        )


def hyperparameter_specs() -> tuple[HyperparameterSpec, ...]:
    """The script's hyperparameters as the catalog describes a JumpStart model's (``algorithm`` scope), from the
    fields of ``HfTrainingHyperparameters``: numbers with their bounds, choices with their options, so tuning ranges
    are checked by the same rules as a JumpStart model's. ``lora_target_modules`` (a list) is not tunable."""
    specs = []
    for name, field in HfTrainingHyperparameters.model_fields.items():
        annotation, default = field.annotation, field.default
        bounds: dict[str, float] = {}
        for item in field.metadata:
            for attribute, key in (("ge", "min"), ("le", "max"), ("gt", "exclusive_min"), ("lt", "exclusive_max")):
                if isinstance(item, getattr(annotated_types, attribute.title())):
                    bounds[key] = getattr(item, attribute)
        if annotation is int:
            specs.append(HyperparameterSpec(name=name, type="int", default=default, scope="algorithm", **bounds))
        elif annotation is float:
            specs.append(HyperparameterSpec(name=name, type="float", default=default, scope="algorithm", **bounds))
        elif getattr(annotation, "__origin__", None) is Literal:
            options = tuple(annotation.__args__)  # type: ignore[union-attr]
            specs.append(
                HyperparameterSpec(name=name, type="text", default=default, scope="algorithm", options=options)
            )
    return tuple(specs)
