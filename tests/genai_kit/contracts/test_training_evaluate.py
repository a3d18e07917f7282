"""The Evaluate function's contract: thresholds as compact JSON with only the bounds they set, and where the
reports go."""

from __future__ import annotations

import pytest

from genai_kit.contracts.training_evaluate import EvaluateEnvironment, MetricThreshold

LOSS = "meta-textgenerationneuron:train-loss"
ENVIRONMENT = EvaluateEnvironment(
    thresholds=(
        MetricThreshold(metric=LOSS, max=1.5),
        MetricThreshold(metric="accuracy", min=0.5, max=1.0),
        MetricThreshold(metric="eval_loss", max_metric="base_eval_loss"),
    ),
    artifacts_bucket="artifacts",
    evaluation_prefix="training/evaluation/",
    model_package_group_name="genai-kit-dev-finetuned",
)


def test_thresholds_name_only_the_bounds_they_set() -> None:
    variables = ENVIRONMENT.to_environment()
    assert variables["THRESHOLDS"] == (
        f'[{{"max":1.5,"metric":"{LOSS}"}},{{"max":1.0,"metric":"accuracy","min":0.5}},'
        '{"max_metric":"base_eval_loss","metric":"eval_loss"}]'
    )
    assert variables["MODEL_PACKAGE_GROUP_NAME"] == "genai-kit-dev-finetuned"
    assert EvaluateEnvironment.from_environment(variables) == ENVIRONMENT


def test_no_thresholds_is_an_empty_list() -> None:
    variables = ENVIRONMENT.model_copy(update={"thresholds": ()}).to_environment()
    assert variables["THRESHOLDS"] == "[]"
    assert EvaluateEnvironment.from_environment(variables).thresholds == ()


def test_a_threshold_without_a_metric_is_named() -> None:
    variables = {**ENVIRONMENT.to_environment(), "THRESHOLDS": '[{"max": 1}]'}
    with pytest.raises(ValueError, match=r"invalid training_evaluate environment: THRESHOLDS\.0\.metric: Field"):
        EvaluateEnvironment.from_environment(variables)
