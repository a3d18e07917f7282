"""How the kit starts each Neuron serving container version with its own settings, read from the container's
start-up code.

A ``StartupContract`` per (framework, versions): the variables that carry each serving setting, what the
container refuses at start-up, and what a local model directory must hold; synth validation
(``genai_kit.stage.serving``) and the endpoint's environment read them. Only the versions the kit configures
itself have one (JumpStart specs carry their own environment); the serving facts of every version are in
``genai_kit.catalog.containers``.

Framework names and versions are those of the SageMaker SDK's image tables (``model_artifacts/catalog/images``).
Sources are cited as ``repository@commit-or-tag:path#lines``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Setting = Literal[
    "model",
    "revision",
    "tensor_parallel_degree",
    "max_batch_size",
    "max_sequence_length",
    "max_input_tokens",
    "max_batch_prefill_tokens",
    "dtype",
]


@dataclass(frozen=True)
class StartupContract:
    """How the kit starts one container version, from the container's start-up code.

    - ``variables``: the environment variables that carry each setting (some settings need two, e.g. the batch
      size both the export and the router read); a setting missing here cannot be set on this version.
    - ``fixed``: variables the kit always sets, with the reason in the sources.
    - ``not_read``: variables of other versions that this one does not read, or reads in a way that breaks it
      (an alias beside the kit's variable); setting one is refused.
    - ``option_prefix``: every variable with this prefix becomes a command-line option, and an option the
      container does not know stops it (vLLM's ``SM_ON_``): only the carried variables may have the prefix.
    - ``dtypes``: ``serving.dtype`` value -> the variable's value; empty where the dtype is the model's own.
    - ``input_below_total``: the launcher refuses a prompt limit not below the total (TGI).
    - ``prepared_layout``: what ``/opt/ml/model`` must hold to start without network: ``export`` (an
      optimum-neuron export made by the container's own optimum-neuron and compiler, with its weights) or
      ``weights`` (the Hugging Face files; the container compiles them at start-up, offline).
    - ``model_types``: the Hugging Face ``model_type`` values the container serves (None: not restricted here).
    - ``export_options``: the ``optimum-cli export neuron`` option that compiles each setting in, for the
      ``export`` layout (the image's own optimum-neuron runs it).
    """

    variables: tuple[tuple[Setting, tuple[str, ...]], ...]
    prepared_layout: Literal["export", "weights"]
    sources: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...] = ()
    not_read: tuple[str, ...] = ()
    option_prefix: str | None = None
    dtypes: tuple[tuple[str, str], ...] = ()
    input_below_total: bool = False
    model_types: tuple[str, ...] | None = None
    export_options: tuple[tuple[Setting, str], ...] = ()

    def variables_of(self, setting: Setting) -> tuple[str, ...]:
        """The variables that carry ``setting`` (empty when this version cannot set it)."""
        return dict(self.variables).get(setting, ())

    def export_arguments(self, values: Mapping[Setting, str | int | None]) -> tuple[str, ...]:
        """``optimum-cli export neuron`` arguments for ``values`` (a decoder, exported for text generation)."""
        arguments = ["--task", "text-generation"]
        for setting, option in self.export_options:
            value = values.get(setting)
            if value is not None:
                arguments += [option, str(value)]
        return tuple(arguments)

    def environment(self, values: Mapping[Setting, str | int | None]) -> dict[str, str]:
        """The container's variables for ``values`` (a None value is left out), then the fixed ones."""
        environment: dict[str, str] = {}
        for setting, value in values.items():
            if value is None:
                continue
            text = dict(self.dtypes)[str(value)] if setting == "dtype" else str(value)
            for name in self.variables_of(setting):
                environment[name] = text
        return {**environment, **dict(self.fixed)}


_TGI = "huggingface/text-generation-inference"
_TGI_3_3_6 = f"{_TGI}@efb94e0d3db6aba9d464bc9a2f83191146203152"
_LHC = "awslabs/llm-hosting-container"
# The launcher refuses MAX_INPUT_TOKENS beside its legacy name MAX_INPUT_LENGTH, and max_input_tokens not below
# max_total_tokens (TGI 3.3.6 launcher/src/main.rs#L2096-L2204); the router refuses max_input_tokens above
# max_batch_prefill_tokens (backends/v2/src/main.rs#L134-L165). The Neuron server batches statically: the kit
# sets the prefill budget to batch x input tokens, as 0.3.0's own tgi_env.py does (#L88-L111).
_TGI_SHAPE: tuple[tuple[Setting, tuple[str, ...]], ...] = (
    ("tensor_parallel_degree", ("HF_NUM_CORES",)),
    ("max_batch_size", ("MAX_BATCH_SIZE",)),
    ("max_sequence_length", ("MAX_TOTAL_TOKENS",)),
    ("max_input_tokens", ("MAX_INPUT_TOKENS",)),
    ("max_batch_prefill_tokens", ("MAX_BATCH_PREFILL_TOKENS",)),
    ("dtype", ("HF_AUTO_CAST_TYPE",)),
)
_TGI_DTYPES = (("bf16", "bf16"), ("fp16", "fp16"))
# optimum-cli export neuron (optimum/commands/export/neuronx.py at each version's tag, e.g. v0.3.0#L98-L235):
# --num_cores is the decoder's tensor parallel degree up to 0.3.0 (--tensor_parallel_size is ignored for decoders
# there); --auto_cast_type is its dtype.
_TGI_EXPORT: tuple[tuple[Setting, str], ...] = (
    ("max_batch_size", "--batch_size"),
    ("max_sequence_length", "--sequence_length"),
    ("tensor_parallel_degree", "--num_cores"),
    ("dtype", "--auto_cast_type"),
)
# The SageMaker entrypoint of 0.0.21-0.0.28 and 0.2.0 maps HF_MODEL_ID to MODEL_ID and HF_MODEL_REVISION to
# REVISION, and exits without MAX_BATCH_SIZE.
_TGI_HF_ENTRYPOINT = StartupContract(
    variables=(("model", ("HF_MODEL_ID",)), ("revision", ("HF_MODEL_REVISION",)), *_TGI_SHAPE),
    prepared_layout="export",
    not_read=("MODEL_ID", "REVISION", "MAX_INPUT_LENGTH", "HF_BATCH_SIZE", "HF_SEQUENCE_LENGTH"),
    dtypes=_TGI_DTYPES,
    input_below_total=True,
    export_options=_TGI_EXPORT,
    sources=(
        "huggingface/optimum-neuron@f74ddb6ecb1a85ce019f679cf72f3a2d9dbe2bc7:text-generation-inference/"
        "sagemaker-entrypoint.sh#L3-L22",
        f"{_LHC}@0e7ee50872d480256f0cbf93f2b6e0357d4d37fb:huggingface/pytorch/optimum/docker/3.3.4/Dockerfile#L12-L35",
        "huggingface/optimum-neuron@f74ddb6ecb1a85ce019f679cf72f3a2d9dbe2bc7:text-generation-inference/server/"
        "text_generation_server/model.py#L15-L32",
        f"{_TGI}@8f326c97912a20d20cddb6ba61bf1569fa9a8601:launcher/src/main.rs",
    ),
)
_STARTUP: dict[str, tuple[tuple[tuple[str, ...], StartupContract], ...]] = {
    "huggingface-llm-neuronx": (
        (("0.0.23", "0.0.24", "0.0.25", "0.0.27", "0.0.28", "0.2.0"), _TGI_HF_ENTRYPOINT),
        # 0.3.0: the entrypoint runs tgi_entry_point.py, which reads MODEL_ID and REVISION only (HF_MODEL_ID is
        # not mapped any more); usage statistics would be sent to huggingface.co, which an isolated endpoint
        # cannot reach, so they are off.
        (
            ("0.3.0",),
            StartupContract(
                variables=(("model", ("MODEL_ID",)), ("revision", ("REVISION",)), *_TGI_SHAPE),
                prepared_layout="export",
                fixed=(("USAGE_STATS", "off"),),
                not_read=(
                    "HF_MODEL_ID",
                    "HF_MODEL_REVISION",
                    "MAX_INPUT_LENGTH",
                    "HF_BATCH_SIZE",
                    "HF_SEQUENCE_LENGTH",
                ),
                dtypes=_TGI_DTYPES,
                input_below_total=True,
                export_options=_TGI_EXPORT,
                sources=(
                    f"{_LHC}@2befb6dde7e75cb2b5cc5dad5141723ec35d9e05:huggingface/pytorch/optimum/docker/3.3.6/"
                    "Dockerfile#L19-L40",
                    f"{_TGI_3_3_6}:backends/neuron/server/text_generation_server/tgi_env.py#L18-L111,L158-L242",
                    f"{_TGI_3_3_6}:backends/neuron/server/text_generation_server/model.py#L62-L129",
                    f"{_TGI_3_3_6}:launcher/src/main.rs#L848-L901,L2096-L2204",
                ),
            ),
        ),
    ),
    # optimum-cli neuron serve: every SM_ON_<X> variable becomes --<x>, and an option it does not know stops it
    # (argparse); the dtype is the model's own (config.json torch_dtype), not an option; there is no revision.
    "huggingface-vllm-neuronx": (
        (
            ("0.4.1",),
            StartupContract(
                variables=(
                    ("model", ("SM_ON_MODEL",)),
                    ("tensor_parallel_degree", ("SM_ON_TENSOR_PARALLEL_SIZE",)),
                    ("max_batch_size", ("SM_ON_BATCH_SIZE",)),
                    ("max_sequence_length", ("SM_ON_SEQUENCE_LENGTH",)),
                ),
                prepared_layout="export",
                option_prefix="SM_ON_",
                # optimum-neuron 0.4.1: --tensor_parallel_size (--num_cores is a hidden alias); the dtype is the
                # model's own (optimum/commands/export/neuronx.py#L110-L141).
                export_options=(
                    ("max_batch_size", "--batch_size"),
                    ("max_sequence_length", "--sequence_length"),
                    ("tensor_parallel_degree", "--tensor_parallel_size"),
                ),
                not_read=("SM_VLLM_MODEL", "HF_MODEL_ID", "SM_ON_PORT", "SM_ON_ALLOW_NON_CACHED_MODEL"),
                sources=(
                    "huggingface/optimum-neuron@a3ded34ae936f7b87a011ecc547aaae10af6e93a:docker/vllm/Dockerfile"
                    "#L55-L94",
                    "huggingface/optimum-neuron@a3ded34ae936f7b87a011ecc547aaae10af6e93a:optimum/commands/neuron/"
                    "serve.py#L48-L237",
                ),
            ),
        ),
    ),
    # LMI: OPTION_<X> become the handler's properties. The Neuron handler runs only when named (the recommender
    # otherwise picks the CPU handler); rolling batch is off unless set (0.28.0-dlc, 0.29.0), and with it the
    # compiled batch is max_rolling_batch_size, which OPTION_BATCH_SIZE > 1 contradicts (refused); HF_MODEL_ID
    # would add a second model. Plain weights in /opt/ml/model are compiled at start-up without network.
    "djl-neuronx": (
        (
            ("0.28.0", "0.29.0"),
            StartupContract(
                variables=(
                    ("model", ("OPTION_MODEL_ID",)),
                    ("revision", ("OPTION_REVISION",)),
                    ("tensor_parallel_degree", ("OPTION_TENSOR_PARALLEL_DEGREE",)),
                    ("max_batch_size", ("OPTION_MAX_ROLLING_BATCH_SIZE",)),
                    ("max_sequence_length", ("OPTION_N_POSITIONS",)),
                    ("dtype", ("OPTION_DTYPE",)),
                ),
                prepared_layout="weights",
                fixed=(("OPTION_ENTRYPOINT", "djl_python.transformers_neuronx"), ("OPTION_ROLLING_BATCH", "tnx")),
                not_read=("HF_MODEL_ID", "OPTION_BATCH_SIZE"),
                dtypes=(("bf16", "bf16"), ("fp16", "fp16")),
                model_types=("opt", "gpt2", "gptj", "gpt_neox", "llama", "mistral", "mixtral", "bloom"),
                sources=(
                    "deepjavalibrary/djl-serving@v0.29.0:wlm/src/main/java/ai/djl/serving/wlm/ModelInfo.java"
                    "#L810-L836,L993-L1064",
                    "deepjavalibrary/djl-serving@v0.29.0:engines/python/src/main/java/ai/djl/python/engine/"
                    "PyModel.java#L160-L182",
                    "deepjavalibrary/djl-serving@v0.29.0:wlm/src/main/java/ai/djl/serving/wlm/"
                    "LmiConfigRecommender.java#L95-L130",
                    "deepjavalibrary/djl-serving@v0.29.0:engines/python/setup/djl_python/properties_manager/"
                    "tnx_properties.py#L79-L172",
                    "deepjavalibrary/djl-serving@v0.29.0:engines/python/setup/djl_python/neuron_utils/"
                    "model_loader.py#L113-L150,L295-L408",
                ),
            ),
        ),
    ),
}


def startup_contract(framework: str, version: str) -> StartupContract | None:
    """How the kit starts ``framework`` at ``version`` with its own settings (None: it does not)."""
    return next((contract for versions, contract in _STARTUP.get(framework, ()) if version in versions), None)


def startup_versions(framework: str) -> tuple[str, ...]:
    """The versions of ``framework`` the kit starts with its own settings."""
    return tuple(version for versions, _ in _STARTUP.get(framework, ()) for version in versions)
