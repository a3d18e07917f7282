"""What the stage's fine-tuning pipeline needs from quotas (the most an execution may ask) and costs (as configured)."""

from __future__ import annotations

from genai_kit.cli.needs import QuotaNeed, training_needs
from genai_kit.stage import load_stage


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
