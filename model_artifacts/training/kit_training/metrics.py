"""The log lines the training job's metric definitions scrape, and the evaluation report.

SageMaker reads metrics from the job's logs with the regular expressions of
``AlgorithmSpecification.MetricDefinitions`` (``metric_definitions.json`` beside this package, one Name/Regex pair per
metric, the first capture group is the value) and publishes them to CloudWatch. The trainer's own log lines are
Python dict reprs whose shape is not a contract, so the script prints its own, one per logging step and one after
the held-out evaluation::

    genai_kit_metrics: train_loss=1.234500; learning_rate=0.0001; epoch=0.5;
    genai_kit_metrics: eval_loss=2.302585; eval_perplexity=10.000000;

Only the main process prints them (one line per event, not one per NeuronCore).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

PREFIX = "genai_kit_metrics:"
METRIC_DEFINITIONS_FILE = Path(__file__).resolve().parents[1] / "metric_definitions.json"
# The trainer's log keys (NeuronTrainer.maybe_log_train_step_metrics, optimum-neuron 0.4.1
# optimum/neuron/trainers/transformers.py:1010-1011, epoch added by NeuronTrainer.log :1235) -> the kit's names.
TRAIN_KEYS = {"loss": "train_loss", "learning_rate": "learning_rate", "epoch": "epoch"}


def metric_line(values: Mapping[str, float]) -> str:
    """One metrics line: ``genai_kit_metrics: name=value; ...`` in the order given (repr of the float)."""
    return " ".join([PREFIX, *(f"{name}={float(value)!r};" for name, value in values.items())])


def train_metrics(logs: Mapping[str, object]) -> dict[str, float]:
    """The kit's training metrics from one trainer log entry (keys it does not know are left out)."""
    return {
        kit: float(value)
        for key, kit in TRAIN_KEYS.items()
        if isinstance(value := logs.get(key), int | float) and not isinstance(value, bool)
    }


def eval_metrics(mean_loss: float) -> dict[str, float]:
    """Held-out loss and perplexity (``exp(loss)``, infinite when the exponent overflows)."""
    try:
        perplexity = math.exp(mean_loss)
    except OverflowError:
        perplexity = math.inf
    return {"eval_loss": mean_loss, "eval_perplexity": perplexity}


def evaluation_report(metrics: Mapping[str, float], examples: int) -> dict[str, object]:
    """The held-out results as model-quality statistics (``regression_metrics``, the layout the SageMaker SDK's
    model-card parser reads), for ``ModelMetrics.ModelQuality.Statistics`` of the registered model version."""
    report: dict[str, object] = {
        "regression_metrics": {name: {"value": value, "standard_deviation": "NaN"} for name, value in metrics.items()},
        "held_out_examples": examples,
    }
    return report


def write_report(path: Path, metrics: Mapping[str, float], examples: int) -> None:
    """Write ``evaluation_report`` as JSON (non-finite values as JSON's NaN/Infinity extensions, as Python writes)."""
    path.write_text(json.dumps(evaluation_report(metrics, examples), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_metric_definitions() -> list[dict[str, str]]:
    """The job's MetricDefinitions (Name, Regex) from ``metric_definitions.json``."""
    definitions: list[dict[str, str]] = json.loads(METRIC_DEFINITIONS_FILE.read_text(encoding="utf-8"))
    return definitions
