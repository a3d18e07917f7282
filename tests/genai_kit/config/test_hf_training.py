"""The Hugging Face training section: ranges, trainable architectures, placement, and an execution's overrides."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from genai_kit.config.base import describe_errors
from genai_kit.config.hf_training import HfTrainingConfig, HfTrainingHyperparameters

BASE = {"model_id": "meta-llama/Llama-3.2-1B", "model_type": "llama"}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as excinfo:
        HfTrainingConfig.model_validate(data)
    return describe_errors(excinfo.value, prefix="stages.dev.hf_training")


def test_defaults_are_lora_on_one_trn1_32xlarge() -> None:
    config = HfTrainingConfig.model_validate(BASE)
    placement = (config.instance_type, config.instance_count, config.hyperparameters.method)
    assert placement == ("ml.trn1.32xlarge", 1, "lora")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            {**BASE, "model_type": "mistral"},
            "stages.dev.hf_training: model_type: got 'mistral'; optimum-neuron in the training image trains only: "
            "granite, llama, qwen3",
        ),
        (
            {**BASE, "hyperparameters": {"learning_rate": 2}},
            "stages.dev.hf_training.hyperparameters.learning_rate: got 2; input should be less than or equal to 1",
        ),
        (
            {**BASE, "hyperparameters": {"lr_scheduler_type": "step"}},
            "stages.dev.hf_training.hyperparameters.lr_scheduler_type: got 'step'; input should be 'linear', "
            "'cosine', 'constant' or 'constant_with_warmup'",
        ),
        (
            {**BASE, "hyperparameters": {"max_steps": 0}},
            "stages.dev.hf_training.hyperparameters: max_steps: got 0; expected -1 (train num_train_epochs) or at "
            "least 1",
        ),
        (
            {**BASE, "instance_type": "ml.trn1.2xlarge"},
            "stages.dev.hf_training: hyperparameters.tensor_parallel_size: got 8 (the default); ml.trn1.2xlarge has 2 "
            "NeuronCores, so it must be one of 1, 2",
        ),
        (
            {
                **BASE,
                "instance_type": "ml.trn1.2xlarge",
                "instance_count": 2,
                "hyperparameters": {"tensor_parallel_size": 2},
            },
            "stages.dev.hf_training: instance_count: 2 instances of ml.trn1.2xlarge, which has no EFA networking; "
            "expected 1, or ml.trn1.32xlarge / ml.trn1n.32xlarge",
        ),
        (
            {"model_type": "llama"},
            "stages.dev.hf_training: model_id/model_s3_uri: set exactly one (a hub id, or an S3 folder of the weights)",
        ),
        (
            {**BASE, "hf_token_secret_arn": "my-token"},
            "stages.dev.hf_training: hf_token_secret_arn: got 'my-token'; expected a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)",
        ),
        (
            {**BASE, "revision": "main"},
            "stages.dev.hf_training.revision: got 'main'; expected a commit id (40 lowercase hexadecimal characters, "
            "the 'Files and versions' history of the model on huggingface.co); a branch or tag such as 'main' moves, "
            "so the weights could change under the same configuration",
        ),
        (
            {"model_s3_uri": "s3://weights/llama/", "model_type": "llama", "revision": COMMIT},
            f"stages.dev.hf_training: revision: got '{COMMIT}' with model_s3_uri; a revision pins a hub model_id, "
            "the S3 folder's weights are read as they are: remove revision, or train model_id at it",
        ),
        (
            {**BASE, "hyperparameters": {"lora_target_modules": ["q proj"]}},
            "stages.dev.hf_training.hyperparameters.lora_target_modules: got 'q proj'; expected a module name such "
            "as q_proj (letters, digits, _ and .)",
        ),
    ],
)
def test_bad_values_name_the_key_and_what_is_valid(data: dict[str, Any], line: str) -> None:
    assert _errors(data) == [line]


def test_a_hub_model_may_be_pinned_to_a_commit_and_is_not_by_default() -> None:
    assert HfTrainingConfig.model_validate({**BASE, "revision": COMMIT}).revision == COMMIT
    assert HfTrainingConfig.model_validate(BASE).revision is None


def test_revision_is_the_models_not_a_hyperparameter() -> None:
    assert "revision" in HfTrainingConfig.model_fields
    assert "revision" not in HfTrainingHyperparameters.model_fields
