"""checkov over every synthesized template: the default stage, and a stage with every feature on.

Zero failed checks: a weakness is fixed, or its check skipped on the resource (``Metadata.checkov.skip``, see
stacks/constructs/checkov.py) with a reason a reviewer can check. checkov runs from its own environment
(``.venv-checkov``, which ``make test`` installs and names in ``CHECKOV``); nothing is skipped on the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genai_kit.cdk_context import PROJECT_ROOT
from tests.pipeline.conftest import HF_MODEL, TUNING_STAGES
from tests.synth import SynthResult

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0123abcd-0123-4567-89ab-0123456789ab"
REVISION = "fe8a4ea1ffedaf415f4da2f062534de366a451e6"
EVERYTHING_ON = {
    "removal_policy": "retain",
    "alarm_emails": ["ops@example.com"],
    "api": {"usage_plan": {"rate_limit": 5, "burst_limit": 10, "quota_per_day": 1000}},
    "bedrock": {
        # The default models and an image model, which adds its invoke statement and its API route.
        "models": [
            {"alias": "nova-lite", "id": "us.amazon.nova-lite-v1:0"},
            {"alias": "titan-embed", "id": "amazon.titan-embed-text-v2:0", "kind": "embedding"},
            {"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"},
        ],
        "guardrail": {"enforce_with_iam": True},
        "invocation_logging": {"enabled": True},
    },
    "amazon_q_developer": {"enabled": True, "developer_roles": ["developers"]},
    "endpoints": [
        {
            "name": "tinyllama",
            "source": {
                "kind": "huggingface",
                "model_id": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                "revision": REVISION,
                "container": "huggingface-llm-neuronx",
                "container_version": "0.3.0",
                "token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-AbCdEf",
            },
            "autoscaling": {"max_instances": 2},
        },
        {
            "name": "llama2",
            "source": {
                "kind": "jumpstart",
                "model_id": "meta-textgenerationneuron-llama-2-7b",
                "version": "1.0.0",
                "accept_eula": True,
            },
        },
        {
            # A text-to-image endpoint: isolated, data capture off unless set (docs/catalog.md); scheduled too.
            "name": "sdxl",
            "source": {
                "kind": "jumpstart",
                "model_id": "huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0",
                "version": "1.1.15",
            },
            "images": {"sizes": ["1024x1024"]},
            "schedule": {"time_zone": "Europe/Paris", "days": ["wed"], "start": "09:00", "stop": "17:00"},
        },
        {
            "name": "mine",
            "source": {
                "kind": "s3",
                "s3_uri": "s3://my-models/llama/",
                "container": "djl-neuronx",
                "container_version": "0.29.0",
            },
            # Deleted outside its window: a scheduler function, its schedules, role and failure queue.
            "schedule": {"time_zone": "Europe/Paris", "days": ["mon", "tue"], "start": "08:00", "stop": "19:00"},
        },
    ],
    "pipeline": {"enabled": True, "connection_arn": CONNECTION, "repository": "my-org/genai-kit"},
    # The Hugging Face kind with what adds to its IAM: a gated model's token secret, tuning, spot.
    "training": {
        "max_instance_count": 2,
        "max_runtime_seconds": 7200,
        "spot": {"enabled": True},
        "huggingface": {
            **HF_MODEL,
            "hf_token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-AbCdEf",
        },
        "tuning": {
            "parameter_ranges": {"learning_rate": {"min": 1e-5, "max": 1e-3, "scaling": "Logarithmic"}},
            "objective": {"metric": "eval_loss", "type": "Minimize"},
            "max_jobs": 2,
            "max_parallel_jobs": 1,
            "max_instance_hours": 8,
        },
    },
}


def _checkov() -> str:
    path = os.environ.get("CHECKOV") or str(PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(path).is_file():
        pytest.fail(f"checkov is not installed at {path}: `make test` installs it (requirements-checkov.txt)")
    return path


def _scan(directory: Path) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 (the pinned checkov on the test's own synthesized templates)
        [_checkov(), "--directory", str(directory), "--framework", "cloudformation", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_NO_OUTPUT_COLOR": "1"},
    )
    reports = json.loads(result.stdout)
    report: dict[str, Any] = reports[0] if isinstance(reports, list) else reports
    return report


@pytest.fixture(scope="module")
def everything_on(synth: Callable[..., SynthResult]) -> SynthResult:
    result: SynthResult = synth("dev", stages={"dev": EVERYTHING_ON, "prod": {}})
    return result


@pytest.fixture(scope="module")
def tuning(synth: Callable[..., SynthResult]) -> SynthResult:
    """The default stage with the fine-tuning pipeline's tuning stage (its IAM differs)."""
    result: SynthResult = synth("dev", stages=TUNING_STAGES)
    return result


@pytest.mark.parametrize("stage", ["dev", "everything_on", "tuning"], ids=["default", "everything_on", "tuning"])
def test_checkov_finds_no_failure_and_every_skip_has_a_reason(stage: str, request: pytest.FixtureRequest) -> None:
    synthesized: SynthResult = request.getfixturevalue(stage)  # only the stage this case scans is synthesized
    report = _scan(synthesized.assembly_dir)
    failed = [f"{c['check_id']} {c['resource']} ({c['check_name']})" for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    assert report["results"]["skipped_checks"], "the skips' reasons are checked below: checkov must report them"
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) >= 40, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
