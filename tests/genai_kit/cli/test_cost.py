"""cost: endpoint, training and Bedrock prices for a stage, from its synthesized templates and the price table."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from genai_kit.cli.assembly import stage_stacks
from genai_kit.cli.cost import FINETUNED_PREPARATION, estimate, synthesized_endpoints, synthesized_preparations
from genai_kit.cli.cost_report import render_json, render_text
from genai_kit.cli.main import main
from genai_kit.pricing import ImagePrice, InstancePrice, PriceTable, TokenPrice, load_price_table
from tests.pipeline.conftest import HF_STAGES
from tests.synth import SynthResult

SOURCE = {"source": "https://example.com/test-prices", "retrieved": date(2026, 1, 1)}


def table(**prices: Any) -> PriceTable:
    return PriceTable(
        about="test",
        currency="USD",
        as_of=date(2026, 1, 1),
        hours_per_month=730,
        sagemaker_hosting=prices.get("hosting", ()),
        sagemaker_training=prices.get("training", ()),
        bedrock_tokens=prices.get("tokens", ()),
        bedrock_images=prices.get("images", ()),
    )


def test_endpoints_are_read_from_the_synthesized_templates(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    assert synthesized_endpoints(stacks) == [("genai-kit-dev-tinyllama", "ml.inf2.xlarge", 1, 1)]


def test_endpoint_cost_per_hour_and_month_from_the_table(dev: SynthResult) -> None:
    # GIVEN a price for ml.inf2.xlarge hosting (a test figure, not a real price)
    prices = table(
        hosting=(InstancePrice(region="us-east-1", instance_type="ml.inf2.xlarge", usd_per_hour=2.0, **SOURCE),)
    )
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    # WHEN the dev stage is estimated
    result = estimate(stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=prices)
    # THEN one instance costs 2 per hour and 730 hours a month
    [endpoint] = result.endpoints
    assert (endpoint.per_hour(1), result.monthly("min")) == (2.0, 1460.0)
    assert "Endpoints per month: $1,460.00" in render_text(result)


def test_the_hugging_face_kinds_preparation_of_each_accepted_model_is_listed(
    synth: Callable[..., SynthResult],
) -> None:
    stacks = stage_stacks(synth("dev", stages=HF_STAGES).assembly_dir, "GenAiKit-dev-")
    assert (FINETUNED_PREPARATION, "ml.trn1.2xlarge", 4.0) in synthesized_preparations(stacks)


def test_the_model_preparation_is_priced_once_at_most_its_longest_run(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    assert synthesized_preparations(stacks) == [("genai-kit-dev-tinyllama", "ml.trn1.2xlarge", 4.0)]
    # a test figure, not a real price
    prices = table(
        training=(InstancePrice(region="us-east-1", instance_type="ml.trn1.2xlarge", usd_per_hour=1.5, **SOURCE),)
    )
    result = estimate(stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=prices)
    [preparation] = result.preparations
    assert preparation.at_most == 6.0
    assert "genai-kit-dev-tinyllama  ml.trn1.2xlarge  $1.5000            4                $6.00" in render_text(result)
    unpriced = estimate(stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=table())
    assert unpriced.preparations[0].at_most is None


def test_price_missing_from_the_table_is_said_not_guessed(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=table())
    text = render_text(result)
    assert "ml.inf2.xlarge  1-1        no published figure in the table" in text
    assert "Endpoints per month: no published figure in the table (ml.inf2.xlarge)" in text
    # AND says where each missing figure comes from
    assert (
        "- hosting ml.inf2.xlarge: "
        "python -m genai_kit.pricing.refresh --region us-east-1 --instance-type ml.inf2.xlarge"
    ) in text
    assert "- training ml.trn1.2xlarge: python -m genai_kit.pricing.refresh --region us-east-1" in text


def test_unpriced_tokens_of_a_model_the_refresh_knows_name_the_refresh_command(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    settings = SimpleNamespace(
        bedrock=SimpleNamespace(
            enabled=True,
            models=(
                SimpleNamespace(id="us.amazon.nova-lite-v1:0", kind="chat"),
                SimpleNamespace(id="amazon.titan-embed-text-v2:0", kind="embedding"),
            ),
        )
    )
    result = estimate(stage="dev", region="us-west-2", settings=settings, stacks=stacks, table=load_price_table())
    text = render_text(result)
    assert (
        "- tokens of us.amazon.nova-lite-v1:0: "
        "python -m genai_kit.pricing.refresh --region us-west-2 --bedrock-model amazon.nova-lite-v1:0"
    ) in text
    assert "- tokens of amazon.titan-embed-text-v2:0: https://aws.amazon.com/bedrock/pricing/ (us-west-2)" in text


def test_the_default_stage_is_priced_from_the_shipped_table_with_its_sources(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(
        stage="dev", region="us-east-1", settings=SimpleNamespace(), stacks=stacks, table=load_price_table()
    )
    [endpoint] = result.endpoints
    assert endpoint.price is not None
    assert endpoint.price.usd_per_hour == 0.99
    text = render_text(result)
    assert "Endpoints per month: $722.70" in text
    assert "- hosting ml.inf2.xlarge in us-east-1: $0.99/h, https://github.com/aws-samples/" in text


def test_training_and_bedrock_come_from_the_configuration(dev: SynthResult) -> None:
    settings = SimpleNamespace(
        training=SimpleNamespace(instance_type="ml.trn1.32xlarge", instance_count=2, spot=False),
        bedrock=SimpleNamespace(models=[SimpleNamespace(id="us.amazon.nova-lite-v1:0")]),
    )
    prices = table(
        training=(InstancePrice(region="us-east-1", instance_type="ml.trn1.32xlarge", usd_per_hour=10.0, **SOURCE),),
        tokens=(
            TokenPrice(
                region="us-east-1",
                model_id="amazon.nova-lite-v1:0",
                input_per_1k_tokens=0.1,
                output_per_1k_tokens=0.4,
                **SOURCE,
            ),
        ),
    )
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(
        stage="dev", region="us-east-1", settings=settings, stacks=stacks, table=prices, training_max_hours=5
    )
    assert result.training[0].per_hour == 20.0
    # A run costs at most its time limit: 2 instances x 10 per hour x 5 hours.
    assert result.training[0].at_most_per_run == 100.0
    assert "ml.trn1.32xlarge  2      $10.0000           $20.00    5               $100.00" in render_text(result)
    # A cross-region profile is billed at the source region's price of its foundation model.
    assert result.bedrock[0].price is not None
    assert result.bedrock[0].price.output_per_1k_tokens == 0.4


def test_cost_command_prints_json_from_the_assembly(dev: SynthResult) -> None:
    out = io.StringIO()
    assert main(["cost", "--stage", "dev", "--assembly", str(dev.assembly_dir), "--json"], out=out) == 0
    document = json.loads(out.getvalue())
    assert document["endpoints"][0]["instance_type"] == "ml.inf2.xlarge"
    assert document["prices_as_of"] == "2026-11-29"


def test_cost_without_a_synthesized_stage_says_to_synthesize(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--stage", "prod", "--assembly", str(tmp_path)]) == 2
    assert "run `make synth STAGE=prod` first" in capsys.readouterr().err


def test_cost_command_bounds_a_training_run_by_the_job_time_limit(dev: SynthResult) -> None:
    out = io.StringIO()
    assert main(["cost", "--stage", "dev", "--assembly", str(dev.assembly_dir)], out=out) == 0
    # The default stage sets no max_runtime_seconds: the model spec's max_run (360,000 s) is the pipeline's limit.
    [training] = [line for line in out.getvalue().splitlines() if line.startswith("ml.trn1.32xlarge  1 ")]
    assert training.split()[-7:-6] == ["100"]


def _image_settings() -> SimpleNamespace:
    return SimpleNamespace(
        bedrock=SimpleNamespace(
            models=[
                SimpleNamespace(id="us.amazon.nova-lite-v1:0", kind="chat"),
                SimpleNamespace(id="amazon.nova-canvas-v1:0", kind="image"),
            ]
        )
    )


def test_image_models_are_priced_per_image_apart_from_token_models(dev: SynthResult) -> None:
    prices = table(
        images=tuple(
            ImagePrice(
                region="us-east-1",
                model_id="amazon.nova-canvas-v1:0",
                quality=quality,
                size_class=size_class,
                usd_per_image=usd,
                **SOURCE,
            )
            for quality, size_class, usd in [("standard", "up to 1024x1024", 0.5), ("premium", "up to 1024x1024", 0.7)]
        )
    )
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=_image_settings(), stacks=stacks, table=prices)
    assert [b.model_id for b in result.bedrock] == ["us.amazon.nova-lite-v1:0"]
    assert [i.model_id for i in result.bedrock_images] == ["amazon.nova-canvas-v1:0"]
    text = render_text(result)
    assert "Bedrock images (per generated image, by quality and size class)" in text
    assert "amazon.nova-canvas-v1:0  standard  up to 1024x1024  $0.5000" in text
    assert "amazon.nova-canvas-v1:0  premium   up to 1024x1024  $0.7000" in text
    assert "- images of amazon.nova-canvas-v1:0 (standard, up to 1024x1024) in us-east-1: $0.5/image" in text
    # Token prices are never shown for an image model.
    assert "nova-canvas" not in text.split("Bedrock (per use)")[1].split("Bedrock images")[0]
    document = json.loads(render_json(result))
    assert [b["model_id"] for b in document["bedrock"]] == ["us.amazon.nova-lite-v1:0"]
    assert document["bedrock_images"] == [
        {
            "model_id": "amazon.nova-canvas-v1:0",
            "per_image": [
                {"quality": "standard", "size_class": "up to 1024x1024", "usd": 0.5},
                {"quality": "premium", "size_class": "up to 1024x1024", "usd": 0.7},
            ],
        }
    ]


def test_an_image_model_without_a_price_is_said_not_guessed(dev: SynthResult) -> None:
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=_image_settings(), stacks=stacks, table=table())
    text = render_text(result)
    assert "amazon.nova-canvas-v1:0  -        -     no published figure in the table" in text
    assert "- images of amazon.nova-canvas-v1:0: https://aws.amazon.com/bedrock/pricing/ (us-east-1)" in text
    assert json.loads(render_json(result))["bedrock_images"] == [
        {"model_id": "amazon.nova-canvas-v1:0", "per_image": None}
    ]


def test_stable_image_core_is_listed_unpriced_per_image(dev: SynthResult) -> None:
    # No per-image figure for Stable Image Core is in the table: the report says so and points at the pricing page.
    settings = SimpleNamespace(
        bedrock=SimpleNamespace(models=[SimpleNamespace(id="stability.stable-image-core-v1:1", kind="image")])
    )
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-west-2", settings=settings, stacks=stacks, table=table())
    assert [i.model_id for i in result.bedrock_images] == ["stability.stable-image-core-v1:1"]
    assert result.bedrock == []
    text = render_text(result)
    assert "- images of stability.stable-image-core-v1:1: https://aws.amazon.com/bedrock/pricing/ (us-west-2)" in text
    assert json.loads(render_json(result))["bedrock_images"] == [
        {"model_id": "stability.stable-image-core-v1:1", "per_image": None}
    ]


def test_a_tuning_run_is_priced_at_most_max_jobs_training_runs(dev: SynthResult) -> None:
    # GIVEN a tuning stage of 4 jobs on 2 priced instances with a 5 hour limit, and one on an unpriced type
    tuning = SimpleNamespace(max_jobs=4)
    settings = SimpleNamespace(
        training=SimpleNamespace(instance_type="ml.trn1.32xlarge", instance_count=2, spot=False, tuning=tuning)
    )
    prices = table(
        training=(InstancePrice(region="us-east-1", instance_type="ml.trn1.32xlarge", usd_per_hour=10.0, **SOURCE),)
    )
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(
        stage="dev", region="us-east-1", settings=settings, stacks=stacks, table=prices, training_max_hours=5
    )
    # THEN a run uses at most 4 x 2 x 5 = 40 instance-hours, $400 at $10 per instance-hour
    [run] = result.tuning
    assert (run.instance_hours, run.at_most_per_run) == (40, 400.0)
    text = render_text(result)
    assert "Tuning (training.tuning: at most max jobs x instances x time limit per run)" in text
    assert "ml.trn1.32xlarge  2      4         $10.0000           40                      $400.00" in text
    assert json.loads(render_json(result))["tuning"][0]["at_most_per_run"] == 400.0
    # An unpriced type says so, as the training line does
    unpriced = estimate(
        stage="dev", region="us-east-1", settings=settings, stacks=stacks, table=table(), training_max_hours=5
    )
    assert unpriced.tuning[0].at_most_per_run is None
    assert "40                      no published figure in the table" in render_text(unpriced)


def test_without_tuning_there_is_no_tuning_line(dev: SynthResult) -> None:
    settings = SimpleNamespace(training=SimpleNamespace(instance_type="ml.trn1.32xlarge", instance_count=1))
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=settings, stacks=stacks, table=table())
    assert result.tuning == []
    assert "Tuning" not in render_text(result)


def test_the_fine_tuned_endpoint_is_priced_apart_from_the_endpoints_total(dev: SynthResult) -> None:
    # GIVEN the default stage, whose rollout serves approved versions on one ml.inf2.xlarge
    out = io.StringIO()
    assert main(["cost", "--stage", "dev", "--assembly", str(dev.assembly_dir), "--json"], out=out) == 0
    finetuned = json.loads(out.getvalue())["finetuned_endpoint"]
    # THEN it is listed at the table's hosting price, and the endpoints' total is the synthesized endpoints' alone
    assert finetuned == {
        "name": "genai-kit-dev-finetuned",
        "instance_type": "ml.inf2.xlarge",
        "instances": 1,
        "per_instance_hour": 0.99,
        "per_month": 722.7,
    }
    text = io.StringIO()
    assert main(["cost", "--stage", "dev", "--assembly", str(dev.assembly_dir)], out=text) == 0
    assert "Fine-tuned endpoint (from the first approval of a fine-tuned version on" in text.getvalue()
    assert "Endpoints per month: $722.70" in text.getvalue()


def test_without_rollout_there_is_no_fine_tuned_endpoint_line(dev: SynthResult) -> None:
    settings = SimpleNamespace(training=SimpleNamespace(enabled=True, rollout=SimpleNamespace(enabled=False)))
    stacks = stage_stacks(dev.assembly_dir, "GenAiKit-dev-")
    result = estimate(stage="dev", region="us-east-1", settings=settings, stacks=stacks, table=load_price_table())
    assert result.finetuned is None
    assert "Fine-tuned endpoint" not in render_text(result)
