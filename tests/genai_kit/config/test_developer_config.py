"""The Amazon Q Developer section's rules, each with its message."""

from __future__ import annotations

import pytest

from genai_kit.stage import ConfigError, load_stage


def test_amazon_q_developer_is_off_by_default() -> None:
    assert not load_stage({"stages": {"dev": {}}}).settings.amazon_q_developer.enabled


def test_a_developer_role_that_is_no_iam_role_name_is_named_with_its_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stage({"stages": {"dev": {"amazon_q_developer": {"enabled": True, "developer_roles": ["dev team"]}}}})
    [problem] = caught.value.problems
    assert problem.startswith("stages.dev.amazon_q_developer.developer_roles.0: got 'dev team'; ")
    assert "[\\w+=,.@-]{1,64}" in problem
