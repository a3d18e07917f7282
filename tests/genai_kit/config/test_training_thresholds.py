"""Thresholds of the fine-tuning configuration: fixed bounds and bounds relative to another metric of the same job,
every metric they name checked against the model's metric definitions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from genai_kit.config.training import MetricThreshold, check_thresholds

METRICS = {"train_loss", "eval_loss", "base_eval_loss"}


def test_a_threshold_relative_to_the_base_models_loss_is_valid() -> None:
    threshold = MetricThreshold(metric="eval_loss", max_metric="base_eval_loss")
    check_thresholds((threshold,), METRICS, model="kit@1")
    assert (threshold.max, threshold.min, threshold.min_metric) == (None, None, None)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        (
            [{"metric": "loss", "max": 1.0}],
            "thresholds.0.metric: metric 'loss' is not reported by kit@1; its metrics are: base_eval_loss, "
            "eval_loss, train_loss",
        ),
        (
            [{"metric": "eval_loss", "max": 2.0}, {"metric": "eval_loss", "max_metric": "base_loss"}],
            "thresholds.1.max_metric: metric 'base_loss' is not reported by kit@1",
        ),
        (
            [{"metric": "eval_loss", "min_metric": "accuracy"}],
            "thresholds.0.min_metric: metric 'accuracy' is not reported by kit@1",
        ),
    ],
)
def test_an_unknown_metric_is_named_by_its_key_path(thresholds: list[dict[str, object]], message: str) -> None:
    parsed = [MetricThreshold.model_validate(t) for t in thresholds]
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        check_thresholds(parsed, METRICS, model="kit@1")


def test_a_threshold_must_set_a_bound() -> None:
    with pytest.raises(ValidationError, match="sets none of max, min, max_metric, min_metric"):
        MetricThreshold(metric="eval_loss")


def test_a_metric_is_not_compared_with_itself() -> None:
    with pytest.raises(ValidationError, match="min_metric: 'eval_loss' is the metric itself"):
        MetricThreshold(metric="eval_loss", min_metric="eval_loss")
