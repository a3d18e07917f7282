"""The metric definitions scrape the script's real log lines; they are valid MetricDefinitions."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from botocore.session import get_session
from kit_training.metrics import (
    eval_metrics,
    load_metric_definitions,
    metric_line,
    train_metrics,
    write_report,
)

from tests.service_model import violations


def _scrape(lines: list[str]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for definition in load_metric_definitions():
        for line in lines:
            if match := re.search(definition["Regex"], line):
                found.setdefault(definition["Name"], []).append(float(match.group(1)))
    return found


def test_definitions_read_the_training_and_held_out_lines() -> None:
    # What the trainer logs (NeuronTrainer.maybe_log_train_step_metrics + log) and what the script evaluates.
    lines = [
        "{'loss': 2.5, 'learning_rate': 1e-05, 'grad_norm': 0.7, 'epoch': 0.25}",
        metric_line(train_metrics({"loss": 2.5, "learning_rate": 1e-05, "grad_norm": 0.7, "epoch": 0.25})),
        metric_line(train_metrics({"loss": 1.25, "learning_rate": 5e-06, "epoch": 0.5})),
        metric_line(eval_metrics(math.log(10.0))),
    ]
    assert _scrape(lines) == {
        "train_loss": [2.5, 1.25],
        "learning_rate": [1e-05, 5e-06],
        "epoch": [0.25, 0.5],
        "eval_loss": [math.log(10.0)],
        "eval_perplexity": [math.exp(math.log(10.0))],
    }


def test_the_line_format_is_stable() -> None:
    assert metric_line(eval_metrics(0.0)) == "genai_kit_metrics: eval_loss=0.0; eval_perplexity=1.0;"


def test_eval_loss_is_not_read_as_train_loss_or_the_other_way() -> None:
    assert _scrape([metric_line({"eval_loss": 3.0})]) == {"eval_loss": [3.0]}
    assert _scrape([metric_line({"train_loss": 3.0})]) == {"train_loss": [3.0]}


def test_a_huge_loss_gives_an_infinite_perplexity_not_a_crash() -> None:
    assert eval_metrics(1e6)["eval_perplexity"] == math.inf


def test_definitions_fit_create_training_jobs_metric_definitions() -> None:
    shape = get_session().get_service_model("sagemaker").shape_for("MetricDefinitionList")
    assert violations(shape, load_metric_definitions()) == []


def test_report_is_regression_metrics(tmp_path: Path) -> None:
    write_report(tmp_path / "evaluation.json", {"eval_loss": 1.5, "eval_perplexity": math.exp(1.5)}, examples=12)
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["held_out_examples"] == 12
    assert report["regression_metrics"]["eval_loss"]["value"] == 1.5
