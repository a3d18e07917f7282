"""The price table: every price sourced and dated, and look-ups that never guess."""

from __future__ import annotations

from datetime import date

from genai_kit.pricing import PRICE_TABLE, ImagePrice, foundation_model_of, load_price_table


def test_price_table_is_valid_and_every_price_has_a_source_and_date() -> None:
    table = load_price_table(PRICE_TABLE)
    entries = [*table.sagemaker_hosting, *table.sagemaker_training, *table.bedrock_tokens, *table.bedrock_images]
    assert entries
    for entry in entries:
        assert entry.source.startswith(("https://", "AWS Price List Query API"))
        assert entry.retrieved <= table.as_of


def test_profile_ids_are_priced_as_their_foundation_model() -> None:
    assert foundation_model_of("us.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert foundation_model_of("amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"


def test_lookup_of_an_unknown_item_returns_none() -> None:
    table = load_price_table(PRICE_TABLE)
    assert table.hosting("us-east-1", "ml.inf2.bogus") is None
    assert table.tokens("eu-west-3", "amazon.nova-lite-v1:0") is None
    assert table.tokens("us-east-1", "us.amazon.nova-lite-v1:0") is not None


def test_image_prices_are_looked_up_per_foundation_model_and_region() -> None:
    price = ImagePrice(
        region="us-east-1",
        model_id="amazon.nova-canvas-v1:0",
        quality="standard",
        size_class="up to 1024x1024",
        usd_per_image=1.0,
        source="https://example.com/test-prices",
        retrieved=date(2026, 1, 1),
    )
    table = load_price_table(PRICE_TABLE).model_copy(update={"bedrock_images": (price,)})
    assert table.images("us-east-1", "amazon.nova-canvas-v1:0") == (price,)
    assert table.images("eu-west-1", "amazon.nova-canvas-v1:0") == ()
    assert table.images("us-east-1", "amazon.nova-lite-v1:0") == ()
