"""Acknowledging cdk-nag findings precisely: one finding id per wildcard, each with its reason.

cdk-nag 3 names an IAM5 finding after the exact wildcard it found (``AwsSolutions-IAM5[Resource::<arn>]``
or ``[Action::<action>]``), rendering intrinsic functions the way :func:`render_for_nag` does. Acknowledging
the exact id keeps any new wildcard visible as a new finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct


def render_for_nag(scope: IConstruct, value: str) -> str:
    """Render a (possibly tokenized) policy string as cdk-nag prints it in a finding id."""
    return _render_all(scope, [value])[0]


def _render_all(scope: IConstruct, values: list[str]) -> list[str]:
    # One resolution for every tokenized value (each jsii round trip costs about a millisecond of synth), none
    # for plain strings: an unresolved CDK string always carries a "${Token[" marker (aws-cdk-lib, token-map.ts).
    tokenized = [value for value in values if "${Token[" in value]
    resolved = dict(zip(tokenized, cdk.Stack.of(scope).resolve(tokenized), strict=True)) if tokenized else {}
    return [_flatten(resolved.get(value, value)) for value in values]


def _flatten(value: Any) -> str:
    # cdk-nag 3.0.2, src/utils/flatten-cfn-reference.ts: a Ref or GetAtt becomes <Name> or <Name.Attribute>,
    # a Join is joined, Sub and ImportValue are unwrapped, ${...} in a string becomes <...>.
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_flatten(part) for part in parts)
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return _flatten(argument)
        if function == "Fn::GetAtt":
            resource, attribute = argument
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if function == "Ref":
            return f"<{_flatten(argument)}>"
    return json.dumps(value, separators=(",", ":"))


def acknowledge_wildcards(
    scope: IConstruct, *, resources: Iterable[str] = (), actions: Iterable[str] = (), reason: str
) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly these wildcard resources and actions on ``scope``."""
    ids = [f"AwsSolutions-IAM5[Resource::{resource}]" for resource in _render_all(scope, list(resources))]
    ids += [f"AwsSolutions-IAM5[Action::{action}]" for action in actions]
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=finding, reason=reason) for finding in ids))
