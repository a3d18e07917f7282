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
    resolved = cdk.Stack.of(scope).resolve(value)
    return _flatten(resolved)


def _flatten(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and str(value["Ref"]).startswith("AWS::"):
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_flatten(part) for part in parts)
    return json.dumps(value, separators=(",", ":"))


def acknowledge_wildcards(
    scope: IConstruct, *, resources: Iterable[str] = (), actions: Iterable[str] = (), reason: str
) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly these wildcard resources and actions on ``scope``."""
    ids = [f"AwsSolutions-IAM5[Resource::{render_for_nag(scope, resource)}]" for resource in resources]
    ids += [f"AwsSolutions-IAM5[Action::{action}]" for action in actions]
    cdk.Validations.of(scope).acknowledge(*(cdk.Acknowledgment(id=finding, reason=reason) for finding in ids))
