"""The ``bedrock`` section: defaults, model id forms, and every rule failing with a message naming key and value."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.bedrock_ids import ModelRef, parse_model_id
from genai_kit.config.bedrock import BedrockConfig
from genai_kit.lambda_layers import is_commercial_region
from genai_kit.stage import ConfigError, load_stage


def _stage(bedrock: dict[str, Any], **stage: Any) -> dict[str, Any]:
    # Outside the commercial partition the kit deploys Bedrock access alone (no API).
    if not is_commercial_region(stage.get("region", "us-east-1")):
        stage = {"api": {"enabled": False}, **stage}
    # The fine-tuning pipeline has its own regions (its training image), checked in tests/genai_kit/test_training.py.
    return {"stages": {"dev": {"training": {"enabled": False}, **stage, "bedrock": bedrock}}}


def _problems(bedrock: dict[str, Any], **stage: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stage(_stage(bedrock, **stage))
    return caught.value.problems


def _bedrock(bedrock: dict[str, Any], **stage: Any) -> BedrockConfig:
    return load_stage(_stage(bedrock, **stage)).settings.bedrock


def test_default_is_an_amazon_chat_model_through_a_us_profile_and_an_amazon_embedding_model() -> None:
    config = _bedrock({})
    assert [(model.alias, model.id, model.kind) for model in config.models] == [
        ("nova-lite", "us.amazon.nova-lite-v1:0", "chat"),
        ("titan-embed", "amazon.titan-embed-text-v2:0", "embedding"),
    ]
    assert config.application_inference_profiles is True


def test_default_guardrail_filters_every_category_and_prompt_attacks_on_input_only() -> None:
    filters = _bedrock({}).guardrail.content_filters.configured()
    assert {name: (f.input, f.output) for name, f in filters.items()} == {
        "SEXUAL": ("HIGH", "HIGH"),
        "VIOLENCE": ("HIGH", "HIGH"),
        "HATE": ("HIGH", "HIGH"),
        "INSULTS": ("HIGH", "HIGH"),
        "MISCONDUCT": ("HIGH", "HIGH"),
        "PROMPT_ATTACK": ("HIGH", "NONE"),
    }


def test_invocation_logging_and_iam_enforcement_are_off_by_default() -> None:
    config = _bedrock({})
    assert config.invocation_logging.enabled is False
    assert config.guardrail.enforce_with_iam is False


def test_a_content_filter_set_to_null_is_left_out() -> None:
    filters = _bedrock({"guardrail": {"content_filters": {"misconduct": None}}}).guardrail.content_filters
    assert "MISCONDUCT" not in filters.configured()


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("amazon.nova-lite-v1:0", ModelRef("amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", None)),
        (
            "amazon.titan-text-express-v1",
            ModelRef("amazon.titan-text-express-v1", "amazon.titan-text-express-v1", None),
        ),
        ("us.amazon.nova-lite-v1:0", ModelRef("us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", "us")),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            ModelRef(
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "global",
            ),
        ),
        (
            "us-gov.meta.llama3-8b-instruct-v1:0",
            ModelRef("us-gov.meta.llama3-8b-instruct-v1:0", "meta.llama3-8b-instruct-v1:0", "us-gov"),
        ),
    ],
)
def test_model_ids_are_split_into_geography_and_foundation_model(model_id: str, expected: ModelRef) -> None:
    assert parse_model_id(model_id) == expected


@pytest.mark.parametrize(
    ("region", "model_id"),
    [
        ("us-west-2", "us.amazon.nova-lite-v1:0"),
        ("eu-central-1", "eu.amazon.nova-lite-v1:0"),
        ("ap-southeast-1", "apac.amazon.nova-lite-v1:0"),
        ("eu-west-1", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("us-gov-west-1", "us-gov.meta.llama3-8b-instruct-v1:0"),
        ("eu-west-1", "amazon.nova-lite-v1:0"),
    ],
)
def test_profiles_are_accepted_in_their_own_geography(region: str, model_id: str) -> None:
    config = _bedrock({"models": [{"alias": "m", "id": model_id}]}, region=region)
    assert config.models[0].id == model_id


_MODEL_ID_FORM = (
    "expected a foundation model id <provider>.<model>[:<version>] such as amazon.nova-lite-v1:0, "
    "or a system inference profile id <geography>.<provider>.<model>[:<version>] such as us.amazon.nova-lite-v1:0"
)


@pytest.mark.parametrize(
    ("bedrock", "expected"),
    [
        (
            {"models": [{"alias": "nova", "id": "nova-lite"}]},
            f"stages.dev.bedrock.models.0.id: got 'nova-lite'; {_MODEL_ID_FORM}",
        ),
        (
            {"models": [{"alias": "nova", "id": "Amazon.Nova-Lite-v1:0"}]},
            f"stages.dev.bedrock.models.0.id: got 'Amazon.Nova-Lite-v1:0'; {_MODEL_ID_FORM}",
        ),
        (
            {"models": [{"alias": "nova", "id": "us.nova-lite"}]},
            f"stages.dev.bedrock.models.0.id: got 'us.nova-lite'; {_MODEL_ID_FORM}",
        ),
        (
            {"models": [{"alias": "nova", "id": "usa.amazon.nova-lite-v1:0"}]},
            "stages.dev.bedrock.models.0.id: got 'usa.amazon.nova-lite-v1:0'; 'usa' is not an inference profile "
            "geography; valid prefixes are: apac, au, eu, global, jp, us, us-gov",
        ),
        (
            {"models": [{"alias": "Nova Lite", "id": "amazon.nova-lite-v1:0"}]},
            "stages.dev.bedrock.models.0.alias: got 'Nova Lite'; expected 1-32 lowercase letters or digits in words "
            "joined by '-', e.g. nova-lite",
        ),
        (
            {"models": [{"alias": "a", "id": "amazon.nova-lite-v1:0"}, {"alias": "a", "id": "amazon.nova-pro-v1:0"}]},
            "stages.dev.bedrock.models: alias 'a' appears twice; each must be unique",
        ),
        (
            {"models": []},
            'stages.dev.bedrock.models: got []; expected at least one model, e.g. [{"alias": "nova-lite", '
            '"id": "us.amazon.nova-lite-v1:0"}]',
        ),
        (
            {"models": [{"alias": "nova", "id": "amazon.nova-lite-v1:0", "tags": {"team": "données"}}]},
            "stages.dev.bedrock.models.0.tags: tag 'team' has value 'données'; expected 0-256 ASCII letters, digits, "
            "spaces or _.:/=+-@",
        ),
        (
            {"models": [{"alias": "nova", "id": "amazon.nova-lite-v1:0", "tags": {"aws:team": "ml"}}]},
            "stages.dev.bedrock.models.0.tags: tag key 'aws:team' is not valid; expected 1-128 ASCII letters, digits, "
            "spaces or _.:/=+-@, not starting with aws:",
        ),
        (
            {"model": []},
            "stages.dev.bedrock.model: unknown key (did you mean 'models'?); valid keys are: "
            "application_inference_profiles, guardrail, invocation_logging, models",
        ),
    ],
)
def test_invalid_model_setting_is_named_with_its_value(bedrock: dict[str, Any], expected: str) -> None:
    assert _problems(bedrock) == [expected]


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-west-2", "us.amazon.nova-lite-v1:0"),
        ("eu-west-1", "eu.amazon.nova-lite-v1:0"),
        ("ap-northeast-1", "apac.amazon.nova-lite-v1:0"),
    ],
)
def test_default_model_uses_the_profile_of_the_stage_geography(region: str, expected: str) -> None:
    assert [model.id for model in _bedrock({}, region=region).models] == [expected, "amazon.titan-embed-text-v2:0"]


def test_default_model_outside_us_eu_and_apac_asks_for_a_model() -> None:
    assert _problems({}, region="ca-central-1") == [
        "stages.dev.bedrock.models.0.id: 'us.amazon.nova-lite-v1:0' is a 'us' inference profile, which can only be "
        "called from a US commercial region (us-*); the stage's region is 'ca-central-1', so configure a model or "
        "profile offered there"
    ]


def test_a_geography_profile_must_be_called_from_a_region_of_its_geography() -> None:
    assert _problems({"models": [{"alias": "nova", "id": "us.amazon.nova-pro-v1:0"}]}, region="eu-west-1") == [
        "stages.dev.bedrock.models.0.id: 'us.amazon.nova-pro-v1:0' is a 'us' inference profile, which can only be "
        "called from a US commercial region (us-*); the stage's region is 'eu-west-1', so configure a model or "
        "profile offered there"
    ]


def test_a_global_profile_is_refused_outside_the_commercial_partition() -> None:
    problems = _problems(
        {"models": [{"alias": "sonnet", "id": "global.anthropic.claude-sonnet-4-5-20250929-v1:0"}]},
        region="us-gov-west-1",
    )
    assert problems == [
        "stages.dev.bedrock.models.0.id: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0' is a 'global' inference "
        "profile, which can only be called from a commercial region (not GovCloud, China or ISO); the stage's region "
        "is 'us-gov-west-1', so configure a model or profile offered there"
    ]


@pytest.mark.parametrize(
    ("guardrail", "expected"),
    [
        (
            {"content_filters": {"hate": {"input": "EXTREME", "output": "HIGH"}}},
            "stages.dev.bedrock.guardrail.content_filters.hate.input: got 'EXTREME'; input should be 'NONE', 'LOW', "
            "'MEDIUM' or 'HIGH'",
        ),
        (
            {"content_filters": {"prompt_attack": {"input": "HIGH", "output": "LOW"}}},
            "stages.dev.bedrock.guardrail.content_filters: prompt_attack.output: got 'LOW'; the prompt attack filter "
            "applies to prompts only, so its output strength must be NONE",
        ),
        (
            {"content_filters": {"hat": None}},
            "stages.dev.bedrock.guardrail.content_filters.hat: unknown key (did you mean 'hate'?); valid keys are: "
            "hate, insults, misconduct, prompt_attack, sexual, violence",
        ),
        (
            {"denied_topics": [{"name": "investment/advice", "definition": "Recommendations to buy or sell."}]},
            "stages.dev.bedrock.guardrail.denied_topics.0.name: got 'investment/advice'; expected 1-100 letters, "
            "digits, spaces or -_!?.",
        ),
        (
            {"denied_topics": [{"name": "Investment advice", "definition": "d" * 201}]},
            f"stages.dev.bedrock.guardrail.denied_topics.0.definition: got '{'d' * 201}'; string should have at most "
            "200 characters",
        ),
        (
            {"denied_topics": [{"name": "Investment advice", "definition": "Advice.", "examples": ["e"] * 6}]},
            "stages.dev.bedrock.guardrail.denied_topics.0.examples: got ['e', 'e', 'e', 'e', 'e', 'e']; tuple should "
            "have at most 5 items after validation, not 6",
        ),
        (
            {"denied_topics": [{"name": "Advice", "definition": "A."}, {"name": "Advice", "definition": "B."}]},
            "stages.dev.bedrock.guardrail.denied_topics: topic name 'Advice' appears twice; each must be unique",
        ),
        (
            {"words": ["w" * 101]},
            f"stages.dev.bedrock.guardrail.words.0: got '{'w' * 101}'; string should have at most 100 characters",
        ),
        (
            {"pii_entities": [{"type": "MAIL", "action": "BLOCK"}]},
            "stages.dev.bedrock.guardrail.pii_entities.0.type: got 'MAIL'; input should be 'ADDRESS', 'AGE', "
            "'AWS_ACCESS_KEY', 'AWS_SECRET_KEY', 'CA_HEALTH_NUMBER', 'CA_SOCIAL_INSURANCE_NUMBER', "
            "'CREDIT_DEBIT_CARD_CVV', 'CREDIT_DEBIT_CARD_EXPIRY', 'CREDIT_DEBIT_CARD_NUMBER', 'DRIVER_ID', 'EMAIL', "
            "'INTERNATIONAL_BANK_ACCOUNT_NUMBER', 'IP_ADDRESS', 'LICENSE_PLATE', 'MAC_ADDRESS', 'NAME', 'PASSWORD', "
            "'PHONE', 'PIN', 'SWIFT_CODE', 'UK_NATIONAL_HEALTH_SERVICE_NUMBER', 'UK_NATIONAL_INSURANCE_NUMBER', "
            "'UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER', 'URL', 'USERNAME', 'US_BANK_ACCOUNT_NUMBER', "
            "'US_BANK_ROUTING_NUMBER', 'US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER', 'US_PASSPORT_NUMBER', "
            "'US_SOCIAL_SECURITY_NUMBER' or 'VEHICLE_IDENTIFICATION_NUMBER'",
        ),
        (
            {"pii_entities": [{"type": "EMAIL", "action": "MASK"}]},
            "stages.dev.bedrock.guardrail.pii_entities.0.action: got 'MASK'; input should be 'BLOCK', 'ANONYMIZE' "
            "or 'NONE'",
        ),
        (
            {"pii_entities": [{"type": "EMAIL", "action": "BLOCK"}, {"type": "EMAIL", "action": "ANONYMIZE"}]},
            "stages.dev.bedrock.guardrail.pii_entities: PII type 'EMAIL' appears twice; each must be unique",
        ),
        (
            {"regexes": [{"name": "ticket", "pattern": "", "action": "ANONYMIZE"}]},
            "stages.dev.bedrock.guardrail.regexes.0.pattern: got ''; string should have at least 1 character",
        ),
        (
            {"contextual_grounding": {"grounding_threshold": 1}},
            "stages.dev.bedrock.guardrail.contextual_grounding.grounding_threshold: got 1; input should be less "
            "than or equal to 0.99",
        ),
        (
            {"contextual_grounding": {"relevance_threshold": -0.1}},
            "stages.dev.bedrock.guardrail.contextual_grounding.relevance_threshold: got -0.1; input should be "
            "greater than or equal to 0",
        ),
        (
            {"blocked_input_message": ""},
            "stages.dev.bedrock.guardrail.blocked_input_message: got ''; string should have at least 1 character",
        ),
        (
            {"blocked_output_message": "m" * 501},
            f"stages.dev.bedrock.guardrail.blocked_output_message: got '{'m' * 501}'; string should have at most 500 "
            "characters",
        ),
        (
            {"enabled": False, "enforce_with_iam": True},
            "stages.dev.bedrock.guardrail: enforce_with_iam: is true but enabled is false; there is no guardrail to "
            "enforce",
        ),
        (
            {
                "content_filters": dict.fromkeys(
                    ("sexual", "violence", "hate", "insults", "misconduct", "prompt_attack")
                )
            },
            "stages.dev.bedrock.guardrail: a guardrail needs at least one policy: content_filters, denied_topics, "
            "words, profanity_filter, pii_entities, regexes or contextual_grounding (or set enabled to false)",
        ),
    ],
)
def test_invalid_guardrail_setting_is_named_with_its_value(guardrail: dict[str, Any], expected: str) -> None:
    assert _problems({"guardrail": guardrail}) == [expected]


@pytest.mark.parametrize(
    ("logging", "expected"),
    [
        (
            {"log_retention_days": 100},
            "stages.dev.bedrock.invocation_logging.log_retention_days: got 100; CloudWatch Logs accepts only these "
            "retention periods (days): 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
            "2192, 2557, 2922, 3288, 3653",
        ),
        (
            {"s3_key_prefix": "/bedrock"},
            "stages.dev.bedrock.invocation_logging.s3_key_prefix: got '/bedrock'; expected an S3 key prefix ending "
            "in '/', such as bedrock-invocation-logs/",
        ),
        (
            {"text_data": "yes please"},
            "stages.dev.bedrock.invocation_logging.text_data: got 'yes please'; input should be a valid boolean, "
            "unable to interpret input",
        ),
    ],
)
def test_invalid_invocation_logging_setting_is_named_with_its_value(logging: dict[str, Any], expected: str) -> None:
    assert _problems({"invocation_logging": logging}) == [expected]


# --- chat and embedding models ---


def test_an_embedding_model_names_its_request_format() -> None:
    models = [
        {"alias": "chat", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "titan", "id": "amazon.titan-embed-text-v2:0", "kind": "embedding"},
        {"alias": "cohere", "id": "us.cohere.embed-v4:0", "kind": "embedding"},
        {"alias": "multilingual", "id": "cohere.embed-multilingual-v3", "kind": "embedding"},
    ]
    config = _bedrock({"models": models})
    assert [model.embedding_family for model in config.models] == [None, "titan-v2", "cohere-v4", "cohere-v3"]


def test_an_embedding_model_served_as_chat_is_refused_with_the_fix() -> None:
    assert _problems({"models": [{"alias": "titan", "id": "amazon.titan-embed-text-v2:0"}]}) == [
        "stages.dev.bedrock.models.0: kind: 'amazon.titan-embed-text-v2:0' is an embedding model, which Converse "
        'cannot chat with; set "kind": "embedding" to serve it on POST /v1/embeddings'
    ]


def test_an_unknown_embedding_model_is_refused_with_the_supported_ones() -> None:
    assert _problems({"models": [{"alias": "e", "id": "amazon.nova-lite-v1:0", "kind": "embedding"}]}) == [
        "stages.dev.bedrock.models.0: id: 'amazon.nova-lite-v1:0' is not an embedding model the API speaks to; "
        "supported: amazon.titan-embed-text-v2:0, cohere.embed-english-v3, cohere.embed-multilingual-v3, "
        "cohere.embed-v4:0 (or their inference profiles)"
    ]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_output_tokens", 100), ("structured_output", "json_schema"), ("reasoning", "effort"), ("tags", {"a": "b"})],
)
def test_chat_settings_on_an_embedding_model_are_refused(setting: str, value: Any) -> None:
    model = {"alias": "titan", "id": "amazon.titan-embed-text-v2:0", "kind": "embedding", setting: value}
    assert _problems({"models": [model]}) == [
        f"stages.dev.bedrock.models.0: {setting}: applies to chat models only, not to the embedding model 'titan'"
    ]


# --- image models ---


def test_an_image_model_names_its_request_format() -> None:
    models = [
        {"alias": "chat", "id": "us.amazon.nova-lite-v1:0"},
        {"alias": "canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
        {"alias": "core", "id": "stability.stable-image-core-v1:1", "kind": "image"},
    ]
    config = _bedrock({"models": models})
    assert [(model.kind, model.image_family, model.embedding_family) for model in config.models] == [
        ("chat", None, None),
        ("image", "nova-canvas", None),
        ("image", "stable-image-core", None),
    ]


def test_the_default_models_have_no_image_model() -> None:
    assert "image" not in [model.kind for model in _bedrock({}).models]


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.titan-image-generator-v2:0",
        "stability.sd3-5-large-v1:0",
        "stability.stable-image-core-v1:0",
        "stability.stable-image-ultra-v1:1",
        "amazon.nova-lite-v1:0",
    ],
)
def test_an_image_model_the_api_does_not_speak_to_is_refused_with_the_supported_ones(model_id: str) -> None:
    assert _problems({"models": [{"alias": "img", "id": model_id, "kind": "image"}]}) == [
        f"stages.dev.bedrock.models.0: id: '{model_id}' is not an image model the API speaks to; supported: "
        "amazon.nova-canvas-v1:0, stability.stable-image-core-v1:1 (by foundation model id)"
    ]


@pytest.mark.parametrize("model_id", ["us.amazon.nova-canvas-v1:0", "us.stability.stable-image-core-v1:1"])
def test_an_image_model_is_called_by_its_foundation_model_id_only(model_id: str) -> None:
    assert _problems({"models": [{"alias": "img", "id": model_id, "kind": "image"}]}) == [
        f"stages.dev.bedrock.models.0: id: '{model_id}' is not an image model the API speaks to; "
        "supported: amazon.nova-canvas-v1:0, stability.stable-image-core-v1:1 (by foundation model id)"
    ]


@pytest.mark.parametrize("model_id", ["amazon.nova-canvas-v1:0", "stability.stable-image-core-v1:1"])
def test_an_image_model_served_as_chat_is_refused_with_the_fix(model_id: str) -> None:
    assert _problems({"models": [{"alias": "canvas", "id": model_id}]}) == [
        f"stages.dev.bedrock.models.0: kind: '{model_id}' is an image model, which Converse cannot chat "
        'with; set "kind": "image" to serve it on POST /v1/images/generations'
    ]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_output_tokens", 100), ("structured_output", "json_schema"), ("reasoning", "effort"), ("tags", {"a": "b"})],
)
def test_chat_settings_on_an_image_model_are_refused(setting: str, value: Any) -> None:
    model = {"alias": "canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image", setting: value}
    assert _problems({"models": [model]}) == [
        f"stages.dev.bedrock.models.0: {setting}: applies to chat models only, not to the image model 'canvas'"
    ]


def test_chat_settings_are_validated() -> None:
    model = {"alias": "m", "id": "amazon.nova-lite-v1:0", "max_output_tokens": 0, "reasoning": "deep"}
    problems = _problems({"models": [model]})
    assert any(p.startswith("stages.dev.bedrock.models.0.max_output_tokens:") for p in problems)
    assert any(p.startswith("stages.dev.bedrock.models.0.reasoning:") and "'effort'" in p for p in problems)
