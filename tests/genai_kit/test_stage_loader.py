"""Every configuration rule fails with one message naming the key path, the bad value and what is valid."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import ConfigError, load_stage


def _problems(stage_settings: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stage({"stages": {"dev": stage_settings}})
    return caught.value.problems


def test_defaults_are_a_complete_stage() -> None:
    config = load_stage({"stages": {"dev": {}}})
    assert config.stage == "dev"
    assert config.settings.region == "us-east-1"
    assert config.settings.account is None
    assert config.settings.removal_policy == "retain"


def test_cdk_json_configures_dev_and_prod() -> None:
    context = cdk_json_context()
    assert load_stage(context).settings.removal_policy == "destroy"
    assert load_stage({**context, "stage": "prod"}).settings.removal_policy == "retain"


def test_stage_is_selected_by_context() -> None:
    config = load_stage({"stage": "prod", "stages": {"dev": {}, "prod": {"region": "us-west-2"}}})
    assert (config.stage, config.settings.region) == ("prod", "us-west-2")


def test_context_values_given_as_json_strings_are_decoded() -> None:
    config = load_stage({"stages": '{"dev": {"region": "us-east-2"}}'})
    assert config.settings.region == "us-east-2"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"regoin": "us-east-1"},
            "stages.dev.regoin: unknown key (did you mean 'region'?); valid keys are: "
            "account, alarm_emails, amazon_q_developer, api, bedrock, endpoints, monitoring, pipeline, region, "
            "removal_policy, storage, tags, training",
        ),
        (
            {"storage": {"logs_days": 3}},
            "stages.dev.storage.logs_days: unknown key; valid keys are: abort_incomplete_multipart_upload_days, "
            "access_logs_expiration_days, data_capture_expiration_days, noncurrent_version_expiration_days",
        ),
        (
            {"region": "us-east"},
            "stages.dev.region: got 'us-east'; expected an AWS region code such as us-east-1 or eu-west-2",
        ),
        ({"account": "1234"}, "stages.dev.account: got '1234'; expected a 12-digit AWS account id (as a string)"),
        (
            {"removal_policy": "delete"},
            "stages.dev.removal_policy: got 'delete'; input should be 'destroy' or 'retain'",
        ),
        (
            {"alarm_emails": ["ops@example.com", "pager"]},
            "stages.dev.alarm_emails.1: got 'pager'; expected an e-mail address such as ops@example.com",
        ),
        (
            {"tags": {"aws:owner": "me"}},
            "stages.dev.tags: tag key 'aws:owner' is not valid; expected 1-128 letters, digits, spaces or _.:/=+-@, "
            "not starting with aws:",
        ),
        (
            {"tags": {"team": "a|b"}},
            "stages.dev.tags: tag 'team' has value 'a|b'; expected 0-256 letters, digits, spaces or _.:/=+-@",
        ),
        (
            {"storage": {"access_logs_expiration_days": 0}},
            "stages.dev.storage.access_logs_expiration_days: got 0; input should be greater than or equal to 1",
        ),
        (
            {"storage": {"noncurrent_version_expiration_days": "ninety"}},
            "stages.dev.storage.noncurrent_version_expiration_days: got 'ninety'; input should be a valid integer, "
            "unable to parse string as an integer",
        ),
    ],
)
def test_invalid_setting_is_named_with_its_value(settings: dict[str, Any], expected: str) -> None:
    assert _problems(settings) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems({"region": "nowhere", "removal_policy": "sometimes"})
    assert [problem.split(":")[0] for problem in problems] == ["stages.dev.region", "stages.dev.removal_policy"]


def test_every_stage_is_validated_not_only_the_selected_one() -> None:
    with pytest.raises(ConfigError, match=r"stages\.prod\.region: got 'mars-1'"):
        load_stage({"stage": "dev", "stages": {"dev": {}, "prod": {"region": "mars-1"}}})


def test_unknown_stage_lists_the_configured_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"^invalid configuration:\n  - stage: got 'qa'; configured stages are: dev, prod$"
    ):
        load_stage({"stage": "qa", "stages": {"dev": {}, "prod": {}}})


@pytest.mark.parametrize("name", ["Dev", "my-stage", "averyveryverylongname", "1st"])
def test_stage_names_must_be_short_lowercase_words(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"stages\.{name}: stage name not valid; expected 1-12 lowercase letters"):
        load_stage({"stage": name, "stages": {name: {}}})


@pytest.mark.parametrize("stages", [None, {}, ["dev"]])
def test_stages_must_be_a_non_empty_mapping(stages: Any) -> None:
    with pytest.raises(ConfigError, match=r"stages: expected a mapping of stage name to settings"):
        load_stage({"stages": stages})


def test_stages_given_as_broken_json_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"stages: got '\{dev', which is not JSON \(Expecting"):
        load_stage({"stages": "{dev"})


def test_configuration_is_immutable() -> None:
    settings = load_stage({"stages": {"dev": {}}}).settings
    with pytest.raises(ValueError, match="frozen"):
        settings.region = "eu-west-1"  # type: ignore[misc]
