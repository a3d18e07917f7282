"""What each Neuron serving container does on SageMaker, per container version, read from the container's source.

Serving facts per (framework, versions): the request schemas ``/invocations`` accepts and whether it streams an
answer when the body asks for it; the API router's payload translation reads them through the endpoint's resolved
configuration. Each record carries the version's start-up contract where the kit starts it with its own settings
(``genai_kit.catalog.startup``), and each family names the variables that set the tensor parallel degree in any
of its versions.

Framework names and versions are those of the SageMaker SDK's image tables (``model_artifacts/catalog/images``).
Sources are cited as ``repository@commit-or-tag:path#lines``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genai_kit.catalog.errors import CatalogError, choices
from genai_kit.catalog.loader import load_image_table
from genai_kit.catalog.startup import StartupContract, startup_contract

ContainerFamily = Literal["tgi", "vllm", "lmi"]

_FAMILIES: dict[str, ContainerFamily] = {
    "huggingface-llm-neuronx": "tgi",
    "huggingface-vllm-neuronx": "vllm",
    "djl-neuronx": "lmi",
}


@dataclass(frozen=True)
class ContainerContract:
    """The serving facts of one container version.

    - ``chat_on_invocations``: ``/invocations`` takes OpenAI's chat schema (``messages``).
    - ``streams``: the container streams an answer when the body has ``"stream": true`` (SageMaker's
      InvokeEndpointWithResponseStream passes the body through), framed as server-sent events or JSON lines.
    - ``stream_usage``: it also sends token usage in a stream when asked with ``stream_options.include_usage``.
    - ``chat_environment``: the variables the container needs to take the chat schema (the kit sets them).
    - ``startup``: how the kit starts this version with its own settings (None: the kit does not; a JumpStart
      spec's environment can still start it).
    """

    framework: str
    family: ContainerFamily
    version: str
    chat_on_invocations: bool
    streams: bool
    stream_usage: bool
    sources: tuple[str, ...]
    chat_environment: tuple[tuple[str, str], ...] = ()
    startup: StartupContract | None = None


@dataclass(frozen=True)
class _Facts:
    versions: tuple[str, ...]
    chat_on_invocations: bool
    streams: bool
    stream_usage: bool
    sources: tuple[str, ...]
    chat_environment: tuple[tuple[str, str], ...] = ()


_TGI_GENERATE_STREAM = (
    "huggingface/text-generation-inference@efb94e0d3db6aba9d464bc9a2f83191146203152:router/src/server.rs#L138-L144 "
    "(compat generate streams server-sent events when the body has stream: true)"
)
_FACTS: dict[str, tuple[_Facts, ...]] = {
    "huggingface-llm-neuronx": (
        # TGI 1.0.2 (0.0.16-0.0.18): /invocations is the generate route only.
        _Facts(
            ("0.0.16", "0.0.17", "0.0.18"),
            chat_on_invocations=False,
            streams=True,
            stream_usage=False,
            sources=(
                "huggingface/text-generation-inference@c4422e567811:router/src/server.rs#L674",
                _TGI_GENERATE_STREAM,
            ),
        ),
        # TGI 1.4.1 to 2.1.1 (0.0.19-0.0.25): chat on /invocations with MESSAGES_API_ENABLED=true, which then
        # refuses the generate schema; the kit sets it and sends the chat schema. Chat streams end without [DONE].
        _Facts(
            ("0.0.19", "0.0.20", "0.0.21", "0.0.22", "0.0.23", "0.0.24", "0.0.25"),
            chat_on_invocations=True,
            streams=True,
            stream_usage=False,
            chat_environment=(("MESSAGES_API_ENABLED", "true"),),
            sources=(
                "huggingface/text-generation-inference@4139054b82c7:router/src/server.rs#L962-L966",
                "huggingface/text-generation-inference@4dfdb481fb1f:router/src/server.rs#L1823-L1827",
                _TGI_GENERATE_STREAM,
            ),
        ),
        # TGI 3.0.0 (0.0.27, 0.0.28) and 3.3.x (0.2.0, 0.3.0): /invocations takes generate, chat and completion
        # bodies (TGI 2.4.0+); a chat stream ends with data:[DONE]; usage when stream_options.include_usage is true.
        _Facts(
            ("0.0.27", "0.0.28", "0.2.0", "0.3.0"),
            chat_on_invocations=True,
            streams=True,
            stream_usage=True,
            sources=(
                "huggingface/text-generation-inference@efb94e0d3db6aba9d464bc9a2f83191146203152:router/src/sagemaker.rs"
                "#L15-L21,L66-L92",
                "huggingface/text-generation-inference@efb94e0d3db6aba9d464bc9a2f83191146203152:router/src/chat.rs"
                "#L265-L296",
                "huggingface/text-generation-inference@8f326c97912a20d20cddb6ba61bf1569fa9a8601:router/src/server.rs"
                "#L1152-L1184",
                "awslabs/llm-hosting-container@2befb6dde7e75cb2b5cc5dad5141723ec35d9e05:"
                "huggingface/pytorch/optimum/docker/3.3.6/Dockerfile#L1",
            ),
        ),
    ),
    "huggingface-vllm-neuronx": (
        # vLLM 0.10.2 via optimum-neuron 0.4.1: /invocations tries the chat, then the completion schema; streams
        # chat.completion.chunk events ending in data: [DONE]; usage only when stream_options is sent.
        _Facts(
            ("0.4.1",),
            chat_on_invocations=True,
            streams=True,
            stream_usage=True,
            sources=(
                "huggingface/optimum-neuron@a3ded34ae936f7b87a011ecc547aaae10af6e93a:docker/vllm/Dockerfile#L64-L94",
                "vllm-project/vllm@v0.10.2 (sdist, commit 26b999c71):vllm/entrypoints/openai/api_server.py#L1202-L1260",
                "vllm-project/vllm@v0.10.2 (sdist, commit 26b999c71):vllm/entrypoints/openai/serving_chat.py"
                "#L466-L1140",
            ),
        ),
    ),
    "djl-neuronx": (
        # LMI 0.22.1-0.26.0: no chat schema, no per-request stream (a rolling-batch answer is one JSON object sent
        # in fragments).
        _Facts(
            ("0.22.1", "0.23.0", "0.24.0", "0.25.0", "0.26.0"),
            chat_on_invocations=False,
            streams=False,
            stream_usage=False,
            sources=(
                "deepjavalibrary/djl-serving@v0.24.0:engines/python/setup/djl_python/rolling_batch/rolling_batch.py"
                "#L18-L31,L152-L162",
                "deepjavalibrary/djl-serving@v0.26.0:engines/python/setup/djl_python/rolling_batch/rolling_batch.py"
                "#L58-L91",
            ),
        ),
        # LMI 0.27.0+: chat schema (a "messages" key) and per-request "stream": true with rolling batch, as JSON
        # lines (token events, or chat.completion.chunk objects without [DONE] and without usage).
        _Facts(
            ("0.27.0", "0.28.0", "0.29.0"),
            chat_on_invocations=True,
            streams=True,
            stream_usage=False,
            sources=(
                "deepjavalibrary/djl-serving@v0.29.0:engines/python/setup/djl_python/chat_completions/chat_utils.py"
                "#L18-L30",
                "deepjavalibrary/djl-serving@v0.29.0:engines/python/setup/djl_python/output_formatter.py"
                "#L214-L235,L329-L374",
                "deepjavalibrary/djl-serving@v0.27.0:engines/python/setup/djl_python/utils.py#L47-L53",
            ),
        ),
    ),
}


# The variables that carry the tensor parallel degree, in every version of a family: LMI's option (and its plain
# form, PyEnv.java#L338-L356), TGI's HF_NUM_CORES, vLLM's SM_ON_TENSOR_PARALLEL_SIZE.
_DEGREE_VARIABLES: dict[ContainerFamily, tuple[str, ...]] = {
    "lmi": ("OPTION_TENSOR_PARALLEL_DEGREE", "TENSOR_PARALLEL_DEGREE"),
    "tgi": ("HF_NUM_CORES",),
    "vllm": ("SM_ON_TENSOR_PARALLEL_SIZE",),
}


def degree_variables(family: ContainerFamily) -> tuple[str, ...]:
    """The environment variables that set the tensor parallel degree in ``family``'s containers."""
    return _DEGREE_VARIABLES[family]


def container_contract(framework: str, version: str) -> ContainerContract:
    """The facts of ``framework`` (an image table name) at ``version`` (a table version, not an alias).

    Raises
    ------
    CatalogError
        When the framework is not a Neuron serving container or no record covers the version.
    """
    if framework not in _FACTS:
        raise CatalogError(f"no serving facts for container {framework!r}; known: {choices(_FACTS)}")
    for facts in _FACTS[framework]:
        if version in facts.versions:
            return ContainerContract(
                framework=framework,
                family=_FAMILIES[framework],
                version=version,
                chat_on_invocations=facts.chat_on_invocations,
                streams=facts.streams,
                stream_usage=facts.stream_usage,
                sources=facts.sources,
                chat_environment=facts.chat_environment,
                startup=startup_contract(framework, version),
            )
    known = [v for facts in _FACTS[framework] for v in facts.versions]
    raise CatalogError(f"no serving facts for {framework} {version!r}; versions with facts: {choices(known)}")


def contract_for_image(image_uri: str) -> ContainerContract:
    """The facts of the Neuron DLC an image URI names (e.g. a JumpStart spec's hosting image).

    The image's ``repository:tag`` is looked up in the image tables, whose entries name each version's image.

    Raises
    ------
    CatalogError
        When no table lists the image.
    """
    image = image_uri.split("/", 1)[-1]
    for framework in _FACTS:
        table = load_image_table(framework)
        for version, entry in table.versions.items():
            if entry.image == image:
                return container_contract(framework, version)
    raise CatalogError(f"image {image!r} is not a Neuron serving container of the catalog's image tables")
