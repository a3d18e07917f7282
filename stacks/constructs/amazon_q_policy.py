"""The opt-in managed policy that lets the team's developer roles use Amazon Q Developer with their IAM identity.

Actions: the four Amazon Q Developer user guide names as what an IAM identity needs to chat ("Amazon Q Developer
permissions reference": StartConversation, SendMessage, GetConversation and ListConversations, the last two for the
console), and ``codewhisperer:GenerateRecommendations`` (the legacy prefix of code suggestions in AWS coding
environments, same page). Nothing that acts for the caller (``q:PassRequest``) or administers subscriptions.
None of these actions has a resource type in the Service Authorization Reference (Amazon Q, Amazon CodeWhisperer),
so IAM accepts only ``"*"`` as their resource.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from genai_kit.config.developer import AmazonQDeveloperConfig
from genai_kit.names import StageNames
from stacks.constructs.nag import acknowledge_wildcards

CHAT_ACTIONS = ("q:StartConversation", "q:SendMessage", "q:GetConversation", "q:ListConversations")
SUGGESTION_ACTIONS = ("codewhisperer:GenerateRecommendations",)
NO_RESOURCE_TYPE = (
    "Amazon Q's conversation actions and code suggestions have no resource type in the Service Authorization "
    "Reference: IAM accepts only '*'."
)


def amazon_q_developer_policy(
    scope: Construct, construct_id: str, *, names: StageNames, config: AmazonQDeveloperConfig
) -> iam.ManagedPolicy:
    """A customer-managed policy ``<prefix>-amazon-q-developer`` in ``scope`` with the chat and code-suggestion
    actions, attached to ``config.developer_roles`` (existing roles, by name; none: attach it yourself)."""
    roles = [
        iam.Role.from_role_name(scope, f"{construct_id}Role{index}", name)
        for index, name in enumerate(config.developer_roles)
    ]
    policy = iam.ManagedPolicy(
        scope,
        construct_id,
        managed_policy_name=names.resource("amazon-q-developer"),
        description=f"Amazon Q Developer chat and code suggestions for the developers of stage {names.stage}",
        statements=[
            iam.PolicyStatement(sid="ChatWithAmazonQ", actions=list(CHAT_ACTIONS), resources=["*"]),
            iam.PolicyStatement(sid="CodeSuggestions", actions=list(SUGGESTION_ACTIONS), resources=["*"]),
        ],
        roles=roles or None,
    )
    acknowledge_wildcards(policy, resources=["*"], reason=NO_RESOURCE_TYPE)
    return policy
