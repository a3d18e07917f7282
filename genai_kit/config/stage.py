"""Configuration of one deployment stage (dev, prod, ...): every setting the kit reads, with its default.

Stages differ only in these values; no code branches on a stage's name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from genai_kit.config.api import ApiConfig
from genai_kit.config.base import StrictModel
from genai_kit.config.bedrock import BedrockConfig
from genai_kit.config.developer import AmazonQDeveloperConfig
from genai_kit.config.endpoints import EndpointConfig, HuggingFaceSource, ServingOptions
from genai_kit.config.operations import MonitoringConfig, PipelineConfig
from genai_kit.config.training import TrainingConfig
from genai_kit.lambda_layers import is_commercial_region
from genai_kit.names import FINETUNED

# Commercial, China, GovCloud and ISO partitions all follow <area>[-gov|-iso*]-<direction>-<n>.
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
# Deliberately simple: SNS validates the address itself and asks the recipient to confirm it.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY_RE = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")
_TAG_VALUE_RE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")


def _region(value: str) -> str:
    if not _REGION_RE.match(value):
        raise ValueError(f"got '{value}'; expected an AWS region code such as us-east-1 or eu-west-2")
    return value


def _account(value: str) -> str:
    if not _ACCOUNT_RE.match(value):
        raise ValueError(f"got '{value}'; expected a 12-digit AWS account id (as a string)")
    return value


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value):
        raise ValueError(f"got '{value}'; expected an e-mail address such as ops@example.com")
    return value


def _tags(value: dict[str, str]) -> dict[str, str]:
    for key, tag_value in value.items():
        if not _TAG_KEY_RE.match(key) or key.lower().startswith("aws:"):
            raise ValueError(
                f"tag key '{key}' is not valid; "
                "expected 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:"
            )
        if not _TAG_VALUE_RE.match(tag_value):
            raise ValueError(f"tag '{key}' has value '{tag_value}'; expected 0-256 letters, digits, spaces or _.:/=+-@")
    return value


Region = Annotated[str, AfterValidator(_region)]
AccountId = Annotated[str, AfterValidator(_account)]
Email = Annotated[str, AfterValidator(_email)]
Days = Annotated[int, Field(ge=1, le=36500)]


class StorageConfig(StrictModel):
    """Lifecycle of what the kit stores in its buckets."""

    noncurrent_version_expiration_days: Days = Field(
        90, description="Days a replaced or deleted object version is kept in the versioned buckets before expiry."
    )
    abort_incomplete_multipart_upload_days: Days = Field(
        7, description="Days after which unfinished multipart uploads are aborted (their parts cost storage)."
    )
    data_capture_expiration_days: Days = Field(
        90, description="Days endpoint data capture files are kept in the artifacts bucket."
    )
    access_logs_expiration_days: Days = Field(365, description="Days S3 server access logs are kept.")


# Cheap, ungated and able to chat: TinyLlama 1.1B (Apache-2.0) on one ml.inf2.xlarge, served by the
# Hugging Face TGI Neuron container from an export the preparation job compiles for the instance's two
# NeuronCores, at the revision pinned here.
DEFAULT_ENDPOINT = EndpointConfig(
    name="tinyllama",
    source=HuggingFaceSource(
        kind="huggingface",
        model_id="TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        revision="fe8a4ea1ffedaf415f4da2f062534de366a451e6",
        container="huggingface-llm-neuronx",
        container_version="0.3.0",
    ),
    instance_type="ml.inf2.xlarge",
    serving=ServingOptions(tensor_parallel_degree=2, max_sequence_length=2048, max_batch_size=4, dtype="bf16"),
)


class StageConfig(StrictModel):
    """Everything one stage deploys, keyed by the stage name under the ``stages`` context key."""

    region: Region = Field("us-east-1", description="AWS region the stage deploys to.")
    account: AccountId | None = Field(
        None,
        description="AWS account id; leave unset for an environment-agnostic synth (the CLI's credentials decide).",
    )
    removal_policy: Literal["destroy", "retain"] = Field(
        "retain",
        description="What `cdk destroy` does with the key, buckets and their objects: destroy (dev) or retain (prod).",
    )
    alarm_emails: tuple[Email, ...] = Field(
        (), description="E-mail addresses subscribed to the alarm and pipeline notification topic."
    )
    tags: Annotated[dict[str, str], AfterValidator(_tags)] = Field(
        default_factory=dict, description="Tags applied to every resource of the stage (cost allocation, ownership)."
    )
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Bucket lifecycle settings.")
    bedrock: BedrockConfig = Field(
        default_factory=BedrockConfig,
        description="Amazon Bedrock models, guardrail, invocation logging and cost attribution.",
    )
    endpoints: tuple[EndpointConfig, ...] = Field(
        default_factory=lambda: (DEFAULT_ENDPOINT,),
        description="Inferentia2 real-time endpoints (see 'Endpoints' below); default: one small ungated chat model.",
    )
    monitoring: MonitoringConfig = Field(
        default_factory=MonitoringConfig, description="Dashboard, paging alarms and monthly cost budget."
    )
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig, description="Opt-in CI/CD pipeline.")
    api: ApiConfig = Field(default_factory=ApiConfig, description="The OpenAI-compatible API.")
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="Fine-tuning pipeline on Trainium (see 'Fine-tuning' below)."
    )
    amazon_q_developer: AmazonQDeveloperConfig = Field(
        default_factory=AmazonQDeveloperConfig,
        description="Opt-in access to Amazon Q Developer for the team's developer roles (see 'Amazon Q Developer').",
    )

    @model_validator(mode="after")
    def _lambda_layers_published(self) -> StageConfig:
        enabled = [
            key for key, on in (("api.enabled", self.api.enabled), ("training.enabled", self.training.enabled)) if on
        ]
        if enabled and not is_commercial_region(self.region):
            raise ValueError(
                f"region '{self.region}' is outside the commercial AWS partition, where the Lambda layers the kit "
                f"pins (Powertools, Lambda Web Adapter) are published; set {' and '.join(enabled)} to false to "
                "deploy this stage there"
            )
        return self

    @model_validator(mode="after")
    def _unique_endpoint_names(self) -> StageConfig:
        names = [endpoint.name for endpoint in self.endpoints]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique; '{duplicates[0]}' is used more than once")
        if self.training.enabled and self.training.rollout.enabled and FINETUNED in names:
            raise ValueError(
                f"endpoint name '{FINETUNED}' is taken by the fine-tuned model's endpoint "
                "(training.rollout); choose another name"
            )
        return self
