"""The stage's monthly AWS Budgets cost budget and its notifications to the alarm topic."""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_kit.config.operations import BudgetConfig
from genai_kit.names import STAGE_TAG, StageNames


def monthly_budget(
    scope: Construct, *, topic: sns.ITopic, account: str, names: StageNames, budget: BudgetConfig
) -> None:
    """The stage's monthly cost budget (``MonthlyBudget`` in ``scope``): USD ``budget.monthly_limit_usd``,
    filtered on the stage's tag where configured, notifying ``topic`` when actual cost passes
    ``budget.alert_threshold_percent`` percent (and forecast cost 100 %, if ``budget.forecast_alert``); the
    topic's policy lets AWS Budgets publish for ``account`` only. Shapes: CloudFormation ``AWS::Budgets::Budget``."""
    # AWS Budgets publishes as its service principal: the topic policy must let it, for this account only.
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowBudgetsToPublish",
            principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        )
    )
    subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)]

    def notify(notification_type: str, threshold: float) -> budgets.CfnBudget.NotificationWithSubscribersProperty:
        return budgets.CfnBudget.NotificationWithSubscribersProperty(
            notification=budgets.CfnBudget.NotificationProperty(
                notification_type=notification_type,
                comparison_operator="GREATER_THAN",
                threshold=threshold,
                threshold_type="PERCENTAGE",
            ),
            subscribers=subscribers,
        )

    notifications = [notify("ACTUAL", budget.alert_threshold_percent)]
    if budget.forecast_alert:
        notifications.append(notify("FORECASTED", 100))
    budgets.CfnBudget(
        scope,
        "MonthlyBudget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_name=names.budget,
            budget_type="COST",
            time_unit="MONTHLY",
            budget_limit=budgets.CfnBudget.SpendProperty(amount=budget.monthly_limit_usd, unit="USD"),
            # Cost allocation tags are filtered as user:<key>$<value>.
            cost_filters={"TagKeyValue": [f"user:{STAGE_TAG}${names.stage}"]} if budget.filter_by_stage_tag else None,
        ),
        notifications_with_subscribers=notifications,
    )
