"""What a CreateTrainingJob request of the kit's Hugging Face training script carries, from its configuration.

``training_job_settings`` gives the parts that depend on the script, its hyperparameters and the stage's region: the
image, the ``HyperParameters`` map, the ``Environment`` and the ``MetricDefinitions``; the caller adds names, roles,
channels, output, checkpoints and stopping conditions. Plain Python: no AWS call, no SageMaker SDK. Resolved at
synth (the image is per region), with an execution's checked hyperparameters
(``genai_kit.config.hf_training.check_hyperparameter_overrides``) passed in when it starts.

Facts it encodes, with their sources:

- HyperParameters values are strings; like the SageMaker SDK (``EstimatorBase._json_encode_hyperparameters``), each
  is JSON-encoded, and the training toolkit JSON-decodes them back before passing ``--name value`` to the script
  (aws/sagemaker-training-toolkit ``environment.read_hyperparameters``, ``mapping.to_cmd_args``).
- ``sagemaker_program`` / ``sagemaker_submit_directory`` name the entry point and its source archive (the SDK's
  ``Framework._script_mode_hyperparam_update``); ``sagemaker_torch_distributed_enabled`` selects torchrun with one
  process per NeuronCore (aws/sagemaker-pytorch-training-toolkit ``training.py``, sagemaker-training-toolkit
  ``torch_distributed.py``).
- EFA: the toolkit sets ``FI_PROVIDER=efa``, ``FI_EFA_USE_DEVICE_RDMA=1``, ``RDMAV_FORK_SAFE=1`` only for
  ml.trn1.32xlarge (``SM_EFA_NCCL_INSTANCES`` / ``SM_EFA_RDMA_INSTANCES`` in its ``__init__.py``), not for
  ml.trn1n.32xlarge; the Neuron multi-node guide adds ``FI_EFA_FORK_SAFE=1`` (aws-neuron-sdk
  setup-trn1-multi-node-execution.rst). The kit sets all four for every multi-node job.
- ``NEURON_COMPILE_CACHE_URL`` moves the Neuron compile cache to S3 (aws-neuron-sdk neuron-caching.rst). The job
  therefore runs without network isolation, which the hub download and the Secrets Manager read need as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from genai_kit.catalog import resolve_training_image
from genai_kit.config.hf_training import HfTrainingConfig, HfTrainingHyperparameters

TRAINING_SCRIPT_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "training"
ENTRY_POINT = "train.py"
METRIC_DEFINITIONS_FILE = TRAINING_SCRIPT_DIR / "metric_definitions.json"
EFA_ENVIRONMENT = {"FI_EFA_FORK_SAFE": "1", "FI_EFA_USE_DEVICE_RDMA": "1", "FI_PROVIDER": "efa", "RDMAV_FORK_SAFE": "1"}
# The variable the script reads the token secret's ARN from (model_artifacts/training/kit_training/args.py).
HF_TOKEN_SECRET_ENV = "HF_TOKEN_SECRET_ARN"  # noqa: S105 - a variable name; the token stays in Secrets Manager
# The channel that carries S3 model weights (SM_CHANNEL_MODEL in the script).
MODEL_CHANNEL = "model"


@dataclass(frozen=True)
class HfTrainingJobSettings:
    """The script-dependent parts of a CreateTrainingJob request (API member names in the field docs)."""

    image_uri: str
    """AlgorithmSpecification.TrainingImage"""
    hyper_parameters: dict[str, str]
    """HyperParameters"""
    environment: dict[str, str]
    """Environment"""
    metric_definitions: list[dict[str, str]]
    """AlgorithmSpecification.MetricDefinitions"""


def script_hyperparameters(config: HfTrainingConfig, values: HfTrainingHyperparameters) -> dict[str, str]:
    """The script's own hyperparameters, JSON-encoded; ``lora_target_modules`` as the comma list it parses; the
    model's ``model_id`` and ``revision`` (commit) when the configuration names a hub model."""
    raw: dict[str, object] = values.model_dump()
    raw["lora_target_modules"] = ",".join(values.lora_target_modules)
    if config.model_id is not None:
        raw["model_id"] = config.model_id
    if config.revision is not None:
        raw["revision"] = config.revision
    return {name: json.dumps(value) for name, value in sorted(raw.items())}


def training_job_settings(
    config: HfTrainingConfig,
    *,
    region: str,
    source_archive_uri: str,
    compile_cache_uri: str,
    hyperparameters: HfTrainingHyperparameters | None = None,
    instance_count: int | None = None,
) -> HfTrainingJobSettings:
    """Image, HyperParameters, Environment and MetricDefinitions of one job.

    ``source_archive_uri``: S3 URI of the ``sourcedir.tar.gz`` holding ``model_artifacts/training``;
    ``compile_cache_uri``: S3 folder of the Neuron compile cache; ``hyperparameters`` / ``instance_count``: an
    execution's checked values (default: the configuration's). Raises CatalogError for a region without the image.
    """
    values = hyperparameters or config.hyperparameters
    count = instance_count or config.instance_count
    hyper_parameters = {
        **script_hyperparameters(config, values),
        "sagemaker_program": json.dumps(ENTRY_POINT),
        "sagemaker_submit_directory": json.dumps(source_archive_uri),
        "sagemaker_torch_distributed_enabled": "true",
        "sagemaker_region": json.dumps(region),
        "sagemaker_container_log_level": "20",
    }
    environment = {"NEURON_COMPILE_CACHE_URL": compile_cache_uri}
    if config.hf_token_secret_arn is not None:
        environment[HF_TOKEN_SECRET_ENV] = config.hf_token_secret_arn
    if count > 1:
        environment.update(EFA_ENVIRONMENT)
    definitions: list[dict[str, str]] = json.loads(METRIC_DEFINITIONS_FILE.read_text(encoding="utf-8"))
    return HfTrainingJobSettings(
        image_uri=resolve_training_image(region=region),
        hyper_parameters=hyper_parameters,
        environment=dict(sorted(environment.items())),
        metric_definitions=definitions,
    )
