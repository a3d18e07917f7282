"""CDK's custom resource Provider framework, as the kit deploys it: encrypted logs, own roles, findings reasoned."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.nag import acknowledge_wildcards


def framework_provider(
    scope: Construct,
    *,
    stage: str,
    on_event: lambda_.IFunction,
    is_complete: lambda_.IFunction,
    key: kms.IKey,
    removal_policy: cdk.RemovalPolicy,
    query_interval: cdk.Duration,
    total_timeout: cdk.Duration,
) -> cr.Provider:
    """CDK's Provider framework in ``scope`` (its own Node.js functions and waiter state machine) in front of
    ``on_event`` and ``is_complete`` (polled every ``query_interval`` for at most ``total_timeout``), logging to
    one group encrypted with ``key``, its functions with roles of their own instead of the AWS managed basic
    execution policy, and every cdk-nag and checkov finding on what the framework creates acknowledged with its
    reason."""
    log_group = logs.LogGroup(
        scope,
        "ProviderLogs",
        retention=logs.RetentionDays.THREE_MONTHS,
        encryption_key=key,
        removal_policy=removal_policy,
    )
    roles = []
    for role_id in ("FrameworkOnEventRole", "FrameworkCompleteRole"):
        role = iam.Role(
            scope,
            role_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"CDK Provider framework of the {stage} endpoint lifecycle",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        roles.append(role)
    provider = cr.Provider(
        scope,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        query_interval=query_interval,
        total_timeout=total_timeout,
        log_group=log_group,
        framework_on_event_role=roles[0],
        framework_complete_and_timeout_role=roles[1],
        provider_function_env_encryption=key,
        disable_waiter_state_machine_logging=False,
        waiter_state_machine_log_options=cr.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
        ),
    )
    _acknowledge_findings(provider, roles, handlers=[on_event, is_complete])
    return provider


def _acknowledge_findings(provider: cr.Provider, roles: list[iam.Role], *, handlers: list[lambda_.IFunction]) -> None:
    """Reason every cdk-nag and checkov finding on what the framework creates, where it is."""
    for role in roles:
        acknowledge_wildcards(
            role.node.find_child("DefaultPolicy"),
            resources=[f"{handler.function_arn}:*" for handler in handlers],
            reason="CDK's Provider framework invokes the kit's handlers through grantInvoke, which also allows "
            "their published versions (<function ARN>:*); the functions have none.",
        )
    for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout"):
        skip_checks(
            provider.node.find_child(name),
            {
                "CKV_AWS_117": NO_VPC,
                "CKV_AWS_116": "CDK's Provider framework function, invoked synchronously by CloudFormation or by "
                "its waiter state machine, which report every error to CloudFormation; no asynchronous "
                "invocation to dead-letter.",
                "CKV_AWS_115": "CDK's Provider framework function: it runs once per custom resource event of a "
                "deployment; a reserved concurrency would take from the account's unreserved pool.",
            },
        )
    waiter = provider.node.find_child("waiter-state-machine")
    waiter_policy = waiter.node.find_child("Role").node.find_child("DefaultPolicy")
    acknowledge_wildcards(
        waiter_policy,
        resources=[f"{fn.function_arn}:*" for fn in _framework_functions(provider)],
        reason="CDK's waiter state machine invokes the Provider framework's functions, versions included.",
    )
    logging_reason = (
        "A state machine's logging needs the CloudWatch Logs delivery actions (logs:CreateLogDelivery and "
        "the like), which support no resource-level permission (Step Functions developer guide, logging)."
    )
    acknowledge_wildcards(waiter_policy, resources=["*"], reason=logging_reason)
    skip_checks(waiter_policy, {"CKV_AWS_111": logging_reason})
    cdk.Validations.of(waiter).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-SF2",
            reason="CDK's Provider framework creates its waiter state machine without an X-Ray tracing option; "
            "its executions log every event to the encrypted log group instead.",
        )
    )


def _framework_functions(provider: cr.Provider) -> list[lambda_.IFunction]:
    return [provider.node.find_child(name) for name in ("framework-isComplete", "framework-onTimeout")]  # type: ignore[misc]
