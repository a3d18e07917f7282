"""AWS for the CLI tests: moto for STS, CloudFormation and SSM; botocore Stubbers where moto lacks the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import ResolvedStage, load_stage

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"


class FakeAws:
    """A client factory like the CLI's: moto clients, or a stubbed client once a test asked for a Stubber."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION)
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        """The (activated) Stubber of ``service``; every call to it must then be queued on the Stubber."""
        if service not in self.stubbers:
            self.stubbers[service] = Stubber(self(service))
            self.stubbers[service].activate()
        return self.stubbers[service]

    def bootstrap(self, version: str = "21") -> None:
        """What `cdk bootstrap` leaves: the CDKToolkit stack and its version parameter."""
        self("cloudformation").create_stack(
            StackName="CDKToolkit",
            TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}',
        )
        self("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value=version, Type="String")


@pytest.fixture
def aws() -> Iterator[FakeAws]:
    with mock_aws():
        yield FakeAws()


@pytest.fixture(scope="session")
def dev_config() -> ResolvedStage:
    return load_stage({**cdk_json_context(), "stage": "dev"})
