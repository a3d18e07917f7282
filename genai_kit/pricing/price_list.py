"""Reading the AWS Price List Query API: its product documents, and the error for answers the table cannot record.

Shapes: AWS Price List Query API reference, GetProducts (``PriceList`` is a list of JSON documents in strings, each
with ``product.sku``, ``product.attributes`` and ``terms.OnDemand.<offer>.priceDimensions.<rate>`` holding
``unit`` and ``pricePerUnit.USD``). The API's endpoints are in us-east-1 and ap-south-1 only; us-east-1 answers
for every region.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

PRICING_API_REGION = "us-east-1"


class PriceListError(RuntimeError):
    """The price list answered something the table cannot record as one price (several prices for one query)."""


def products(client: Any, service_code: str, filters: list[dict[str, str]]) -> Iterable[dict[str, Any]]:
    """Every product document of ``service_code`` matching ``filters`` (all pages), parsed."""
    for page in client.get_paginator("get_products").paginate(ServiceCode=service_code, Filters=filters):
        for document in page["PriceList"]:
            yield json.loads(document)
