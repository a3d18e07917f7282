"""``outputs``: the deployed stacks of a stage and their outputs, grouped by stack, as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from genai_kit.cli.aws import ClientFactory, credentials_cli_error, is_credentials_error
from genai_kit.cli.errors import CliError
from genai_kit.cli.table import render_table

_GONE = frozenset({"DELETE_COMPLETE"})


@dataclass(frozen=True)
class StackOutputs:
    """One deployed stack: its name, status and outputs (key -> value, key -> description)."""

    name: str
    status: str
    values: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)


def stage_outputs(clients: ClientFactory, *, prefix: str, stage: str, region: str) -> list[StackOutputs]:
    """Every existing stack named ``<prefix>*``, in name order; none deployed is a ``CliError``."""
    try:
        pages = clients("cloudformation").get_paginator("describe_stacks").paginate()
        stacks = [stack for page in pages for stack in page["Stacks"]]
    except Exception as error:
        if is_credentials_error(error):
            raise credentials_cli_error(error) from None
        raise
    found = [
        StackOutputs(
            name=stack["StackName"],
            status=stack["StackStatus"],
            values={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
            descriptions={output["OutputKey"]: output.get("Description", "") for output in stack.get("Outputs", [])},
        )
        for stack in stacks
        if stack["StackName"].startswith(prefix) and stack["StackStatus"] not in _GONE
    ]
    if not found:
        raise CliError(
            f"stage '{stage}' is not deployed in {region} for these credentials (no stack named {prefix}*); "
            f"deploy it with: make cdk ARGS=\"deploy '{prefix.rstrip('-')}/*' --context stage={stage}\""
        )
    return sorted(found, key=lambda stack: stack.name)


def render_json(stacks: list[StackOutputs]) -> str:
    """``{"<stack>": {"status": ..., "outputs": {"<key>": "<value>"}}}``, for scripts (``jq``)."""
    return json.dumps({stack.name: {"status": stack.status, "outputs": stack.values} for stack in stacks}, indent=2)


def render_text(stacks: list[StackOutputs]) -> str:
    """One table per stack, headed by its name and status."""
    blocks = []
    for stack in stacks:
        rows = [[key, stack.values[key], stack.descriptions.get(key, "")] for key in sorted(stack.values)]
        body = render_table(["OUTPUT", "VALUE", "DESCRIPTION"], rows) if rows else "(no outputs)"
        blocks.append(f"{stack.name}  [{stack.status}]\n{body}")
    return "\n\n".join(blocks)
