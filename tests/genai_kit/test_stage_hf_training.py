"""The Hugging Face kind of fine-tuning (``training.huggingface``): configuration refused at load, and what it
resolves to for the stage's region (the training image, and how an approved version is served)."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.stage import ConfigError, load_stage
from genai_kit.stage.hf_training import ResolvedHfTraining
from tests.pipeline.conftest import HF_MODEL

# The guide's first run: a small ungated chat model on the smallest Trainium instance, served on the smallest Inf2.
TINY = HF_MODEL


def hf_stage(region: str = "us-east-1", **training: Any) -> dict[str, Any]:
    """A stage that fine-tunes TinyLlama (its keys overridden by ``training``)."""
    section = {"max_instance_count": 1, "huggingface": TINY, **training}
    return {"stages": {"dev": {"region": region, "endpoints": [], "training": section}}}


def _resolved(**training: Any) -> ResolvedHfTraining:
    resolved = load_stage(hf_stage(**training)).training
    assert isinstance(resolved, ResolvedHfTraining)
    return resolved


def _problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stage(config)
    return caught.value.problems


def test_the_kind_resolves_its_training_image_and_every_trainium_type() -> None:
    training = _resolved()
    assert training.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training-neuronx:"
        "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04"
    )
    assert training.default_instance_type == "ml.trn1.2xlarge"
    assert training.instance_types == {"ml.trn1.2xlarge": 2, "ml.trn1.32xlarge": 32, "ml.trn1n.32xlarge": 32}
    assert training.efa_instance_types == ("ml.trn1.32xlarge", "ml.trn1n.32xlarge")


def test_an_approved_version_is_served_by_vllm_from_the_mounted_model_compiled_for_its_settings() -> None:
    serving = _resolved().serving
    assert serving.framework == "huggingface-vllm-neuronx"
    assert serving.image_uri.startswith(
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm-inference-neuronx:"
    )
    # vLLM's start-up contract (optimum-neuron v0.4.1 docker/vllm/Dockerfile#L55-L94): the model is where SageMaker
    # mounts the model data, with the settings it was compiled for.
    assert serving.environment["SM_ON_MODEL"] == "/opt/ml/model"
    assert serving.environment["SM_ON_TENSOR_PARALLEL_SIZE"] == "2"
    assert serving.environment["SM_ON_SEQUENCE_LENGTH"] == "2048"
    assert serving.layout == "export"
    assert serving.export_arguments == (
        "--task",
        "text-generation",
        "--batch_size",
        "1",
        "--sequence_length",
        "2048",
        "--tensor_parallel_size",
        "2",
    )
    # A degree of 2 compiles on the smallest Trainium type.
    assert serving.preparation_instance_type == "ml.trn1.2xlarge"


def test_jumpstart_keys_beside_huggingface_are_refused_by_name() -> None:
    problems = _problems(hf_stage(model_id="meta-textgenerationneuron-llama-2-7b"))
    assert problems == [
        "stages.dev.training: model_id: a JumpStart model's setting; with 'huggingface' set, use huggingface.model_id"
    ]


def test_a_threshold_on_a_metric_the_script_does_not_log_is_refused() -> None:
    problems = _problems(hf_stage(thresholds=[{"metric": "meta-textgenerationneuron:train-loss", "max": 1}]))
    assert len(problems) == 1
    assert problems[0].startswith(
        "stages.dev.training: thresholds.0.metric: metric 'meta-textgenerationneuron:train-loss' is not reported by "
        "the kit's training script; its metrics are: base_eval_loss, base_eval_perplexity, epoch, eval_loss, "
    )


def test_without_thresholds_the_bar_is_not_worse_than_the_base_model() -> None:
    (bar,) = _resolved().config.thresholds
    assert (bar.metric, bar.max_metric, bar.max, bar.min, bar.min_metric) == (
        "eval_loss",
        "base_eval_loss",
        None,
        None,
        None,
    )
    configured = _resolved(thresholds=[{"metric": "eval_perplexity", "max": 20}]).config.thresholds
    assert [(t.metric, t.max) for t in configured] == [("eval_perplexity", 20)]


def test_serving_settings_that_do_not_fit_the_serving_instance_are_refused_under_huggingface() -> None:
    problems = _problems(hf_stage(huggingface={**TINY, "serving": {"tensor_parallel_degree": 4}}))
    assert problems == [
        "stages.dev.training.huggingface.serving.tensor_parallel_degree: got 4; ml.inf2.xlarge has 2 NeuronCores, "
        "so the degree can be 1 to 2"
    ]


def test_a_serving_type_that_is_not_inferentia2_is_refused() -> None:
    problems = _problems(hf_stage(serving_instance_type="ml.g5.xlarge"))
    assert problems == [
        "stages.dev.training: serving_instance_type: got 'ml.g5.xlarge'; expected an Inferentia2 type such as "
        "ml.inf2.xlarge"
    ]


def test_a_region_without_the_training_image_is_refused_naming_the_regions() -> None:
    # (the stage's default Bedrock models are refused there too, by their own key)
    problems = [p for p in _problems(hf_stage(region="af-south-1")) if p.startswith("stages.dev.training")]
    assert len(problems) == 1
    assert problems[0].startswith(
        "stages.dev.training.huggingface: the Hugging Face Neuron training image (huggingface-neuronx 4.55.4) "
    )
    assert "not published in region 'af-south-1'" in problems[0]


def test_tuning_ranges_are_checked_against_the_scripts_hyperparameters() -> None:
    tuning = {
        "parameter_ranges": {"learning_rate": {"min": 1e-6, "max": 2.0}},
        "objective": {"metric": "eval_loss", "type": "Minimize"},
        "max_jobs": 2,
        "max_parallel_jobs": 1,
        "max_instance_hours": 48,
    }
    problems = _problems(hf_stage(tuning=tuning))
    assert len(problems) == 1
    assert problems[0].startswith("stages.dev.training: tuning.parameter_ranges.learning_rate")
    good = {**tuning, "parameter_ranges": {"learning_rate": {"min": 1e-6, "max": 1e-4, "scaling": "Logarithmic"}}}
    assert _resolved(tuning=good).config.tuning is not None


def test_required_fields_beside_huggingface_are_refused() -> None:
    problems = _problems(hf_stage(dataset={"required_fields": ["messages"]}))
    assert problems == [
        "stages.dev.training: dataset.required_fields: with 'huggingface' set, the dataset step checks each record is "
        "one of the kit's script's formats (text, instruction/response, messages); remove it"
    ]


def test_a_model_type_other_than_the_recorded_one_is_refused() -> None:
    problems = _problems(hf_stage(huggingface={**TINY, "model_type": "qwen3"}))
    assert problems == [
        "stages.dev.training.huggingface.model_type: got 'qwen3'; TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json "
        "says 'llama' (model_artifacts/huggingface/models.json)"
    ]


def test_a_default_tensor_parallel_degree_that_does_not_fit_says_it_is_the_default() -> None:
    tiny = {key: value for key, value in TINY.items() if key != "hyperparameters"}
    (problem,) = _problems(hf_stage(huggingface=tiny))
    assert "hyperparameters.tensor_parallel_size: got 8 (the default); ml.trn1.2xlarge has 2 NeuronCores" in problem
