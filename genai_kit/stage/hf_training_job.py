"""What a CreateTrainingJob request of the kit's Hugging Face training script carries, fixed at synth.

``hf_training_settings`` gives the parts that depend on the script, its configuration and the stage's region (the
image, the script's and the training toolkit's hyperparameters, the fixed ``Environment``, the ``MetricDefinitions``,
the ranges an execution's overrides are checked against) as the ``HfTrainingSettings`` the Prepare function reads
from its settings file. That function completes the request per execution (``lambdas/training_prepare/
hf_training_job.py``): the source archive's S3 URI, the compile cache, the EFA variables of a multi-node job,
names, channels, output and stopping conditions. Plain Python: no AWS call, no SageMaker SDK.

Facts it encodes, with their sources:

- HyperParameters values are strings; like the SageMaker SDK (``EstimatorBase._json_encode_hyperparameters``), each
  is JSON-encoded, and the training toolkit JSON-decodes them back before passing ``--name value`` to the script
  (aws/sagemaker-training-toolkit ``environment.read_hyperparameters``, ``mapping.to_cmd_args``).
- ``sagemaker_program`` / ``sagemaker_submit_directory`` name the entry point and its source archive (the SDK's
  ``Framework._script_mode_hyperparam_update``); ``sagemaker_torch_distributed_enabled`` selects torchrun with one
  process per NeuronCore (aws/sagemaker-pytorch-training-toolkit ``training.py``, sagemaker-training-toolkit
  ``torch_distributed.py``).
- EFA: every multi-node job gets ``genai_kit.contracts.training_prepare.EFA_ENVIRONMENT`` (sources there).
- ``NEURON_COMPILE_CACHE_URL`` moves the Neuron compile cache to S3 (aws-neuron-sdk neuron-caching.rst). The job
  therefore runs without network isolation, which the hub download and the Secrets Manager read need as well.
"""

from __future__ import annotations

import json
from pathlib import Path

from genai_kit.catalog import resolve_training_image
from genai_kit.config.hf_training import (
    HfTrainingConfig,
    HfTrainingHyperparameters,
    hyperparameter_specs,
    metric_definitions,
)
from genai_kit.contracts.training_prepare import HfTrainingSettings

TRAINING_SCRIPT_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "training"
ENTRY_POINT = "train.py"
# The variable the script reads the token secret's ARN from (model_artifacts/training/kit_training/args.py).
HF_TOKEN_SECRET_ENV = "HF_TOKEN_SECRET_ARN"  # noqa: S105 - a variable name; the token stays in Secrets Manager


def script_hyperparameters(config: HfTrainingConfig, values: HfTrainingHyperparameters) -> dict[str, str]:
    """The script's own hyperparameters as strings (``str()`` of each value, as the toolkit passes it back);
    ``lora_target_modules`` as the comma list the script parses; the model's ``model_id`` and ``revision`` (commit)
    when the configuration names a hub model."""
    raw: dict[str, object] = values.model_dump()
    raw["lora_target_modules"] = ",".join(values.lora_target_modules)
    if config.model_id is not None:
        raw["model_id"] = config.model_id
    if config.revision is not None:
        raw["revision"] = config.revision
    return {name: str(value) for name, value in sorted(raw.items())}


def container_hyperparameters(region: str) -> dict[str, str]:
    """The training toolkit's own hyperparameters as sent (JSON-encoded), as the SageMaker SDK sets them for a PyTorch
    script launched with torchrun; ``sagemaker_submit_directory`` is added per execution."""
    return {
        "sagemaker_program": json.dumps(ENTRY_POINT),
        "sagemaker_torch_distributed_enabled": "true",
        "sagemaker_region": json.dumps(region),
        "sagemaker_container_log_level": "20",
    }


def hf_training_settings(
    config: HfTrainingConfig, *, region: str, instance_types: dict[str, int]
) -> HfTrainingSettings:
    """What the Prepare function needs of ``config`` in ``region`` (``instance_types``: the Trainium types an
    execution may ask for, with their NeuronCores). Raises CatalogError for a region without the training image."""
    environment = {HF_TOKEN_SECRET_ENV: config.hf_token_secret_arn} if config.hf_token_secret_arn else {}
    return HfTrainingSettings(
        image_uri=resolve_training_image(region=region),
        hyperparameters=script_hyperparameters(config, config.hyperparameters),
        container_hyperparameters=container_hyperparameters(region),
        specs=hyperparameter_specs(),
        environment=environment,
        metric_definitions=tuple({"Name": name, "Regex": regex} for name, regex in metric_definitions()),
        instance_types=instance_types,
        model_s3_uri=config.model_s3_uri,
    )
