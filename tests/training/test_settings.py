"""What the script hands optimum-neuron and peft, and that the script's modules load without the Neuron stack."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from kit_training.args import parse_args
from kit_training.neuron import OPTIMUM_NEURON_VERSION, check_optimum_neuron, hf_token, hub_kwargs
from kit_training.settings import lora_config_kwargs, sft_config_kwargs

from genai_kit.catalog import training_image
from tests.training.conftest import SCRIPT_DIR

ENV = {"SM_CHANNEL_TRAIN": "/data/train"}


def test_lora_configuration() -> None:
    args = parse_args(["--lora_r", "8", "--lora_alpha", "16", "--lora_target_modules", "q_proj,v_proj"], environ=ENV)
    assert lora_config_kwargs(args) == {
        "r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.05,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
        "task_type": "CAUSAL_LM",
    }


def test_every_load_of_a_hub_model_gets_the_token_and_the_pinned_revision() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    pinned = parse_args(["--model_id", "org/name", "--revision", commit], environ=ENV)
    assert hub_kwargs(pinned, "hf_x") == {"token": "hf_x", "revision": commit}
    # Without a revision the loaders keep their own default (optimum-neuron only auto-converts for "main").
    assert hub_kwargs(parse_args(["--model_id", "org/name"], environ=ENV), None) == {"token": None}
    # A model channel is a local folder: no revision even if one was given.
    channel = parse_args(["--revision", commit], environ={**ENV, "SM_CHANNEL_MODEL": "/opt/ml/input/data/model"})
    assert hub_kwargs(channel, None) == {"token": None}


def test_full_fine_tuning_has_no_lora_configuration() -> None:
    assert lora_config_kwargs(parse_args(["--method", "full"], environ=ENV)) is None


def test_sft_configuration_maps_the_hyperparameters() -> None:
    args = parse_args(
        ["--precision", "fp32", "--tensor_parallel_size", "2", "--max_seq_length", "1024", "--max_steps", "40"],
        environ=ENV,
    )
    config = sft_config_kwargs(args)
    assert (config["bf16"], config["tensor_parallel_size"], config["max_seq_length"], config["max_steps"]) == (
        False,
        2,
        1024,
        40,
    )
    assert config["output_dir"] == "/opt/ml/checkpoints"
    assert (config["dataset_text_field"], config["packing"], config["dataset_kwargs"]) == (
        "text",
        False,
        {"add_special_tokens": False},
    )
    assert config["report_to"] == "none"


class _Secrets:
    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self.asked: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        self.asked.append(SecretId)
        return self.value


def test_the_token_is_read_from_secrets_manager() -> None:
    client = _Secrets({"SecretString": "hf_abc\n"})
    assert hf_token("arn:secret", client) == "hf_abc"
    assert client.asked == ["arn:secret"]
    assert hf_token(None, client) is None


def test_a_secret_without_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="no SecretString"):
        hf_token("arn:secret", _Secrets({"SecretBinary": b"x"}))


def test_the_script_modules_import_without_torch_or_optimum_neuron() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import kit_training.neuron, kit_training.outputs; "
        "heavy = {'torch', 'torch_xla', 'optimum', 'peft', 'datasets', 'transformers', 'boto3'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    result = subprocess.run(  # noqa: S603 - the test's own interpreter and code
        [sys.executable, "-c", code, str(SCRIPT_DIR)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_script_is_written_for_the_optimum_neuron_of_the_catalogs_image() -> None:
    packages = training_image().packages or {}
    assert packages["optimum-neuron"] == OPTIMUM_NEURON_VERSION
    check_optimum_neuron(OPTIMUM_NEURON_VERSION)
    with pytest.raises(RuntimeError, match=r"optimum-neuron 0\.4\.5 is installed; this script is written for 0\.4\.1"):
        check_optimum_neuron("0.4.5")
