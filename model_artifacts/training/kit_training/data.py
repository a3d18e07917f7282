"""Training data: JSON Lines channels to the text the trainer tokenizes, and the held-out split.

Each record is one JSON object in one of three formats (the dataset step checks the string fields):

- ``{"text": "..."}``: the text between the tokenizer's beginning- and end-of-sequence tokens;
- ``{"instruction": "...", "response": "...", "context": "..."}`` (``context`` optional): a user turn and an
  assistant turn, rendered with the model's chat template, or without one as ``### Instruction`` /
  ``### Response`` sections between the beginning- and end-of-sequence tokens;
- ``{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}``: rendered with the model's chat
  template (``tokenizer.apply_chat_template(messages, tokenize=False)``, transformers 4.55.4
  ``PreTrainedTokenizerBase.apply_chat_template``); a model without a chat template is refused.

Each text is complete: a chat template places the special tokens the model expects, and the other texts get the
tokenizer's BOS/EOS here, so the trainer tokenizes with ``add_special_tokens=False`` (no doubled BOS). The
tokenizer is passed in (anything with ``chat_template``, ``bos_token``, ``eos_token`` and ``apply_chat_template``),
so this module runs without transformers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

DATA_SUFFIXES = (".jsonl",)
ROLES = ("system", "user", "assistant")


class DataError(ValueError):
    """A record the script cannot train on; the message names the file and line."""


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer that formatting needs."""

    chat_template: str | None
    bos_token: str | None
    eos_token: str | None

    def apply_chat_template(self, conversation: list[dict[str, str]], *, tokenize: bool) -> Any:
        """Render a conversation with the tokenizer's template."""
        ...


def read_records(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every record of the ``*.jsonl`` files under ``directory`` (sorted by path), with ``<file> line <n>``.

    Raises DataError for a line that is not a JSON object, or a channel without any record.
    """
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    records: list[tuple[str, dict[str, Any]]] = []
    for path in files:
        with path.open(encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                where = f"{path.relative_to(directory)} line {number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where}: not valid JSON ({error})") from None
                if not isinstance(record, dict):
                    raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
                records.append((where, record))
    if not records:
        raise DataError(f"{directory}: no record in any {'/'.join(DATA_SUFFIXES)} file")
    return records


def conversation(record: dict[str, Any], where: str) -> list[dict[str, str]] | None:
    """The record as chat messages (``messages`` or instruction/response), or None for a ``text`` record."""
    if "messages" in record:
        return _messages(record["messages"], where)
    if "instruction" in record or "response" in record:
        instruction = _string(record, "instruction", where)
        response = _string(record, "response", where)
        context = record.get("context")
        if context is not None and not isinstance(context, str):
            raise DataError(f"{where}: field 'context' is not a string")
        prompt = f"{instruction}\n\n{context}" if context else instruction
        return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    if "text" in record:
        _string(record, "text", where)
        return None
    raise DataError(f"{where}: expected 'text', 'instruction' and 'response', or 'messages'; got {sorted(record)}")


def format_record(record: dict[str, Any], tokenizer: ChatTokenizer, where: str) -> str:
    """The training text of one record (see the module docstring for the three formats)."""
    messages = conversation(record, where)
    bos, eos = tokenizer.bos_token or "", tokenizer.eos_token or ""
    if messages is None:
        return f"{bos}{record['text']}{eos}"
    if tokenizer.chat_template:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        if not isinstance(text, str):
            raise DataError(f"{where}: the chat template returned {type(text).__name__}, expected text")
        return text
    if "messages" in record:
        raise DataError(
            f"{where}: 'messages' records need a chat template and this model's tokenizer has none; "
            "use 'instruction'/'response' records or a model with a chat template"
        )
    user, assistant = messages
    return f"{bos}### Instruction:\n{user['content']}\n\n### Response:\n{assistant['content']}{eos}"


def format_records(records: Iterable[tuple[str, dict[str, Any]]], tokenizer: ChatTokenizer) -> list[str]:
    """Training texts of ``records`` in order."""
    return [format_record(record, tokenizer, where) for where, record in records]


def split_held_out(texts: Sequence[str], ratio: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): a seeded shuffle, then the last ``ratio`` share held out (at least one when ratio > 0).

    Raises DataError when the split would leave no training example.
    """
    if ratio <= 0:
        return list(texts), []
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)  # noqa: S311 - a reproducible split, not a secret
    held = max(1, round(len(texts) * ratio))
    if held >= len(texts):
        raise DataError(f"validation_split_ratio {ratio} leaves no training example out of {len(texts)}")
    keep = sorted(order[: len(texts) - held])
    out = sorted(order[len(texts) - held :])
    return [texts[i] for i in keep], [texts[i] for i in out]


def _string(record: dict[str, Any], field: str, where: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if field not in record else "not a non-empty string"
        raise DataError(f"{where}: field '{field}' is {problem}")
    return value


def _messages(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataError(f"{where}: 'messages' must be a non-empty list of {{role, content}} objects")
    messages: list[dict[str, str]] = []
    for index, message in enumerate(value):
        at = f"{where}: messages[{index}]"
        if not isinstance(message, dict) or set(message) - {"role", "content"}:
            raise DataError(f"{at} must be an object with only 'role' and 'content'")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise DataError(f"{at}.role is {role!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise DataError(f"{at}.content is not a string")
        messages.append({"role": role, "content": content})
    if not any(m["role"] == "assistant" for m in messages):
        raise DataError(f"{where}: 'messages' has no assistant turn to learn from")
    return messages
