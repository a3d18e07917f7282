"""Bedrock on-demand token prices from the AWS Price List Query API, for the price table's refresh.

The price list does not name Bedrock models by model id: its ``AmazonBedrock`` products carry the model's display
name in the ``model`` attribute (e.g. ``Nova Lite``), so the table maps each model id it refreshes to that name
(``bedrock_price_list_names``; ``aws pricing get-attribute-values --service-code AmazonBedrock --attribute-name
model`` lists the names). A product is an on-demand token price when ``feature`` is ``On-demand Inference`` and
``inferenceType`` is ``Input tokens`` or ``Output tokens``, priced per ``1K tokens``: the attributes public code
that reads the Bedrock price list filters on (aws-samples/sample-bedrock-migration-and-modernization-tools
@f862883, ``bedrock-model-profiler/collectors/pricing-collector/src/utils/smart_extractor.py``, for ``model``
and ``usagetype`` such as ``USE1-NovaLite-input-tokens``; a Bedrock cost tool's GetProducts client and another's
test fixture for ``feature``, ``inferenceType`` and the unit). Anything else — another unit, several prices for
one direction, a direction missing — is reported, never guessed; the price list is known to lack some models'
output prices (aws/aws-cli#9567, as those tools note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from genai_kit.pricing import TokenPrice
from genai_kit.pricing.price_list import PriceListError, products

SERVICE_CODE = "AmazonBedrock"
FEATURE = "On-demand Inference"
DIRECTIONS = {"Input tokens": "input", "Output tokens": "output"}
UNIT = "1K tokens"


@dataclass(frozen=True)
class TokenOffer:
    """One price dimension of a token product: its SKU, direction (``input``/``output``), unit and USD price."""

    sku: str
    direction: str
    unit: str
    usd: str


def product_filters(*, region: str, price_list_model: str) -> list[dict[str, str]]:
    """GetProducts ``Filters`` for one model's on-demand inference products in ``region``."""
    return [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in (("regionCode", region), ("model", price_list_model), ("feature", FEATURE))
    ]


def token_price(
    client: Any, *, region: str, model_id: str, price_list_model: str, retrieved: date
) -> TokenPrice | None:
    """The on-demand input and output prices per 1,000 tokens of ``model_id`` (price list name
    ``price_list_model``) in ``region``, or None when the price list has neither.

    Raises
    ------
    PriceListError
        If a direction has more than one price, a price is in a unit other than ``1K tokens``, or only one
        direction is priced (the table needs both).
    """
    filters = product_filters(region=region, price_list_model=price_list_model)
    offers = [offer for document in products(client, SERVICE_CODE, filters) for offer in _offers(document)]
    if not offers:
        return None
    what = f"tokens of {model_id} ({price_list_model}) in {region}"
    if other_units := sorted({o.unit for o in offers if o.unit != UNIT}):
        raise PriceListError(f"{what}: priced per {', '.join(other_units)}, not per {UNIT}; add it by hand")
    prices: dict[str, set[float]] = {direction: set() for direction in DIRECTIONS.values()}
    for offer in offers:
        prices[offer.direction].add(float(offer.usd))
    if any(len(found) > 1 for found in prices.values()):
        listed = ", ".join(f"{o.sku} {o.direction}: {o.usd}" for o in sorted(offers, key=lambda o: (o.sku, o.usd)))
        raise PriceListError(f"{what}: the price list has several prices ({listed}); add the one that applies by hand")
    if missing := [direction for direction, found in prices.items() if not found]:
        raise PriceListError(f"{what}: the price list has no {' or '.join(missing)} token price; add it by hand")
    skus = ", ".join(sorted({o.sku for o in offers}))
    conditions = ", ".join(f"{f['Field']}={f['Value']}" for f in filters)
    return TokenPrice(
        region=region,
        model_id=model_id,
        input_per_1k_tokens=prices["input"].pop(),
        output_per_1k_tokens=prices["output"].pop(),
        source=f"AWS Price List Query API, GetProducts {SERVICE_CODE} ({conditions}): SKU {skus}",
        retrieved=retrieved,
    )


def _offers(document: dict[str, Any]) -> list[TokenOffer]:
    attributes = document["product"].get("attributes", {})
    direction = DIRECTIONS.get(attributes.get("inferenceType", ""))
    if direction is None:
        return []
    return [
        TokenOffer(sku=document["product"]["sku"], direction=direction, unit=dimension.get("unit", ""), usd=usd)
        for term in document.get("terms", {}).get("OnDemand", {}).values()
        for dimension in term.get("priceDimensions", {}).values()
        if (usd := dimension.get("pricePerUnit", {}).get("USD")) is not None and float(usd) > 0
    ]
