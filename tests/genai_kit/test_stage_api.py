"""What the API routes to, resolved from the stage without a synth."""

from __future__ import annotations

from genai_kit.cdk_context import cdk_json_context
from genai_kit.config.bedrock import BedrockModelConfig
from genai_kit.contracts.api_router import BedrockEmbeddingTarget, BedrockTarget, EndpointTarget
from genai_kit.stage import load_stage
from genai_kit.stage.api import bedrock_target, endpoint_targets


def test_each_endpoint_and_the_fine_tuned_one_by_alias_with_what_its_container_does() -> None:
    targets = endpoint_targets(load_stage({**cdk_json_context(), "stage": "dev"}))
    assert targets == {
        # TGI 0.3.0 takes OpenAI's chat schema and streams with usage (genai_kit.catalog.containers).
        "tinyllama": EndpointTarget(
            endpoint="genai-kit-dev-tinyllama",
            format="messages",
            family="tgi",
            streams=True,
            stream_usage=True,
            max_total_tokens=2048,
        ),
        # Approved versions are served by the JumpStart model's hosting image, LMI (djl-inference) 0.24: one
        # prompt, no stream.
        "finetuned": EndpointTarget(endpoint="genai-kit-dev-finetuned", format="prompt", family="lmi"),
    }


def test_no_fine_tuned_target_without_rollout() -> None:
    context = cdk_json_context()
    dev = {**context["stages"]["dev"], "training": {"rollout": {"enabled": False}}}
    stage = load_stage({**context, "stages": {"dev": dev}, "stage": "dev"})
    assert "finetuned" not in endpoint_targets(stage)


def test_bedrock_targets_carry_the_invoke_id_and_the_models_settings() -> None:
    chat = BedrockModelConfig(alias="c", id="us.amazon.nova-lite-v1:0", max_output_tokens=100)
    embedding = BedrockModelConfig(alias="e", id="amazon.titan-embed-text-v2:0", kind="embedding")
    assert bedrock_target(chat, "arn:profile") == BedrockTarget(model="arn:profile", max_output_tokens=100)
    assert bedrock_target(embedding, "amazon.titan-embed-text-v2:0") == BedrockEmbeddingTarget(
        model="amazon.titan-embed-text-v2:0", family="titan-v2"
    )
