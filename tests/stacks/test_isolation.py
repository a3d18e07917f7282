"""Stacks built alone from the parts of a resolved stage they take, without the rest of the stage or a synth of it."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from genai_kit.cdk_context import cdk_json_context
from genai_kit.config import StorageConfig
from genai_kit.config.api import ApiConfig
from genai_kit.names import StageNames
from genai_kit.stage import ResolvedStage, load_stage
from genai_kit.stage.api import endpoint_targets
from stacks.api_stack import ApiStack
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack
from tests.synth import kit_context

NAMES = StageNames("dev")


@pytest.fixture(scope="module")
def resolved() -> ResolvedStage:
    return load_stage(kit_context("dev"))


def _foundation(app: cdk.App) -> FoundationStack:
    return FoundationStack(
        app, "Foundation", names=NAMES, storage=StorageConfig(), removal_policy="destroy", alarm_emails=()
    )


def _properties(template: Template, resource_type: str) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in template.find_resources(resource_type).values()]


def test_inference_stack_alone_serves_each_resolved_endpoint(resolved: ResolvedStage) -> None:
    app = cdk.App(context=cdk_json_context())  # the kit's feature flags
    stack = InferenceStack(
        app, "Inference", endpoints=resolved.endpoints, foundation=_foundation(app), names=NAMES, tags={}
    )
    endpoints = _properties(Template.from_stack(stack), "AWS::SageMaker::Endpoint")
    assert sorted(e["EndpointName"] for e in endpoints) == sorted(e.endpoint_name for e in resolved.endpoints)


def test_api_stack_alone_routes_to_the_targets_it_is_given(resolved: ResolvedStage) -> None:
    app = cdk.App(context=cdk_json_context())
    targets = endpoint_targets(resolved)
    stack = ApiStack(app, "Api", names=NAMES, api=ApiConfig(), endpoints=targets, foundation=_foundation(app))
    template = Template.from_stack(stack)
    (router,) = _properties(template, "AWS::Lambda::Function")
    assert targets  # the default stage has an endpoint and a fine-tuned alias
    assert json.loads(router["Environment"]["Variables"]["MODELS"]).keys() == targets.keys()
    assert len(_properties(template, "AWS::ApiGateway::RestApi")) == 1
