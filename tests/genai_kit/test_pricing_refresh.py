"""The price refresh command against botocore's Stubber, answering with Price List documents shaped like AWS's."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from genai_kit.pricing import PRICE_TABLE, PriceTable
from genai_kit.pricing.refresh import main, product_filters

ENDPOINT = ("us-east-1", "ml.inf2.xlarge")


def product(region: str, instance_type: str, usage: str, usd: str, *, sku: str = "ABCDEFGH12345678") -> str:
    """One GetProducts PriceList entry as the Price List Query API returns it: a JSON document in a string."""
    prefix = {"us-east-1": "USE1", "eu-west-1": "EU"}[region]
    offer = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "regionCode": region,
                    "servicecode": "AmazonSageMaker",
                    "instanceName": instance_type,
                    "platoinstancetype": usage,
                    "usagetype": f"{prefix}-{'Host' if usage == 'Hosting' else 'Train'}:{instance_type}",
                    "operation": "RunInstance",
                    "locationType": "AWS Region",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    offer: {
                        "priceDimensions": {
                            f"{offer}.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "endRange": "Inf",
                                "description": f"${usd} per {usage} {instance_type} hour",
                                "appliesTo": [],
                                "rateCode": f"{offer}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


@pytest.fixture
def table(tmp_path: Path) -> Path:
    copy = tmp_path / "prices.json"
    shutil.copyfile(PRICE_TABLE, copy)
    return copy


def _stub(answers: dict[tuple[str, str, str], list[str]]) -> tuple[Any, Stubber]:
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    for (region, instance_type, usage), documents in answers.items():
        stubber.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": documents},
            {
                "ServiceCode": "AmazonSageMaker",
                "Filters": product_filters(region=region, instance_type=instance_type, usage=usage),
            },
        )
    return client, stubber


def test_refresh_rewrites_the_regions_sagemaker_prices_from_the_price_list(table: Path) -> None:
    client, stubber = _stub(
        {
            (*ENDPOINT, "Hosting"): [product(*ENDPOINT, "Hosting", "1.2340000000")],
            (*ENDPOINT, "Training"): [],
        }
    )
    out = io.StringIO()
    with stubber:
        code = main(
            [
                "--region",
                "us-east-1",
                "--instance-type",
                "ml.inf2.xlarge",
                "--date",
                "2026-12-01",
                "--table",
                str(table),
            ],
            client=client,
            out=out,
        )
    stubber.assert_no_pending_responses()
    assert code == 0
    refreshed = PriceTable.model_validate_json(table.read_text())
    hosting = refreshed.hosting(*ENDPOINT)
    assert hosting is not None
    assert (hosting.instance_type, hosting.usd_per_hour, str(hosting.retrieved)) == (
        "ml.inf2.xlarge",
        1.234,
        "2026-12-01",
    )
    assert hosting.source.startswith("AWS Price List Query API, GetProducts AmazonSageMaker (productFamily=ML Instance")
    assert "SKU ABCDEFGH12345678" in hosting.source
    assert str(refreshed.as_of) == "2026-12-01"
    # Given only --instance-type, the refresh leaves the Bedrock token prices as they were.
    assert refreshed.bedrock_tokens == PriceTable.model_validate_json(PRICE_TABLE.read_text()).bedrock_tokens
    assert "no price in the price list: training ml.inf2.xlarge in us-east-1" in out.getvalue()


def test_refresh_keeps_the_prices_of_regions_it_does_not_read(table: Path) -> None:
    client, stubber = _stub({("eu-west-1", "ml.inf2.xlarge", u): [] for u in ("Hosting", "Training")})
    with stubber:
        main(["--region", "eu-west-1", "--instance-type", "ml.inf2.xlarge", "--table", str(table)], client=client)
    before = PriceTable.model_validate_json(PRICE_TABLE.read_text())
    after = PriceTable.model_validate_json(table.read_text())
    assert sorted(after.sagemaker_hosting, key=repr) == sorted(before.sagemaker_hosting, key=repr)


def test_several_prices_for_one_query_are_refused_and_the_table_is_left_alone(table: Path) -> None:
    original = table.read_text()
    client, stubber = _stub(
        {
            (*ENDPOINT, "Hosting"): [
                product(*ENDPOINT, "Hosting", "0.9900000000", sku="AAAAAAAAAAAAAAAA"),
                product(*ENDPOINT, "Hosting", "1.1000000000", sku="BBBBBBBBBBBBBBBB"),
            ]
        }
    )
    out = io.StringIO()
    with stubber:
        code = main(
            ["--region", "us-east-1", "--instance-type", "ml.inf2.xlarge", "--table", str(table)],
            client=client,
            out=out,
        )
    assert code == 2
    assert "AAAAAAAAAAAAAAAA: 0.9900000000" in out.getvalue()
    assert "BBBBBBBBBBBBBBBB: 1.1000000000" in out.getvalue()
    assert table.read_text() == original


def test_free_or_non_hourly_dimensions_are_not_prices(table: Path) -> None:
    client, stubber = _stub(
        {
            (*ENDPOINT, "Hosting"): [product(*ENDPOINT, "Hosting", "0.0000000000")],
            (*ENDPOINT, "Training"): [product(*ENDPOINT, "Training", "0.5").replace('"Hrs"', '"GB-Mo"')],
        }
    )
    out = io.StringIO()
    with stubber:
        main(
            ["--region", "us-east-1", "--instance-type", "ml.inf2.xlarge", "--table", str(table)],
            client=client,
            out=out,
        )
    refreshed = PriceTable.model_validate_json(table.read_text())
    # Neither a zero price nor a monthly one is an instance-hour price: the table keeps its own figure.
    assert refreshed.hosting(*ENDPOINT) == PriceTable.model_validate_json(PRICE_TABLE.read_text()).hosting(*ENDPOINT)
    assert "no price in the price list: hosting ml.inf2.xlarge in us-east-1" in out.getvalue()
    assert "no price in the price list: training ml.inf2.xlarge in us-east-1" in out.getvalue()


def test_a_refresh_of_one_instance_type_keeps_every_other_price_of_the_region(table: Path) -> None:
    client, stubber = _stub(
        {
            ("us-east-1", "ml.trn1.2xlarge", "Hosting"): [],
            ("us-east-1", "ml.trn1.2xlarge", "Training"): [product("us-east-1", "ml.trn1.2xlarge", "Training", "1.5")],
        }
    )
    with stubber:
        main(["--region", "us-east-1", "--instance-type", "ml.trn1.2xlarge", "--table", str(table)], client=client)
    before = PriceTable.model_validate_json(PRICE_TABLE.read_text())
    after = PriceTable.model_validate_json(table.read_text())
    assert sorted(after.sagemaker_hosting, key=repr) == sorted(before.sagemaker_hosting, key=repr)
    assert [(p.instance_type, p.usd_per_hour) for p in after.sagemaker_training] == [("ml.trn1.2xlarge", 1.5)]


def test_a_figure_the_price_list_lacks_is_kept_and_said(table: Path) -> None:
    client, stubber = _stub({(*ENDPOINT, usage): [] for usage in ("Hosting", "Training")})
    out = io.StringIO()
    with stubber:
        main(
            ["--region", "us-east-1", "--instance-type", "ml.inf2.xlarge", "--table", str(table)],
            client=client,
            out=out,
        )
    after = PriceTable.model_validate_json(table.read_text())
    assert after.hosting(*ENDPOINT) == PriceTable.model_validate_json(PRICE_TABLE.read_text()).hosting(*ENDPOINT)
    assert "hosting ml.inf2.xlarge in us-east-1 (the table keeps its figure from 2026-11-29)" in out.getvalue()
