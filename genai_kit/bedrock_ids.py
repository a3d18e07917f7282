"""Amazon Bedrock model ids: their forms, the geographies of system inference profiles, the embedding families.

Forms (Amazon Bedrock user guide, "Supported Regions and models for inference profiles", and the service
authorization reference's ARN formats): a foundation model id ``<provider>.<model>[:<version>[:<variant>]]``,
a system (cross-region) inference profile id ``<geography>.<foundation model id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# A foundation model id is <provider>.<model>[:<version>[:<variant>]], e.g. amazon.nova-lite-v1:0; AWS's own
# pattern for foundation-model ARNs (AWS::Bedrock::ApplicationInferenceProfile.Models.ModelArn) allows these parts.
_FOUNDATION_MODEL_RE = re.compile(r"^[a-z0-9-]{1,63}\.[a-z0-9-]{1,63}(:[a-z0-9-]{1,63}){0,2}$")

# System (cross-region) inference profile ids are <geography>.<foundation model id>. Each geography says which
# source regions may call the profile: a profile exists only in the regions of its own geography.
_COMMERCIAL_EXCLUDED = ("us-gov-", "cn-", "us-iso", "eu-isoe-", "eusc-")
GEOGRAPHY_SOURCE_REGIONS: dict[str, str] = {
    "us": "a US commercial region (us-*)",
    "us-gov": "an AWS GovCloud (US) region (us-gov-*)",
    "eu": "a European region (eu-*)",
    "apac": "an Asia Pacific region (ap-*)",
    "jp": "a region in Japan (ap-northeast-*)",
    "au": "a region in Australia (ap-southeast-*)",
    "global": "a commercial region (not GovCloud, China or ISO)",
}


@dataclass(frozen=True)
class ModelRef:
    """What a configured model id names: a foundation model, or a system inference profile over one."""

    id: str
    foundation_model_id: str
    geography: str | None

    @property
    def is_profile(self) -> bool:
        return self.geography is not None


def parse_model_id(value: str) -> ModelRef:
    """Split ``[<geography>.]<provider>.<model>[:<version>]`` into its parts.

    Raises
    ------
    ValueError
        Naming the id and the expected form, e.g. for ``nova-lite`` or ``xx.amazon.nova-lite-v1:0``.
    """
    parts = value.split(".", 1)
    if value.count(".") >= 2:
        geography, foundation_model_id = parts
        if geography not in GEOGRAPHY_SOURCE_REGIONS:
            raise ValueError(
                f"got '{value}'; '{geography}' is not an inference profile geography; "
                f"valid prefixes are: {', '.join(sorted(GEOGRAPHY_SOURCE_REGIONS))}"
            )
        if not _FOUNDATION_MODEL_RE.match(foundation_model_id):
            raise ValueError(f"got '{value}'; {_EXPECTED_MODEL_ID}")
        return ModelRef(id=value, foundation_model_id=foundation_model_id, geography=geography)
    if not _FOUNDATION_MODEL_RE.match(value) or parts[0] in GEOGRAPHY_SOURCE_REGIONS:
        raise ValueError(f"got '{value}'; {_EXPECTED_MODEL_ID}")
    return ModelRef(id=value, foundation_model_id=value, geography=None)


_EXPECTED_MODEL_ID = (
    "expected a foundation model id <provider>.<model>[:<version>] such as amazon.nova-lite-v1:0, "
    "or a system inference profile id <geography>.<provider>.<model>[:<version>] such as us.amazon.nova-lite-v1:0"
)


def source_region_allowed(geography: str, region: str) -> bool:
    """Whether a system inference profile of ``geography`` can be called from ``region``."""
    if geography == "us-gov":
        return region.startswith("us-gov-")
    if region.startswith(_COMMERCIAL_EXCLUDED):
        return False
    prefix = {"global": "", "us": "us-", "eu": "eu-", "apac": "ap-", "jp": "ap-northeast-", "au": "ap-southeast-"}
    return region.startswith(prefix[geography])


def default_geography(region: str) -> str | None:
    """The geography whose Amazon Nova profile the default model uses in ``region``, if there is one."""
    for geography in ("us", "eu", "apac"):
        if source_region_allowed(geography, region):
            return geography
    return None


# The embedding models the API's /v1/embeddings speaks to, by foundation model id, with their request format
# (Bedrock user guide: "Amazon Titan Embeddings Text", "Cohere Embed v3", "Cohere Embed v4").
EMBEDDING_FAMILIES: dict[str, Literal["titan-v2", "cohere-v3", "cohere-v4"]] = {
    "amazon.titan-embed-text-v2:0": "titan-v2",
    "cohere.embed-english-v3": "cohere-v3",
    "cohere.embed-multilingual-v3": "cohere-v3",
    "cohere.embed-v4:0": "cohere-v4",
}

# The image models the API's /v1/images/generations speaks to, by foundation model id, with their request format:
# Amazon Nova Canvas's TEXT_IMAGE task (Amazon Nova user guide, "Request and response structure for image
# generation", https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html), and Stability
# AI's Stable Image Core 1.1 (Bedrock user guide, "Stable Image Core request and response",
# https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html;
# the model id as AWS's code library invokes it in us-west-2). A family is listed only once its request schema and
# limits are checked against AWS's documentation.
ImageFamilyName = Literal["nova-canvas", "stable-image-core"]
IMAGE_FAMILIES: dict[str, ImageFamilyName] = {
    "amazon.nova-canvas-v1:0": "nova-canvas",
    "stability.stable-image-core-v1:1": "stable-image-core",
}
