"""Architecture facts of Hugging Face models (``model_artifacts/huggingface/models.json``, curated by hand: the
catalog's refresh command writes ``model_artifacts/catalog`` from JumpStart and owns nothing else).

Synth cannot read a model's ``config.json`` (no network), so the checks that need its shape (the context
length, the model type a container serves, whether the weights and KV cache fit the accelerator memory) use
these recorded facts, each with its source. A model not recorded is served without those checks.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.catalog.loader import DEFAULT_ROOT

MODELS_FILE = DEFAULT_ROOT.parent / "huggingface" / "models.json"
GIB = 1 << 30


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelFacts(_Frozen):
    """What a model's ``config.json`` says about its shape (names as in ``config.json``)."""

    model_type: str
    parameters: int = Field(gt=0)
    num_hidden_layers: int = Field(gt=0)
    num_attention_heads: int = Field(gt=0)
    num_key_value_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    max_position_embeddings: int = Field(gt=0)
    torch_dtype: str
    source: str = Field(min_length=1)

    def memory_bytes(self, *, batch_size: int, sequence_length: int, tensor_parallel_degree: int) -> int:
        """Bytes of accelerator memory the served model needs at least, in 16-bit weights and KV cache.

        Weights: 2 bytes per parameter. KV cache: keys and values of every layer for ``batch_size`` sequences of
        ``sequence_length`` tokens, 2 bytes each; a KV head is replicated on every NeuronCore when there are
        fewer KV heads than cores (optimum-neuron's GQA sharding), so at least ``tensor_parallel_degree`` heads.
        Activations and runtime buffers come on top: this is a lower bound.
        """
        kv_heads = max(self.num_key_value_heads, tensor_parallel_degree)
        kv_cache = 2 * self.num_hidden_layers * kv_heads * self.head_dim * sequence_length * batch_size * 2
        return self.parameters * 2 + kv_cache


class _ModelsFile(_Frozen):
    about: str
    models: dict[str, ModelFacts]


def model_facts(model_id: str, *, path: Path = MODELS_FILE) -> ModelFacts | None:
    """The recorded facts of a Hugging Face model id, or None."""
    return _models(path).get(model_id)


@functools.cache
def _models(path: Path) -> dict[str, ModelFacts]:
    return _ModelsFile.model_validate(json.loads(path.read_text(encoding="utf-8"))).models
