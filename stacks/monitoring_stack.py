"""Monitoring stack: the stage's CloudWatch dashboard, the alarms that page a human, and a monthly cost budget.

The dashboard has a row per endpoint (from the inference stack; a text-to-image endpoint's also graphs the images
the API returned from it), per Bedrock model (token models with their
token counts; image models, called through InvokeModel, with the images the API generated instead), for the API,
the training pipeline and the training jobs, each only when the stage has it. Endpoint alarms live with each
endpoint (they also roll back a bad update); this stack adds alarms on Bedrock throttling and server errors, API
5XX responses and failed pipeline executions. All of them, and the budget, notify the foundation's alarm topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from genai_kit.config.operations import MonitoringAlarmsConfig, MonitoringConfig
from genai_kit.contracts.api_router import METRICS_NAMESPACE, SCHEDULED_UNAVAILABLE_METRIC, SERVICE_NAME
from genai_kit.names import StageNames
from stacks.constructs.bedrock_dashboard import bedrock_metric, bedrock_widgets
from stacks.constructs.neuron_endpoint import ENDPOINT_METRICS_NAMESPACE, VARIANT_NAME
from stacks.constructs.stage_budget import monthly_budget
from stacks.foundation_stack import FoundationStack
from stacks.inference_stack import InferenceStack

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
TRAINING_JOBS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
_FIVE_MINUTES = cdk.Duration.minutes(5)
_WIDTH = 24


class ApiMetricsSource(Protocol):
    """What the dashboard reads from the API: an API Gateway REST or HTTP API construct has all four."""

    def metric_count(self) -> cloudwatch.Metric: ...
    def metric_client_error(self) -> cloudwatch.Metric: ...
    def metric_server_error(self) -> cloudwatch.Metric: ...
    def metric_latency(self) -> cloudwatch.Metric: ...


class MonitoringStack(cdk.Stack):
    """Dashboard, paging alarms and budget of one stage; exposes ``dashboard`` and ``alarms``.

    ``bedrock_model_ids`` (token models: chat and embedding), ``bedrock_image_models`` (image model id -> the API
    aliases that serve it), ``api``, ``training_pipeline`` and ``training_job_prefix`` are optional: each adds its
    dashboard section (and alarms) once the stage has that part.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        monitoring: MonitoringConfig,
        foundation: FoundationStack,
        inference: InferenceStack | None,
        bedrock_model_ids: Sequence[str] = (),
        bedrock_image_models: Mapping[str, Sequence[str]] | None = None,
        api: ApiMetricsSource | None = None,
        api_router: lambda_.IFunction | None = None,
        training_pipeline: sfn.IStateMachine | None = None,
        training_job_prefix: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.stage = names.stage
        self.thresholds = monitoring.alarms
        self.alarm_action = cloudwatch_actions.SnsAction(foundation.alarm_topic)
        self.alarms: list[cloudwatch.Alarm] = []

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=names.prefix,
            default_interval=cdk.Duration.hours(3),
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# Generative AI kit: stage {names.stage}\n"
                "Alarms notify the stage's alarm topic. Endpoint latency is in microseconds; endpoint CPU and "
                "memory are percentages summed over the instance's vCPUs.",
                width=_WIDTH,
                height=2,
            )
        )
        for endpoint in inference.endpoints.values() if inference else ():
            # A text-to-image endpoint's alias: the router counts the images it returns (on a stage with the API).
            images_alias = endpoint.spec.name if endpoint.spec.images is not None and api is not None else None
            self._endpoint_row(endpoint.endpoint_name, images_alias=images_alias)
        for model_id in bedrock_model_ids:
            self._bedrock_row(model_id, self.thresholds)
        for model_id, aliases in (bedrock_image_models or {}).items():
            # The router counts the images it returns per alias only when the stage has the API.
            self._bedrock_row(model_id, self.thresholds, image_aliases=aliases if api is not None else ())
        if api is not None:
            scheduled = inference is not None and any(e.schedule is not None for e in inference.endpoints.values())
            self._api_row(api, self.thresholds, scheduled_endpoints=scheduled)
        if api_router is not None:
            self._router_capacity_row(api_router, self.thresholds)
        if training_pipeline is not None:
            self._pipeline_row(training_pipeline, self.thresholds)
        if training_job_prefix is not None:
            self._training_jobs_row(training_job_prefix)

        if monitoring.budget.enabled:
            monthly_budget(
                self, topic=foundation.alarm_topic, account=foundation.account, names=names, budget=monitoring.budget
            )

        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#dashboards:name={names.prefix}",
            description="CloudWatch dashboard of the stage",
        )

    def _endpoint_row(self, endpoint_name: str, *, images_alias: str | None = None) -> None:
        dimensions = {"EndpointName": endpoint_name, "VariantName": VARIANT_NAME}
        # The router's Images count of the alias, in its {service, model} dimension set, beside the invocations.
        images = [
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="Images",
                dimensions_map={"service": SERVICE_NAME, "model": alias},
                statistic="Sum",
                period=_FIVE_MINUTES,
                label=f"Images returned by the API ({alias})",
            )
            for alias in ([images_alias] if images_alias else [])
        ]

        def metric(
            name: str, statistic: str, namespace: str = SAGEMAKER_NAMESPACE, label: str | None = None
        ) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=_FIVE_MINUTES,
                label=label or f"{name} ({statistic})",
            )

        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown=f"## Endpoint {endpoint_name}", width=_WIDTH, height=1),
            cloudwatch.GraphWidget(
                title="Invocations and errors",
                left=[metric("Invocations", "Sum"), *images],
                right=[metric("Invocation4XXErrors", "Sum"), metric("Invocation5XXErrors", "Sum")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Model latency (microseconds)",
                left=[metric("ModelLatency", percentile) for percentile in ("p50", "p90", "p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Instances",
                # Each in-service instance reports CPUUtilization once a minute: the sample count is the fleet size.
                left=[
                    cloudwatch.Metric(
                        namespace=ENDPOINT_METRICS_NAMESPACE,
                        metric_name="CPUUtilization",
                        dimensions_map=dimensions,
                        statistic="SampleCount",
                        period=cdk.Duration.minutes(1),
                        label="Instances reporting",
                    )
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="CPU and memory utilization (%)",
                left=[
                    metric("CPUUtilization", "Average", ENDPOINT_METRICS_NAMESPACE),
                    metric("MemoryUtilization", "Average", ENDPOINT_METRICS_NAMESPACE),
                ],
                width=6,
            ),
        )

    def _bedrock_row(
        self, model_id: str, thresholds: MonitoringAlarmsConfig, *, image_aliases: Sequence[str] | None = None
    ) -> None:
        """A Bedrock model's row (``stacks.constructs.bedrock_dashboard``) and its throttle and server-error alarms."""
        self.dashboard.add_widgets(*bedrock_widgets(model_id, image_aliases=image_aliases, width=_WIDTH))
        self._alarm(
            f"Bedrock{_pascal(model_id)}Throttles",
            bedrock_metric(model_id, "InvocationThrottles", labelled=False),
            thresholds.bedrock_throttles,
            f"Bedrock {model_id}: {thresholds.bedrock_throttles} or more throttled invocations in 5 minutes "
            "(raise the on-demand quota, or use a cross-region inference profile).",
        )
        self._alarm(
            f"Bedrock{_pascal(model_id)}ServerErrors",
            bedrock_metric(model_id, "InvocationServerErrors", labelled=False),
            thresholds.bedrock_server_errors,
            f"Bedrock {model_id}: {thresholds.bedrock_server_errors} or more server errors in 5 minutes.",
        )

    def _api_row(self, api: ApiMetricsSource, thresholds: MonitoringAlarmsConfig, *, scheduled_endpoints: bool) -> None:
        server_errors = api.metric_server_error().with_(statistic="Sum", period=_FIVE_MINUTES)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown="## API", width=_WIDTH, height=1),
            cloudwatch.GraphWidget(
                title="Requests", left=[api.metric_count().with_(statistic="Sum", period=_FIVE_MINUTES)], width=8
            ),
            cloudwatch.GraphWidget(
                title="4XX and 5XX",
                left=[api.metric_client_error().with_(statistic="Sum", period=_FIVE_MINUTES), server_errors],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Latency (ms)",
                left=[api.metric_latency().with_(statistic=p, period=_FIVE_MINUTES, label=p) for p in ("p50", "p90")],
                width=8,
            ),
        )

        # The router's own metrics (API totals: the {service} dimension set; see genai_kit.contracts.api_router).
        def router(name: str, statistic: str, label: str | None = None) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE_NAME},
                statistic=statistic,
                period=_FIVE_MINUTES,
                label=label,
            )

        stream_errors = router("StreamErrors", "Sum")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Time to first token (ms)",
                left=[router("TimeToFirstToken", p, p) for p in ("p50", "p90")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Model errors and failed streams",
                left=[
                    router("ModelErrors", "Sum", "Model errors"),
                    router("StreamErrors", "Sum", "Stream errors"),
                    # Only with a scheduled endpoint, so a stage without one keeps its dashboard as it is.
                    *(
                        [router(SCHEDULED_UNAVAILABLE_METRIC, "Sum", "Scheduled endpoint stopped or starting")]
                        if scheduled_endpoints
                        else []
                    ),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Tokens",
                left=[router("InputTokens", "Sum", "Input"), router("OutputTokens", "Sum", "Output")],
                width=8,
            ),
        )
        api_errors: cloudwatch.IMetric = server_errors
        if scheduled_endpoints:
            # The router's 503s for a scheduled endpoint that is stopped or starting are the schedule working: the
            # alarm counts API Gateway's 5XX less those (missing points count as none, as the alarm treats them).
            api_errors = cloudwatch.MathExpression(
                expression="FILL(errors, 0) - FILL(stopped, 0)",
                using_metrics={"errors": server_errors, "stopped": router(SCHEDULED_UNAVAILABLE_METRIC, "Sum")},
                label="5XX responses, less the scheduled endpoints' stopped and starting 503s",
                period=_FIVE_MINUTES,
            )
        self._alarm(
            "Api5xxAlarm",
            api_errors,
            thresholds.api_5xx_errors,
            f"API: {thresholds.api_5xx_errors} or more 5XX responses in 5 minutes"
            + (
                ", not counting the 503s of scheduled endpoints while stopped or starting."
                if scheduled_endpoints
                else "."
            ),
        )
        self._alarm(
            "ApiStreamErrorsAlarm",
            stream_errors,
            thresholds.api_stream_errors,
            f"API: {thresholds.api_stream_errors} or more streamed answers failed after they began in 5 minutes.",
        )

    def _router_capacity_row(self, router: lambda_.IFunction, thresholds: MonitoringAlarmsConfig) -> None:
        """The router's concurrency against its reservation, and the requests Lambda refused beyond it."""
        throttles = router.metric_throttles(period=_FIVE_MINUTES, statistic="Sum")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Router concurrency (max) and throttled requests",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/Lambda",
                        metric_name="ConcurrentExecutions",
                        dimensions_map={"FunctionName": router.function_name},
                        statistic="Maximum",
                        period=_FIVE_MINUTES,
                        label="Concurrent executions",
                    )
                ],
                right=[throttles.with_(label="Throttles")],
                width=_WIDTH,
            )
        )
        self._alarm(
            "ApiRouterThrottlesAlarm",
            throttles,
            thresholds.api_router_throttles,
            f"API: {thresholds.api_router_throttles} or more requests refused in 5 minutes because the router was at "
            "its reserved concurrency (clients got a retryable 503); raise api.reserved_concurrency if this persists.",
        )

    def _pipeline_row(self, state_machine: sfn.IStateMachine, thresholds: MonitoringAlarmsConfig) -> None:
        failed = state_machine.metric_failed(period=_FIVE_MINUTES, statistic="Sum")
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown="## Training pipeline", width=_WIDTH, height=1),
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=_FIVE_MINUTES, statistic="Sum", label="Started"),
                    state_machine.metric_succeeded(period=_FIVE_MINUTES, statistic="Sum", label="Succeeded"),
                    failed.with_(label="Failed"),
                    state_machine.metric_timed_out(period=_FIVE_MINUTES, statistic="Sum", label="Timed out"),
                ],
                width=_WIDTH,
            ),
        )
        self._alarm(
            "PipelineFailedAlarm",
            failed,
            thresholds.pipeline_failed_executions,
            f"Training pipeline: {thresholds.pipeline_failed_executions} or more failed executions in 5 minutes.",
        )

    def _training_jobs_row(self, job_prefix: str) -> None:
        def search(metric_name: str) -> cloudwatch.MathExpression:
            # Training hosts are named <job name>/algo-<n>; SEARCH finds every job of this stage by name.
            return cloudwatch.MathExpression(
                expression=f'SEARCH(\'{{{TRAINING_JOBS_NAMESPACE},Host}} MetricName="{metric_name}" '
                f"{job_prefix}', 'Average', 300)",
                using_metrics={},
                label=metric_name,
                period=_FIVE_MINUTES,
            )

        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown=f"## Training jobs ({job_prefix}*)", width=_WIDTH, height=1),
            *(
                cloudwatch.GraphWidget(title=f"{name} by host (%)", left=[search(name)], width=8)
                for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
            ),
        )

    def _alarm(self, alarm_id: str, metric: cloudwatch.IMetric, threshold: int, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)
        alarm.add_ok_action(self.alarm_action)
        self.alarms.append(alarm)


def _pascal(value: str) -> str:
    """``us.amazon.nova-lite-v1:0`` -> ``UsAmazonNovaLiteV10``: a construct id from a model id."""
    return "".join(part.capitalize() for part in value.replace(".", "-").replace(":", "-").split("-") if part)
