"""Data formatting: the three record formats, the chat template applied by a real tokenizer, the held-out split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kit_training.data import DataError, format_record, format_records, read_records, split_held_out

CHAT = {
    "messages": [
        {"role": "system", "content": "be fine"},
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "fine thanks"},
    ]
}


def test_messages_are_rendered_with_the_models_chat_template(tokenizer: Any) -> None:
    assert format_record(CHAT, tokenizer, "f line 1") == (
        "<s><|system|>\nbe fine</s>\n<|user|>\nhello there</s>\n<|assistant|>\nfine thanks</s>\n"
    )


def test_the_rendered_text_is_what_the_tokenizer_itself_renders(tokenizer: Any) -> None:
    # The same call the trainer's tokenizer would make: no formatting of the kit's own in between.
    assert format_record(CHAT, tokenizer, "f line 1") == tokenizer.apply_chat_template(CHAT["messages"], tokenize=False)


def test_instruction_response_becomes_a_user_and_an_assistant_turn(tokenizer: Any) -> None:
    record = {"instruction": "how are you", "context": "hello there", "response": "fine thanks"}
    assert format_record(record, tokenizer, "f line 1") == (
        "<s><|user|>\nhow are you\n\nhello there</s>\n<|assistant|>\nfine thanks</s>\n"
    )


def test_instruction_response_without_a_chat_template_uses_sections(plain_tokenizer: Any) -> None:
    record = {"instruction": "how are you", "response": "fine thanks"}
    assert format_record(record, plain_tokenizer, "f line 1") == (
        "<s>### Instruction:\nhow are you\n\n### Response:\nfine thanks</s>"
    )


def test_text_records_get_the_sequence_tokens(tokenizer: Any) -> None:
    assert format_record({"text": "hello there"}, tokenizer, "f line 1") == "<s>hello there</s>"


def test_messages_without_a_chat_template_are_refused(plain_tokenizer: Any) -> None:
    with pytest.raises(DataError, match=r"^f line 3: 'messages' records need a chat template"):
        format_record(CHAT, plain_tokenizer, "f line 3")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": "x"}, "f line 1: expected 'text', 'instruction' and 'response', or 'messages'; got ['prompt']"),
        ({"instruction": "x"}, "f line 1: field 'response' is missing"),
        ({"instruction": "x", "response": " "}, "f line 1: field 'response' is not a non-empty string"),
        ({"messages": []}, "f line 1: 'messages' must be a non-empty list of {role, content} objects"),
        (
            {"messages": [{"role": "bot", "content": "x"}]},
            "f line 1: messages[0].role is 'bot'; expected one of system, user, assistant",
        ),
        ({"messages": [{"role": "user", "content": "x"}]}, "f line 1: 'messages' has no assistant turn to learn from"),
    ],
)
def test_bad_records_are_refused_naming_the_line(tokenizer: Any, record: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError) as excinfo:
        format_record(record, tokenizer, "f line 1")
    assert str(excinfo.value) == message


def test_records_are_read_from_every_jsonl_file_in_order(tmp_path: Path, tokenizer: Any) -> None:
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "fine thanks"}) + "\n")
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "hello there"}) + "\n\n" + json.dumps(CHAT) + "\n")
    (tmp_path / "notes.txt").write_text("not data")
    records = read_records(tmp_path)
    assert [where for where, _ in records] == ["a.jsonl line 1", "a.jsonl line 3", "b.jsonl line 1"]
    assert format_records(records, tokenizer)[2] == "<s>fine thanks</s>"


def test_a_line_that_is_not_an_object_is_refused_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"^a.jsonl line 2: expected a JSON object, got list$"):
        read_records(tmp_path)


def test_an_empty_channel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no record in any \.jsonl file"):
        read_records(tmp_path)


def test_split_is_seeded_disjoint_and_keeps_order() -> None:
    texts = [f"t{i}" for i in range(20)]
    train, held = split_held_out(texts, 0.25, seed=7)
    assert (len(train), len(held)) == (15, 5)
    assert sorted(train + held) == sorted(texts)
    assert train == sorted(train, key=texts.index)
    assert split_held_out(texts, 0.25, seed=7) == (train, held)
    assert split_held_out(texts, 0.25, seed=8) != (train, held)


def test_split_ratio_zero_holds_nothing_out_and_a_tiny_set_is_refused() -> None:
    assert split_held_out(["a", "b"], 0.0, seed=1) == (["a", "b"], [])
    with pytest.raises(DataError, match="leaves no training example out of 1"):
        split_held_out(["a"], 0.5, seed=1)
