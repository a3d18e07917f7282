"""Preflight's report line (``Check``) and its Bedrock model checks: access in the region, and the lifecycle.

Availability: GetFoundationModelAvailability's ``regionAvailability``, ``authorizationStatus``,
``entitlementAvailability`` and ``agreementAvailability`` (Amazon Bedrock API reference). Lifecycle:
GetFoundationModel's ``modelDetails.modelLifecycle`` (``status`` ACTIVE | LEGACY, ``legacyTime``, ``endOfLifeTime``;
API reference, FoundationModelLifecycle): "Legacy — … A model will be in the Legacy state for at least 6 months
before the EOL date" and after the EOL date requests to it fail (Amazon Bedrock user guide, Model lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

Status = Literal["PASS", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    """One line of the preflight report."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def availability_check(
    name: str, *, model_id: str, foundation_model: str, is_profile: bool, availability: dict[str, Any], region: str
) -> Check:
    access = f"enable access to {foundation_model} in the Bedrock console (Model access) of {region}"
    if not is_profile and availability.get("regionAvailability") == "NOT_AVAILABLE":
        return Check(
            name,
            "FAIL",
            f"{foundation_model} is not offered in {region}",
            "use a region that offers the model, or for a chat or embedding model a cross-region inference profile "
            "(e.g. us.<model id>; image models are called by foundation model id only)",
        )
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        return Check(
            name,
            "FAIL",
            f"this account is not authorized to use {foundation_model}",
            "check the service control policies and permission boundaries that deny Bedrock; " + access,
        )
    if availability.get("entitlementAvailability") == "NOT_AVAILABLE":
        return Check(
            name,
            "FAIL",
            f"no access to {foundation_model} in this account",
            access + " (third-party models: accept the offer, which subscribes through AWS Marketplace)",
        )
    agreement = availability.get("agreementAvailability", {})
    if agreement.get("status") == "PENDING":
        return Check(name, "WARN", f"the agreement for {foundation_model} is still pending", "wait a few minutes")
    if agreement.get("status") in ("NOT_AVAILABLE", "ERROR"):
        reason = agreement.get("errorMessage") or agreement["status"]
        return Check(name, "FAIL", f"no accepted agreement (EULA) for {foundation_model}: {reason}", access)
    via = f" through profile {model_id}" if is_profile else ""
    return Check(name, "PASS", f"{foundation_model} available{via}")


def lifecycle_check(available: Check, foundation_model: str, lifecycle: dict[str, Any], now: datetime) -> Check:
    """``available`` (a passing availability check) as the model's lifecycle leaves it: FAIL once its end of life
    has passed, WARN while it is Legacy (with the end-of-life date when Bedrock gives one), unchanged when Active.
    ``now``: an aware instant."""
    end_of_life = lifecycle.get("endOfLifeTime")
    fix = (
        "choose an Active model (aws bedrock list-foundation-models --query "
        "\"modelSummaries[?modelLifecycle.status=='ACTIVE'].modelId\") and change bedrock.models"
    )
    if isinstance(end_of_life, datetime) and end_of_life <= now:
        return replace(
            available,
            status="FAIL",
            detail=f"{foundation_model} reached its end of life on {end_of_life.date().isoformat()}: calls to it fail",
            fix=fix,
        )
    if lifecycle.get("status") == "LEGACY":
        until = f" until {end_of_life.date().isoformat()}" if isinstance(end_of_life, datetime) else ""
        return replace(
            available,
            status="WARN",
            detail=f"{available.detail}, but Legacy{until}: new accounts cannot use it and calls fail after its "
            "end of life",
            fix=fix,
        )
    return available
