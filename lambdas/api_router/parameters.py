"""Every OpenAI Chat Completions parameter, per kind of backend: honoured, accepted and ignored, or refused.

The one list the router checks a request against, and the one the README's tables are generated from
(``python -m lambdas.api_router.parameters``; a test keeps the README current). A parameter is **honoured**
(translated faithfully), **ignored** only where ignoring it cannot change the answer, or **refused** with a 400
that names it and says why. A parameter on no list is refused as unknown. Some parameters are honoured for
some values only (``n`` of 1); the others are refused with the rule's reason.

Kinds: ``bedrock`` (the Converse API), and the serving containers of the endpoints: ``tgi`` (Hugging Face
TGI), ``vllm`` (the Hugging Face vLLM container), ``lmi`` (DJL Serving LMI). What each container honours comes
from its own source at the versions the catalog offers (``genai_kit/catalog/containers.py``); on Inferentia2
several container features are not implemented (guided decoding, tool parsers, penalties, log-probabilities).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from lambdas.api_router.errors import bad_request

Kind = Literal["bedrock", "tgi", "vllm", "lmi"]
KINDS: tuple[Kind, ...] = ("bedrock", "tgi", "vllm", "lmi")
Status = Literal["honoured", "ignored", "refused"]


@dataclass(frozen=True)
class Rule:
    """What a backend kind does with a parameter. ``accepts`` narrows the values honoured or ignored; any other
    value is refused with ``refusal``."""

    status: Status
    note: str
    accepts: Callable[[Any], bool] | None = None
    refusal: str = ""


def _all(rule: Rule) -> dict[Kind, Rule]:
    return dict.fromkeys(KINDS, rule)


def _endpoints(rule: Rule) -> dict[Kind, Rule]:
    return {kind: rule for kind in KINDS if kind != "bedrock"}


def _off(value: Any) -> bool:
    """The value that asks for nothing (0, false, an empty object or list)."""
    return value in (0, False) or value in ({}, [])


_CONTAINER_PENALTY = Rule(
    "honoured",
    "0 only: the Neuron serving containers do not apply it (TGI's Neuron server never reads it; LMI and vLLM on "
    "Neuron drop or misapply penalties)",
    accepts=_off,
    refusal="is not applied by this endpoint's container on Inferentia2; only 0 is accepted",
)
_CONVERSE_PENALTY = Rule(
    "honoured",
    "0 only: Converse has no penalties",
    accepts=_off,
    refusal="is not supported by Bedrock's Converse API; only 0 is accepted",
)
_NO_TOOLS = Rule(
    "refused",
    "the container cannot call tools on Inferentia2 (TGI's Neuron server and LMI ignore them; vLLM's container "
    "cannot enable a tool parser)",
)

RULES: dict[str, dict[Kind, Rule]] = {
    "messages": {
        "bedrock": Rule(
            "honoured",
            "system and developer messages become the system prompt; text, inline images (data URLs: png, jpeg, gif, "
            "webp) and inline files (pdf, csv, doc, docx, xls, xlsx, html, txt, md) become content blocks; assistant "
            "tool calls and tool results become toolUse and toolResult blocks; consecutive turns of one role merge",
        ),
        **_endpoints(
            Rule(
                "honoured",
                "text only (image and file parts, tool calls and tool results are refused); sent as OpenAI's chat "
                "schema where the container takes it, else as one prompt",
            )
        ),
    },
    "model": _all(Rule("honoured", "the alias of a model the API exposes (GET /v1/models)")),
    "stream": _all(Rule("honoured", "server-sent events, chunk by chunk as the model produces them")),
    "stream_options": {
        **_all(Rule("honoured", "include_usage adds the usage chunk; include_obfuscation is ignored")),
        "lmi": Rule("honoured", "include_usage adds the usage chunk, with 0 counts: LMI does not count in streams"),
    },
    "max_tokens": {
        "bedrock": Rule("honoured", "inferenceConfig.maxTokens, up to the model's configured output limit"),
        **_endpoints(Rule("honoured", "the container's max_tokens (or max_new_tokens), below the sequence length")),
    },
    "max_completion_tokens": {
        "bedrock": Rule("honoured", "as max_tokens"),
        **_endpoints(Rule("honoured", "as max_tokens")),
    },
    "temperature": {
        "bedrock": Rule(
            "honoured",
            "0 to 1 (Converse's range); above 1 is refused rather than rescaled",
            accepts=lambda v: 0 <= v <= 1,
            refusal="must be from 0 to 1 for a Bedrock model (Converse's range)",
        ),
        "tgi": Rule("honoured", "0 means greedy decoding"),
        "vllm": Rule("honoured", "0 means greedy decoding"),
        "lmi": Rule("honoured", "0 means greedy decoding (do_sample false)"),
    },
    "top_p": {
        "bedrock": Rule("honoured", "inferenceConfig.topP"),
        **_endpoints(
            Rule(
                "honoured",
                "above 0; 1 (no nucleus filtering) is sent as no top_p, since TGI refuses top_p outside (0, 1)",
                accepts=lambda v: v > 0,
                refusal="must be above 0 for this endpoint's container (TGI and vLLM refuse 0)",
            )
        ),
    },
    "stop": {
        "bedrock": Rule("honoured", "inferenceConfig.stopSequences"),
        "tgi": Rule("honoured", "up to 4 sequences"),
        "vllm": Rule("honoured", "stop sequences"),
        "lmi": Rule("refused", "LMI's Neuron engine drops stop sequences"),
    },
    "n": _all(
        Rule("honoured", "1 only: one choice per request", accepts=lambda v: v == 1, refusal="must be 1: one choice")
    ),
    "seed": _all(
        Rule(
            "refused",
            "no reproducible sampling: Converse has no seed, and the Neuron containers sample on the device for "
            "most models, where the seed is not applied",
        )
    ),
    "frequency_penalty": {
        "bedrock": _CONVERSE_PENALTY,
        **_endpoints(_CONTAINER_PENALTY),
    },
    "presence_penalty": {
        "bedrock": _CONVERSE_PENALTY,
        **_endpoints(_CONTAINER_PENALTY),
    },
    "logit_bias": _all(
        Rule("honoured", "empty only: no backend takes token biases", accepts=_off, refusal="is not supported")
    ),
    "logprobs": _all(
        Rule(
            "honoured",
            "false only: Converse returns no log-probabilities, and the Neuron containers return none that are right",
            accepts=_off,
            refusal="is not supported: only false is accepted",
        )
    ),
    "top_logprobs": _all(
        Rule("honoured", "0 only (see logprobs)", accepts=_off, refusal="is not supported: only 0 is accepted")
    ),
    "tools": {
        "bedrock": Rule(
            "honoured",
            "function tools become toolConfig.tools (strict is sent where the model enforces schemas natively)",
        ),
        **_endpoints(_NO_TOOLS),
    },
    "tool_choice": {
        "bedrock": Rule(
            "honoured",
            "auto, required (any) and a named function (tool); none sends no tools, and is refused where the "
            "conversation already holds tool calls (Converse then requires them)",
        ),
        **_endpoints(
            Rule(
                "honoured",
                "none only (no tools)",
                accepts=lambda v: v == "none",
                refusal="is not supported: the container cannot call tools on Inferentia2",
            )
        ),
    },
    "parallel_tool_calls": {
        "bedrock": Rule(
            "honoured",
            "true, or false: Converse cannot forbid parallel calls, so an answer with more than one tool call is "
            "refused as a model error (502), never cut to one",
        ),
        **_endpoints(Rule("ignored", "no tools are called")),
    },
    "response_format": {
        "bedrock": Rule(
            "honoured",
            "json_schema becomes outputConfig.textFormat on models with native structured output, else a forced "
            "tool whose input is returned as the message's JSON content; json_object is a forced tool taking any "
            "object; text is the default",
        ),
        **_endpoints(
            Rule(
                "honoured",
                "text only: the Neuron containers do not constrain output (no guided decoding on Inferentia2)",
                accepts=lambda v: isinstance(v, dict) and v.get("type") == "text",
                refusal="json_object and json_schema are not supported: the container cannot constrain its output",
            )
        ),
    },
    "reasoning_effort": {
        "bedrock": Rule(
            "honoured",
            "where the model's configuration says how it reasons: outputConfig.effort, or Amazon Nova 2's "
            "reasoningConfig (low, medium, high); reasoning text comes back as reasoning_content",
        ),
        **_endpoints(Rule("refused", "the containers' chat schema has no reasoning control")),
    },
    "modalities": _all(
        Rule(
            "honoured",
            '["text"] only',
            accepts=lambda v: v == ["text"],
            refusal="only text output is supported",
        )
    ),
    "audio": _all(Rule("refused", "no audio output")),
    "verbosity": _all(Rule("refused", "no backend has a verbosity control")),
    "web_search_options": _all(Rule("refused", "no web search")),
    "moderation": _all(Rule("refused", "not offered; the kit's Bedrock guardrail applies to every Bedrock call")),
    "functions": _all(Rule("refused", "OpenAI's deprecated functions: use tools")),
    "function_call": _all(Rule("refused", "OpenAI's deprecated function_call: use tool_choice")),
    "prediction": _all(Rule("ignored", "a predicted output only speeds OpenAI's generation up; it never changes it")),
    "user": _all(Rule("ignored", "an end-user id for OpenAI's abuse monitoring")),
    "safety_identifier": _all(Rule("ignored", "an end-user id for OpenAI's abuse monitoring")),
    "metadata": _all(Rule("ignored", "tags for OpenAI's stored completions; nothing is stored")),
    "store": _all(Rule("ignored", "OpenAI's stored completions; nothing is stored")),
    "prompt_cache_key": _all(Rule("ignored", "OpenAI's prompt-cache routing")),
    "prompt_cache_retention": _all(Rule("ignored", "OpenAI's prompt-cache lifetime")),
    "prompt_cache_options": _all(Rule("ignored", "OpenAI's prompt-cache options")),
    "service_tier": _all(Rule("ignored", "OpenAI's processing tier; the backend's own capacity applies")),
}


# POST /v1/embeddings (every Bedrock embedding model; ``input_type`` is the one parameter beyond OpenAI's).
EMBEDDING_RULES: dict[str, Rule] = {
    "model": Rule("honoured", "the alias of an embedding model (GET /v1/models)"),
    "input": Rule(
        "honoured",
        "a string or up to 2048 strings (Titan Text Embeddings V2: one call each, up to 50,000 characters; Cohere: "
        "96 per call); token arrays are refused; a text too long for the model is refused, never cut",
    ),
    "dimensions": Rule("honoured", "Titan V2: 256, 512 or 1024; Cohere v4: 256, 512, 1024 or 1536; Cohere v3: 1024"),
    "encoding_format": Rule("honoured", "float, or base64 (little-endian float32, as OpenAI encodes it)"),
    "user": Rule("ignored", "an end-user id for OpenAI's abuse monitoring"),
    "input_type": Rule(
        "honoured",
        "Cohere only, beyond OpenAI's parameters: search_document (the default), search_query, classification or "
        "clustering",
    ),
}


# POST /v1/images/generations (Amazon Nova Canvas; limits and sources in backends/bedrock_images.py).
IMAGE_RULES: dict[str, Rule] = {
    "model": Rule("honoured", "the alias of an image model (GET /v1/models)"),
    "prompt": Rule("honoured", "textToImageParams.text: 1 to 1024 characters (Nova Canvas's limit)"),
    "n": Rule("honoured", "imageGenerationConfig.numberOfImages: 1 to 5 (default 1)"),
    "size": Rule(
        "honoured",
        "WxH becomes width and height: each side 320 to 4096 pixels and a multiple of 16, aspect ratio from 1:4 "
        "to 4:1, fewer than 4,194,304 pixels (e.g. 1024x1024, 1792x1024, 512x512); auto or absent is 1024x1024",
    ),
    "quality": Rule(
        "honoured",
        "standard (or auto, or absent) is Nova's standard, hd is premium; low, medium and high are refused",
    ),
    "style": Rule(
        "refused",
        "Nova Canvas has no vivid or natural control (its visual styles are a different set); only null is accepted",
    ),
    "response_format": Rule(
        "honoured",
        "b64_json (also when absent: this API's default, where OpenAI's is url) or url: each PNG stored under "
        "api-images/ in the stage's artifacts bucket (SSE-KMS), answered as a presigned S3 GET URL valid "
        "api.image_url_seconds (or until the router's role session ends, if sooner), deleted after "
        "api.image_retention_days",
    ),
    "user": Rule("ignored", "an end-user id for OpenAI's abuse monitoring"),
    "background": Rule("refused", "Nova Canvas's text-to-image task has no background control"),
    "moderation": Rule("refused", "Nova Canvas's own content filters always apply"),
    "output_format": Rule("refused", "Nova Canvas answers PNG only"),
    "output_compression": Rule("refused", "Nova Canvas answers PNG only"),
    "stream": Rule("refused", "images are answered whole"),
    "partial_images": Rule("refused", "images are answered whole"),
}

# Stable Image Core (Bedrock user guide, "Stable Image Core request and response"; backends/stability_images.py).
STABLE_IMAGE_CORE_RULES: dict[str, Rule] = {
    **IMAGE_RULES,
    "prompt": Rule("honoured", "prompt: 1 to 10,000 characters (Stable Image Core's limit)"),
    "n": Rule("honoured", "1 only (or absent): the model generates one image per call; the API makes no extra calls"),
    "size": Rule(
        "honoured",
        "WxH becomes aspect_ratio by its exact ratio (1024x1024 is 1:1, 1536x1024 3:2, 1024x1536 2:3; also 16:9, "
        "21:9, 4:5, 5:4, 9:16, 9:21), each side 640 to 1536 pixels; auto or absent is 1:1. The model chooses the "
        "pixel dimensions for the ratio",
    ),
    "quality": Rule("honoured", "standard or auto (or absent) only: the model has no quality setting"),
    "style": Rule("refused", "Stable Image Core's Bedrock request has no vivid or natural control"),
    "background": Rule("refused", "Stable Image Core's text-to-image request has no background control"),
    "moderation": Rule("refused", "Stable Image Core's own content filters always apply"),
    "output_format": Rule("refused", "this API answers PNG only (it asks the model for output_format png)"),
    "output_compression": Rule("refused", "this API answers PNG only (it asks the model for output_format png)"),
}
IMAGE_RULES_BY_FAMILY: dict[str, dict[str, Rule]] = {
    "nova-canvas": IMAGE_RULES,
    "stable-image-core": STABLE_IMAGE_CORE_RULES,
}
_IMAGE_TITLES = {"nova-canvas": "Amazon Nova Canvas", "stable-image-core": "Stability AI Stable Image Core"}


def check(parameters: dict[str, Any], kind: Kind) -> None:
    """Refuse with a 400 naming it the first parameter ``kind`` does not honour or ignore (with its value).

    ``parameters`` are the request's top-level parameters that are set (not null).
    """
    for name, value in parameters.items():
        rule = RULES.get(name, {}).get(kind)
        if rule is None:
            raise bad_request(name, f"'{name}' is not a parameter this API knows; see the README's parameter tables")
        if rule.status == "refused":
            raise bad_request(name, f"'{name}' is not supported for this model: {rule.note}")
        if rule.accepts is not None and not _accepts(rule, value):
            raise bad_request(name, f"'{name}' {rule.refusal}; got {value!r:.60}")


def _accepts(rule: Rule, value: Any) -> bool:
    try:
        return bool(rule.accepts(value)) if rule.accepts else True
    except TypeError:
        return False


_TITLES: dict[Kind, str] = {
    "bedrock": "Bedrock models (Converse)",
    "tgi": "Endpoints served by TGI (`huggingface-llm-neuronx`)",
    "vllm": "Endpoints served by vLLM (`huggingface-vllm-neuronx`)",
    "lmi": "Endpoints served by LMI (`djl-neuronx`, and the JumpStart Neuron models)",
}


def render() -> str:
    """The README's tables: one per kind of backend, every parameter with what happens to it."""
    sections = []
    for kind in KINDS:
        rows = [f"#### {_TITLES[kind]}", "", "| parameter | | what happens |", "| --- | --- | --- |"]
        for name in sorted(RULES):
            rule = RULES[name][kind]
            rows.append(f"| `{name}` | {rule.status} | {rule.note} |")
        sections.append("\n".join(rows))
    rows = [
        "#### Embeddings (`POST /v1/embeddings`, Bedrock)",
        "",
        "| parameter | | what happens |",
        "| --- | --- | --- |",
    ]
    rows += [f"| `{name}` | {rule.status} | {rule.note} |" for name, rule in EMBEDDING_RULES.items()]
    sections.append("\n".join(rows))
    for family, rules in IMAGE_RULES_BY_FAMILY.items():
        rows = [
            f"#### Images (`POST /v1/images/generations`, Bedrock: {_IMAGE_TITLES[family]})",
            "",
            "| parameter | | what happens |",
            "| --- | --- | --- |",
        ]
        rows += [f"| `{name}` | {rule.status} | {rule.note} |" for name, rule in rules.items()]
        sections.append("\n".join(rows))
    # Imported here: that module builds its rules from this one's Rule.
    from lambdas.api_router import image_parameters  # noqa: PLC0415

    sections.append(image_parameters.render())
    return "\n\n".join(sections)


BEGIN_MARKER = "<!-- parameters:begin -->"
END_MARKER = "<!-- parameters:end -->"

if __name__ == "__main__":
    sys.stdout.write(render() + "\n")
