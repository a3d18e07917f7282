"""outputs: the stage's deployed stacks and their outputs, from CloudFormation (moto), as a table or JSON."""

from __future__ import annotations

import io
import json

import pytest

from genai_kit.cli.errors import CliError
from genai_kit.cli.main import main
from genai_kit.cli.outputs import render_text, stage_outputs
from tests.genai_kit.cli.conftest import FakeAws

_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "AlarmTopicArn": {"Value": {"Ref": "Topic"}, "Description": "SNS topic for alarms"},
        "Stage": {"Value": "dev"},
    },
}


def deploy(aws: FakeAws, name: str) -> None:
    aws("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(_TEMPLATE))


def test_outputs_are_grouped_by_the_stage_s_stacks_only(aws: FakeAws) -> None:
    # GIVEN two stacks of dev and one of prod
    for name in ("GenAiKit-dev-Monitoring", "GenAiKit-dev-Foundation", "GenAiKit-prod-Foundation"):
        deploy(aws, name)
    # WHEN dev's outputs are read
    stacks = stage_outputs(aws, prefix="GenAiKit-dev-", stage="dev", region="us-east-1")
    # THEN only dev's stacks, in name order, with their outputs
    assert [stack.name for stack in stacks] == ["GenAiKit-dev-Foundation", "GenAiKit-dev-Monitoring"]
    assert stacks[0].values["Stage"] == "dev"
    assert stacks[0].values["AlarmTopicArn"].startswith("arn:aws:sns:us-east-1:")


def test_table_shows_each_stack_with_its_status_and_output_descriptions(aws: FakeAws) -> None:
    deploy(aws, "GenAiKit-dev-Foundation")
    text = render_text(stage_outputs(aws, prefix="GenAiKit-dev-", stage="dev", region="us-east-1"))
    lines = text.splitlines()
    assert lines[0] == "GenAiKit-dev-Foundation  [CREATE_COMPLETE]"
    assert lines[1].split() == ["OUTPUT", "VALUE", "DESCRIPTION"]
    assert lines[3].endswith("SNS topic for alarms")


def test_json_maps_stack_to_status_and_outputs(aws: FakeAws) -> None:
    deploy(aws, "GenAiKit-dev-Foundation")
    out = io.StringIO()
    assert main(["outputs", "--stage", "dev", "--json"], clients=aws, out=out) == 0
    document = json.loads(out.getvalue())
    assert document["GenAiKit-dev-Foundation"]["status"] == "CREATE_COMPLETE"
    assert document["GenAiKit-dev-Foundation"]["outputs"]["Stage"] == "dev"


def test_stage_not_deployed_is_a_clear_error(aws: FakeAws) -> None:
    deploy(aws, "GenAiKit-prod-Foundation")
    with pytest.raises(
        CliError, match=r"stage 'dev' is not deployed in us-east-1 .* \(no stack named GenAiKit-dev-\*\)"
    ):
        stage_outputs(aws, prefix="GenAiKit-dev-", stage="dev", region="us-east-1")


def test_stage_not_deployed_exits_2_with_the_deploy_command(aws: FakeAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outputs", "--stage", "dev"], clients=aws) == 2
    assert "make cdk ARGS=\"deploy 'GenAiKit-dev/*' --context stage=dev\"" in capsys.readouterr().err


def test_missing_credentials_exit_2_with_how_to_log_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no credentials anywhere (the session harness points config and credential files at /dev/null)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # WHEN outputs runs with the real client factory THEN it stops before any request, with the fix
    assert main(["outputs", "--stage", "dev"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: AWS credentials are missing or not valid (Unable to locate credentials)")
    assert "aws sso login" in error
