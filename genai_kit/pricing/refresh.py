"""Rewrite the price table's SageMaker instance prices and Bedrock token prices from the AWS Price List Query API.

For every region the stages in cdk.json use (or each ``--region``):

- every Neuron instance type the kit knows (``genai_kit.neuron``, or each ``--instance-type``): the on-demand price
  per instance-hour of real-time inference (``platoinstancetype`` ``Hosting``) and of training jobs (``Training``),
  service code ``AmazonSageMaker``, replacing the entries of ``sagemaker_hosting`` and ``sagemaker_training`` read;
  the filter fields are the ones the SageMaker Python SDK's own price look-up uses (``productFamily`` ``ML
  Instance``, ``regionCode``, ``instanceName``, ``platoinstancetype``);
- every Bedrock model the table names in ``bedrock_price_list_names`` (or each ``--bedrock-model``): the on-demand
  prices per 1,000 input and output tokens, service code ``AmazonBedrock`` (``genai_kit.pricing.bedrock_refresh``),
  replacing the entries of ``bedrock_tokens`` read.

Given only ``--instance-type`` it reads SageMaker prices alone; given only ``--bedrock-model``, token prices alone.
Every other entry (other regions, instance types and models, figures the price list lacks, per-image prices) is
kept as it is and the table is dated today. What the price list does not have is listed, never guessed; an answer
the table cannot record as one price (several prices for one query, an unknown unit) is refused with the SKUs and
the table is left unchanged.

Needs AWS credentials allowed ``pricing:GetProducts``. Usage::

    python -m genai_kit.pricing.refresh [--region R ...] [--instance-type T ...] [--bedrock-model ID ...]
                                        [--date YYYY-MM-DD] [--table PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from genai_kit.cdk_context import cdk_json_context
from genai_kit.neuron import NEURON_INSTANCES
from genai_kit.pricing import PRICE_TABLE, InstancePrice, PriceTable, TokenPrice
from genai_kit.pricing.bedrock_refresh import token_price
from genai_kit.pricing.price_list import PRICING_API_REGION, PriceListError, products

SERVICE_CODE = "AmazonSageMaker"
PRODUCT_FAMILY = "ML Instance"
# The table's section for each kind of instance-hour, by the price list's platoinstancetype.
USAGES = {"sagemaker_hosting": "Hosting", "sagemaker_training": "Training"}


def product_filters(*, region: str, instance_type: str, usage: str) -> list[dict[str, str]]:
    """GetProducts ``Filters`` for one instance type's on-demand instance-hours of ``usage`` (Hosting, Training)."""
    return [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in (
            ("productFamily", PRODUCT_FAMILY),
            ("regionCode", region),
            ("instanceName", instance_type),
            ("platoinstancetype", usage),
        )
    ]


def instance_price(
    client: Any, *, region: str, instance_type: str, usage: str, retrieved: date
) -> InstancePrice | None:
    """The on-demand USD price per hour of ``instance_type`` for ``usage`` in ``region``, or None if the price list
    has none.

    Raises
    ------
    PriceListError
        If the matching products carry more than one hourly price.
    """
    filters = product_filters(region=region, instance_type=instance_type, usage=usage)
    offers: set[tuple[str, str, str]] = set()
    for document in products(client, SERVICE_CODE, filters):
        product = document["product"]
        for term in document.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if dimension.get("unit") == "Hrs" and usd is not None and float(usd) > 0:
                    offers.add((product["sku"], usd, document.get("publicationDate", "")))
    if not offers:
        return None
    prices = {float(usd) for _, usd, _ in offers}
    if len(prices) > 1:
        raise PriceListError(
            f"{usage} {instance_type} in {region}: the price list has {len(prices)} hourly prices "
            f"({', '.join(f'{sku}: {usd}' for sku, usd, _ in sorted(offers))}); add the one that applies by hand"
        )
    sku, usd, published = sorted(offers)[0]
    conditions = ", ".join(f"{f['Field']}={f['Value']}" for f in filters)
    return InstancePrice(
        region=region,
        instance_type=instance_type,
        usd_per_hour=float(usd),
        source=f"AWS Price List Query API, GetProducts {SERVICE_CODE} ({conditions}): SKU {sku}, published {published}",
        retrieved=retrieved,
    )


def refresh(
    table: PriceTable,
    client: Any,
    *,
    regions: Sequence[str],
    instance_types: Sequence[str],
    bedrock_models: Sequence[str] = (),
    retrieved: date,
) -> tuple[PriceTable, list[str]]:
    """``table`` with the SageMaker prices of ``instance_types`` and the token prices of ``bedrock_models`` (model
    ids the table names in ``bedrock_price_list_names``) in ``regions`` read again (dated ``retrieved``; every other
    entry kept), and the list of what the price list had no price for ("<usage> <instance type> in <region>",
    "tokens of <model id> in <region>"). Raises ``PriceListError`` as ``instance_price`` and ``token_price`` do, and
    for a model id the table has no price list name for."""
    missing: list[str] = []
    sections: dict[str, tuple[InstancePrice, ...] | tuple[TokenPrice, ...]] = {}
    for section, usage in USAGES.items() if instance_types else ():
        # Only what was read replaces what the table had: other instance types and regions, and entries the price
        # list does not have, stay as they are.
        prices = {(p.region, p.instance_type): p for p in getattr(table, section)}
        for region in regions:
            for instance_type in instance_types:
                price = instance_price(
                    client, region=region, instance_type=instance_type, usage=usage, retrieved=retrieved
                )
                if price is None:
                    kept = _kept(prices, region, instance_type)
                    missing.append(f"{usage.lower()} {instance_type} in {region}{kept}")
                else:
                    prices[(region, instance_type)] = price
        sections[section] = tuple(prices[key] for key in sorted(prices))
    if bedrock_models:  # else the section stays as it is, in its order
        names = {entry.model_id: entry.price_list_model for entry in table.bedrock_price_list_names}
        if unnamed := [model_id for model_id in bedrock_models if model_id not in names]:
            raise PriceListError(
                f"no price list name for {', '.join(unnamed)}: add each to bedrock_price_list_names in the table "
                f"(its names: aws pricing get-attribute-values --service-code AmazonBedrock --attribute-name model)"
            )
        tokens = {(p.region, p.model_id): p for p in table.bedrock_tokens}
        for region in regions:
            for model_id in bedrock_models:
                token = token_price(
                    client, region=region, model_id=model_id, price_list_model=names[model_id], retrieved=retrieved
                )
                if token is None:
                    missing.append(f"tokens of {model_id} in {region}{_kept(tokens, region, model_id)}")
                else:
                    tokens[(region, model_id)] = token
        sections["bedrock_tokens"] = tuple(tokens[key] for key in sorted(tokens))
    # Validated again as a whole, like the table read from disk.
    return PriceTable.model_validate({**dict(table), "as_of": retrieved, **sections}), missing


def _kept(prices: dict[tuple[str, str], InstancePrice] | dict[tuple[str, str], TokenPrice], *key: str) -> str:
    kept = prices.get((key[0], key[1]))
    return f" (the table keeps its figure from {kept.retrieved})" if kept else ""


def stage_regions(context: dict[str, Any]) -> list[str]:
    """The regions of cdk.json's stages (a stage without a region is skipped: synth would refuse it anyway)."""
    stages = context.get("stages", {})
    return sorted({stage["region"] for stage in stages.values() if isinstance(stage, dict) and "region" in stage})


def main(argv: Sequence[str] | None = None, *, client: Any = None, out: TextIO | None = None) -> int:
    """Run the refresh; ``client`` replaces the boto3 ``pricing`` client (tests). Returns 0, or 2 when the price
    list answers with several prices for one query."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m genai_kit.pricing.refresh",
        description=__doc__.splitlines()[0] + " Needs AWS credentials allowed pricing:GetProducts (the usual "
        "AWS_PROFILE / AWS_* variables); review the table's diff before committing it.",
    )
    parser.add_argument(
        "--region", action="append", help="region to price (default: every region of cdk.json's stages)"
    )
    parser.add_argument(
        "--instance-type",
        action="append",
        help="instance type to price (default: every Neuron instance type, unless only --bedrock-model is given)",
    )
    parser.add_argument(
        "--bedrock-model",
        action="append",
        help="Bedrock model id to price (default: every model of the table's bedrock_price_list_names, unless only "
        "--instance-type is given)",
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=date.today(), help="retrieved date (YYYY-MM-DD; default: today)"
    )
    parser.add_argument(
        "--table",
        type=Path,
        default=PRICE_TABLE,
        help="the price table to rewrite (default: model_artifacts/pricing/prices.json)",
    )
    args = parser.parse_args(argv)
    if client is None:
        import boto3  # noqa: PLC0415 (only this command needs the AWS SDK)

        client = boto3.client("pricing", region_name=PRICING_API_REGION)
    table = PriceTable.model_validate(json.loads(args.table.read_text(encoding="utf-8")))
    regions = args.region or stage_regions(cdk_json_context())
    everything = not args.instance_type and not args.bedrock_model
    instance_types = args.instance_type or (sorted(NEURON_INSTANCES) if everything else [])
    bedrock_models = args.bedrock_model or (
        [entry.model_id for entry in table.bedrock_price_list_names] if everything else []
    )
    try:
        updated, missing = refresh(
            table,
            client,
            regions=regions,
            instance_types=instance_types,
            bedrock_models=bedrock_models,
            retrieved=args.date,
        )
    except PriceListError as error:
        out.write(f"refused: {error}\n")
        return 2
    args.table.write_text(json.dumps(updated.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    priced = sum(len(getattr(updated, section)) for section in USAGES)
    out.write(
        f"wrote {args.table}: {priced} SageMaker prices and {len(updated.bedrock_tokens)} Bedrock token prices "
        f"as of {args.date} for {', '.join(regions)}\n"
    )
    for line in missing:
        out.write(f"no price in the price list: {line}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
