"""The metric definitions scrape the script's real log lines; they are valid MetricDefinitions."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from botocore.session import get_session
from kit_training.metrics import (
    BASE_EVAL,
    EVAL,
    eval_metrics,
    evaluation_report,
    held_out_metrics,
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
    base_line = metric_line(eval_metrics(math.log(16.0), BASE_EVAL))
    assert _scrape([base_line, *lines]) == {
        "base_eval_loss": [math.log(16.0)],
        "base_eval_perplexity": [math.exp(math.log(16.0))],
        "train_loss": [2.5, 1.25],
        "learning_rate": [1e-05, 5e-06],
        "epoch": [0.25, 0.5],
        "eval_loss": [math.log(10.0)],
        "eval_perplexity": [math.exp(math.log(10.0))],
    }


def test_the_line_format_is_stable() -> None:
    assert metric_line(eval_metrics(0.0)) == "genai_kit_metrics: eval_loss=0.0; eval_perplexity=1.0;"


def test_the_base_line_format_is_stable() -> None:
    line = metric_line(eval_metrics(0.0, BASE_EVAL))
    assert line == "genai_kit_metrics: base_eval_loss=0.0; base_eval_perplexity=1.0;"


def test_eval_loss_is_not_read_as_train_loss_or_the_other_way() -> None:
    assert _scrape([metric_line({"eval_loss": 3.0})]) == {"eval_loss": [3.0]}
    assert _scrape([metric_line({"train_loss": 3.0})]) == {"train_loss": [3.0]}


def test_the_base_model_and_the_trained_model_are_never_read_as_each_other() -> None:
    assert _scrape([metric_line(eval_metrics(2.0, BASE_EVAL))]) == {
        "base_eval_loss": [2.0],
        "base_eval_perplexity": [math.exp(2.0)],
    }
    assert set(_scrape([metric_line(eval_metrics(2.0, EVAL))])) == {"eval_loss", "eval_perplexity"}


def test_every_definition_is_printed_by_the_script_and_every_printed_metric_has_one() -> None:
    printed = {
        *train_metrics({"loss": 1.0, "learning_rate": 1.0, "epoch": 1.0}),
        *eval_metrics(1.0, BASE_EVAL),
        *eval_metrics(1.0, EVAL),
    }
    assert {definition["Name"] for definition in load_metric_definitions()} == printed


@pytest.mark.parametrize("prefix", [BASE_EVAL, EVAL])
def test_without_a_held_out_set_nothing_is_measured_or_printed(prefix: str) -> None:
    measured: list[str] = []
    printed: list[str] = []

    def measure() -> float:
        measured.append(prefix)
        return 1.0

    assert held_out_metrics(0, measure, prefix, printed.append) is None
    assert (measured, printed) == ([], [])


def test_with_a_held_out_set_the_base_and_trained_lines_are_printed_and_scraped() -> None:
    losses = iter([math.log(16.0), math.log(10.0)])
    printed: list[str] = []
    base = held_out_metrics(3, lambda: next(losses), BASE_EVAL, printed.append)
    tuned = held_out_metrics(3, lambda: next(losses), EVAL, printed.append)
    assert base == {"base_eval_loss": math.log(16.0), "base_eval_perplexity": math.exp(math.log(16.0))}
    assert tuned == {"eval_loss": math.log(10.0), "eval_perplexity": math.exp(math.log(10.0))}
    scraped = _scrape(printed)
    assert scraped["base_eval_loss"] == [math.log(16.0)]
    assert scraped["eval_loss"] == [math.log(10.0)]


def test_a_huge_loss_gives_an_infinite_perplexity_not_a_crash() -> None:
    assert eval_metrics(1e6)["eval_perplexity"] == math.inf


def test_definitions_fit_create_training_jobs_metric_definitions() -> None:
    shape = get_session().get_service_model("sagemaker").shape_for("MetricDefinitionList")
    assert violations(shape, load_metric_definitions()) == []


def test_report_is_regression_metrics_of_the_trained_and_the_base_model(tmp_path: Path) -> None:
    write_report(tmp_path / "evaluation.json", eval_metrics(1.5), eval_metrics(2.5, BASE_EVAL), examples=12)
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["held_out_examples"] == 12
    assert {name: value["value"] for name, value in report["regression_metrics"].items()} == {
        "eval_loss": 1.5,
        "eval_perplexity": math.exp(1.5),
        "base_eval_loss": 2.5,
        "base_eval_perplexity": math.exp(2.5),
    }


def test_a_report_without_the_base_or_with_swapped_metrics_is_refused() -> None:
    with pytest.raises(ValueError, match="no base_eval_loss"):
        evaluation_report(eval_metrics(1.5), {}, examples=1)
    with pytest.raises(ValueError, match="no eval_loss"):
        evaluation_report({"eval_perplexity": 1.0}, eval_metrics(2.5, BASE_EVAL), examples=1)
    with pytest.raises(ValueError, match=r"\['eval_loss', 'eval_perplexity'\] given as both"):
        evaluation_report(eval_metrics(1.5), eval_metrics(1.5), examples=1)
