"""Configuration of what the kit provisions for the team's developers themselves: Amazon Q Developer access."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from genai_kit.config.base import StrictModel

# An IAM role name (IAM API reference, CreateRole: RoleName, pattern [\w+=,.@-]+, 1-64 characters).
RoleName = Annotated[str, StringConstraints(pattern=r"^[\w+=,.@-]{1,64}$")]


class AmazonQDeveloperConfig(StrictModel):
    """An opt-in IAM managed policy that lets developer roles use Amazon Q Developer with their IAM identity: chat in
    the AWS console and code suggestions in AWS coding environments. IDE plugins sign in through IAM Identity Center
    (Pro tier, whose subscriptions live there, outside CloudFormation) or an AWS Builder ID (README, "Amazon Q
    Developer")."""

    enabled: bool = Field(
        False,
        description="Create the Amazon Q Developer managed policy (output `AmazonQDeveloperPolicyArn`); preflight "
        "then reports the account's IAM Identity Center instance.",
    )
    developer_roles: tuple[RoleName, ...] = Field(
        (),
        description="Names of existing IAM roles the policy is attached to (e.g. the team's developer roles); "
        "empty: attach it yourself.",
    )
