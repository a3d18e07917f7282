"""What the parts of the fine-tuning pipeline agree on: where its data lives, its steps and where each writes its
result, the namespace its functions publish metrics to, and the ARNs of what it creates at run time.

Shared by the training role (``training_role``), the pipeline's functions (``training_functions``), the state
machine's definition (``training_states``), the stack's outputs and the rollout of approved versions.
"""

from __future__ import annotations

import aws_cdk as cdk

# Prefixes of the datasets bucket (what executions train on) and of the artifacts bucket (what the jobs write).
DATASETS_PREFIX = "fine-tuning/"
OUTPUT_PREFIX = "training/output/"
CHECKPOINT_PREFIX = "training/checkpoints/"
COMPILE_CACHE_PREFIX = "training/neuron-compile-cache/"
EVALUATION_PREFIX = "training/evaluation/"

# The steps in order, each with the key its result is written under: DescribeFailure finds the failed step as the
# first whose result is missing.
STEPS = (
    ("CheckInput", "checked"),
    ("Prepare", "prepared"),
    ("ValidateDataset", "dataset"),
    ("Train", "training"),
    ("Evaluate", "evaluation"),
    ("Register", "registered"),
)
RESULT_KEYS = dict(STEPS)
TRAIN_STEP = "Train"

# The Powertools metrics namespace of the fine-tuning functions (and of the rollout of approved versions).
METRICS_NAMESPACE = "GenAiKit/FineTuning"


def bucket_arn(bucket_name: str) -> str:
    """ARN of an S3 bucket by name (``arn:<partition>:s3:::<bucket>``); append ``/<key pattern>`` for objects."""
    return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name}"


def training_job_arn(job_prefix: str) -> str:
    """ARN pattern of every training job the pipeline starts: ``...:training-job/<job_prefix>-*`` in the stack's
    region and account (SageMaker's ARN format, "Actions, resources, and condition keys for Amazon SageMaker AI",
    Service Authorization Reference)."""
    return f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:training-job/{job_prefix}-*"


def model_package_arns(group: str) -> list[str]:
    """ARNs of the model package group ``group`` and of every version in it (SageMaker numbers the versions):
    ``...:model-package-group/<group>`` and ``...:model-package/<group>/*`` in the stack's region and account
    (SageMaker's ARN formats, Service Authorization Reference)."""
    prefix = f"arn:{cdk.Aws.PARTITION}:sagemaker:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}"
    return [f"{prefix}:model-package-group/{group}", f"{prefix}:model-package/{group}/*"]
