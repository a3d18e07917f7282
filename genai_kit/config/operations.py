"""Configuration of the kit's operations: the monitoring stack (dashboard, alarms, budget) and the CI/CD pipeline.

The pipeline is opt-in: with ``pipeline.enabled`` the selected stage's account hosts a CDK Pipelines pipeline that
synthesizes the kit from a repository (through an AWS CodeConnections connection), runs the test suite and
deploys the listed stages in order, waiting for a manual approval before each stage named in ``approval_before``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from genai_kit.config.base import StrictModel

# AWS CodeConnections (formerly CodeStar Connections) ARNs; both service prefixes are still issued and accepted.
_CONNECTION_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$"
)
# GitHub, GitHub Enterprise, GitLab and Bitbucket all name a repository <owner>/<name>.
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9][\w.-]{0,99}/[\w.-]{1,100}$")
# Git's own refname rules, simplified to what a branch name in a pipeline needs.
_BRANCH_RE = re.compile(r"^(?!/)(?!.*\.\.)(?!.*//)[\w./-]{1,255}(?<![/.])$")


def _connection_arn(value: str) -> str:
    if not _CONNECTION_ARN_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected an AWS CodeConnections connection ARN such as "
            "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
        )
    return value


def _repository(value: str) -> str:
    if not _REPOSITORY_RE.match(value):
        raise ValueError(f"got '{value}'; expected a repository as 'owner/name', e.g. my-org/genai-kit")
    return value


def _branch(value: str) -> str:
    if not _BRANCH_RE.match(value):
        raise ValueError(f"got '{value}'; expected a git branch name such as main or release/1.0")
    return value


class BudgetConfig(StrictModel):
    """An AWS Budgets monthly cost budget that notifies the alarm topic."""

    enabled: bool = Field(True, description="Create the monthly cost budget.")
    monthly_limit_usd: float = Field(1000, gt=0, description="Monthly cost budget, in US dollars.")
    alert_threshold_percent: float = Field(
        80, gt=0, le=1000, description="Notify the alarm topic when actual cost reaches this share of the budget."
    )
    forecast_alert: bool = Field(
        True, description="Also notify when the month's forecast cost is above the budget (100%)."
    )
    filter_by_stage_tag: bool = Field(
        False,
        description="Count only costs tagged genai-kit:stage=<stage> (activate it as a cost allocation tag first); "
        "otherwise the whole account's cost.",
    )


class MonitoringAlarmsConfig(StrictModel):
    """Thresholds of the alarms the monitoring stack adds (endpoint alarms live with each endpoint)."""

    bedrock_throttles: int = Field(
        10, ge=1, description="Bedrock throttled invocations of one model in 5 minutes that raise an alarm."
    )
    bedrock_server_errors: int = Field(
        5, ge=1, description="Bedrock server errors of one model in 5 minutes that raise an alarm."
    )
    api_5xx_errors: int = Field(5, ge=1, description="API 5XX responses in 5 minutes that raise an alarm.")
    api_stream_errors: int = Field(
        5,
        ge=1,
        description="Streamed answers that failed after they began (HTTP 200, ended with an error event) in 5 minutes "
        "that raise an alarm.",
    )
    api_router_throttles: int = Field(
        1,
        ge=1,
        description="Requests Lambda refused in 5 minutes because the router was at its reserved concurrency that "
        "raise an alarm.",
    )
    pipeline_failed_executions: int = Field(
        1, ge=1, description="Failed training pipeline executions in 5 minutes that raise an alarm."
    )


class MonitoringConfig(StrictModel):
    """The stage's CloudWatch dashboard, its paging alarms and its cost budget."""

    alarms: MonitoringAlarmsConfig = Field(default_factory=MonitoringAlarmsConfig, description="Alarm thresholds.")
    budget: BudgetConfig = Field(default_factory=BudgetConfig, description="Monthly cost budget.")


class PipelineConfig(StrictModel):
    """An opt-in CDK Pipelines pipeline: source, synth and tests, then each stage in order."""

    enabled: bool = Field(False, description="Build the CI/CD pipeline (in this stage's account and region).")
    connection_arn: Annotated[str, AfterValidator(_connection_arn)] | None = Field(
        None, description="AWS CodeConnections connection ARN giving the pipeline access to the repository."
    )
    repository: Annotated[str, AfterValidator(_repository)] | None = Field(
        None, description="Source repository as 'owner/name'."
    )
    branch: Annotated[str, AfterValidator(_branch)] = Field("main", description="Branch whose pushes run the pipeline.")
    stages: tuple[str, ...] = Field(("dev", "prod"), min_length=1, description="Stages the pipeline deploys, in order.")
    approval_before: tuple[str, ...] = Field(
        ("prod",), description="Stages that wait for a manual approval before they deploy."
    )

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> PipelineConfig:
        if self.enabled:
            missing = [key for key in ("connection_arn", "repository") if getattr(self, key) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required when the pipeline is enabled")
        duplicates = sorted({stage for stage in self.stages if self.stages.count(stage) > 1})
        if duplicates:
            raise ValueError(f"stages must be unique; '{duplicates[0]}' is listed more than once")
        unknown = [stage for stage in self.approval_before if stage not in self.stages]
        if unknown:
            raise ValueError(
                f"approval_before names '{unknown[0]}', which the pipeline does not deploy; "
                f"expected one of: {', '.join(self.stages)}"
            )
        return self
