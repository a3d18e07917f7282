"""The public Lambda layers the kit's functions use, pinned, and the regions they are published in.

- Powertools for AWS Lambda (Python) v3, version 27, the build for Python 3.13 on x86_64
  (aws-powertools/powertools-lambda-python docs/index.md, pull request #7757): Logger, Metrics, Tracer,
  with its extras (pydantic v2 among them), without boto3; account 017000801446.
- AWS Lambda Web Adapter 1.0.0-rc1, layer version 26, x86_64 (awslabs/aws-lambda-web-adapter README.md and
  docs/guide/src/getting-started/zip-packages.md at 2194417c51b117167092aceed58807bdc0f569a3); account
  753240598075.

Both accounts publish in the commercial regions (partition ``aws``); the configuration refuses any other
region, so these functions never name a layer that does not exist.
"""

from __future__ import annotations

POWERTOOLS_LAYER = "017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
WEB_ADAPTER_LAYER = "753240598075:layer:LambdaAdapterLayerX86:26"

_OTHER_PARTITIONS = ("cn-", "us-gov-", "us-iso-", "us-isob-", "us-isof-", "eu-isoe-")


def is_commercial_region(region: str) -> bool:
    """Whether ``region`` is in the commercial partition (not China, GovCloud or an isolated partition)."""
    return not region.startswith(_OTHER_PARTITIONS)


def powertools_layer_arn(region: str) -> str:
    """The Powertools layer's ARN in a commercial ``region``."""
    return f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER}"


def web_adapter_layer_arn(region: str) -> str:
    """The AWS Lambda Web Adapter layer's ARN in a commercial ``region``."""
    return f"arn:aws:lambda:{region}:{WEB_ADAPTER_LAYER}"
