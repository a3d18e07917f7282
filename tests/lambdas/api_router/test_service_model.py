"""The service-model check the fake AWS applies to every request finds each kind of violation."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from lambdas.api_router.backends.clients import client
from tests.lambdas.api_router.fake_aws import FakeAws
from tests.service_model import violations

CONVERSE = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("Converse").input_shape
VALID: dict[str, Any] = {
    "modelId": "us.amazon.nova-lite-v1:0",
    "messages": [{"role": "user", "content": [{"text": "x"}]}],
}


def test_a_valid_request_has_no_violations() -> None:
    assert violations(CONVERSE, VALID) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"messages": [{"role": "robot", "content": [{"text": "x"}]}]}, "messages[0].role: 'robot' is not one of"),
        ({"inferenceConfig": {"temperature": 1.5}}, "inferenceConfig.temperature: 1.5 is above the maximum 1"),
        ({"additionalModelResponseFieldPaths": ["/a"] * 11}, "additionalModelResponseFieldPaths: 11 items"),
        ({"messages": [{"role": "user", "content": [{"text": "x", "image": {}}]}]}, "exactly one member set"),
        ({"system": [{"txt": "x"}]}, "system[0]: 'txt' is not a member of SystemContentBlock"),
        (
            {"toolConfig": {"tools": [{"toolSpec": {"name": "bad name", "inputSchema": {"json": {}}}}]}},
            "toolConfig.tools[0].toolSpec.name: 'bad name' does not match",
        ),
        ({"messages": [{"content": [{"text": "x"}]}]}, "messages[0]: required member 'role' is missing"),
    ],
)
def test_each_kind_of_violation_is_found(change: dict[str, Any], expected: str) -> None:
    found = violations(CONVERSE, {**VALID, **change})
    assert any(expected in problem for problem in found), found


def test_the_fake_records_what_the_service_would_refuse(fake_aws: FakeAws) -> None:
    fake_aws.json("Converse", {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "end_turn"})
    client("bedrock-runtime").converse(**VALID, inferenceConfig={"topP": 2.0})
    assert fake_aws.invalid == ["Converse: inferenceConfig.topP: 2.0 is above the maximum 1"]
    fake_aws.invalid.clear()  # the fixture fails any other test that leaves one
