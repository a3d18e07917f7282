"""The three commands, run on parsed arguments: stage selection, AWS clients, then each command's report."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from genai_kit.cli import cost, cost_report, outputs, preflight
from genai_kit.cli.assembly import DEFAULT_ASSEMBLY_DIR, bootstrap_requirement, stage_stacks
from genai_kit.cli.aws import client_factory
from genai_kit.cli.errors import CliError
from genai_kit.cli.stage import configured_stage, default_stage
from genai_kit.cli.table import render_table
from genai_kit.contracts.training_prepare import DEFAULT_MAX_RUNTIME_SECONDS
from genai_kit.names import StageNames
from genai_kit.pricing import load_price_table

EXIT_FAILED_CHECKS = 1


def run(args: argparse.Namespace, clients: Any, out: TextIO) -> int:
    """Run ``args.command`` for ``args.stage``; ``clients`` replaces the boto3 client factory when given."""
    stage = args.stage or default_stage()
    config = configured_stage(stage)
    region = config.settings.region
    if args.command == "cost":
        return _cost(args, config, out)
    if clients is None:
        clients = client_factory(region, args.profile)
    if args.command == "outputs":
        stacks = outputs.stage_outputs(clients, prefix=StageNames(stage).stack_prefix, stage=stage, region=region)
        out.write((outputs.render_json(stacks) if args.json else outputs.render_text(stacks)) + "\n")
        return 0
    return _preflight(args, config, clients, out)


def _preflight(args: argparse.Namespace, config: Any, clients: Any, out: TextIO) -> int:
    stacks = stage_stacks(args.assembly or DEFAULT_ASSEMBLY_DIR, config.names.stack_prefix)
    version, parameter = bootstrap_requirement(stacks)
    checks = preflight.Preflight(
        clients=clients,
        region=config.settings.region,
        expected_account=config.settings.account,
        endpoints=config.endpoints,
        settings=config.settings,
        bootstrap_version=version,
        bootstrap_parameter=parameter,
        training=config.training,
    ).run()
    out.write(f"preflight of stage '{config.stage}' in {config.settings.region}\n\n")
    out.write(preflight.render(checks, render_table) + "\n")
    return EXIT_FAILED_CHECKS if preflight.has_failures(checks) else 0


def _cost(args: argparse.Namespace, config: Any, out: TextIO) -> int:
    assembly = args.assembly or DEFAULT_ASSEMBLY_DIR
    stacks = stage_stacks(assembly, config.names.stack_prefix)
    if not stacks:
        raise CliError(
            f"no synthesized stack of stage '{config.stage}' in {assembly}; "
            f"run `make synth STAGE={config.stage}` first (or pass --assembly DIR)"
        )
    result = cost.estimate(
        stage=config.stage,
        region=config.settings.region,
        settings=config.settings,
        stacks=stacks,
        table=load_price_table(),
        training_max_hours=_training_max_hours(config),
    )
    out.write((cost_report.render_json(result) if args.json else cost_report.render_text(result)) + "\n")
    return 0


def _training_max_hours(config: Any) -> float | None:
    """The training job's time limit in hours, as the pipeline sets StoppingCondition.MaxRuntimeInSeconds: the
    configured ``max_runtime_seconds``, else the JumpStart model spec's for the default instance type, else the
    default."""
    training = config.training
    if training is None:
        return None
    # The Hugging Face kind has no spec: its jobs run at most the configured time or the default.
    spec_limit = training.specs[training.default_instance_type].max_run_seconds if hasattr(training, "specs") else None
    return (training.config.max_runtime_seconds or spec_limit or DEFAULT_MAX_RUNTIME_SECONDS) / 3600
