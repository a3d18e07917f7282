"""The Evaluate function's environment: written by the fine-tuning pipeline's construct, read by
``lambdas/training_evaluate``.

``THRESHOLDS`` is the stage's ``training.thresholds`` as JSON, each bar with the bounds it sets, e.g.
``[{"max":1.5,"metric":"meta-textgenerationneuron:train-loss"},{"max_metric":"base_eval_loss","metric":"eval_loss"}]``;
``ARTIFACTS_BUCKET`` and ``EVALUATION_PREFIX`` say where the report of each training job is written;
``MODEL_PACKAGE_GROUP_NAME`` names the group whose latest Approved version the report compares with.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.contracts.base import FunctionEnvironment


class MetricThreshold(BaseModel):
    """A bar one final training metric must clear: at most ``max``, at least ``min``, at most the final value of the
    metric ``max_metric``, at least that of ``min_metric`` (each may be unset; the configuration sets one at least)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(min_length=1)
    max: float | None = None
    min: float | None = None
    max_metric: str | None = Field(None, min_length=1)
    min_metric: str | None = Field(None, min_length=1)


class EvaluateEnvironment(FunctionEnvironment):
    """The function's environment; each field is the variable of its upper-cased name."""

    thresholds: tuple[MetricThreshold, ...] = ()
    artifacts_bucket: str = Field(description="The bucket the metrics reports are written to")
    evaluation_prefix: str = Field(description="The reports' key prefix: <prefix><training job>/metrics.json")
    model_package_group_name: str = Field(
        min_length=1, description="The pipeline's model package group: its latest Approved version is the predecessor"
    )
