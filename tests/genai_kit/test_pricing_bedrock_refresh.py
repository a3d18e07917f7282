"""The price refresh's Bedrock token prices against botocore's Stubber, with AmazonBedrock Price List documents."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from genai_kit.neuron import NEURON_INSTANCES
from genai_kit.pricing import PRICE_TABLE, PriceTable
from genai_kit.pricing.bedrock_refresh import product_filters
from genai_kit.pricing.refresh import main
from genai_kit.pricing.refresh import product_filters as sagemaker_filters

LITE = "amazon.nova-lite-v1:0"


def token_product(direction: str, usd: str, *, sku: str, unit: str = "1K tokens", model: str = "Nova Lite") -> str:
    """One AmazonBedrock PriceList entry: a JSON document in a string, as GetProducts returns it."""
    offer = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "Amazon Bedrock",
                "attributes": {
                    "regionCode": "us-east-1",
                    "servicecode": "AmazonBedrock",
                    "model": model,
                    "feature": "On-demand Inference",
                    "inferenceType": f"{direction.title()} tokens",
                    "usagetype": f"USE1-{model.replace(' ', '')}-{direction}-tokens",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonBedrock",
            "terms": {
                "OnDemand": {
                    offer: {
                        "priceDimensions": {
                            f"{offer}.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "beginRange": "0",
                                "appliesTo": [],
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                    }
                }
            },
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


@pytest.fixture
def table(tmp_path: Path) -> Path:
    copy = tmp_path / "prices.json"
    shutil.copyfile(PRICE_TABLE, copy)
    return copy


def _stub(client: Any, answers: list[tuple[str, list[dict[str, str]], list[str]]]) -> Stubber:
    stubber = Stubber(client)
    for service_code, filters, documents in answers:
        stubber.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": documents},
            {"ServiceCode": service_code, "Filters": filters},
        )
    return stubber


def _run(table: Path, answers: list[str], *argv: str) -> tuple[int, str]:
    client = boto3.client("pricing", region_name="us-east-1")
    filters = product_filters(region="us-east-1", price_list_model="Nova Lite")
    stubber = _stub(client, [("AmazonBedrock", filters, answers)])
    out = io.StringIO()
    with stubber:
        code = main(
            ["--region", "us-east-1", "--bedrock-model", LITE, "--date", "2026-12-01", "--table", str(table), *argv],
            client=client,
            out=out,
        )
    stubber.assert_no_pending_responses()
    return code, out.getvalue()


def test_token_prices_are_read_per_direction_and_only_they_change(table: Path) -> None:
    code, out = _run(
        table,
        [token_product("input", "0.0000700000", sku="INPUTSKU"), token_product("output", "0.0002800000", sku="OUTSKU")],
    )
    assert code == 0, out
    before = PriceTable.model_validate_json(PRICE_TABLE.read_text())
    after = PriceTable.model_validate_json(table.read_text())
    price = after.tokens("us-east-1", LITE)
    assert price is not None
    assert (price.input_per_1k_tokens, price.output_per_1k_tokens, str(price.retrieved)) == (
        7e-05,
        0.00028,
        "2026-12-01",
    )
    assert price.source.startswith("AWS Price List Query API, GetProducts AmazonBedrock (regionCode=us-east-1")
    assert "SKU INPUTSKU, OUTSKU" in price.source
    # The other models' token prices and every SageMaker price are kept.
    assert after.tokens("us-east-1", "amazon.nova-pro-v1:0") == before.tokens("us-east-1", "amazon.nova-pro-v1:0")
    assert after.sagemaker_hosting == before.sagemaker_hosting


@pytest.mark.parametrize(
    ("answers", "said"),
    [
        (
            [token_product("input", "0.06", sku="A", unit="1M tokens"), token_product("output", "0.24", sku="B")],
            "priced per 1M tokens, not per 1K tokens",
        ),
        ([token_product("input", "0.00006", sku="A")], "has no output token price"),
        (
            [
                token_product("input", "0.00006", sku="A"),
                token_product("input", "0.00007", sku="C"),
                token_product("output", "0.00024", sku="B"),
            ],
            "several prices (A input: 0.00006, B output: 0.00024, C input: 0.00007)",
        ),
    ],
)
def test_answers_that_are_not_one_price_per_direction_are_refused(table: Path, answers: list[str], said: str) -> None:
    original = table.read_text()
    code, out = _run(table, answers)
    assert code == 2
    assert said in out
    assert table.read_text() == original


def test_a_model_the_price_list_lacks_is_kept_and_said(table: Path) -> None:
    code, out = _run(table, [])
    assert code == 0
    after = PriceTable.model_validate_json(table.read_text())
    assert after.tokens("us-east-1", LITE) == PriceTable.model_validate_json(PRICE_TABLE.read_text()).tokens(
        "us-east-1", LITE
    )
    assert "no price in the price list: tokens of amazon.nova-lite-v1:0 in us-east-1 (the table keeps" in out


def test_a_model_without_a_price_list_name_is_refused_with_how_to_find_it(table: Path) -> None:
    out = io.StringIO()
    code = main(
        ["--region", "us-east-1", "--bedrock-model", "amazon.titan-embed-text-v2:0", "--table", str(table)],
        client=boto3.client("pricing", region_name="us-east-1"),
        out=out,
    )
    assert code == 2
    assert "no price list name for amazon.titan-embed-text-v2:0" in out.getvalue()
    assert "get-attribute-values --service-code AmazonBedrock --attribute-name model" in out.getvalue()


def test_without_selectors_every_neuron_instance_type_and_every_named_model_is_read(table: Path) -> None:
    client = boto3.client("pricing", region_name="us-east-1")
    names = PriceTable.model_validate_json(PRICE_TABLE.read_text()).bedrock_price_list_names
    answers: list[tuple[str, list[dict[str, str]], list[str]]] = [
        ("AmazonSageMaker", sagemaker_filters(region="us-east-1", instance_type=instance_type, usage=usage), [])
        for usage in ("Hosting", "Training")
        for instance_type in sorted(NEURON_INSTANCES)
    ]
    answers += [
        ("AmazonBedrock", product_filters(region="us-east-1", price_list_model=name.price_list_model), [])
        for name in names
    ]
    stubber = _stub(client, answers)
    out = io.StringIO()
    with stubber:
        code = main(["--region", "us-east-1", "--table", str(table)], client=client, out=out)
    stubber.assert_no_pending_responses()
    assert code == 0
    assert {name.model_id for name in names} == {"amazon.nova-micro-v1:0", LITE, "amazon.nova-pro-v1:0"}
