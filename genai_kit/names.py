"""Every physical name the kit gives: stage ids, stack names and the names of the resources of a stage.

The stacks, the constructs and the ops CLI import this module alone (no ``aws_cdk``), so a name is spelled once:
the CLI finds the stacks the app synthesizes and operators find each resource by the name in the README.
Names that SageMaker, API Gateway or CloudWatch show are fixed (not generated) so that clients, alarms and
runbooks can name a resource before it exists.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Stage names become part of stack names and physical resource names: short and DNS-safe.
STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
STACK_PREFIX = "GenAiKit"
PIPELINE_STACK_NAME = f"{STACK_PREFIX}-Pipeline"
RESOURCE_PREFIX = "genai-kit"
# Cost allocation and ownership: every resource of a stage carries it (activate it as a cost allocation tag).
STAGE_TAG = f"{RESOURCE_PREFIX}:stage"
# The short name of the endpoint approved fine-tuned versions roll out to, and its model alias in the API.
FINETUNED = "finetuned"
# Construct ids of the stage's stacks: the stack names are GenAiKit-<stage>-<id>.
FOUNDATION, BEDROCK, INFERENCE, TRAINING, API, MONITORING = (
    "Foundation",
    "Bedrock",
    "Inference",
    "Training",
    "Api",
    "Monitoring",
)


@dataclass(frozen=True)
class StageNames:
    """The names of one stage's stacks and resources, e.g. for stage ``dev``: stacks ``GenAiKit-dev-<Stack>``,
    resources ``genai-kit-dev-<name>``."""

    stage: str

    @property
    def stage_id(self) -> str:
        """Construct id of the CDK Stage and the prefix of its stack names: ``GenAiKit-dev``."""
        return f"{STACK_PREFIX}-{self.stage}"

    @property
    def stack_prefix(self) -> str:
        """What every stack name of the stage starts with: ``GenAiKit-dev-``."""
        return f"{self.stage_id}-"

    def stack_name(self, stack: str) -> str:
        """The deployed name of the stack with construct id ``stack``: ``GenAiKit-dev-Foundation``."""
        return f"{self.stack_prefix}{stack}"

    @property
    def prefix(self) -> str:
        """What the stage's resource names start with: ``genai-kit-dev``. The REST API, its usage plan, the
        guardrail, the dashboard and the CI/CD pipeline carry it alone."""
        return f"{RESOURCE_PREFIX}-{self.stage}"

    def resource(self, *parts: str) -> str:
        """A resource name of the stage: ``genai-kit-dev-<part>-<part>``."""
        return "-".join((self.prefix, *parts))

    def endpoint(self, name: str) -> str:
        """A SageMaker endpoint's name from its short name (the API's model alias): ``genai-kit-dev-<name>``."""
        return self.resource(name)

    @property
    def finetuned_endpoint(self) -> str:
        """The endpoint approved fine-tuned versions roll out to: ``genai-kit-dev-finetuned``."""
        return self.endpoint(FINETUNED)

    @property
    def model_package_group(self) -> str:
        """The Model Registry group of the fine-tuned versions: ``genai-kit-dev-finetuned``."""
        return self.resource(FINETUNED)

    @property
    def training_job_prefix(self) -> str:
        """What the names of the pipeline's training jobs, models and endpoint configs start with."""
        return self.resource("ft")

    @property
    def kms_alias(self) -> str:
        """The alias of the stage's KMS key: ``alias/genai-kit-dev``."""
        return f"alias/{self.prefix}"

    def bucket(self, purpose: str, *, account: str, region: str) -> str:
        """A bucket's name, unique per stage, account and region: ``genai-kit-dev-<purpose>-<account>-<region>``
        (``account`` and ``region`` may be CloudFormation pseudo parameters)."""
        return self.resource(purpose, account, region)

    @property
    def budget(self) -> str:
        """The stage's monthly AWS Budgets budget."""
        return self.resource("monthly")

    def inference_profile(self, alias: str, model_id: str) -> str:
        """An application inference profile's name. The name is create-only and unique in the account and region:
        a changed model id creates the new profile before deleting the old, so the name carries a digest of it."""
        return self.resource(alias, hashlib.sha256(model_id.encode()).hexdigest()[:8])
