"""What the API routes to: each model alias resolved to the router's target (``genai_kit.contracts.api_router``).

Endpoint targets come from the resolved endpoints and, when approved fine-tuned versions roll out, the fine-tuned
endpoint; Bedrock targets need the id to invoke, which the Bedrock stack knows (an inference profile's ARN is a
deploy-time value), so they are built from it.
"""

from __future__ import annotations

from genai_kit.catalog import CatalogError
from genai_kit.catalog.containers import ContainerContract, contract_for_image
from genai_kit.config.bedrock import BedrockModelConfig
from genai_kit.contracts.api_router import (
    BedrockEmbeddingTarget,
    BedrockImageTarget,
    BedrockTarget,
    EndpointImageTarget,
    EndpointTarget,
)
from genai_kit.contracts.schedule import EndpointSchedule
from genai_kit.names import FINETUNED
from genai_kit.stage.hf_training import ResolvedHfTraining
from genai_kit.stage.loader import ResolvedStage
from genai_kit.stage.training import ResolvedTraining


def endpoint_target(
    endpoint_name: str,
    container: ContainerContract | None,
    *,
    max_total_tokens: int | None = None,
    schedule: EndpointSchedule | None = None,
) -> EndpointTarget:
    """The router's target for an endpoint: its name and what its container takes and streams (``container``
    None: facts unknown, so one prompt and no stream); ``schedule``: when it runs, if it is scheduled."""
    chat = container is not None and container.chat_on_invocations
    return EndpointTarget(
        endpoint=endpoint_name,
        format="messages" if chat else "prompt",
        family=container.family if container is not None else None,
        streams=container is not None and container.streams,
        stream_usage=container is not None and container.stream_usage,
        max_total_tokens=max_total_tokens,
        schedule=_schedule(schedule),
    )


def _schedule(schedule: EndpointSchedule | None) -> EndpointSchedule | None:
    """The contract's own model (the configuration's subclass adds only how cdk.json is checked)."""
    return EndpointSchedule.model_validate(schedule.model_dump()) if schedule is not None else None


def endpoint_targets(stage: ResolvedStage) -> dict[str, EndpointTarget | EndpointImageTarget]:
    """The router's endpoint targets by alias: each configured endpoint under its short name (a text-to-image
    model's as an image target, which only the images route serves), and the fine-tuned endpoint under
    ``finetuned`` when training rolls approved versions out (served by the JumpStart model's hosting image, or the
    Hugging Face kind's serving container)."""
    targets: dict[str, EndpointTarget | EndpointImageTarget] = {}
    for endpoint in stage.endpoints:
        if endpoint.images is not None:
            targets[endpoint.name] = EndpointImageTarget(
                endpoint=endpoint.endpoint_name,
                family="jumpstart-txt2img",
                sizes=endpoint.images.sizes,
                max_images=endpoint.images.max_images,
                schedule=_schedule(endpoint.config.schedule),
            )
        else:
            targets[endpoint.name] = endpoint_target(
                endpoint.endpoint_name,
                endpoint.container,
                max_total_tokens=endpoint.config.serving.max_sequence_length,
                schedule=endpoint.config.schedule,
            )
    training = stage.training
    if isinstance(training, ResolvedHfTraining) and training.config.rollout.enabled:
        targets[FINETUNED] = endpoint_target(
            stage.names.finetuned_endpoint,
            training.serving.container,
            max_total_tokens=training.serving.settings.max_sequence_length,
        )
    elif isinstance(training, ResolvedTraining) and training.config.rollout.enabled:
        try:
            container: ContainerContract | None = contract_for_image(training.hosting.image_uri)
        except CatalogError:
            container = None
        targets[FINETUNED] = endpoint_target(stage.names.finetuned_endpoint, container)
    return targets


def bedrock_target(
    model: BedrockModelConfig, invoke_id: str
) -> BedrockTarget | BedrockEmbeddingTarget | BedrockImageTarget:
    """The router's target for a Bedrock model: ``invoke_id`` (what it calls the model by) and what the model's
    configuration says."""
    family = model.embedding_family
    if family is not None:
        return BedrockEmbeddingTarget(model=invoke_id, family=family)
    image_family = model.image_family
    if image_family is not None:
        return BedrockImageTarget(model=invoke_id, family=image_family)
    return BedrockTarget(
        model=invoke_id,
        max_output_tokens=model.max_output_tokens,
        structured_output=model.structured_output,
        reasoning=model.reasoning,
    )
