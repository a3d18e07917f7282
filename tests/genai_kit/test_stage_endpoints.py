"""Endpoint resolution: what each source resolves to, and every message a bad endpoint gets at synth."""

from __future__ import annotations

from typing import Any

import pytest

from genai_kit.stage import ConfigError, load_stage

LLAMA2_NEURON = {"kind": "jumpstart", "model_id": "meta-textgenerationneuron-llama-2-7b", "version": "1.0.0"}
REVISION = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
TINYLLAMA = {
    "kind": "huggingface",
    "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "revision": REVISION,
    "container": "huggingface-llm-neuronx",
    "container_version": "0.3.0",
}
LLAMA31_GPU = {"kind": "jumpstart", "model_id": "meta-textgeneration-llama-3-1-70b", "version": "2.16.2"}


def _endpoints(*endpoints: dict[str, Any], region: str = "us-east-1") -> Any:
    return load_stage({"stages": {"dev": {"region": region, "endpoints": list(endpoints)}}}).endpoints


def _problem(*endpoints: dict[str, Any], region: str = "us-east-1") -> str:
    with pytest.raises(ConfigError) as caught:
        _endpoints(*endpoints, region=region)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def test_default_stage_serves_a_prepared_pinned_tinyllama_isolated() -> None:
    (endpoint,) = load_stage({"stages": {"dev": {}}}).endpoints
    assert endpoint.endpoint_name == "genai-kit-dev-tinyllama"
    assert endpoint.instance_type == "ml.inf2.xlarge"
    assert endpoint.image_uri == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-tgi-inference:2.7.0-optimum3.3.6-neuronx-py310-ubuntu22.04"
    )
    # TGI 0.3.0 reads MODEL_ID (not HF_MODEL_ID); with all six shape variables set it trusts them
    assert endpoint.environment == {
        "MODEL_ID": "/opt/ml/model",
        "HF_NUM_CORES": "2",
        "MAX_BATCH_SIZE": "4",
        "MAX_TOTAL_TOKENS": "2048",
        "MAX_INPUT_TOKENS": "1024",
        "MAX_BATCH_PREFILL_TOKENS": "4096",
        "HF_AUTO_CAST_TYPE": "bf16",
        "USAGE_STATS": "off",
    }
    assert endpoint.enable_network_isolation is True
    assert endpoint.model_label == f"huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0@{REVISION}"
    assert (endpoint.model_data_download_timeout, endpoint.container_startup_health_check_timeout) == (3600, 3600)
    preparation = endpoint.preparation
    assert preparation is not None
    assert (preparation.layout, preparation.revision, preparation.image_uri) == ("export", REVISION, endpoint.image_uri)
    assert preparation.prefix == (
        f"prepared-models/TinyLlama/TinyLlama-1.1B-Chat-v1.0/{REVISION}/huggingface-llm-neuronx-0.3.0/"
        "tp2-batch4-seq2048-input1024-bf16/"
    )


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({"serving": {"max_batch_size": 2}}, True),
        ({"source": {**TINYLLAMA, "container_version": "0.2.0"}}, True),
        ({"instance_type": "ml.inf2.24xlarge", "serving": {"max_batch_size": 4, "tensor_parallel_degree": 2}}, False),
        ({"autoscaling": {"max_instances": 3}}, False),
    ],
)
def test_the_prepared_prefix_changes_with_what_is_compiled_in_only(change: dict[str, Any], differs: bool) -> None:
    base = {"name": "t", "source": TINYLLAMA, "serving": {"max_batch_size": 4}}
    (one,) = _endpoints(base)
    (other,) = _endpoints({**base, **change})
    assert one.preparation is not None
    assert other.preparation is not None
    assert (one.preparation.prefix != other.preparation.prefix) is differs


def test_lmi_prepares_the_weights_and_compiles_them_at_start_up() -> None:
    source = {**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.29.0"}
    (endpoint,) = _endpoints({"name": "t", "source": source, "serving": {"max_batch_size": 8}})
    assert endpoint.preparation is not None
    assert endpoint.preparation.layout == "weights"
    assert endpoint.preparation.prefix == f"prepared-models/TinyLlama/TinyLlama-1.1B-Chat-v1.0/{REVISION}/weights/"
    assert endpoint.environment == {
        "OPTION_MODEL_ID": "/opt/ml/model",
        "OPTION_TENSOR_PARALLEL_DEGREE": "2",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "8",
        "OPTION_N_POSITIONS": "2048",
        "OPTION_DTYPE": "bf16",
        "OPTION_ENTRYPOINT": "djl_python.transformers_neuronx",
        "OPTION_ROLLING_BATCH": "tnx",
    }


def test_vllm_takes_its_sm_on_options_and_the_models_own_dtype() -> None:
    source = {**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4.1"}
    (endpoint,) = _endpoints({"name": "t", "source": source, "instance_type": "ml.inf2.24xlarge"})
    assert endpoint.environment == {
        "SM_ON_MODEL": "/opt/ml/model",
        "SM_ON_TENSOR_PARALLEL_SIZE": "12",
        "SM_ON_BATCH_SIZE": "1",
        "SM_ON_SEQUENCE_LENGTH": "2048",
    }


def test_an_unprepared_hub_model_is_downloaded_at_its_revision_and_cannot_be_isolated() -> None:
    source = {**TINYLLAMA, "prepare": False}
    (endpoint,) = _endpoints({"name": "t", "source": source})
    assert endpoint.preparation is None
    assert endpoint.enable_network_isolation is False
    assert (endpoint.environment["MODEL_ID"], endpoint.environment["REVISION"]) == (TINYLLAMA["model_id"], REVISION)
    (older,) = _endpoints({"name": "t", "source": {**source, "container_version": "0.2.0"}})
    assert (older.environment["HF_MODEL_ID"], older.environment["HF_MODEL_REVISION"]) == (
        TINYLLAMA["model_id"],
        REVISION,
    )


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
        ({**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4"}, "messages", True),
        ({**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.29.0"}, "messages", True),
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


def test_overrides_of_other_variables_come_last() -> None:
    (endpoint,) = _endpoints({"name": "t", "source": TINYLLAMA, "environment": {"MAX_CONCURRENT_REQUESTS": "64"}})
    assert endpoint.environment["MAX_CONCURRENT_REQUESTS"] == "64"


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
    assert endpoint.preparation is None
    assert endpoint.environment["OPTION_MODEL_ID"] == "/opt/ml/model"
    assert endpoint.environment["OPTION_N_POSITIONS"] == "4096"


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
            {"name": "t", "source": TINYLLAMA, "serving": {"tensor_parallel_degree": 24}},
            "stages.dev.endpoints.0.serving.tensor_parallel_degree: got 24; ml.inf2.xlarge has 2 NeuronCores, so "
            "the degree can be 1 to 2",
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


# --- one rule set for the serving settings, whatever path a value takes ---


def test_tgi_takes_a_degree_that_does_not_divide_the_cores() -> None:
    # TGI checks only that the degree does not exceed the visible cores (tgi_env.py#L167-L171)
    endpoint = {"name": "t", "source": TINYLLAMA, "instance_type": "ml.inf2.24xlarge"}
    (resolved,) = _endpoints({**endpoint, "serving": {"tensor_parallel_degree": 8}})
    assert resolved.environment["HF_NUM_CORES"] == "8"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {"HF_NUM_CORES": "24"},
            "stages.dev.endpoints.0.environment.HF_NUM_CORES: 'HF_NUM_CORES' is set by serving.tensor_parallel_degree",
        ),
        (
            {"MAX_INPUT_LENGTH": "4096"},
            "stages.dev.endpoints.0.environment.MAX_INPUT_LENGTH: 'MAX_INPUT_LENGTH' is not read by this container "
            "version, or breaks it beside the variables the kit sets",
        ),
        (
            {"MAX_BATCH_PREFILL_TOKENS": "1"},
            "stages.dev.endpoints.0.environment.MAX_BATCH_PREFILL_TOKENS: 'MAX_BATCH_PREFILL_TOKENS' is set by "
            "serving.max_batch_size and serving.max_input_tokens",
        ),
        (
            {"HF_MODEL_ID": "other/model"},
            "stages.dev.endpoints.0.environment.HF_MODEL_ID: 'HF_MODEL_ID' is not read by this container version",
        ),
        (
            {"MODEL_ID": "other/model"},
            "stages.dev.endpoints.0.environment.MODEL_ID: 'MODEL_ID' is set by source.model_id",
        ),
        (
            {"USAGE_STATS": "on"},
            "stages.dev.endpoints.0.environment.USAGE_STATS: 'USAGE_STATS' is set to 'off' by the kit",
        ),
    ],
)
def test_an_override_of_what_the_kit_sets_is_refused_with_the_key_to_use(
    environment: dict[str, str], expected: str
) -> None:
    assert _problem({"name": "t", "source": TINYLLAMA, "environment": environment}).startswith(expected)


@pytest.mark.parametrize(
    ("source", "environment", "expected"),
    [
        (
            {**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.29.0"},
            {"OPTION_TENSOR_PARALLEL_DEGREE": "24"},
            "environment.OPTION_TENSOR_PARALLEL_DEGREE: 'OPTION_TENSOR_PARALLEL_DEGREE' is set by "
            "serving.tensor_parallel_degree",
        ),
        (
            {**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.29.0"},
            {"OPTION_BATCH_SIZE": "4"},
            "environment.OPTION_BATCH_SIZE: 'OPTION_BATCH_SIZE' is not read by this container version, or breaks it",
        ),
        (
            {**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4.1"},
            {"SM_ON_ENFORCE_EAGER": ""},
            "environment.SM_ON_ENFORCE_EAGER: 'SM_ON_ENFORCE_EAGER': the container turns every SM_ON_* variable into "
            "an option",
        ),
        (
            {**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4.1"},
            {"SM_VLLM_MODEL": "x/y"},
            "environment.SM_VLLM_MODEL: 'SM_VLLM_MODEL' is not read by this container version",
        ),
    ],
)
def test_each_container_refuses_overrides_by_its_own_names(
    source: dict[str, Any], environment: dict[str, str], expected: str
) -> None:
    problem = _problem({"name": "t", "source": source, "environment": environment})
    assert problem.startswith(f"stages.dev.endpoints.0.{expected}")


def test_a_jumpstart_override_of_the_degree_is_checked_by_the_same_rule() -> None:
    endpoint = {
        "name": "llama",
        "source": {**LLAMA2_NEURON, "accept_eula": True},
        "environment": {"OPTION_TENSOR_PARALLEL_DEGREE": "24"},
    }
    assert _problem(endpoint) == (
        "stages.dev.endpoints.0.environment.OPTION_TENSOR_PARALLEL_DEGREE: OPTION_TENSOR_PARALLEL_DEGREE is 24; "
        "ml.inf2.xlarge has 2 NeuronCores, so the degree can be 1 to 2"
    )


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (
            {"serving": {"max_sequence_length": 2048, "max_input_tokens": 2048}},
            "serving.max_input_tokens: got 2048; the container refuses a prompt limit that is not below "
            "max_sequence_length (2048): expected at most 2047",
        ),
        (
            {"serving": {"max_sequence_length": 4096}},
            "serving.max_sequence_length: got 4096; the model's context is 2048 tokens (config.json "
            "max_position_embeddings): expected at most that",
        ),
        (
            {"serving": {"max_batch_size": 512, "tensor_parallel_degree": 1}},
            "serving: max_batch_size 512 x max_sequence_length 2048 needs at least 24.0 GiB of accelerator memory "
            "(16-bit weights and KV cache), more than the 16 GiB of the 1 NeuronCores used on ml.inf2.xlarge",
        ),
        (
            {
                "source": {**TINYLLAMA, "container": "huggingface-vllm-neuronx", "container_version": "0.4.1"},
                "serving": {"dtype": "fp16"},
            },
            "serving.dtype: got 'fp16'; this container serves the model in its own dtype",
        ),
        (
            {
                "source": {**TINYLLAMA, "container": "djl-neuronx", "container_version": "0.29.0"},
                "serving": {"max_input_tokens": 100},
            },
            "serving.max_input_tokens: this container has no prompt limit of its own",
        ),
        (
            {"source": {**TINYLLAMA, "container_version": "0.0.18"}},
            "source.container_version: got '0.0.18'; the kit starts huggingface-llm-neuronx with its own settings at "
            "versions 0.0.23, 0.0.24, 0.0.25, 0.0.27, 0.0.28, 0.2.0, 0.3.0",
        ),
        (
            {
                "source": {
                    **TINYLLAMA,
                    "container": "huggingface-vllm-neuronx",
                    "container_version": "0.4.1",
                    "prepare": False,
                }
            },
            "source.revision: huggingface-vllm-neuronx 0.4.1 cannot pin a Hub revision at start-up",
        ),
    ],
)
def test_settings_the_container_refuses_at_start_up_are_refused_at_synth(
    endpoint: dict[str, Any], expected: str
) -> None:
    config = {"name": "t", "source": TINYLLAMA, **endpoint}
    assert _problem(config).startswith(f"stages.dev.endpoints.0.{expected}")


def test_a_batch_and_sequence_that_cannot_fit_give_the_estimate_and_the_limit() -> None:
    llama = {**TINYLLAMA, "model_id": "meta-llama/Llama-3.1-8B-Instruct"}
    problem = _problem({"name": "t", "source": llama, "serving": {"max_batch_size": 64, "max_sequence_length": 131072}})
    assert problem == (
        "stages.dev.endpoints.0.serving: max_batch_size 64 x max_sequence_length 131072 needs at least 1039.0 GiB of "
        "accelerator memory (16-bit weights and KV cache), more than the 32 GiB of the 2 NeuronCores used on "
        "ml.inf2.xlarge: lower the batch or the sequence, or use more NeuronCores"
    )


def test_a_gpu_only_jumpstart_model_names_its_neuron_twin() -> None:
    problem = _problem({"name": "big", "source": {**LLAMA31_GPU, "accept_eula": True}})
    assert problem.startswith(
        "stages.dev.endpoints.0.source.model_id: model 'meta-textgeneration-llama-3-1-70b' version '2.16.2' is not "
        "a Neuron model"
    )
    assert "its Neuron variant is 'meta-textgenerationneuron-llama-3-1-70b' version '1.0.2'" in problem


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {**TINYLLAMA, "revision": "main"},
            "stages.dev.endpoints.0.source.huggingface.revision: got 'main'; expected a commit id (40 lowercase "
            "hexadecimal characters",
        ),
        (
            {k: v for k, v in TINYLLAMA.items() if k != "revision"},
            "stages.dev.endpoints.0.source.huggingface: revision: required to prepare the model",
        ),
        (
            {
                **TINYLLAMA,
                "prepare": False,
                "token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf",
            },
            "stages.dev.endpoints.0.source.huggingface: token_secret_arn: read by the preparation job only",
        ),
        (
            {**TINYLLAMA, "token_secret_arn": "hf_abcdef"},
            "stages.dev.endpoints.0.source.huggingface.token_secret_arn: got 'hf_abcdef'; expected a Secrets Manager "
            "secret ARN",
        ),
    ],
)
def test_a_prepared_model_is_pinned_and_its_token_stays_in_secrets_manager(
    source: dict[str, Any], expected: str
) -> None:
    assert _problem({"name": "t", "source": source}).startswith(expected)
