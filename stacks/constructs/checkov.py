"""Skipping a checkov check on one resource, with the reason a reviewer needs, in the resource's own metadata.

checkov reads ``Metadata.checkov.skip`` (a list of ``{"id", "comment"}``) on a CloudFormation resource and reports
the check as skipped there (checkov documentation, "Suppressing/skipping"). The skips live next to the resource
they concern, and ``make test`` fails on any check that is neither passed nor skipped this way.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from constructs import IConstruct

# Why a function of the kit is not in a VPC: the same for every one of them.
NO_VPC = (
    "The function calls only AWS service APIs (over TLS, authorized by IAM) and no resource in a VPC; a VPC would "
    "add a NAT gateway or an interface endpoint per service and no isolation the kit needs."
)


def skip_checks(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Skip each check id in ``reasons`` on ``scope``'s CloudFormation resource (its own, or its default child's).

    Raises
    ------
    TypeError
        If ``scope`` is neither a CloudFormation resource nor a construct whose default child is one.
    """
    resource = scope if isinstance(scope, cdk.CfnResource) else scope.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{scope.node.path} has no CloudFormation resource to carry checkov skips")
    existing = resource.get_metadata("checkov") or {}
    skips = {entry["id"]: entry["comment"] for entry in existing.get("skip", [])}
    skips.update(reasons)
    resource.add_metadata("checkov", {"skip": [{"id": key, "comment": value} for key, value in sorted(skips.items())]})
