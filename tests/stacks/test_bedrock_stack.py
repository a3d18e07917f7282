"""Assertions on the Bedrock stack: invoke policy statements, guardrail, application profiles, logging, outputs.

Three configurations cover the model kinds: the default (a ``us.`` profile through an application profile),
``full`` (a foundation model, a ``us.`` and a ``global.`` profile, every guardrail policy, IAM enforcement and
invocation logging) and ``plain`` (the same models without application profiles or guardrail).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import load_stage
from genai_kit.synth_summary import validation_findings
from stacks.kit_stage import KitStage
from tests.cfn_lint import cfn_lint_problems
from tests.stacks.test_checkov import _scan as checkov_scan
from tests.synth import SynthResult

ACCOUNT = {"Ref": "AWS::AccountId"}
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
NOVA = "amazon.nova-lite-v1:0"
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
MICRO = "amazon.nova-micro-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
MODELS = [
    {"alias": "micro", "id": MICRO},
    {"alias": "titan", "id": TITAN, "kind": "embedding"},
    {"alias": "nova-lite", "id": f"us.{NOVA}", "tags": {"team": "support"}},
    {"alias": "sonnet", "id": f"global.{SONNET}"},
]
FULL_GUARDRAIL = {
    "enforce_with_iam": True,
    "content_filters": {"violence": {"input": "MEDIUM", "output": "LOW"}, "misconduct": None},
    "denied_topics": [
        {"name": "Investment advice", "definition": "Recommendations on what to invest in.", "examples": ["Buy?"]}
    ],
    "words": ["bazinga"],
    "profanity_filter": True,
    "pii_entities": [
        {"type": "EMAIL", "action": "ANONYMIZE"},
        {"type": "US_SOCIAL_SECURITY_NUMBER", "action": "BLOCK"},
    ],
    "regexes": [{"name": "ticket", "pattern": "TCK-[0-9]+", "action": "BLOCK", "description": "Ticket ids"}],
    "contextual_grounding": {"grounding_threshold": 0.7, "relevance_threshold": 0.5},
}
FULL = {
    "removal_policy": "destroy",
    "bedrock": {"models": MODELS, "guardrail": FULL_GUARDRAIL, "invocation_logging": {"enabled": True}},
}
PLAIN = {"bedrock": {"models": MODELS, "application_inference_profiles": False, "guardrail": {"enabled": False}}}


def _profile_arn(profile_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", ACCOUNT, f":inference-profile/{profile_id}"]]}


def _any_region_model_arn(model_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":bedrock:*::foundation-model/{model_id}"]]}


def _regionless_model_arn(model_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":bedrock:::foundation-model/{model_id}"]]}


def _app_profile_arn(template: Template, alias: str) -> dict[str, Any]:
    profiles = template.find_resources(
        "AWS::Bedrock::ApplicationInferenceProfile",
        {"Properties": {"InferenceProfileName": Match.string_like_regexp(f"^genai-kit-dev-{alias}-[0-9a-f]{{8}}$")}},
    )
    assert len(profiles) == 1
    return {"Fn::GetAtt": [next(iter(profiles)), "InferenceProfileArn"]}


def _guardrail_attr(template: Template, resource_type: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [next(iter(template.find_resources(resource_type))), attribute]}


def _statements(template: Template) -> dict[str, dict[str, Any]]:
    """The invoke policy's statements by Sid, in a canonical form (CDK sorts resources and condition values)."""
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    return {
        statement["Sid"]: _canonical(statement) for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }


def _sorted(values: Any) -> Any:
    return sorted(values, key=lambda value: json.dumps(value, sort_keys=True)) if isinstance(values, list) else values


def _canonical(statement: dict[str, Any]) -> dict[str, Any]:
    canonical = {**statement, "Resource": _sorted(statement["Resource"])}
    if "Condition" in statement:
        canonical["Condition"] = {
            operator: {key: _sorted(value) for key, value in values.items()}
            for operator, values in statement["Condition"].items()
        }
    return canonical


@pytest.fixture(scope="module")
def default(dev: SynthResult) -> Template:
    return dev.template("Bedrock")


@pytest.fixture(scope="module")
def full(synth: Callable[..., SynthResult]) -> Template:
    return synth("dev", stages={"dev": FULL}).template("Bedrock")


@pytest.fixture(scope="module")
def plain(synth: Callable[..., SynthResult]) -> Template:
    return synth("dev", stages={"dev": PLAIN}).template("Bedrock")


# --- invoke policy: a us. profile (default configuration) ---


def test_us_profile_is_invoked_through_its_application_and_system_profile(default: Template) -> None:
    assert _statements(default)["InvokeConfiguredModels"] == {
        "Sid": "InvokeConfiguredModels",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": _sorted([_app_profile_arn(default, "nova-lite"), _profile_arn(f"us.{NOVA}")]),
    }


def test_us_profile_reaches_its_model_in_any_destination_region_only_through_the_profile(default: Template) -> None:
    assert _statements(default)["InvokeNovaLiteInDestinationRegions"] == {
        "Sid": "InvokeNovaLiteInDestinationRegions",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": _any_region_model_arn(NOVA),
        "Condition": {
            "StringEquals": {
                "bedrock:InferenceProfileArn": _sorted(
                    [_profile_arn(f"us.{NOVA}"), _app_profile_arn(default, "nova-lite")]
                )
            }
        },
    }


def test_inference_profiles_are_readable(default: Template) -> None:
    assert _statements(default)["ReadInferenceProfiles"] == {
        "Sid": "ReadInferenceProfiles",
        "Effect": "Allow",
        "Action": "bedrock:GetInferenceProfile",
        "Resource": _sorted([_app_profile_arn(default, "nova-lite"), _profile_arn(f"us.{NOVA}")]),
    }


def test_the_kit_guardrail_can_be_applied_and_decrypted(default: Template) -> None:
    statements = _statements(default)
    assert statements["ApplyKitGuardrail"] == {
        "Sid": "ApplyKitGuardrail",
        "Effect": "Allow",
        "Action": "bedrock:ApplyGuardrail",
        "Resource": _guardrail_attr(default, "AWS::Bedrock::Guardrail", "GuardrailArn"),
    }
    assert statements["DecryptKitGuardrail"]["Action"] == "kms:Decrypt"
    assert (
        statements["DecryptKitGuardrail"]["Resource"]
        == default.to_json()["Resources"][next(iter(default.find_resources("AWS::Bedrock::Guardrail")))]["Properties"][
            "KmsKeyArn"
        ]
    )


def test_default_policy_holds_exactly_these_statements(default: Template) -> None:
    assert list(_statements(default)) == [
        "InvokeConfiguredModels",
        "InvokeNovaLiteInDestinationRegions",
        "InvokeEmbeddingModels",
        "ReadInferenceProfiles",
        "ApplyKitGuardrail",
        "DecryptKitGuardrail",
    ]


def test_no_statement_grants_a_bedrock_wildcard_action(full: Template) -> None:
    for statement in _statements(full).values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions)


# --- invoke policy: a foundation model and a global. profile ---


def test_foundation_model_is_invoked_in_the_stack_region_and_through_its_application_profile(full: Template) -> None:
    resources = _statements(full)["InvokeConfiguredModels"]["Resource"]
    assert f"arn:aws:bedrock:us-east-1::foundation-model/{MICRO}" in resources
    assert _app_profile_arn(full, "micro") in resources
    assert "InvokeMicroInDestinationRegions" not in _statements(full)


def test_global_profile_reaches_its_model_in_any_region_and_region_less_only_through_the_profile(
    full: Template,
) -> None:
    assert _statements(full)["InvokeSonnetInDestinationRegions"] == {
        "Sid": "InvokeSonnetInDestinationRegions",
        "Effect": "Allow",
        "Action": INVOKE,
        "Resource": _sorted([_any_region_model_arn(SONNET), _regionless_model_arn(SONNET)]),
        "Condition": {
            "StringEquals": {
                "bedrock:InferenceProfileArn": _sorted(
                    [_profile_arn(f"global.{SONNET}"), _app_profile_arn(full, "sonnet")]
                )
            }
        },
    }


def test_every_configured_model_and_profile_is_invocable(full: Template) -> None:
    assert _statements(full)["InvokeConfiguredModels"]["Resource"] == _sorted(
        [
            f"arn:aws:bedrock:us-east-1::foundation-model/{MICRO}",
            _app_profile_arn(full, "micro"),
            _profile_arn(f"us.{NOVA}"),
            _app_profile_arn(full, "nova-lite"),
            _profile_arn(f"global.{SONNET}"),
            _app_profile_arn(full, "sonnet"),
        ]
    )


def test_enforcement_denies_invocation_without_the_pinned_guardrail_version(full: Template) -> None:
    statement = _statements(full)["RequireKitGuardrail"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == INVOKE
    assert statement["Condition"] == {
        "StringNotEquals": {
            "bedrock:GuardrailIdentifier": {
                "Fn::Join": [
                    ":",
                    [
                        _guardrail_attr(full, "AWS::Bedrock::Guardrail", "GuardrailArn"),
                        _guardrail_attr(full, "AWS::Bedrock::GuardrailVersion", "Version"),
                    ],
                ]
            }
        }
    }
    allowed = [
        *_statements(full)["InvokeConfiguredModels"]["Resource"],
        _any_region_model_arn(NOVA),
        _any_region_model_arn(SONNET),
        _regionless_model_arn(SONNET),
    ]
    assert statement["Resource"] == _sorted(allowed)


def test_no_enforcement_by_default(default: Template) -> None:
    assert "RequireKitGuardrail" not in _statements(default)


def test_embedding_models_may_be_invoked_but_not_streamed_and_need_no_guardrail(full: Template) -> None:
    # InvokeModel is the only call an embedding model answers; it has no guardrail to name in the request
    statements = _statements(full)
    assert statements["InvokeEmbeddingModels"] == {
        "Sid": "InvokeEmbeddingModels",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": f"arn:aws:bedrock:us-east-1::foundation-model/{TITAN}",
    }
    titan = f"arn:aws:bedrock:us-east-1::foundation-model/{TITAN}"
    assert titan not in statements["InvokeConfiguredModels"]["Resource"]
    assert titan not in statements["RequireKitGuardrail"]["Resource"]


def test_an_embedding_profile_reaches_its_model_only_through_the_profile(
    synth: Callable[..., SynthResult],
) -> None:
    cohere = "cohere.embed-v4:0"
    models = [{"alias": "chat", "id": f"us.{NOVA}"}, {"alias": "cohere", "id": f"us.{cohere}", "kind": "embedding"}]
    template = synth("dev", stages={"dev": {"bedrock": {"models": models}}}).template("Bedrock")
    statements = _statements(template)
    assert statements["InvokeEmbeddingModels"]["Resource"] == _profile_arn(f"us.{cohere}")
    assert statements["InvokeCohereInDestinationRegions"] == {
        "Sid": "InvokeCohereInDestinationRegions",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": _any_region_model_arn(cohere),
        "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": _profile_arn(f"us.{cohere}")}},
    }


# --- invoke policy: an image model ---

CANVAS = "amazon.nova-canvas-v1:0"
WITH_IMAGES = {
    "bedrock": {
        "models": [{"alias": "chat", "id": f"us.{NOVA}"}, {"alias": "canvas", "id": CANVAS, "kind": "image"}],
        "guardrail": {"enforce_with_iam": True},
    }
}


@pytest.fixture(scope="module")
def with_images(synth: Callable[..., SynthResult]) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": WITH_IMAGES})
    return result


def test_an_image_model_may_be_invoked_but_not_streamed_and_needs_no_guardrail(with_images: SynthResult) -> None:
    # InvokeModel is the only call Nova Canvas answers (a whole answer, no stream), by foundation model id only.
    statements = _statements(with_images.template("Bedrock"))
    canvas = f"arn:aws:bedrock:us-east-1::foundation-model/{CANVAS}"
    assert statements["InvokeImageModels"] == {
        "Sid": "InvokeImageModels",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": canvas,
    }
    for sid, statement in statements.items():
        if sid != "InvokeImageModels":
            assert CANVAS not in json.dumps(statement), sid


def test_an_image_model_gets_no_application_profile(with_images: SynthResult) -> None:
    template = with_images.template("Bedrock")
    template.resource_count_is("AWS::Bedrock::ApplicationInferenceProfile", 1)
    assert CANVAS not in json.dumps(template.find_resources("AWS::Bedrock::ApplicationInferenceProfile"))


def test_a_stage_with_an_image_model_is_nag_and_cfn_lint_clean(with_images: SynthResult) -> None:
    assert validation_findings(with_images.assembly_dir) == []
    assert cfn_lint_problems(with_images.assembly_dir) == []


CORE = "stability.stable-image-core-v1:1"
# Stable Image Core beside a chat profile, in us-west-2: the region AWS's own Stable Image Core example calls it in.
WITH_STABILITY = {
    "region": "us-west-2",
    "bedrock": {
        "models": [{"alias": "chat", "id": f"us.{NOVA}"}, {"alias": "core", "id": CORE, "kind": "image"}],
        "guardrail": {"enforce_with_iam": True},
    },
}


@pytest.fixture(scope="module")
def with_stability(synth: Callable[..., SynthResult]) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": WITH_STABILITY})
    return result


def test_stable_image_core_is_invoked_by_its_foundation_model_in_the_stage_region_only(
    with_stability: SynthResult,
) -> None:
    # The image statement names exactly the configured model in the stage's region: no wildcard region, no profile,
    # no streaming, no guardrail requirement (an image call names no guardrail).
    statements = _statements(with_stability.template("Bedrock"))
    assert statements["InvokeImageModels"] == {
        "Sid": "InvokeImageModels",
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": f"arn:aws:bedrock:us-west-2::foundation-model/{CORE}",
    }
    for sid, statement in statements.items():
        if sid != "InvokeImageModels":
            assert CORE not in json.dumps(statement), sid
    template = with_stability.template("Bedrock")
    template.resource_count_is("AWS::Bedrock::ApplicationInferenceProfile", 1)
    assert CORE not in json.dumps(template.find_resources("AWS::Bedrock::ApplicationInferenceProfile"))


def test_a_stage_with_stable_image_core_is_nag_cfn_lint_and_checkov_clean(with_stability: SynthResult) -> None:
    assert validation_findings(with_stability.assembly_dir) == []
    assert cfn_lint_problems(with_stability.assembly_dir) == []
    report = checkov_scan(with_stability.assembly_dir)
    assert [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]] == []
    assert report["summary"]["parsing_errors"] == 0


# --- invoke policy without application profiles or guardrail ---


def test_without_application_profiles_models_are_invoked_by_their_own_ids(plain: Template) -> None:
    plain.resource_count_is("AWS::Bedrock::ApplicationInferenceProfile", 0)
    statements = _statements(plain)
    assert statements["InvokeConfiguredModels"]["Resource"] == _sorted(
        [
            f"arn:aws:bedrock:us-east-1::foundation-model/{MICRO}",
            _profile_arn(f"us.{NOVA}"),
            _profile_arn(f"global.{SONNET}"),
        ]
    )
    assert statements["InvokeNovaLiteInDestinationRegions"]["Condition"] == {
        "StringEquals": {"bedrock:InferenceProfileArn": _profile_arn(f"us.{NOVA}")}
    }


def test_without_guardrail_there_is_no_guardrail_or_guardrail_statement(plain: Template) -> None:
    plain.resource_count_is("AWS::Bedrock::Guardrail", 0)
    plain.resource_count_is("AWS::Bedrock::GuardrailVersion", 0)
    assert not {"ApplyKitGuardrail", "DecryptKitGuardrail", "RequireKitGuardrail"} & set(_statements(plain))


# --- guardrail ---


def test_default_guardrail_filters_content_and_prompt_attacks_with_the_kit_key(default: Template) -> None:
    strengths = [
        ("SEXUAL", "HIGH"),
        ("VIOLENCE", "HIGH"),
        ("HATE", "HIGH"),
        ("INSULTS", "HIGH"),
        ("MISCONDUCT", "HIGH"),
    ]
    default.has_resource_properties(
        "AWS::Bedrock::Guardrail",
        {
            "Name": "genai-kit-dev",
            "BlockedInputMessaging": "Sorry, I can't help with that request.",
            "BlockedOutputsMessaging": "Sorry, I can't provide that response.",
            "KmsKeyArn": Match.any_value(),
            "ContentPolicyConfig": {
                "FiltersConfig": [
                    *({"Type": kind, "InputStrength": s, "OutputStrength": s} for kind, s in strengths),
                    {"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"},
                ]
            },
            "TopicPolicyConfig": Match.absent(),
            "WordPolicyConfig": Match.absent(),
            "SensitiveInformationPolicyConfig": Match.absent(),
            "ContextualGroundingPolicyConfig": Match.absent(),
        },
    )


def test_guardrail_kms_key_is_the_foundation_key(dev: SynthResult, default: Template) -> None:
    (guardrail,) = default.find_resources("AWS::Bedrock::Guardrail").values()
    key_id = next(iter(dev.template("Foundation").find_resources("AWS::KMS::Key")))
    assert guardrail["Properties"]["KmsKeyArn"]["Fn::GetStackOutput"]["OutputName"].startswith(
        f"PublishOutputFnGetAtt{key_id}Arn"
    )


def test_guardrail_carries_every_configured_policy(full: Template) -> None:
    full.has_resource_properties(
        "AWS::Bedrock::Guardrail",
        {
            "ContentPolicyConfig": {
                "FiltersConfig": [
                    {"Type": "SEXUAL", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                    {"Type": "VIOLENCE", "InputStrength": "MEDIUM", "OutputStrength": "LOW"},
                    {"Type": "HATE", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                    {"Type": "INSULTS", "InputStrength": "HIGH", "OutputStrength": "HIGH"},
                    {"Type": "PROMPT_ATTACK", "InputStrength": "HIGH", "OutputStrength": "NONE"},
                ]
            },
            "TopicPolicyConfig": {
                "TopicsConfig": [
                    {
                        "Name": "Investment advice",
                        "Definition": "Recommendations on what to invest in.",
                        "Examples": ["Buy?"],
                        "Type": "DENY",
                    }
                ]
            },
            "WordPolicyConfig": {
                "WordsConfig": [{"Text": "bazinga"}],
                "ManagedWordListsConfig": [{"Type": "PROFANITY"}],
            },
            "SensitiveInformationPolicyConfig": {
                "PiiEntitiesConfig": [
                    {"Type": "EMAIL", "Action": "ANONYMIZE"},
                    {"Type": "US_SOCIAL_SECURITY_NUMBER", "Action": "BLOCK"},
                ],
                "RegexesConfig": [
                    {"Name": "ticket", "Pattern": "TCK-[0-9]+", "Action": "BLOCK", "Description": "Ticket ids"}
                ],
            },
            "ContextualGroundingPolicyConfig": {
                "FiltersConfig": [{"Type": "GROUNDING", "Threshold": 0.7}, {"Type": "RELEVANCE", "Threshold": 0.5}]
            },
        },
    )


def test_guardrail_version_is_published_from_the_guardrail(default: Template) -> None:
    default.has_resource_properties(
        "AWS::Bedrock::GuardrailVersion",
        {
            "GuardrailIdentifier": _guardrail_attr(default, "AWS::Bedrock::Guardrail", "GuardrailId"),
            "Description": Match.string_like_regexp(
                r"^Published by the generative AI kit; settings digest [0-9a-f]{16}$"
            ),
        },
    )


def test_changed_guardrail_settings_publish_a_new_version(default: Template, full: Template) -> None:
    def description(template: Template) -> str:
        (version,) = template.find_resources("AWS::Bedrock::GuardrailVersion").values()
        return str(version["Properties"]["Description"])

    assert description(default) != description(full)


# --- application inference profiles ---


def test_application_profile_copies_the_system_profile_with_cost_allocation_tags(full: Template) -> None:
    full.has_resource_properties(
        "AWS::Bedrock::ApplicationInferenceProfile",
        {
            "InferenceProfileName": Match.string_like_regexp(r"^genai-kit-dev-nova-lite-[0-9a-f]{8}$"),
            "ModelSource": {"CopyFrom": _profile_arn(f"us.{NOVA}")},
            "Tags": Match.array_with(
                [
                    {"Key": "genai-kit:model-alias", "Value": "nova-lite"},
                    {"Key": "genai-kit:stage", "Value": "dev"},
                    {"Key": "team", "Value": "support"},
                ]
            ),
        },
    )


def test_application_profile_of_a_foundation_model_copies_it_in_the_stack_region(full: Template) -> None:
    full.has_resource_properties(
        "AWS::Bedrock::ApplicationInferenceProfile",
        {"ModelSource": {"CopyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{MICRO}"}},
    )


def test_one_application_profile_per_chat_model(full: Template) -> None:
    # embedding models take none (Bedrock user guide, "Supported Regions and models for inference profiles")
    full.resource_count_is("AWS::Bedrock::ApplicationInferenceProfile", 3)
    with pytest.raises(AssertionError):
        _app_profile_arn(full, "titan")


# --- invocation logging ---


def test_invocation_logging_is_not_created_by_default(default: Template) -> None:
    default.resource_count_is("Custom::BedrockModelInvocationLogging", 0)
    default.resource_count_is("AWS::Logs::LogGroup", 0)
    default.resource_count_is("AWS::Lambda::Function", 0)


def test_invocation_logging_puts_and_deletes_the_account_setting(full: Template) -> None:
    (setting,) = full.find_resources("Custom::BedrockModelInvocationLogging").values()
    properties = setting["Properties"]
    create = "".join(part if isinstance(part, str) else "<ref>" for part in properties["Create"]["Fn::Join"][1])
    assert create == (
        '{"action":"PutModelInvocationLoggingConfiguration","service":"bedrock","parameters":{"loggingConfig":'
        '{"cloudWatchConfig":{"logGroupName":"<ref>","roleArn":"<ref>"},'
        '"s3Config":{"bucketName":"<ref>","keyPrefix":"bedrock-invocation-logs"},'
        '"textDataDeliveryEnabled":true,"imageDataDeliveryEnabled":false,"embeddingDataDeliveryEnabled":false,'
        '"videoDataDeliveryEnabled":false,"audioDataDeliveryEnabled":false}},'
        '"physicalResourceId":{"id":"bedrock-model-invocation-logging"}}'
    )
    assert properties["Update"] == properties["Create"]
    assert properties["Delete"] == '{"action":"DeleteModelInvocationLoggingConfiguration","service":"bedrock"}'


def test_invocation_logging_custom_resource_may_only_set_logging_and_pass_the_delivery_role(full: Template) -> None:
    role_id = next(
        iter(
            full.find_resources(
                "AWS::IAM::Role",
                {"Properties": {"Description": Match.string_like_regexp("deliver model invocation logs")}},
            )
        )
    )
    full.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": [
                            "bedrock:DeleteModelInvocationLoggingConfiguration",
                            "bedrock:PutModelInvocationLoggingConfiguration",
                        ],
                        "Effect": "Allow",
                        "Resource": "*",
                    },
                    {
                        "Action": "iam:PassRole",
                        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
                    },
                ]
            }
        },
    )


def test_delivery_role_is_trusted_by_bedrock_of_this_account_only(full: Template) -> None:
    full.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "bedrock.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": ACCOUNT},
                            "ArnLike": {
                                "aws:SourceArn": {"Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", ACCOUNT, ":*"]]}
                            },
                        },
                    }
                ]
            }
        },
    )


def test_delivery_role_writes_only_the_invocation_log_stream(full: Template) -> None:
    full.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Sid": "WriteInvocationLogs",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:aws:logs:us-east-1:",
                                    ACCOUNT,
                                    ":log-group:/genai-kit/dev/bedrock/model-invocations:log-stream:"
                                    "aws/bedrock/modelinvocations",
                                ],
                            ]
                        },
                    }
                ]
            }
        },
    )


def test_invocation_log_group_is_encrypted_with_the_foundation_key(full: Template) -> None:
    full.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": "/genai-kit/dev/bedrock/model-invocations",
            "RetentionInDays": 90,
            "KmsKeyId": {"Fn::GetStackOutput": Match.object_like({"StackName": "GenAiKit-dev-Foundation"})},
        },
    )


def test_foundation_key_lets_cloudwatch_logs_use_it_for_the_invocation_log_group_only(
    synth: Callable[..., SynthResult],
) -> None:
    foundation = synth("dev", stages={"dev": FULL}).template("Foundation")
    log_group_arn = {
        "Fn::Join": ["", ["arn:aws:logs:us-east-1:", ACCOUNT, ":log-group:/genai-kit/dev/bedrock/model-invocations"]]
    }
    foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowCloudWatchLogsForBedrockInvocationLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                            "Action": [
                                "kms:Decrypt*",
                                "kms:Describe*",
                                "kms:Encrypt*",
                                "kms:GenerateDataKey*",
                                "kms:ReEncrypt*",
                            ],
                            "Resource": "*",
                            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
                        }
                    ]
                )
            }
        },
    )


def test_artifacts_bucket_and_key_let_bedrock_of_this_account_write_the_logs(
    synth: Callable[..., SynthResult],
) -> None:
    foundation = synth("dev", stages={"dev": FULL}).template("Foundation")
    bedrock_source = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", ACCOUNT, ":*"]]}},
    }
    foundation.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowBedrockInvocationLogDelivery",
                            "Effect": "Allow",
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        {"Fn::GetAtt": [Match.string_like_regexp("^ArtifactsBucket"), "Arn"]},
                                        "/bedrock-invocation-logs/AWSLogs/",
                                        ACCOUNT,
                                        "/BedrockModelInvocationLogs/*",
                                    ],
                                ]
                            },
                            "Condition": bedrock_source,
                        }
                    ]
                )
            }
        },
    )
    foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "AllowBedrockInvocationLogEncryption",
                            "Effect": "Allow",
                            "Principal": {"Service": "bedrock.amazonaws.com"},
                            "Action": "kms:GenerateDataKey",
                            "Resource": "*",
                            "Condition": bedrock_source,
                        }
                    ]
                )
            }
        },
    )


def test_foundation_is_unchanged_while_logging_is_off(dev: SynthResult) -> None:
    statements = dev.templates["Foundation"]["Resources"]
    sids = {
        statement.get("Sid")
        for resource in statements.values()
        for document in (resource["Properties"].get("KeyPolicy"), resource["Properties"].get("PolicyDocument"))
        if document
        for statement in document["Statement"]
    }
    assert not {sid for sid in sids if sid and "Bedrock" in sid}


# --- checks with every feature on (the default configuration is checked in test_checks.py) ---


def test_nag_has_no_unacknowledged_findings_with_every_feature_on(synth: Callable[..., SynthResult]) -> None:
    assert validation_findings(synth("dev", stages={"dev": FULL}).assembly_dir) == []


def test_cfn_lint_is_clean_with_every_feature_on(synth: Callable[..., SynthResult]) -> None:
    assert cfn_lint_problems(synth("dev", stages={"dev": FULL}).assembly_dir) == []


# --- outputs and public API ---


def test_outputs_name_guardrail_policy_profiles_and_aliases(full: Template) -> None:
    # CDK adds PublishOutput* outputs for the values the API stack references.
    outputs = {name: output for name, output in full.find_outputs("*").items() if not name.startswith("Publish")}
    assert set(outputs) == {
        "InvokePolicyArn",
        "ModelAliases",
        "GuardrailId",
        "GuardrailVersion",
        "ModelMicroInvokeId",
        "ModelMicroProfileArn",
        "ModelTitanInvokeId",
        "ModelNovaLiteInvokeId",
        "ModelNovaLiteProfileArn",
        "ModelSonnetInvokeId",
        "ModelSonnetProfileArn",
    }
    assert outputs["ModelAliases"]["Value"] == "micro,titan,nova-lite,sonnet"
    assert outputs["ModelNovaLiteInvokeId"]["Value"] == _app_profile_arn(full, "nova-lite")
    assert all(output["Description"] for output in outputs.values())


def test_without_application_profiles_the_invoke_id_is_the_configured_id(plain: Template) -> None:
    outputs = plain.find_outputs("*")
    assert outputs["ModelSonnetInvokeId"]["Value"] == f"global.{SONNET}"
    assert outputs["ModelTitanInvokeId"]["Value"] == TITAN
    assert "GuardrailId" not in outputs


def test_stack_exposes_models_by_alias_and_the_guardrail(dev: SynthResult) -> None:
    bedrock = dev.stage.bedrock
    assert list(bedrock.models) == ["nova-lite", "titan-embed"]
    assert bedrock.models["nova-lite"].ref.foundation_model_id == NOVA
    assert cdk.Token.is_unresolved(bedrock.models["nova-lite"].invoke_id)
    assert bedrock.guardrail_id is not None
    assert bedrock.guardrail_version is not None


def test_grant_invoke_attaches_the_invoke_policy_to_a_role_in_another_stack() -> None:
    # GIVEN the kit's stage and a role in another stack of it
    context = {**cdk_json_context(), "stage": "dev"}
    app = cdk.App(context=context, builtin_cloud_formation_validation=False)
    stage = KitStage(app, config=load_stage(context))
    consumer = cdk.Stack(stage, "Consumer")
    role = iam.Role(consumer, "ApiRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    # WHEN the Bedrock stack grants it invocation
    stage.bedrock.grant_invoke(role)
    # THEN the role carries the managed invoke policy, and no inline copy of its statements
    template = Template.from_stack(consumer)
    (role_resource,) = template.find_resources("AWS::IAM::Role").values()
    (policy_arn,) = role_resource["Properties"]["ManagedPolicyArns"]
    assert "Fn::GetStackOutput" in policy_arn or "Fn::ImportValue" in policy_arn
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_grant_invoke_refuses_a_principal_that_cannot_hold_a_managed_policy(dev: SynthResult) -> None:
    with pytest.raises(TypeError, match="grant_invoke attaches a managed policy, so the grantee must be an IAM role"):
        dev.stage.bedrock.grant_invoke(iam.ServicePrincipal("lambda.amazonaws.com"))


# --- Amazon Q Developer (opt-in) ---

AMAZON_Q = {"amazon_q_developer": {"enabled": True, "developer_roles": ["developers", "data-scientists"]}}


@pytest.fixture(scope="module")
def amazon_q(synth: Callable[..., SynthResult]) -> SynthResult:
    return synth("dev", stages={"dev": AMAZON_Q})


def test_amazon_q_developer_policy_allows_chat_and_code_suggestions_only(amazon_q: SynthResult) -> None:
    full = amazon_q.template("Bedrock")
    [policy] = [
        p["Properties"]
        for p in full.find_resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("ManagedPolicyName") == "genai-kit-dev-amazon-q-developer"
    ]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ChatWithAmazonQ",
            "Effect": "Allow",
            "Action": ["q:GetConversation", "q:ListConversations", "q:SendMessage", "q:StartConversation"],
            "Resource": "*",
        },
        {
            "Sid": "CodeSuggestions",
            "Effect": "Allow",
            "Action": "codewhisperer:GenerateRecommendations",
            "Resource": "*",
        },
    ]
    assert policy["Roles"] == ["developers", "data-scientists"]
    assert "AmazonQDeveloperPolicyArn" in full.find_outputs("*")


def test_no_amazon_q_developer_policy_unless_enabled(default: Template) -> None:
    names = [
        p["Properties"].get("ManagedPolicyName") for p in default.find_resources("AWS::IAM::ManagedPolicy").values()
    ]
    assert "genai-kit-dev-amazon-q-developer" not in names
    assert "AmazonQDeveloperPolicyArn" not in default.find_outputs("*")


def test_cfn_lint_is_clean_with_the_amazon_q_developer_policy(amazon_q: SynthResult) -> None:
    assert cfn_lint_problems(amazon_q.assembly_dir) == []
