"""CheckInput and Prepare for the Hugging Face kind: the execution input checked against the script's ranges and the
instances, and a CreateTrainingJob request SageMaker accepts, with what the script then receives."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import validate_parameters

from genai_kit.contracts.training_prepare import EFA_ENVIRONMENT, PipelineSettings
from genai_kit.stage import load_stage
from lambdas.training_prepare.training_job import PrepareError, check_execution_input, prepare
from stacks.constructs.training_pipeline import pipeline_settings
from tests.genai_kit.test_stage_hf_training import TINY, hf_stage
from tests.lambdas.test_training_prepare import ENV as JUMPSTART_ENV
from tests.service_model import violations
from tests.training.conftest import SCRIPT_DIR

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbC123"
# The JumpStart tests' environment, plus the script's archive the construct names for this kind.
ENV = JUMPSTART_ENV.model_copy(update={"source_archive_uri": "s3://cdk-assets/abc123.tar.gz"})


def _settings(**training: Any) -> PipelineSettings:
    resolved = load_stage(hf_stage(**training)).training
    assert resolved is not None
    return pipeline_settings(resolved)


@pytest.fixture(scope="module")
def settings() -> PipelineSettings:
    return _settings(max_instance_count=2, huggingface={**TINY, "hf_token_secret_arn": SECRET})


def _prepare(settings: PipelineSettings, **input_values: Any) -> dict[str, Any]:
    raw = {"dataset": "s3://datasets/fine-tuning/notes/", **input_values}
    checked = check_execution_input(raw, settings=settings, env=ENV)
    return prepare(checked, execution_name="run-1", execution_id="arn:exec:run-1", settings=settings, env=ENV)


def _refusal(settings: PipelineSettings, **input_values: Any) -> tuple[str, str]:
    with pytest.raises(PrepareError) as caught:
        check_execution_input({"dataset": "notes", **input_values}, settings=settings, env=ENV)
    return caught.value.error, str(caught.value)


def test_request_is_a_valid_create_training_job_call(settings: PipelineSettings) -> None:
    request = _prepare(settings)["request"]
    shape = get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    validate_parameters(request, shape)
    assert violations(shape, request) == []


def test_request_runs_the_script_in_the_training_image_with_the_dataset_as_its_train_channel(
    settings: PipelineSettings,
) -> None:
    request = _prepare(settings)["request"]
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith(
        "/huggingface-pytorch-training-neuronx:2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04"
    )
    names = {d["Name"] for d in request["AlgorithmSpecification"]["MetricDefinitions"]}
    assert {"train_loss", "eval_loss", "eval_perplexity"} <= names
    hyperparameters = request["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    assert hyperparameters["sagemaker_submit_directory"] == '"s3://cdk-assets/abc123.tar.gz"'
    assert hyperparameters["sagemaker_torch_distributed_enabled"] == "true"
    (channel,) = request["InputDataConfig"]
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == "s3://datasets/fine-tuning/notes/"
    # The merged model's files are read as they are by the preparation for serving.
    assert request["OutputDataConfig"]["CompressionType"] == "NONE"
    # The hub download, the token secret and the S3 compile cache need the network.
    assert request["EnableNetworkIsolation"] is False
    assert request["Environment"] == {
        "HF_TOKEN_SECRET_ARN": SECRET,
        "NEURON_COMPILE_CACHE_URL": "s3://artifacts/training/neuron-compile-cache/",
    }
    assert request["CheckpointConfig"]["S3Uri"] == f"s3://artifacts/training/checkpoints/{request['TrainingJobName']}/"


def test_prepare_names_the_serving_preparation_and_where_it_leaves_the_model(settings: PipelineSettings) -> None:
    prepared = _prepare(settings)
    serving = prepared["serving"]
    assert serving["jobName"].startswith("genai-kit-dev-ft-run-1-serving-")
    assert serving["jobName"] != prepared["trainingJobName"]
    assert serving["modelData"] == {
        "S3Uri": f"s3://artifacts/training/output/{serving['jobName']}/output/model/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
    assert prepared["summary"]["model"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0@main"


def test_the_script_receives_the_configured_values_and_the_overrides(settings: PipelineSettings) -> None:
    request = _prepare(settings, hyperparameters={"learning_rate": 2e-4, "max_steps": 40})["request"]
    # sagemaker-training-toolkit: JSON-decode each value, then pass ``--key str(value)``.
    argv: list[str] = []
    for key in sorted(request["HyperParameters"]):
        if not key.startswith("sagemaker_"):
            argv += [f"--{key}", str(json.loads(request["HyperParameters"][key]))]
    sys.path.insert(0, str(SCRIPT_DIR))
    from kit_training.args import parse_args  # noqa: PLC0415

    args = parse_args(argv, environ={"SM_CHANNEL_TRAIN": "/opt/ml/input/data/train"})
    assert args.model_id == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert (args.learning_rate, args.max_steps, args.tensor_parallel_size, args.max_seq_length) == (2e-4, 40, 2, 1024)
    assert args.lora_target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")


def test_a_pinned_revision_reaches_the_script_and_the_summary() -> None:
    commit = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
    prepared = _prepare(_settings(huggingface={**TINY, "revision": commit}))
    assert json.loads(prepared["request"]["HyperParameters"]["revision"]) == commit
    assert prepared["summary"]["model"] == f"TinyLlama/TinyLlama-1.1B-Chat-v1.0@{commit}"


def test_the_revision_is_not_an_execution_override(settings: PipelineSettings) -> None:
    error, reason = _refusal(settings, hyperparameters={"revision": "main"})
    assert error == "HyperparameterInvalid"
    assert "unknown hyperparameter 'revision'" in reason


def test_multi_node_on_an_efa_type_sets_the_efa_variables(settings: PipelineSettings) -> None:
    request = _prepare(settings, instance_type="ml.trn1.32xlarge", instance_count=2)["request"]
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert {k: request["Environment"][k] for k in EFA_ENVIRONMENT} == EFA_ENVIRONMENT


def test_an_override_out_of_range_is_refused_by_name(settings: PipelineSettings) -> None:
    error, reason = _refusal(settings, hyperparameters={"learning_rate": 3})
    assert error == "HyperparameterInvalid"
    assert reason.startswith("hyperparameters: hyperparameter 'learning_rate' of the kit's training script cannot be 3")


def test_a_degree_that_does_not_divide_the_instances_cores_is_refused(settings: PipelineSettings) -> None:
    assert _refusal(settings, hyperparameters={"tensor_parallel_size": 4}) == (
        "HyperparameterInvalid",
        "hyperparameters.tensor_parallel_size: tensor_parallel_size 4 does not divide the 2 NeuronCores of "
        "ml.trn1.2xlarge; expected one of 1, 2",
    )


def test_an_instance_type_the_script_does_not_train_on_is_refused(settings: PipelineSettings) -> None:
    assert _refusal(settings, instance_type="ml.g5.xlarge") == (
        "InvalidInput",
        "instance_type: got 'ml.g5.xlarge'; the kit's training script trains on: ml.trn1.2xlarge, ml.trn1.32xlarge, "
        "ml.trn1n.32xlarge",
    )


def test_multi_node_on_a_type_without_efa_is_refused(settings: PipelineSettings) -> None:
    error, reason = _refusal(settings, instance_count=2)
    assert error == "InvalidInput"
    assert reason.startswith("instance_count: ml.trn1.2xlarge has no EFA networking")


def test_the_settings_file_of_the_jumpstart_kind_has_no_huggingface_key() -> None:
    from tests.lambdas.test_training_prepare import _settings as jumpstart_settings  # noqa: PLC0415

    assert "huggingface" not in json.loads(jumpstart_settings().to_json())


def test_an_accepted_override_keeps_the_other_configured_values(settings: PipelineSettings) -> None:
    hyperparameters = _prepare(settings, hyperparameters={"learning_rate": 1e-4, "method": "full"})["request"][
        "HyperParameters"
    ]
    assert (json.loads(hyperparameters["learning_rate"]), json.loads(hyperparameters["method"])) == ("0.0001", "full")
    assert json.loads(hyperparameters["lora_r"]) == "16"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"warmup_ratio": 1.5}, "hyperparameter 'warmup_ratio' of the kit's training script cannot be 1.5"),
        ({"lora_rank": 8}, "unknown hyperparameter 'lora_rank'"),
        (
            {"tensor_parallel_size": 3},
            "hyperparameters.tensor_parallel_size: tensor_parallel_size 3 does not divide the 32 NeuronCores of "
            "ml.trn1n.32xlarge; expected one of 1, 2, 4, 8, 16, 32",
        ),
    ],
)
def test_a_bad_override_is_refused_naming_the_key(
    settings: PipelineSettings, overrides: dict[str, Any], message: str
) -> None:
    error, reason = _refusal(settings, instance_type="ml.trn1n.32xlarge", instance_count=2, hyperparameters=overrides)
    assert error == "HyperparameterInvalid"
    assert message in reason
