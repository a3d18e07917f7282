"""Configuration of the fine-tuning pipeline on AWS Trainium: which catalog model, on what, and the bar it must pass.

Checks that need only the pinned catalog entry (the model supports training on Trainium, the instance
types, hyperparameter types/ranges/options, metric names, the Inferentia2 serving type) run here, when the
configuration loads, so a bad value stops synth with a message naming the key. Region-dependent checks
(is there a training image in the stage's region) run when the stage resolves (``genai_kit.stage.training``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from genai_kit.catalog import CatalogError, HyperparameterSpec, load_entry, validate_hyperparameters
from genai_kit.catalog.schema import TrainingInstance
from genai_kit.config.base import StrictModel
from genai_kit.config.endpoints import AlarmThresholds, BlueGreenConfig, DataCaptureConfig
from genai_kit.config.hf_training import HfTrainingConfig, hf_metric_names
from genai_kit.config.hf_training import hyperparameter_specs as hf_hyperparameter_specs
from genai_kit.config.training_tuning import TuningConfig, check_tuning
from genai_kit.contracts.training_prepare import DEFAULT_MAX_RUNTIME_SECONDS
from genai_kit.neuron import NeuronError, has_efa, is_inf2, is_trainium

DEFAULT_TRAINING_MODEL_ID = "meta-textgenerationneuron-llama-2-7b"
DEFAULT_TRAINING_MODEL_VERSION = "1.0.0"
# SageMaker's limit for StoppingCondition.MaxRuntimeInSeconds and MaxWaitTimeInSeconds (28 days).
MAX_TRAINING_SECONDS = 2_419_200
# Upper bound of training.dataset.max_record_kb (64 MiB).
MAX_RECORD_KB = 65_536
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

HyperparameterValue = str | int | float | bool


def _field_names(value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if not _FIELD_RE.match(name):
            raise ValueError(f"field name '{name}' is not valid; expected a JSON key of letters, digits and _")
    return value


class SpotConfig(StrictModel):
    """Managed spot training: cheaper, interruptible; the job resumes from its S3 checkpoints."""

    enabled: bool = Field(False, description="Run on managed spot capacity (resumes from checkpoints).")
    max_wait_seconds: int | None = Field(
        None,
        ge=1,
        le=MAX_TRAINING_SECONDS,
        description="Longest wait for spot capacity plus run time; default: twice the maximum run time.",
    )


class DatasetRules(StrictModel):
    """What the dataset-validation step checks before any Trainium instance starts."""

    required_fields: Annotated[tuple[str, ...], AfterValidator(_field_names)] = Field(
        ("text",),
        min_length=1,
        description="Keys every JSON Lines record must have, as non-empty strings (the training script's format).",
    )
    min_examples: int = Field(100, ge=1, description="Fewest records across all files.")
    max_files: int = Field(1000, ge=1, description="Most data files under the dataset prefix.")
    max_file_mb: int = Field(2048, ge=1, description="Largest single data file, in MiB.")
    # The dataset step holds one record at a time, a few copies of it while parsing: 64 MiB keeps that far below the
    # function's memory (stacks/constructs/training_functions.py).
    max_record_kb: int = Field(1024, ge=1, le=MAX_RECORD_KB, description="Longest single JSON Lines record, in KiB.")


class MetricThreshold(StrictModel):
    """A bar one final training metric must clear for the model to be registered: against fixed numbers, against
    another final metric of the same job, or both."""

    metric: str = Field(description="Metric name from the model's metric definitions.")
    max: float | None = Field(None, description="The final value must be at or below this.")
    min: float | None = Field(None, description="The final value must be at or above this.")
    max_metric: str | None = Field(
        None,
        description="The final value must be at or below this other metric's final value of the same job "
        "(e.g. base_eval_loss: no worse than the base model).",
    )
    min_metric: str | None = Field(
        None, description="The final value must be at or above this other metric's final value of the same job."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> MetricThreshold:
        if self.max is None and self.min is None and self.max_metric is None and self.min_metric is None:
            raise ValueError(
                f"threshold for '{self.metric}' sets none of max, min, max_metric, min_metric; expected at least one"
            )
        for key in ("max_metric", "min_metric"):
            if getattr(self, key) == self.metric:
                raise ValueError(f"{key}: '{self.metric}' is the metric itself; expected another metric of the job")
        return self


def check_thresholds(thresholds: Sequence[MetricThreshold], metrics: set[str], *, model: str) -> None:
    """Check that every metric a threshold names (``metric``, ``max_metric``, ``min_metric``) is one of ``metrics``,
    the names the model's metric definitions report (``model`` names it in the message).

    Raises
    ------
    ValueError
        ``thresholds.<i>.<key>: metric '<name>' is not reported by <model>; its metrics are: ...`` for the first
        unknown name (``<i>`` counted from 0).
    """
    for index, threshold in enumerate(thresholds):
        for key in ("metric", "max_metric", "min_metric"):
            name = getattr(threshold, key)
            if name is not None and name not in metrics:
                raise ValueError(
                    f"thresholds.{index}.{key}: metric '{name}' is not reported by {model}; "
                    f"its metrics are: {', '.join(sorted(metrics)) or 'none'}"
                )


# The deploy-on-approval function handles one event at a time: an approval and the endpoint's state change never
# interleave (both read and write the rollout's target). Lambda keeps a throttled asynchronous event and retries it
# until its maximum age ("Asynchronous invocation", Lambda developer guide). ModelRollout reserves it, preflight
# counts it.
ROLLOUT_RESERVED_CONCURRENCY = 1


class RolloutConfig(StrictModel):
    """Deploy on approval: an approved model version is rolled out to the endpoint genai-kit-<stage>-finetuned."""

    enabled: bool = Field(
        True, description="Roll each approved model version out to its Inferentia2 endpoint (blue/green)."
    )
    instance_count: int = Field(1, ge=1, description="Instances of the fine-tuned endpoint.")
    data_capture: DataCaptureConfig = Field(default_factory=DataCaptureConfig, description="Data capture.")
    alarms: AlarmThresholds = Field(
        default_factory=AlarmThresholds, description="Alarm thresholds (they also roll a bad rollout back)."
    )
    blue_green: BlueGreenConfig = Field(default_factory=BlueGreenConfig, description="Safe update policy.")


class TrainingConfig(StrictModel):
    """The fine-tuning pipeline: a Step Functions state machine that costs nothing while idle."""

    enabled: bool = Field(True, description="Deploy the fine-tuning pipeline (state machine, Lambdas, registry).")
    model_id: str = Field(DEFAULT_TRAINING_MODEL_ID, description="JumpStart model id from the catalog to fine-tune.")
    version: str = Field(DEFAULT_TRAINING_MODEL_VERSION, description="Model version pinned in the catalog.")
    instance_type: str | None = Field(
        None, description="ml.trn1.* / ml.trn1n.* training instance type; default: the catalog's default."
    )
    instance_count: int = Field(1, ge=1, description="Training instances (more than 1: multi-node over EFA).")
    max_instance_count: int = Field(
        4, ge=1, description="Most instances an execution input may ask for (a cost guard)."
    )
    hyperparameters: dict[str, HyperparameterValue] = Field(
        default_factory=dict,
        description="Overrides of the catalog defaults; an execution's input overrides these in turn.",
    )
    max_runtime_seconds: int | None = Field(
        None, ge=1, le=MAX_TRAINING_SECONDS, description="Training time limit; default: the catalog's."
    )
    volume_size_gb: int = Field(
        30, ge=1, le=16384, description="ML storage volume per training instance (SageMaker SDK default 30)."
    )
    spot: SpotConfig = Field(default_factory=SpotConfig, description="Managed spot training.")
    warm_pool_seconds: int = Field(
        0,
        ge=0,
        le=21600,
        description="Keep the instances warm this long after a job, for a quick next job (0: off).",
    )
    dataset: DatasetRules = Field(default_factory=DatasetRules, description="Dataset checks.")
    thresholds: tuple[MetricThreshold, ...] = Field(
        (),
        description="Bars on final training metrics; a model that misses one is rejected, not registered. "
        "Hugging Face kind, when empty: `eval_loss` at most `base_eval_loss` (the base model, measured in the job).",
    )
    serving_instance_type: str = Field(
        "ml.inf2.xlarge",
        description="ml.inf2.* type the registered model version is served on (its inference specification).",
    )
    rollout: RolloutConfig = Field(default_factory=RolloutConfig, description="Deploy on approval.")
    tuning: TuningConfig | None = Field(
        None, description="Hyperparameter tuning instead of one training job (absent: off); see the fine-tuning guide."
    )
    huggingface: HfTrainingConfig | None = Field(
        None,
        description="Fine-tune this Hugging Face model with the kit's script instead of the JumpStart `model_id` "
        "(absent: JumpStart); see the fine-tuning guide.",
    )

    @model_validator(mode="after")
    def _against_catalog(self) -> TrainingConfig:
        if not self.enabled:
            return self
        if self.huggingface is not None:
            self._check_huggingface(self.huggingface)
            return self
        try:
            entry = load_entry(self.model_id, self.version)
        except CatalogError as error:
            raise ValueError(f"model_id/version: {error}") from None
        training = entry.training
        label = f"{self.model_id}@{self.version}"
        if training is None or not training.neuron:
            raise ValueError(f"model_id: {label} cannot be fine-tuned on Trainium (the catalog has no Neuron training)")
        instance_type = self.instance_type or training.default_instance_type
        trainium = sorted(t for t in training.instance_types if is_trainium(t))
        if instance_type not in trainium:
            raise ValueError(
                f"instance_type: got '{instance_type}'; {label} trains on: {', '.join(trainium) or 'none'}"
            )
        self._check_counts(instance_type)
        specs = training_hyperparameter_specs(training.hyperparameters, training.instance_types[instance_type])
        check_hyperparameters(specs, self.hyperparameters, model=label, key="hyperparameters")
        metrics = {m.name for m in training.instance_types[instance_type].metrics}
        check_thresholds(self.thresholds, metrics, model=label)
        runtime = self.max_runtime_seconds or training.max_run_seconds
        self._check_capacity(runtime)
        if self.tuning is not None:
            check_tuning(
                self.tuning,
                specs=specs,
                metrics=metrics,
                configured=self.hyperparameters,
                model=label,
                instance_count=self.instance_count,
                max_runtime_seconds=runtime or DEFAULT_MAX_RUNTIME_SECONDS,
            )
        if self.serving_instance_type not in entry.hosting.instance_types or not is_inf2(self.serving_instance_type):
            inf2 = sorted(t for t in entry.hosting.instance_types if is_inf2(t))
            raise ValueError(
                f"serving_instance_type: got '{self.serving_instance_type}'; {label} is served on: "
                f"{', '.join(inf2) or 'none'}"
            )
        return self

    def _check_huggingface(self, huggingface: HfTrainingConfig) -> None:
        """The Hugging Face kind: its own model, instances and hyperparameters; the JumpStart keys stay unset."""
        jumpstart = {
            "model_id": "huggingface.model_id",
            "version": "huggingface.model_id",
            "instance_type": "huggingface.instance_type",
            "instance_count": "huggingface.instance_count",
            "hyperparameters": "huggingface.hyperparameters",
        }
        for key in sorted(self.model_fields_set & jumpstart.keys()):
            raise ValueError(f"{key}: a JumpStart model's setting; with 'huggingface' set, use {jumpstart[key]}")
        if "required_fields" in self.dataset.model_fields_set:
            raise ValueError(
                "dataset.required_fields: with 'huggingface' set, the dataset step checks each record is one of the "
                "kit's script's formats (text, instruction/response, messages); remove it"
            )
        if huggingface.instance_count > self.max_instance_count:
            raise ValueError(
                f"huggingface.instance_count: {huggingface.instance_count} is above max_instance_count "
                f"({self.max_instance_count})"
            )
        metrics = set(hf_metric_names())
        check_thresholds(self.thresholds, metrics, model="the kit's training script")
        runtime = self.max_runtime_seconds or DEFAULT_MAX_RUNTIME_SECONDS
        self._check_capacity(runtime)
        if self.tuning is not None:
            check_tuning(
                self.tuning,
                specs=hf_hyperparameter_specs(),
                metrics=metrics,
                configured=huggingface.hyperparameters.model_dump(include=huggingface.hyperparameters.model_fields_set),
                model=f"the kit's training script ({huggingface.model_label})",
                instance_count=huggingface.instance_count,
                max_runtime_seconds=runtime,
            )
        if not is_inf2(self.serving_instance_type):
            raise ValueError(
                f"serving_instance_type: got '{self.serving_instance_type}'; expected an Inferentia2 type such as "
                "ml.inf2.xlarge"
            )

    def _check_capacity(self, runtime: int | None) -> None:
        """Spot, warm pools and tuning: the combinations SageMaker refuses or the pipeline cannot use."""
        wait = self.spot.max_wait_seconds
        if self.spot.enabled and wait is not None and runtime is not None and wait < runtime:
            raise ValueError(
                f"spot.max_wait_seconds: {wait} is below the maximum run time {runtime}; "
                "SageMaker requires the wait to cover the run"
            )
        if self.spot.enabled and self.warm_pool_seconds:
            raise ValueError("warm_pool_seconds: SageMaker warm pools do not work with managed spot training")
        if self.tuning is not None and self.warm_pool_seconds:
            raise ValueError("warm_pool_seconds: not used with tuning (each tuning job starts its own jobs); set 0")

    def _check_counts(self, instance_type: str) -> None:
        if self.instance_count > self.max_instance_count:
            raise ValueError(
                f"instance_count: {self.instance_count} is above max_instance_count ({self.max_instance_count})"
            )
        try:
            efa = has_efa(instance_type)
        except NeuronError as error:
            raise ValueError(f"instance_type: {error}") from None
        if self.max_instance_count > 1 and not efa:
            raise ValueError(
                f"max_instance_count: {instance_type} has no EFA networking, so it cannot train multi-node; "
                "expected 1 or a 32xlarge type"
            )


def training_hyperparameter_specs(
    base: tuple[HyperparameterSpec, ...], instance: TrainingInstance
) -> tuple[HyperparameterSpec, ...]:
    """The spec's hyperparameters with the instance type's variants replacing same-named ones (as the catalog does)."""
    by_name = {h.name: h for h in instance.hyperparameters}
    merged = [by_name.pop(h.name, h) for h in base]
    return (*merged, *by_name.values())


def check_hyperparameters(
    specs: tuple[HyperparameterSpec, ...], values: Mapping[str, object], *, model: str, key: str
) -> dict[str, str]:
    """Validate user hyperparameters; the container's own (sagemaker_program...) are not the user's to set."""
    container = sorted(spec.name for spec in specs if spec.scope == "container" and spec.name in values)
    if container:
        raise ValueError(f"{key}.{container[0]}: set by the training container, not configurable")
    try:
        return validate_hyperparameters(specs, values, model=model)
    except CatalogError as error:
        name = next((n for n in values if f"{n!r}" in str(error)), "")
        raise ValueError(f"{key}{'.' + name if name else ''}: {error}") from None
