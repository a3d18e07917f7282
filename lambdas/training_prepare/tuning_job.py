"""The tuning stage's part of CheckInput and Prepare, when the pipeline tunes (``training.tuning``).

``check_tuning_input`` refuses, before anything is created, an execution whose input the tuning job cannot run:
a tuned hyperparameter set by the input, an instance type whose metric definitions lack the objective metric or
whose hyperparameters lack a tuned one, or a run that could use more instance-hours than the cost guard allows
(the input may change the instance count, and the instance type and so the time limit).

``tuning_request`` turns the CreateTrainingJob request ``training_job.training_job_request`` builds into the
CreateHyperParameterTuningJob request (without RoleArn, which the state machine fixes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from genai_kit.catalog import CatalogError, HyperparameterSpec, TrainingSpec, validate_hyperparameters
from genai_kit.contracts.training_prepare import (
    DEFAULT_MAX_RUNTIME_SECONDS,
    DEFINITION_MEMBERS,
    PipelineSettings,
    TuningSettings,
)
from lambdas.training_prepare.errors import PrepareError

# HyperParameterTuningJobName: at most 32 characters (botocore's model); the stage checks the prefix leaves room.
TUNING_JOB_NAME_MAX = 32
DIGEST_CHARS = 8


def check_tuning_input(
    tuning: TuningSettings,
    *,
    instance_type: str,
    metric_names: set[str],
    specs: tuple[HyperparameterSpec, ...],
    runtime: int,
    count: int,
    requested: Any,
) -> None:
    """Refuse what the tuning job cannot run for this input (see the module); raises PrepareError.

    ``metric_names`` / ``specs``: what a job on ``instance_type`` reports and takes; ``runtime``: its time limit in
    seconds; ``count``: the instance count the input asks for (or the configured one); ``requested``: the input (an
    ``ExecutionInput``), whose hyperparameters may not set a tuned one."""
    tuned = sorted(set(requested.hyperparameters) & set(tuning.tuned))
    if tuned:
        raise PrepareError(
            "HyperparameterInvalid",
            f"hyperparameters.{tuned[0]}: tuned by this pipeline (training.tuning.parameter_ranges), not set by input",
        )
    if tuning.objective_metric not in metric_names:
        raise PrepareError(
            "InvalidInput",
            f"instance_type: {instance_type} does not report the tuning objective {tuning.objective_metric}; "
            f"its metrics are: {', '.join(sorted(metric_names)) or 'none'}",
        )
    known = {h.name for h in specs}
    missing = sorted(set(tuning.tuned) - known)
    if missing:
        raise PrepareError("InvalidInput", f"instance_type: {instance_type} has no hyperparameter {missing[0]} to tune")
    _check_ranges(tuning, specs, instance_type)
    hours = tuning.max_jobs * count * runtime / 3600
    if hours > tuning.max_instance_hours:
        instances = f"{count} instance{'s' if count != 1 else ''}"
        raise PrepareError(
            "CostGuardExceeded",
            f"instance_count/instance_type: this run may use up to {hours:g} instance-hours ({tuning.max_jobs} jobs x "
            f"{instances} x {runtime / 3600:g} h time limit of {instance_type}), above "
            f"training.tuning.max_instance_hours ({tuning.max_instance_hours:g}); ask for fewer instances",
        )


def _check_ranges(tuning: TuningSettings, specs: tuple[HyperparameterSpec, ...], instance_type: str) -> None:
    """Every bound and value of the ranges (checked at synth for the default instance type) is valid for this
    instance type's hyperparameters too: a type may have its own variant of one."""
    for ranges in tuning.job_config.get("ParameterRanges", {}).values():
        for item in ranges:
            for value in item.get("Values") or (item["MinValue"], item["MaxValue"]):
                try:
                    validate_hyperparameters(specs, {item["Name"]: value}, model=instance_type)
                except CatalogError as error:
                    raise PrepareError(
                        "InvalidInput", f"instance_type: training.tuning.parameter_ranges.{item['Name']}: {error}"
                    ) from None


def max_runtime_seconds(spec: TrainingSpec, settings: PipelineSettings) -> int:
    """A training job's time limit (StoppingCondition.MaxRuntimeInSeconds): configured, else the spec's, else the
    default."""
    return settings.max_runtime_seconds or spec.max_run_seconds or DEFAULT_MAX_RUNTIME_SECONDS


def tuning_job_name(prefix: str, execution_name: str) -> str:
    """``<prefix>-<hash of the execution's name>``: one tuning job per execution (a retried or redriven execution
    addresses the same job). Its training jobs are named ``<tuning job name>-<number>-<id>`` by SageMaker, so they
    start with the pipeline's prefix too."""
    return f"{prefix}-{hashlib.sha256(execution_name.encode()).hexdigest()[:DIGEST_CHARS]}"[:TUNING_JOB_NAME_MAX]


def tuning_request(training_request: Mapping[str, Any], tuning: TuningSettings, name: str) -> dict[str, Any]:
    """CreateHyperParameterTuningJob without RoleArn: the training request as the definition, its hyperparameters
    less the tuned ones as StaticHyperParameters, and the configured tuning job configuration."""
    definition = {member: training_request[member] for member in DEFINITION_MEMBERS}
    definition["StaticHyperParameters"] = {
        key: value for key, value in training_request["HyperParameters"].items() if key not in tuning.tuned
    }
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": tuning.job_config,
        "TrainingJobDefinition": definition,
    }
    if tuning.warm_start is not None:
        request["WarmStartConfig"] = tuning.warm_start
    return request
