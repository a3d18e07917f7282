"""The log lines the training job's metric definitions scrape, and the evaluation report.

SageMaker reads metrics from the job's logs with the regular expressions of
``AlgorithmSpecification.MetricDefinitions`` (``metric_definitions.json`` beside this package, one Name/Regex pair per
metric, the first capture group is the value) and publishes them to CloudWatch. The trainer's own log lines are
Python dict reprs whose shape is not a contract, so the script prints its own: one for the model as loaded,
measured on the held-out set before training (``base_eval_*``: the yardstick the trained model is compared with),
one per logging step, and one after the held-out evaluation of the trained model::

    genai_kit_metrics: base_eval_loss=2.772588; base_eval_perplexity=16.000000;
    genai_kit_metrics: train_loss=1.234500; learning_rate=0.0001; epoch=0.5;
    genai_kit_metrics: eval_loss=2.302585; eval_perplexity=10.000000;

Without a held-out set neither held-out line is printed (``held_out_metrics``). Only the main process prints them
(one line per event, not one per NeuronCore).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path

PREFIX = "genai_kit_metrics:"
METRIC_DEFINITIONS_FILE = Path(__file__).resolve().parents[1] / "metric_definitions.json"
# The trainer's log keys (NeuronTrainer.maybe_log_train_step_metrics, optimum-neuron 0.4.1
# optimum/neuron/trainers/transformers.py:1010-1011, epoch added by NeuronTrainer.log :1235) -> the kit's names.
TRAIN_KEYS = {"loss": "train_loss", "learning_rate": "learning_rate", "epoch": "epoch"}
# Name prefixes of the held-out metrics: the model as loaded (before training) and the trained model.
BASE_EVAL = "base_eval"
EVAL = "eval"


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


def eval_metrics(mean_loss: float, prefix: str = EVAL) -> dict[str, float]:
    """Held-out loss and perplexity (``exp(loss)``, infinite when the exponent overflows), named ``<prefix>_loss``
    and ``<prefix>_perplexity`` (``prefix``: EVAL for the trained model, BASE_EVAL for the model as loaded)."""
    try:
        perplexity = math.exp(mean_loss)
    except OverflowError:
        perplexity = math.inf
    return {f"{prefix}_loss": mean_loss, f"{prefix}_perplexity": perplexity}


def held_out_metrics(
    examples: int, measure: Callable[[], float], prefix: str, emit: Callable[[str], None]
) -> dict[str, float] | None:
    """Measure the held-out loss with ``measure`` and ``emit`` its metrics line; None without a held-out example.

    ``measure`` runs on every process (it is a collective) and ``emit`` decides who prints. Called once before
    training (BASE_EVAL) and once after (EVAL), so both lines, and the report, exist together or not at all.
    """
    if examples <= 0:
        return None
    values = eval_metrics(measure(), prefix)
    emit(metric_line(values))
    return values


def evaluation_report(metrics: Mapping[str, float], base: Mapping[str, float], examples: int) -> dict[str, object]:
    """The held-out results of the trained model (``metrics``) and of the model as loaded (``base``) as
    model-quality statistics (``regression_metrics``, the layout the SageMaker SDK's model-card parser reads), for
    ``ModelMetrics.ModelQuality.Statistics`` of the registered model version.

    Raises ValueError when a name is in both, or when either lacks its loss (the comparison needs both).
    """
    if overlap := set(metrics) & set(base):
        raise ValueError(f"evaluation report: {sorted(overlap)} given as both trained and base metrics")
    for name, values in ((f"{EVAL}_loss", metrics), (f"{BASE_EVAL}_loss", base)):
        if name not in values:
            raise ValueError(f"evaluation report: no {name}")
    merged = {**base, **metrics}
    report: dict[str, object] = {
        "regression_metrics": {name: {"value": value, "standard_deviation": "NaN"} for name, value in merged.items()},
        "held_out_examples": examples,
    }
    return report


def write_report(path: Path, metrics: Mapping[str, float], base: Mapping[str, float], examples: int) -> None:
    """Write ``evaluation_report`` as JSON (non-finite values as JSON's NaN/Infinity extensions, as Python writes)."""
    report = evaluation_report(metrics, base, examples)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_metric_definitions() -> list[dict[str, str]]:
    """The job's MetricDefinitions (Name, Regex) from ``metric_definitions.json``."""
    definitions: list[dict[str, str]] = json.loads(METRIC_DEFINITIONS_FILE.read_text(encoding="utf-8"))
    return definitions
