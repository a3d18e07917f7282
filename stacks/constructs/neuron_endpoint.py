"""A SageMaker real-time endpoint on Inferentia2: model, endpoint config, endpoint, role, scaling and alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from genai_kit.config.endpoints import AlarmThresholds
from genai_kit.stage.endpoints import ModelData, ResolvedEndpoint
from stacks.constructs.endpoint_lifecycle import EndpointLifecycle
from stacks.constructs.endpoint_scheduler import deployment_config
from stacks.constructs.nag import acknowledge_wildcards
from stacks.constructs.sagemaker_role import acknowledge_container_wildcards, container_statements

VARIANT_NAME = "AllTraffic"
# Namespace of the endpoint instance metrics (CPU, memory, disk) SageMaker publishes with the execution role.
ENDPOINT_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
# Name suffixes of an endpoint's alarms, when they get fixed names (see endpoint_alarms).
ALARM_SUFFIXES = ("invocation-5xx", "model-errors", "model-latency-p90")


def alarm_names(prefix: str) -> list[str]:
    """The fixed names :func:`endpoint_alarms` gives an endpoint's alarms with ``alarm_name_prefix=prefix``."""
    return [f"{prefix}-{suffix}" for suffix in ALARM_SUFFIXES]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/prefix`` -> (``bucket``, ``key/prefix``)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class NeuronEndpoint(Construct):
    """Everything one endpoint needs to start on Neuron, scale, page a human and update safely.

    Exposes ``endpoint_name``, ``endpoint_arn``, ``endpoint_config_name``, ``role``, the ``alarms`` that roll back a
    bad update and ``schedule`` (None: always on; otherwise ``deployment_config`` is its SageMaker DeploymentConfig).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: ResolvedEndpoint,
        encryption_key: kms.IKey,
        artifacts_bucket_name: str,
        data_capture_prefix: str,
        alarm_topic: sns.ITopic,
        lifecycle: EndpointLifecycle,
    ) -> None:
        """``lifecycle``: the stack's preparation jobs and autoscaling registration."""
        super().__init__(scope, construct_id)
        self.spec = endpoint
        self.endpoint_name = endpoint.endpoint_name
        capture_prefix = f"{data_capture_prefix}{endpoint.endpoint_name}/"

        model_data = endpoint.model_data
        if endpoint.preparation is not None:
            # The model reads the prepared prefix once the preparation succeeded (the URI resolves then); its role
            # reads that prefix only.
            model_data = ModelData(
                s3_uri=lifecycle.prepare(self, endpoint),
                s3_data_type="S3Prefix",
                compression="None",
                accept_eula=False,
                read_prefix=f"s3://{artifacts_bucket_name}/{endpoint.preparation.prefix}model/",
            )
        self.role = self._execution_role(endpoint, model_data, artifacts_bucket_name, capture_prefix, encryption_key)
        model = self._model(endpoint, model_data)
        # SageMaker checks the role's access when the endpoint starts: the policy must exist by then.
        model.node.add_dependency(self.role)

        endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=model.attr_model_name,
                    instance_type=endpoint.instance_type,
                    initial_instance_count=endpoint.config.autoscaling.min_instances,
                    initial_variant_weight=1,
                    model_data_download_timeout_in_seconds=endpoint.model_data_download_timeout,
                    container_startup_health_check_timeout_in_seconds=endpoint.container_startup_health_check_timeout,
                    volume_size_in_gb=endpoint.volume_size_gb,
                )
            ],
            kms_key_id=encryption_key.key_arn,
            data_capture_config=self._data_capture(endpoint, artifacts_bucket_name, capture_prefix, encryption_key),
        )

        self.alarms = endpoint_alarms(
            self, endpoint_name=endpoint.endpoint_name, thresholds=endpoint.config.alarms, topic=alarm_topic
        )
        self.endpoint_config_name = endpoint_config.attr_endpoint_config_name
        self.schedule = endpoint.config.schedule
        cfn_endpoint: Construct
        if self.schedule is None:
            cfn = self._endpoint(endpoint, self.endpoint_config_name)
            self.endpoint_arn = cfn.ref
            cfn_endpoint = cfn
        else:
            # Deleted and created by its schedule: not owned by CloudFormation (stacks/constructs/endpoint_scheduler).
            self.deployment_config = deployment_config(endpoint.config.blue_green, self.alarms)
            cfn_endpoint = lifecycle.scheduled_endpoint(
                self,
                endpoint_name=endpoint.endpoint_name,
                endpoint_config_name=self.endpoint_config_name,
                deployment_config=self.deployment_config,
                schedule=self.schedule,
            )
            # A SageMaker ARN holds the lower-case name, which the configuration's names already are.
            self.endpoint_arn = (
                f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:"
                f"endpoint/{endpoint.endpoint_name}"
            )
        scaling = endpoint.config.autoscaling
        before, after = lifecycle.scale(
            self,
            endpoint_name=endpoint.endpoint_name,
            variant_name=VARIANT_NAME,
            instance_type=endpoint.instance_type,
            scaling=scaling,
        )
        # before -> endpoint -> after: see lambdas/endpoint_lifecycle/handler.py (Scaling).
        cfn_endpoint.node.add_dependency(before)
        after.node.add_dependency(cfn_endpoint)

    def _model(self, endpoint: ResolvedEndpoint, model_data: ModelData | None) -> sagemaker.CfnModel:
        """The endpoint's model: one container (its image, environment and model data) run with ``self.role``."""
        model_data_url, model_data_source = _model_data(model_data)
        return sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=endpoint.image_uri,
                mode="SingleModel",
                environment=endpoint.environment or None,
                model_data_url=model_data_url,
                model_data_source=model_data_source,
            ),
            enable_network_isolation=endpoint.enable_network_isolation,
        )

    def _endpoint(self, endpoint: ResolvedEndpoint, config_name: str) -> sagemaker.CfnEndpoint:
        """The endpoint on ``config_name``: blue/green updates, all at once, rolled back by the endpoint's alarms."""
        blue_green = endpoint.config.blue_green
        return sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint.endpoint_name,
            endpoint_config_name=config_name,
            # UpdateEndpoint would otherwise reset the instance count autoscaling has set to the config's initial
            # count (UpdateEndpoint API reference, RetainAllVariantProperties).
            retain_all_variant_properties=True,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                        type="ALL_AT_ONCE", wait_interval_in_seconds=blue_green.wait_interval_seconds
                    ),
                    termination_wait_in_seconds=blue_green.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=blue_green.maximum_execution_timeout_seconds,
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in self.alarms]
                ),
            ),
        )

    def _execution_role(
        self,
        endpoint: ResolvedEndpoint,
        model_data: ModelData | None,
        artifacts_bucket_name: str,
        capture_prefix: str,
        encryption_key: kms.IKey,
    ) -> iam.Role:
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of endpoint {endpoint.endpoint_name}",
        )
        log_group = (
            f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:log-group:"
            f"{ENDPOINT_METRICS_NAMESPACE}/{endpoint.endpoint_name}"
        )
        statements = container_statements(
            image_uris=[endpoint.image_uri],
            log_group_arn=log_group,
            log_streams="*",
            metrics_namespace=ENDPOINT_METRICS_NAMESPACE,
        )
        capture_objects = f"arn:{cdk.Aws.PARTITION}:s3:::{artifacts_bucket_name}/{capture_prefix}*"
        statements.append(
            # Data capture is written with the execution role; SSE-KMS puts need a data key from the kit's key.
            iam.PolicyStatement(sid="WriteDataCapture", actions=["s3:PutObject"], resources=[capture_objects])
        )
        model_artifacts: list[str] = []
        if model_data is not None:
            read_statements = _read_model_data(model_data)
            statements += read_statements
            model_artifacts = [r for s in read_statements for r in s.resources if r.endswith("*")]
        for statement in statements:
            role.add_to_policy(statement)
        encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")

        policy = role.node.find_child("DefaultPolicy")
        acknowledge_container_wildcards(policy, metrics_namespace=ENDPOINT_METRICS_NAMESPACE)
        acknowledge_wildcards(
            policy,
            resources=[f"{log_group}:log-stream:*", capture_objects, *model_artifacts],
            reason="Object and log-stream names are created at run time under prefixes owned by this endpoint alone: "
            "its log group, its data-capture prefix and its model artifact prefix.",
        )
        return role

    def _data_capture(
        self, endpoint: ResolvedEndpoint, bucket_name: str, prefix: str, key: kms.IKey
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        capture = endpoint.config.data_capture
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=endpoint.data_capture_enabled,
            initial_sampling_percentage=capture.sampling_percentage,
            destination_s3_uri=f"s3://{bucket_name}/{prefix}",
            kms_key_id=key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            # Stored as readable JSON rather than base64.
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=["application/json"]
            ),
        )


def endpoint_alarms(
    scope: Construct,
    *,
    endpoint_name: str,
    thresholds: AlarmThresholds,
    topic: sns.ITopic,
    alarm_name_prefix: str | None = None,
) -> list[cloudwatch.Alarm]:
    """5XX, model error and p90 latency alarms of an endpoint's variant: they page the topic and roll back updates.

    The alarms need only the endpoint's name, so they can exist before the endpoint does. With
    ``alarm_name_prefix`` they get fixed names (``<prefix>-invocation-5xx``...), for code that names them.
    """
    dimensions = {"EndpointName": endpoint_name, "VariantName": VARIANT_NAME}
    five_minutes = cdk.Duration.minutes(5)

    def metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=five_minutes,
        )

    definitions = [
        ("Invocation5xxAlarm", "Invocation5XXErrors", "Sum", thresholds.invocation_5xx_errors, "5XX responses"),
        ("ModelErrorAlarm", "InvocationModelErrors", "Sum", thresholds.model_errors, "model invocation errors"),
        # ModelLatency is reported in microseconds.
        ("ModelLatencyAlarm", "ModelLatency", "p90", thresholds.model_latency_p90_ms * 1000, "p90 model latency"),
    ]
    alarms = []
    for (alarm_id, metric_name, statistic, threshold, what), suffix in zip(definitions, ALARM_SUFFIXES, strict=True):
        alarm = cloudwatch.Alarm(
            scope,
            alarm_id,
            alarm_name=f"{alarm_name_prefix}-{suffix}" if alarm_name_prefix else None,
            metric=metric(metric_name, statistic),
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{endpoint_name}: {what} at or above {threshold} over 5 minutes; "
            "also rolls back a blue/green update in progress.",
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))
        alarms.append(alarm)
    return alarms


def _model_data(
    model_data: ModelData | None,
) -> tuple[str | None, sagemaker.CfnModel.ModelDataSourceProperty | None]:
    """(ModelDataUrl, ModelDataSource): the URL for an ungated .tar.gz, the source for the rest (it has the EULA)."""
    if model_data is None:
        return None, None
    if model_data.compression == "Gzip" and not model_data.accept_eula:
        return model_data.s3_uri, None
    return None, (
        sagemaker.CfnModel.ModelDataSourceProperty(
            s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                s3_uri=model_data.s3_uri,
                s3_data_type=model_data.s3_data_type,
                compression_type=model_data.compression,
                model_access_config=(
                    sagemaker.CfnModel.ModelAccessConfigProperty(accept_eula=True) if model_data.accept_eula else None
                ),
            )
        )
    )


def _read_model_data(model_data: ModelData) -> list[iam.PolicyStatement]:
    """Read access to exactly the model's artifact: its prefix (listing included) or its one object."""
    bucket, key = split_s3_uri(model_data.read_prefix or model_data.s3_uri)
    bucket_arn = f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}"
    if model_data.s3_data_type == "S3Object":
        return [
            iam.PolicyStatement(sid="ReadModelArtifact", actions=["s3:GetObject"], resources=[f"{bucket_arn}/{key}"])
        ]
    return [
        iam.PolicyStatement(sid="ReadModelArtifacts", actions=["s3:GetObject"], resources=[f"{bucket_arn}/{key}*"]),
        iam.PolicyStatement(
            sid="ListModelArtifacts",
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{key}*"]}},
        ),
    ]
