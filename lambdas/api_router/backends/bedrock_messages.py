"""Converse messages from OpenAI chat messages: the system blocks, and the turns with their content blocks.

Shapes and limits follow botocore's ``bedrock-runtime`` service model (1.44.8): ``Message.content`` blocks
(``text``, ``image`` in png/jpeg/gif/webp up to 3.75 MB and 20 per request, ``document`` in pdf/csv/doc/docx/
xls/xlsx/html/txt/md up to 4.5 MB and 5 per request and only beside a text block, ``toolUse``, ``toolResult``).
Converse needs a conversation that starts with a user turn, with the roles alternating.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lambdas.api_router.chat_messages import FilePart, ImagePart, Message, TextPart
from lambdas.api_router.errors import bad_request

IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
MAX_IMAGES, MAX_IMAGE_BYTES = 20, int(3.75 * 1024 * 1024)
# The 4.5 MB document limit does not apply to PDF on Claude 4+ and to PDF and DOCX on Amazon Nova (Bedrock user
# guide, "inference-api-restrictions"); the model itself refuses what it cannot take.
MAX_DOCUMENTS, MAX_DOCUMENT_BYTES, UNBOUNDED_DOCUMENT_FORMATS = 5, int(4.5 * 1024 * 1024), ("pdf", "docx")
_TOOL_USE_ID_RE = re.compile(r"^[a-zA-Z0-9_.:-]{1,64}$")
_DOCUMENT_NAME_DROP = re.compile(r"[^A-Za-z0-9\s\-\(\)\[\]]+")


def conversation(messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The system blocks and the Converse turns (alternating, starting with the user) of OpenAI messages.

    Blank text is left out (Converse refuses blank text blocks), turns of one role are merged, and a message
    left empty, a conversation that starts with the assistant, or a document without text beside it is refused
    with a 400 naming the client's own message. Nothing is added that the client did not send.
    """
    system = [{"text": m.text} for m in messages if m.role == "system" and m.text.strip()]
    turns: list[dict[str, Any]] = []
    first_index: list[int] = []
    counts = {"image": 0, "document": 0}
    for message in messages:
        if message.role == "system":
            continue
        blocks = _blocks(message, counts)
        if not blocks:
            if message.role == "assistant":
                continue  # an empty assistant turn says nothing; leaving it out changes nothing
            raise bad_request(
                f"messages[{message.index}].content",
                f"'messages[{message.index}].content' is empty; Bedrock's Converse API refuses blank text",
            )
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
            first_index.append(message.index)
    if turns and turns[0]["role"] == "assistant":
        raise bad_request(
            f"messages[{first_index[0]}]",
            f"'messages[{first_index[0]}]': Bedrock's Converse API needs the conversation to start with a user "
            "message, not the assistant's",
        )
    for turn, index in zip(turns, first_index, strict=True):
        has_document = any("document" in block for block in turn["content"])
        if has_document and not any("text" in block for block in turn["content"]):
            raise bad_request(
                f"messages[{index}].content",
                f"'messages[{index}].content': a file needs a text part in the same message (Converse's rule)",
            )
    return system, turns


def _blocks(message: Message, counts: dict[str, int]) -> list[dict[str, Any]]:
    where = f"messages[{message.index}]"
    if message.role == "tool":
        if not message.text.strip():
            raise bad_request(f"{where}.content", f"'{where}.content' is empty; a tool result needs content")
        _check_tool_use_id(message.tool_call_id or "", f"{where}.tool_call_id")
        return [{"toolResult": {"toolUseId": message.tool_call_id, "content": [{"text": message.text}]}}]
    blocks: list[dict[str, Any]] = []
    for position, part in enumerate(message.parts):
        at = f"{where}.content[{position}]"
        if isinstance(part, TextPart):
            if part.text.strip():
                blocks.append({"text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image(part, at, counts))
        elif isinstance(part, FilePart):
            blocks.append(_document(part, at, counts))
    for position, call in enumerate(message.tool_calls):
        at = f"{where}.tool_calls[{position}]"
        _check_tool_use_id(call.id, f"{at}.id")
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise bad_request(f"{at}.function.arguments", f"'{at}.function.arguments' must be a JSON object")
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": arguments}})
    return blocks


def _image(part: ImagePart, at: str, counts: dict[str, int]) -> dict[str, Any]:
    image_format = IMAGE_FORMATS.get(part.media_type)
    if image_format is None:
        raise bad_request(at, f"'{at}' is {part.media_type}; Bedrock takes png, jpeg, gif or webp images")
    if len(part.data) > MAX_IMAGE_BYTES:
        raise bad_request(at, f"'{at}' is {len(part.data)} bytes; Bedrock takes images up to 3.75 MB")
    counts["image"] += 1
    if counts["image"] > MAX_IMAGES:
        raise bad_request(at, f"'{at}': Bedrock takes up to {MAX_IMAGES} images in one request")
    return {"image": {"format": image_format, "source": {"bytes": part.data}}}


def _document(part: FilePart, at: str, counts: dict[str, int]) -> dict[str, Any]:
    document_format = DOCUMENT_FORMATS.get(part.media_type)
    if document_format is None:
        raise bad_request(
            at, f"'{at}' is {part.media_type}; Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt or md files"
        )
    if len(part.data) > MAX_DOCUMENT_BYTES and document_format not in UNBOUNDED_DOCUMENT_FORMATS:
        raise bad_request(at, f"'{at}' is {len(part.data)} bytes; Bedrock takes files up to 4.5 MB")
    counts["document"] += 1
    if counts["document"] > MAX_DOCUMENTS:
        raise bad_request(at, f"'{at}': Bedrock takes up to {MAX_DOCUMENTS} files in one request")
    # DocumentBlock.name: letters, digits, single spaces, hyphens, parentheses and square brackets, 1-200 long.
    stem = (part.filename or "").rsplit(".", 1)[0]
    name = " ".join(_DOCUMENT_NAME_DROP.sub(" ", stem).split())[:200] or f"document {counts['document']}"
    return {"document": {"format": document_format, "name": name, "source": {"bytes": part.data}}}


def _check_tool_use_id(value: str, param: str) -> None:
    if not _TOOL_USE_ID_RE.match(value):
        raise bad_request(param, f"'{param}' must be 1-64 letters, digits or _.:- (Bedrock's tool use id)")
