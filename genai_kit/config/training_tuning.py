"""The optional hyperparameter tuning stage of the fine-tuning pipeline (SageMaker automatic model tuning).

``training.tuning`` absent: the pipeline runs one training job. Present: the Train step runs a hyperparameter
tuning job (``CreateHyperParameterTuningJob``) over the configured ranges instead, and the best training job goes
on to evaluation and registration.

The shapes and limits are those of botocore's SageMaker model (``HyperParameterTuningJobConfig``,
``ParameterRanges``: at most 30 ranges of each kind, 30 values per categorical range; ``ResourceLimits``:
``MaxNumberOfTrainingJobs`` and ``MaxParallelTrainingJobs`` at least 1; ``WarmStartConfig``: 1 to 5 parent jobs,
names of at most 32 characters). What needs the catalog entry (is the hyperparameter tunable, is the range inside
the spec's, is the objective one of the metric definitions, does the run fit the cost guard) is checked by
:func:`check_tuning`, called from ``TrainingConfig``'s own check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from genai_kit.catalog import CatalogError, HyperparameterSpec, validate_hyperparameters
from genai_kit.config.base import StrictModel

# ParameterRanges: at most 30 ranges of each kind; CategoricalParameterRange.Values: 1 to 30 (botocore's model).
MAX_RANGES_PER_KIND = 30
MAX_CATEGORICAL_VALUES = 30
# WarmStartConfig.ParentHyperParameterTuningJobs: 1 to 5 (botocore's model).
MAX_PARENT_JOBS = 5
# HyperParameterTuningJobName: 1 to 32 characters, the pattern of botocore's model.
TUNING_JOB_NAME_MAX = 32
TUNING_JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")

ScalingType = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


class ParameterRange(StrictModel):
    """One hyperparameter's range: ``min`` to ``max`` (a continuous range for a float hyperparameter, an integer
    range for an int one) with a ``scaling``, or categorical ``values``."""

    min: float | None = Field(None, description="Lowest value tried (numeric ranges).")
    max: float | None = Field(None, description="Highest value tried, above min (numeric ranges).")
    scaling: ScalingType = Field(
        "Auto",
        description="How a numeric range is searched: Auto, Linear, Logarithmic (min > 0) or ReverseLogarithmic "
        "(0 <= min, max < 1; continuous only).",
    )
    values: tuple[str | int | float | bool, ...] | None = Field(
        None, min_length=1, max_length=MAX_CATEGORICAL_VALUES, description="The values tried (categorical: 1 to 30)."
    )

    @model_validator(mode="after")
    def _one_form(self) -> ParameterRange:
        if self.values is not None:
            if self.min is not None or self.max is not None or "scaling" in self.model_fields_set:
                raise ValueError("give either values (categorical) or min, max and scaling (numeric), not both")
            return self
        if self.min is None or self.max is None:
            raise ValueError("give min and max (numeric) or values (categorical)")
        if self.min >= self.max:
            raise ValueError(f"min {self.min:g} is not below max {self.max:g}")
        # ScalingType (botocore's SageMaker model, ContinuousParameterRange and IntegerParameterRange): logarithmic
        # scaling works only for ranges of values greater than 0, reverse logarithmic only for continuous ranges
        # entirely within 0 <= x < 1.0 (an integer range there would hold one value).
        if self.scaling == "Logarithmic" and self.min <= 0:
            raise ValueError(f"scaling: Logarithmic needs min > 0; got min {self.min:g}")
        if self.scaling == "ReverseLogarithmic" and not (self.min >= 0 and self.max < 1):
            raise ValueError(
                f"scaling: ReverseLogarithmic (continuous ranges only) needs 0 <= min and max < 1; got {self.min:g} to "
                f"{self.max:g}"
            )
        return self


class TuningObjective(StrictModel):
    """The metric the tuning job optimises: one of the training spec's metric definitions."""

    metric: str = Field(description="Metric name from the model's metric definitions for the instance type.")
    type: Literal["Minimize", "Maximize"] = Field(description="Minimize or Maximize.")


class WarmStart(StrictModel):
    """Start from what earlier tuning jobs learned (WarmStartConfig)."""

    parent_jobs: tuple[str, ...] = Field(
        min_length=1, max_length=MAX_PARENT_JOBS, description="Names of 1 to 5 earlier tuning jobs."
    )
    type: Literal["IdenticalDataAndAlgorithm", "TransferLearning"] = Field(
        description="IdenticalDataAndAlgorithm (same data and image) or TransferLearning."
    )

    @model_validator(mode="after")
    def _names(self) -> WarmStart:
        for name in self.parent_jobs:
            if not TUNING_JOB_NAME_RE.match(name):
                raise ValueError(
                    f"parent_jobs: '{name}' is not a tuning job name; expected 1 to 32 letters, digits and hyphens"
                )
        return self


class TuningConfig(StrictModel):
    """Hyperparameter tuning (SageMaker automatic model tuning, Bayesian search) instead of one training job.

    Costs up to ``max_jobs`` training jobs; ``max_instance_hours`` is the guard checked at synth and before each run.
    """

    parameter_ranges: dict[str, ParameterRange] = Field(
        min_length=1,
        description="Ranges by hyperparameter name: {min, max, scaling} for int/float ones, {values} for any.",
    )
    objective: TuningObjective = Field(description="The metric to optimise and its direction.")
    max_jobs: int = Field(ge=1, description="Most training jobs the tuning job starts (ResourceLimits).")
    max_parallel_jobs: int = Field(1, ge=1, description="Most training jobs at once (at most max_jobs).")
    early_stopping: Literal["Off", "Auto"] = Field(
        "Off", description="Auto: SageMaker stops jobs unlikely to beat the best so far."
    )
    warm_start: WarmStart | None = Field(None, description="Warm start from earlier tuning jobs.")
    max_instance_hours: float = Field(
        gt=0,
        description="Cost guard: max_jobs x instance count x time limit (hours) may not exceed this; "
        "checked at synth and before each run.",
    )

    @model_validator(mode="after")
    def _limits(self) -> TuningConfig:
        if self.max_parallel_jobs > self.max_jobs:
            raise ValueError(f"max_parallel_jobs: {self.max_parallel_jobs} is above max_jobs ({self.max_jobs})")
        for kind, count in self._counts().items():
            if count > MAX_RANGES_PER_KIND:
                raise ValueError(
                    f"parameter_ranges: {count} {kind} ranges; SageMaker accepts at most {MAX_RANGES_PER_KIND} of each"
                )
        return self

    def _counts(self) -> dict[str, int]:
        counts = {"numeric": 0, "categorical": 0}
        for value in self.parameter_ranges.values():
            counts["categorical" if value.values is not None else "numeric"] += 1
        return counts

    def instance_hours(self, instance_count: int, max_runtime_seconds: int) -> float:
        """The most instance-hours a run may use: every job at its time limit (jobs x instances x hours)."""
        return self.max_jobs * instance_count * max_runtime_seconds / 3600


def check_tuning(
    tuning: TuningConfig,
    *,
    specs: tuple[HyperparameterSpec, ...],
    metrics: set[str],
    configured: Mapping[str, object],
    model: str,
    instance_count: int,
    max_runtime_seconds: int,
) -> None:
    """Check ``tuning`` against the training spec of the default instance type.

    ``specs``: its hyperparameters; ``metrics``: its metric definitions' names; ``configured``: the
    ``training.hyperparameters`` overrides (a tuned hyperparameter may not also be fixed there).

    Raises ValueError naming the key below ``training``, the bad value and what is valid.
    """
    by_name = {spec.name: spec for spec in specs}
    for name, value in tuning.parameter_ranges.items():
        key = f"tuning.parameter_ranges.{name}"
        spec = by_name.get(name)
        if spec is None or spec.scope != "algorithm":
            tunable = sorted(s.name for s in specs if s.scope == "algorithm")
            raise ValueError(f"{key}: {model} has no hyperparameter '{name}' to tune; tunable: {', '.join(tunable)}")
        if name in configured:
            raise ValueError(f"{key}: also set in training.hyperparameters; a tuned hyperparameter is set by tuning")
        _check_range(key, spec, value, model)
    if tuning.objective.metric not in metrics:
        raise ValueError(
            f"tuning.objective.metric: '{tuning.objective.metric}' is not reported by {model}; "
            f"its metric definitions are: {', '.join(sorted(metrics)) or 'none'}"
        )
    hours = tuning.instance_hours(instance_count, max_runtime_seconds)
    if hours > tuning.max_instance_hours:
        instances = f"{instance_count} instance{'s' if instance_count != 1 else ''}"
        raise ValueError(
            f"tuning.max_instance_hours: a run may use up to {hours:g} instance-hours ({tuning.max_jobs} jobs x "
            f"{instances} x {max_runtime_seconds / 3600:g} h time limit), above the guard "
            f"{tuning.max_instance_hours:g}; lower max_jobs or max_runtime_seconds, or raise max_instance_hours"
        )


def _check_range(key: str, spec: HyperparameterSpec, value: ParameterRange, model: str) -> None:
    if value.values is not None:
        try:
            for item in value.values:
                validate_hyperparameters((spec,), {spec.name: item}, model=model)
        except CatalogError as error:
            raise ValueError(f"{key}.values: {error}") from None
        return
    if spec.type not in ("int", "float"):
        raise ValueError(
            f"{key}: '{spec.name}' is a {spec.type} hyperparameter; give it {{values: [...]}} (a categorical range)"
        )
    if value.min is None or value.max is None:  # excluded by ParameterRange._one_form
        raise ValueError(f"{key}: give min and max, or values")
    if spec.type == "int" and not (value.min.is_integer() and value.max.is_integer()):
        raise ValueError(f"{key}: '{spec.name}' is an integer; got {value.min:g} to {value.max:g}")
    for bound, number in (("min", value.min), ("max", value.max)):
        as_value: object = int(number) if spec.type == "int" else number
        try:
            validate_hyperparameters((spec,), {spec.name: as_value}, model=model)
        except CatalogError as error:
            raise ValueError(f"{key}.{bound}: {error}") from None


def range_kind(spec_type: str, value: ParameterRange) -> str:
    """The ParameterRanges member a range goes to: Integer-, Continuous- or CategoricalParameterRanges."""
    if value.values is not None:
        return "CategoricalParameterRanges"
    return "IntegerParameterRanges" if spec_type == "int" else "ContinuousParameterRanges"
