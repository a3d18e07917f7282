"""Endpoint resolution: what each source resolves to, and every message a bad endpoint gets at synth."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.config import ConfigError, load_config
from genai_kit.config.endpoints import ServingOptions
from genai_kit.endpoints import serving_environment

LLAMA2_NEURON = {"kind": "jumpstart", "model_id": "meta-textgenerationneuron-llama-2-7b", "version": "1.0.0"}
TINYLLAMA = {
    "kind": "huggingface",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "container": "huggingface-llm-neuronx",
    "container_version": "0.3.0",
}


def _endpoints(*endpoints: dict[str, Any], region: str = "us-east-1") -> Any:
    return load_config({"stages": {"dev": {"region": region, "endpoints": list(endpoints)}}}).endpoints


def _problem(*endpoints: dict[str, Any], region: str = "us-east-1") -> str:
    with pytest.raises(ConfigError) as caught:
        _endpoints(*endpoints, region=region)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def test_default_stage_serves_tinyllama_on_tgi_neuron() -> None:
    (endpoint,) = load_config({"stages": {"dev": {}}}).endpoints
    assert endpoint.endpoint_name == "genai-kit-dev-tinyllama"
    assert endpoint.instance_type == "ml.inf2.xlarge"
    assert endpoint.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-tgi-inference:2.7.0-optimum3.3.6-neuronx-py310-ubuntu22.04"
    )
    assert endpoint.environment == {
        "HF_MODEL_ID": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "HF_NUM_CORES": "2",
        "HF_AUTO_CAST_TYPE": "bf16",
        "HF_BATCH_SIZE": "4",
        "HF_SEQUENCE_LENGTH": "2048",
        "MAX_BATCH_SIZE": "4",
        "MAX_TOTAL_TOKENS": "2048",
    }
    assert endpoint.model_data is None
    assert endpoint.enable_network_isolation is False
    assert (endpoint.model_data_download_timeout, endpoint.container_startup_health_check_timeout) == (3600, 3600)
    assert endpoint.payload_family == "tgi"


def test_gated_jumpstart_model_resolves_with_eula_accepted() -> None:
    (endpoint,) = _endpoints({"name": "llama", "source": {**LLAMA2_NEURON, "accept_eula": True}})
    assert endpoint.instance_type == "ml.inf2.xlarge"
    assert endpoint.model_data is not None
    assert endpoint.model_data.accept_eula is True
    assert endpoint.model_data.s3_uri.startswith("s3://jumpstart-private-cache-prod-us-east-1/")
    assert endpoint.enable_network_isolation is True
    assert endpoint.model_label == "meta-textgenerationneuron-llama-2-7b@1.0.0"


@pytest.mark.parametrize(
    ("source", "request_format", "streams"),
    [
        (TINYLLAMA, "messages", True),
        ({**TINYLLAMA, "container_version": "0.0.25"}, "messages", True),
        ({**TINYLLAMA, "container_version": "0.0.18"}, "prompt", True),
        ({**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4"}, "messages", True),
        ({**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.26.0"}, "prompt", False),
        ({**LLAMA2_NEURON, "accept_eula": True}, "prompt", False),
    ],
)
def test_endpoint_carries_its_containers_facts(source: dict[str, Any], request_format: str, streams: bool) -> None:
    (endpoint,) = _endpoints({"name": "m", "source": source})
    assert endpoint.container is not None
    assert endpoint.request_format == request_format
    assert endpoint.container.streams is streams


def test_tgi_before_2_4_gets_the_messages_api_turned_on() -> None:
    (endpoint,) = _endpoints({"name": "t", "source": {**TINYLLAMA, "container_version": "0.0.25"}})
    assert endpoint.environment["MESSAGES_API_ENABLED"] == "true"
    (current,) = _endpoints({"name": "t", "source": TINYLLAMA})
    assert "MESSAGES_API_ENABLED" not in current.environment


def test_environment_overrides_come_last() -> None:
    (endpoint,) = _endpoints({"name": "t", "source": TINYLLAMA, "environment": {"HF_BATCH_SIZE": "8"}})
    assert endpoint.environment["HF_BATCH_SIZE"] == "8"


def test_s3_weights_are_mounted_and_isolated() -> None:
    source = {
        "kind": "s3",
        "s3_uri": "s3://my-models/llama/",
        "container": "djl-neuronx",
        "container_version": "0.29.0",
    }
    (endpoint,) = _endpoints({"name": "mine", "source": source, "serving": {"max_sequence_length": 4096}})
    assert endpoint.model_data is not None
    assert (endpoint.model_data.s3_data_type, endpoint.model_data.compression) == ("S3Prefix", "None")
    assert endpoint.enable_network_isolation is True
    assert endpoint.environment == {
        "OPTION_MODEL_ID": "/opt/ml/model",
        "OPTION_TENSOR_PARALLEL_DEGREE": "2",
        "OPTION_ROLLING_BATCH": "auto",
        "OPTION_N_POSITIONS": "4096",
    }


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        (
            "djl-neuronx",
            {
                "OPTION_MODEL_ID": "m/x",
                "OPTION_TENSOR_PARALLEL_DEGREE": "12",
                "OPTION_ROLLING_BATCH": "auto",
                "OPTION_N_POSITIONS": "4096",
                "OPTION_MAX_ROLLING_BATCH_SIZE": "8",
                "OPTION_DTYPE": "fp16",
            },
        ),
        (
            "huggingface-vllm-neuronx",
            {
                "SM_VLLM_MODEL": "m/x",
                "SM_VLLM_TENSOR_PARALLEL_SIZE": "12",
                "SM_VLLM_MAX_MODEL_LEN": "4096",
                "SM_VLLM_MAX_NUM_SEQS": "8",
                "SM_VLLM_DTYPE": "float16",
            },
        ),
    ],
)
def test_serving_options_use_each_containers_own_variables(container: Any, expected: dict[str, str]) -> None:
    serving = ServingOptions(max_sequence_length=4096, max_batch_size=8, dtype="fp16")
    assert serving_environment(container, "m/x", serving, "ml.inf2.24xlarge") == expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (
            {"name": "llama", "source": LLAMA2_NEURON},
            "stages.dev.endpoints.0.source.accept_eula: model 'meta-textgenerationneuron-llama-2-7b' is gated: "
            "read its EULA",
        ),
        (
            {"name": "llama", "source": {**LLAMA2_NEURON, "accept_eula": True}, "instance_type": "ml.g5.2xlarge"},
            "stages.dev.endpoints.0.instance_type: got 'ml.g5.2xlarge'; meta-textgenerationneuron-llama-2-7b@1.0.0 "
            "is served on Inferentia2 by the kit, expected one of: ml.inf2.",
        ),
        (
            {"name": "t", "source": TINYLLAMA, "instance_type": "ml.g5.xlarge"},
            "stages.dev.endpoints.0.instance_type: got 'ml.g5.xlarge'; expected an Inferentia2 type such as "
            "ml.inf2.xlarge",
        ),
        (
            {
                "name": "t",
                "source": TINYLLAMA,
                "instance_type": "ml.inf2.24xlarge",
                "serving": {"tensor_parallel_degree": 5},
            },
            "stages.dev.endpoints.0.serving.tensor_parallel_degree: tensor parallel degree 5 does not fit "
            "ml.inf2.24xlarge (12 NeuronCores); valid degrees: 1, 2, 3, 4, 6, 12",
        ),
        (
            {"name": "t", "source": {**TINYLLAMA, "container_version": "9.9.9"}},
            "stages.dev.endpoints.0.source.container_version: ",
        ),
        (
            {"name": "llama", "source": {**LLAMA2_NEURON, "version": "0.0.1"}},
            "stages.dev.endpoints.0.source: ",
        ),
        (
            {"name": "llama", "source": {**LLAMA2_NEURON, "accept_eula": True}, "serving": {"dtype": "bf16"}},
            "stages.dev.endpoints.0.serving: JumpStart models carry their own serving settings",
        ),
    ],
)
def test_undeployable_endpoint_is_named_with_its_key(endpoint: dict[str, Any], expected: str) -> None:
    assert _problem(endpoint).startswith(expected)


def test_unknown_jumpstart_version_lists_the_catalog_versions() -> None:
    problem = _problem({"name": "llama", "source": {**LLAMA2_NEURON, "version": "0.0.1"}})
    assert "0.0.1" in problem
    assert "1.0.0" in problem


def test_container_version_missing_lists_available_ones() -> None:
    problem = _problem({"name": "t", "source": {**TINYLLAMA, "container_version": "9.9.9"}})
    assert "9.9.9" in problem
    assert "0.3.0" in problem


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (
            {"name": "Bad_Name", "source": TINYLLAMA},
            "stages.dev.endpoints.0.name: got 'Bad_Name'; expected 1-40 lowercase letters, digits and single hyphens",
        ),
        (
            {"name": "t", "source": {**TINYLLAMA, "model_id": "no-namespace"}},
            "stages.dev.endpoints.0.source.huggingface.model_id: got 'no-namespace'; expected a Hugging Face Hub "
            "model id",
        ),
        (
            {
                "name": "t",
                "source": {
                    "kind": "s3",
                    "s3_uri": "s3://b/k.tar.gz",
                    "container": "djl-neuronx",
                    "container_version": "0.29.0",
                },
            },
            "stages.dev.endpoints.0.source.s3.s3_uri: got 's3://b/k.tar.gz'; expected an S3 prefix of uncompressed "
            "weights ending in '/'",
        ),
        (
            {"name": "t", "source": {"kind": "ollama"}},
            "stages.dev.endpoints.0.source: got {'kind': 'ollama'}; input tag 'ollama' found using 'kind' does not "
            "match any of the expected tags: 'jumpstart', 'huggingface', 's3'",
        ),
        (
            {"name": "t", "source": TINYLLAMA, "container_startup_health_check_timeout_seconds": 7200},
            "stages.dev.endpoints.0.container_startup_health_check_timeout_seconds: got 7200; input should be less "
            "than or equal to 3600",
        ),
        (
            {"name": "t", "source": TINYLLAMA, "volume_size_gb": 1024},
            "stages.dev.endpoints.0.volume_size_gb: got 1024; input should be less than or equal to 512",
        ),
        (
            {"name": "t", "source": TINYLLAMA, "autoscaling": {"min_instances": 3, "max_instances": 2}},
            "stages.dev.endpoints.0.autoscaling: max_instances (2) is below min_instances (3); expected "
            "max_instances >= min_instances",
        ),
        (
            {"name": "t", "source": TINYLLAMA, "data_capture": {"sampling_percentage": 101}},
            "stages.dev.endpoints.0.data_capture.sampling_percentage: got 101; input should be less than or equal "
            "to 100",
        ),
    ],
)
def test_malformed_endpoint_is_named_with_its_key(endpoint: dict[str, Any], expected: str) -> None:
    assert _problem(endpoint).startswith(expected)


def test_endpoint_names_must_be_unique() -> None:
    problem = _problem({"name": "t", "source": TINYLLAMA}, {"name": "t", "source": TINYLLAMA})
    assert problem == "stages.dev: endpoint names must be unique; 't' is used more than once"


def test_no_endpoints_is_a_valid_stage() -> None:
    assert _endpoints() == ()
