"""What the stage's fine-tuning pipeline needs from quotas (the most an execution may ask) and costs (as configured)."""

from __future__ import annotations

from genai_kit.cli.needs import QuotaNeed, finetuned_preparation_needs, training_needs
from genai_kit.stage import load_stage
from tests.pipeline.conftest import HF_STAGES, TUNING


def test_quota_covers_the_most_instances_an_execution_may_ask_for_on_the_catalog_default_type() -> None:
    settings = load_stage({"stages": {"dev": {}}}).settings
    assert training_needs(settings) == [QuotaNeed("ml.trn1.32xlarge", 4, "training job usage", "the training job")]


def test_cost_counts_the_configured_instances() -> None:
    settings = load_stage({"stages": {"dev": {"training": {"instance_count": 2}}}}).settings
    (need,) = training_needs(settings, at_most=False)
    assert (need.instance_type, need.count) == ("ml.trn1.32xlarge", 2)


def test_spot_training_needs_the_spot_quota() -> None:
    settings = load_stage({"stages": {"dev": {"training": {"spot": {"enabled": True}}}}}).settings
    (need,) = training_needs(settings)
    assert need.usage == "spot training job usage"


def test_disabled_training_needs_nothing() -> None:
    settings = load_stage({"stages": {"dev": {"training": {"enabled": False}}}}).settings
    assert training_needs(settings) == []


def test_a_tuning_stage_needs_its_parallel_jobs_worth_of_instances() -> None:
    # GIVEN 2 training jobs at once (TUNING's max_parallel_jobs), each of up to max_instance_count 4 instances
    training = {"max_runtime_seconds": 3600, "tuning": TUNING}
    settings = load_stage({"stages": {"dev": {"training": training}}}).settings
    assert training_needs(settings) == [QuotaNeed("ml.trn1.32xlarge", 8, "training job usage", "the training job")]
    # A tuning run's cost is priced per job's configured instances (times max_jobs in the cost report).
    assert training_needs(settings, at_most=False)[0].count == 1


def test_the_hugging_face_kind_needs_its_own_instances_and_its_preparations() -> None:
    stage = load_stage({"stages": HF_STAGES})
    assert training_needs(stage.settings) == [QuotaNeed("ml.trn1.2xlarge", 1, "training job usage", "the training job")]
    assert finetuned_preparation_needs(stage.training) == [
        QuotaNeed("ml.trn1.2xlarge", 1, "training job usage", "the fine-tuned model's preparation")
    ]
    assert finetuned_preparation_needs(load_stage({"stages": {"dev": {}}}).training) == []
