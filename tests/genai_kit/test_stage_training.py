"""Training resolution at config load: what the pipeline gets, and the key a region that cannot run it is named by."""

from __future__ import annotations

from typing import Any

import pytest

import genai_kit.stage.training
from genai_kit.catalog import CatalogError
from genai_kit.stage import ConfigError, load_stage
from genai_kit.stage.training import ResolvedTraining
from tests.pipeline.conftest import TUNING

NO_TRAINING_IMAGE = (
    "region 'eu-west-1' has no training image for model 'meta-textgenerationneuron-llama-2-7b' version '1.0.0' on "
    "ml.trn1.32xlarge; regions: us-east-1, us-east-2, us-west-2 (set training.enabled to false to deploy the stage "
    "without the fine-tuning pipeline)"
)


def _training(region: str = "us-east-1", **training: Any) -> ResolvedTraining | None:
    resolved = load_stage({"stages": {"dev": {"region": region, "endpoints": [], "training": training}}}).training
    assert resolved is None or isinstance(resolved, ResolvedTraining)
    return resolved


def _problems(stages: dict[str, Any], stage: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stage({"stage": stage, "stages": stages})
    return caught.value.problems


def test_default_pipeline_resolves_every_trainium_type_of_the_region() -> None:
    training = _training(hyperparameters={"max_steps": 40, "learning_rate": 1e-5})
    assert training is not None
    assert sorted(training.specs) == ["ml.trn1.32xlarge", "ml.trn1n.32xlarge"]
    assert training.default_instance_type == "ml.trn1.32xlarge"
    assert training.efa_instance_types == ("ml.trn1.32xlarge", "ml.trn1n.32xlarge")
    assert training.hyperparameters == {"max_steps": "40", "learning_rate": "1e-05"}
    assert training.hosting.instance_type == "ml.inf2.xlarge"
    assert training.specs["ml.trn1.32xlarge"].image_uri.startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/")


def test_disabled_training_is_not_resolved_even_where_it_could_not_run() -> None:
    assert _training(region="eu-west-1", enabled=False) is None


def test_region_without_a_training_image_is_refused_at_load_naming_the_key_and_the_regions() -> None:
    problems = _problems({"dev": {"region": "eu-west-1", "endpoints": []}})
    assert problems == [f"stages.dev.training.instance_type: {NO_TRAINING_IMAGE}"]


def test_a_stage_other_than_the_selected_one_is_resolved_too() -> None:
    problems = _problems({"dev": {}, "prod": {"region": "eu-west-1", "endpoints": []}}, stage="dev")
    assert problems == [f"stages.prod.training.instance_type: {NO_TRAINING_IMAGE}"]


def test_serving_type_without_a_hosting_image_in_the_region_is_refused_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a catalog whose serving image is missing in the stage's region (no real region is like that today)
    def no_hosting(*args: Any, **kwargs: Any) -> Any:
        raise CatalogError("region 'us-east-1' has no hosting image for model 'm' version '1' on ml.inf2.xlarge")

    monkeypatch.setattr(genai_kit.stage.training, "resolve_hosting", no_hosting)
    # WHEN the configuration loads THEN the problem names training.serving_instance_type
    assert _problems({"dev": {"endpoints": []}}) == [
        "stages.dev.training.serving_instance_type: region 'us-east-1' has no hosting image for model 'm' version "
        "'1' on ml.inf2.xlarge (set training.enabled to false to deploy the stage without the fine-tuning pipeline)"
    ]


def test_a_stage_name_that_leaves_no_room_for_a_tuning_jobs_name_is_refused_for_tuning() -> None:
    # GIVEN a tuning stage of a 12-character name (the longest): its jobs' prefix genai-kit-productioneu-ft and 9 more
    # characters make 34, above SageMaker's 32
    training = {"max_runtime_seconds": 14_400, "tuning": TUNING}
    problems = _problems({"productioneu": {"endpoints": [], "training": training}}, stage="productioneu")
    assert problems == [
        "stages.productioneu.training.tuning: the tuning jobs' names would start with 'genai-kit-productioneu-ft-' "
        "(26 characters), leaving fewer than the 8 needed of SageMaker's 32; use a shorter stage name to tune"
    ]
    # The same stage without tuning resolves.
    assert load_stage({"stage": "productioneu", "stages": {"productioneu": {"endpoints": []}}}).training
