"""The training script's tests: its package is imported as the container imports it (``kit_training``).

Nothing here needs torch or optimum-neuron: only ``kit_training.neuron`` imports them, inside its functions.
The chat-template tests need transformers, tokenizers and jinja2 (requirements-dev.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCRIPT_DIR = Path(__file__).resolve().parents[2] / "model_artifacts" / "training"
if str(SCRIPT_DIR) not in sys.path:
    sys.path.insert(0, str(SCRIPT_DIR))

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def build_tokenizer(chat_template: str | None = CHAT_TEMPLATE) -> object:
    """A real fast tokenizer made offline from a word-level vocabulary (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for word in ["hello", "there", "how", "are", "you", "user", "assistant", "system", "fine", "thanks"]:
        vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call, unused-ignore]
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="</s>",
        chat_template=chat_template,
    )


@pytest.fixture(scope="session")
def tokenizer() -> object:
    """A tokenizer with a chat template."""
    return build_tokenizer()


@pytest.fixture(scope="session")
def plain_tokenizer() -> object:
    """A tokenizer without a chat template."""
    return build_tokenizer(None)
