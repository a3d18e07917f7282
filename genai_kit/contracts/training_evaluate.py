"""The Evaluate function's environment: written by the fine-tuning pipeline's construct, read by
``lambdas/training_evaluate``.

``THRESHOLDS`` is the stage's ``training.thresholds`` as JSON, each bar with the bounds it sets, e.g.
``[{"max":1.5,"metric":"meta-textgenerationneuron:train-loss"}]``; the other variables say where the metrics report
of each training job is written.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.contracts.base import FunctionEnvironment


class MetricThreshold(BaseModel):
    """A bar one final training metric must clear: at most ``max``, at least ``min`` (either may be unset)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(min_length=1)
    max: float | None = None
    min: float | None = None


class EvaluateEnvironment(FunctionEnvironment):
    """The function's environment; each field is the variable of its upper-cased name."""

    thresholds: tuple[MetricThreshold, ...] = ()
    artifacts_bucket: str = Field(description="The bucket the metrics reports are written to")
    evaluation_prefix: str = Field(description="The reports' key prefix: <prefix><training job>/metrics.json")
