"""The kit's dated price table (``model_artifacts/pricing/prices.json``) and look-ups into it.

Every price in the table was read from a public page on a known date; the table has no price it could not
source. A look-up that finds nothing returns ``None`` and the caller says "no published figure in the table": an
estimate with a guessed price would be worse than none. Plain Python, for the ops CLI.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import Field

from genai_kit.config.base import StrictModel

PRICE_TABLE = Path(__file__).resolve().parents[2] / "model_artifacts" / "pricing" / "prices.json"
# A system inference profile id is <geography>.<provider>.<model>; a foundation model id has one dot.
_PROFILE_ID_RE = re.compile(r"^[a-z-]+\.(?P<model>[a-z0-9-]+\.[a-z0-9-]+.*)$")


class _Sourced(StrictModel):
    region: str
    source: str = Field(min_length=1)
    retrieved: date


class InstancePrice(_Sourced):
    """On-demand price of one SageMaker instance type in one region."""

    instance_type: str
    usd_per_hour: float = Field(gt=0)


class TokenPrice(_Sourced):
    """On-demand price of a Bedrock model's tokens in one region (the source region for cross-region profiles)."""

    model_id: str
    input_per_1k_tokens: float = Field(gt=0)
    output_per_1k_tokens: float = Field(gt=0)


class ImagePrice(_Sourced):
    """On-demand price of one image a Bedrock image model generates in one region, at one quality and size class.

    ``size_class`` is the price's resolution band as the source names it (e.g. ``up to 1024x1024``).
    """

    model_id: str
    quality: str = Field(min_length=1)
    size_class: str = Field(min_length=1)
    usd_per_image: float = Field(gt=0)


class PriceListName(StrictModel):
    """The name the AWS Price List gives a Bedrock model (its ``AmazonBedrock`` products' ``model`` attribute)."""

    model_id: str
    price_list_model: str = Field(min_length=1)
    source: str = Field(min_length=1)


class PriceTable(StrictModel):
    """The whole table: what it is, as of when, and the sourced prices."""

    about: str
    currency: str
    as_of: date
    hours_per_month: int = Field(gt=0)
    sagemaker_hosting: tuple[InstancePrice, ...]
    sagemaker_training: tuple[InstancePrice, ...]
    bedrock_tokens: tuple[TokenPrice, ...]
    bedrock_images: tuple[ImagePrice, ...] = ()
    # Which price list products are which model, for the refresh (genai_kit.pricing.bedrock_refresh).
    bedrock_price_list_names: tuple[PriceListName, ...] = ()

    def hosting(self, region: str, instance_type: str) -> InstancePrice | None:
        """Real-time inference price of ``instance_type`` in ``region``, if the table has it."""
        return _find_instance(self.sagemaker_hosting, region, instance_type)

    def training(self, region: str, instance_type: str) -> InstancePrice | None:
        """Training job price of ``instance_type`` in ``region``, if the table has it."""
        return _find_instance(self.sagemaker_training, region, instance_type)

    def tokens(self, region: str, model_id: str) -> TokenPrice | None:
        """Token prices of a foundation model or system inference profile called from ``region``.

        Bedrock bills cross-region inference at the source region's price of the underlying model.
        """
        foundation_model_id = foundation_model_of(model_id)
        return next((p for p in self.bedrock_tokens if p.region == region and p.model_id == foundation_model_id), None)

    def images(self, region: str, model_id: str) -> tuple[ImagePrice, ...]:
        """Per-image prices (every quality and size class) of an image model called from ``region``; empty when the
        table has none."""
        foundation_model_id = foundation_model_of(model_id)
        return tuple(p for p in self.bedrock_images if p.region == region and p.model_id == foundation_model_id)


def foundation_model_of(model_id: str) -> str:
    """``us.amazon.nova-lite-v1:0`` -> ``amazon.nova-lite-v1:0``; a foundation model id is returned unchanged."""
    match = _PROFILE_ID_RE.match(model_id) if model_id.count(".") >= 2 else None
    return match.group("model") if match else model_id


def _find_instance(prices: tuple[InstancePrice, ...], region: str, instance_type: str) -> InstancePrice | None:
    return next((p for p in prices if p.region == region and p.instance_type == instance_type), None)


@cache
def load_price_table(path: Path = PRICE_TABLE) -> PriceTable:
    """Read and validate the price table (once per process)."""
    return PriceTable.model_validate(json.loads(path.read_text(encoding="utf-8")))
