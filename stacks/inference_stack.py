"""Inference stack: one SageMaker real-time endpoint on Inferentia2 per configured endpoint."""

from __future__ import annotations

import json

import aws_cdk as cdk
from constructs import Construct

from genai_kit.contracts.endpoint_scheduler import ScheduledEndpointSettings, VariantScaling
from genai_kit.contracts.schedule import EndpointSchedule
from genai_kit.names import StageNames
from genai_kit.stage.endpoints import ResolvedEndpoint
from stacks.constructs.endpoint_lifecycle import EndpointLifecycle
from stacks.constructs.endpoint_scheduler import EndpointScheduler
from stacks.constructs.neuron_endpoint import VARIANT_NAME, NeuronEndpoint
from stacks.foundation_stack import DATA_CAPTURE_PREFIX, FoundationStack

SAMPLE_PROMPT = "What is AWS Inferentia2?"


def sample_payload(endpoint: ResolvedEndpoint) -> dict[str, object]:
    """A request body the endpoint's container understands, for the invoke command in the outputs: the chat
    schema where the container takes it (as the API sends it), a text-to-image model's JumpStart request (as
    lambdas/api_router/backends/sagemaker_images.py sends it), else "inputs" with generation "parameters"."""
    if endpoint.images is not None:
        return {"prompt": SAMPLE_PROMPT, "num_images_per_prompt": 1}
    if endpoint.request_format == "messages":
        return {"messages": [{"role": "user", "content": SAMPLE_PROMPT}], "max_tokens": 64}
    return {"inputs": SAMPLE_PROMPT, "parameters": {"max_new_tokens": 64}}


def invoke_command(endpoint: ResolvedEndpoint, region: str) -> str:
    """The exact AWS CLI v2 line that calls the endpoint once and prints the answer."""
    body = json.dumps(sample_payload(endpoint), separators=(",", ":"))
    # A text-to-image model answers base64 JPEGs when asked (otherwise nested RGB arrays).
    accept = "--accept 'application/json;jpeg' " if endpoint.images is not None else ""
    return (
        f"aws sagemaker-runtime invoke-endpoint --region {region} --endpoint-name {endpoint.endpoint_name} "
        f"--content-type application/json {accept}--cli-binary-format raw-in-base64-out --body '{body}' /dev/stdout"
    )


def scheduled_settings(construct: NeuronEndpoint) -> ScheduledEndpointSettings:
    """What the scheduler needs to start a scheduled endpoint (``genai_kit.contracts.endpoint_scheduler``)."""
    if construct.schedule is None:
        raise ValueError(f"endpoint {construct.endpoint_name} has no schedule")
    scaling = construct.spec.config.autoscaling
    return ScheduledEndpointSettings(
        endpoint_config_name=construct.endpoint_config_name,
        deployment_config=construct.deployment_config,
        schedule=EndpointSchedule.model_validate(construct.schedule.model_dump()),
        scaling=VariantScaling(
            variant_name=VARIANT_NAME,
            min_capacity=scaling.min_instances,
            max_capacity=scaling.max_instances,
            target_value=scaling.target_invocations_per_instance,
            scale_in_cooldown=scaling.scale_in_cooldown_seconds,
            scale_out_cooldown=scaling.scale_out_cooldown_seconds,
            # The name the lifecycle's Scaling resources give the policy (stacks/constructs/endpoint_lifecycle.py).
            policy_name=f"{construct.endpoint_name}-invocations-per-instance",
        ),
    )


def _output_prefix(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


class InferenceStack(cdk.Stack):
    """The configured Inferentia2 endpoints; ``endpoints`` maps each endpoint's short name to its construct;
    ``scheduler`` starts and stops those with a schedule (None when none has one)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoints: tuple[ResolvedEndpoint, ...],
        foundation: FoundationStack,
        names: StageNames,
        tags: dict[str, str],
        **kwargs: object,
    ) -> None:
        """``tags``: the stage's resource tags, which the preparation jobs (created at deploy time) carry too."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.endpoints: dict[str, NeuronEndpoint] = {}
        self.lifecycle = EndpointLifecycle(
            self,
            "Lifecycle",
            stage=names.stage,
            artifacts_bucket_name=foundation.artifacts_bucket_name,
            encryption_key=foundation.key,
            removal_policy=foundation.removal_policy,
            tags=tags,
        )
        for endpoint in endpoints:
            construct = NeuronEndpoint(
                self,
                _output_prefix(endpoint.name),
                endpoint=endpoint,
                encryption_key=foundation.key,
                artifacts_bucket_name=foundation.artifacts_bucket_name,
                data_capture_prefix=DATA_CAPTURE_PREFIX,
                alarm_topic=foundation.alarm_topic,
                lifecycle=self.lifecycle,
            )
            self.endpoints[endpoint.name] = construct
            self._outputs(endpoint, construct)
        scheduled = {
            construct.endpoint_name: scheduled_settings(construct)
            for construct in self.endpoints.values()
            if construct.schedule is not None
        }
        self.scheduler = (
            EndpointScheduler(
                self,
                "Scheduler",
                stage=names.stage,
                endpoints=scheduled,
                encryption_key=foundation.key,
                topic=foundation.alarm_topic,
                tags=tags,
                removal_policy=foundation.removal_policy,
            )
            if scheduled
            else None
        )

    def _outputs(self, endpoint: ResolvedEndpoint, construct: NeuronEndpoint) -> None:
        scaling = endpoint.config.autoscaling
        values = {
            "EndpointName": (endpoint.endpoint_name, "SageMaker endpoint name"),
            "EndpointArn": (construct.endpoint_arn, "SageMaker endpoint ARN"),
            "Model": (endpoint.model_label, "Model served (id@version, Hugging Face id or S3 prefix)"),
            "Instances": (
                f"{endpoint.instance_type} x {scaling.min_instances}-{scaling.max_instances}",
                "Instance type and autoscaling range",
            ),
            "InvokeCommand": (invoke_command(endpoint, self.region), "Call the endpoint once with a sample payload"),
        }
        prefix = _output_prefix(endpoint.name)
        for suffix, (value, description) in values.items():
            output = cdk.CfnOutput(
                self, f"{prefix}{suffix}", value=value, description=f"{endpoint.name}: {description}"
            )
            output.override_logical_id(f"{prefix}{suffix}")
