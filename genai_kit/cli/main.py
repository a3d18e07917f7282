"""Argument parsing and dispatch of the ops CLI. Commands import what they need when they run.

Exit status: 0 when all is well, 1 when preflight found a FAIL, 2 for a problem to fix first (unknown stage,
invalid configuration, missing credentials, stage not deployed, nothing synthesized) or bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, TextIO

from genai_kit.cli.errors import CliError

EXIT_USAGE = 2

_DESCRIPTION = "Operations commands of the generative AI kit: check an account, read outputs, estimate cost."
_EPILOG = """examples:
  python -m genai_kit.cli preflight --stage dev
  python -m genai_kit.cli outputs --stage prod --json
  python -m genai_kit.cli cost --stage dev
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser with its three subcommands, each with its own ``--help``."""
    parser = argparse.ArgumentParser(
        prog="python -m genai_kit.cli",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{preflight,outputs,cost}")

    preflight = commands.add_parser(
        "preflight",
        help="check the stage's account before a deploy (exit 1 on any FAIL)",
        description="Check, against the stage's account and region, everything a deploy needs: credentials, "
        "instance types offered, SageMaker quotas for endpoints and training, serving images, Bedrock model "
        "access, the CDK bootstrap. Prints PASS / WARN / FAIL with the fix for each; exits 1 on any FAIL.",
    )
    _add_stage(preflight)
    _add_profile(preflight)
    _add_assembly(preflight, "read the bootstrap version the templates need (default: 6 if nothing is synthesized)")

    outputs = commands.add_parser(
        "outputs",
        help="show the deployed stacks' outputs",
        description="Show the outputs of the stage's deployed stacks (GenAiKit-<stage>-*), grouped by stack.",
    )
    _add_stage(outputs)
    _add_profile(outputs)
    outputs.add_argument("--json", action="store_true", help="print JSON: {stack: {status, outputs: {key: value}}}")

    cost = commands.add_parser(
        "cost",
        help="estimate what the stage costs to run",
        description="Estimate the stage's cost from its synthesized templates (run `make synth` first), its "
        "configuration and the dated price table model_artifacts/pricing/prices.json: endpoints per hour and "
        "per month (a scheduled endpoint for its window's hours, with the saving), model preparation and training "
        "per run at most, a tuning run at most, Bedrock token models per 1,000 tokens and image models per image. "
        "Needs no AWS credentials.",
    )
    _add_stage(cost)
    _add_assembly(cost, "the synthesized cloud assembly to read endpoints from")
    cost.add_argument("--json", action="store_true", help="print JSON; a price not in the table is null")
    return parser


def _add_stage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", help="stage from cdk.json's context.stages (default: cdk.json's context.stage)")


def _add_profile(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="AWS profile to use (default: the usual AWS credential chain)")


def _add_assembly(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--assembly", type=Path, metavar="DIR", help=f"{what} (default: cdk.out)")


def main(argv: list[str] | None = None, *, clients: Any = None, out: TextIO | None = None) -> int:
    """Run one command; ``clients`` replaces the boto3 client factory (tests)."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        # The commands module loads the configuration (pydantic) and, through its commands, boto3: only now.
        commands = importlib.import_module("genai_kit.cli.commands")
        status: int = commands.run(args, clients, out)
        return status
    except CliError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_USAGE
