"""JSON snapshots of every stack's template, normalized for asset hashes and the bootstrap rule.

After an intended change: ``make snapshot-update``, then read the diff of tests/stacks/__snapshots__/.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import SynthResult

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """Replace asset hashes (they change with any Lambda code edit) and drop the bootstrap version check."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    normalized: dict[str, Any] = json.loads(text)
    normalized.get("Parameters", {}).pop("BootstrapVersion", None)
    normalized.get("Rules", {}).pop("CheckBootstrapVersion", None)
    for section in ("Parameters", "Rules"):
        if normalized.get(section) == {}:
            del normalized[section]
    return normalized


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["Foundation", "Bedrock", "Inference", "Training", "Api", "Monitoring"])
def test_template_matches_snapshot(dev: SynthResult, stack: str, snapshot_json: SnapshotAssertion) -> None:
    assert normalize(dev.templates[stack]) == snapshot_json


def test_normalize_hides_asset_hashes_and_bootstrap_rule() -> None:
    template = {
        "Resources": {"Fn": {"Properties": {"Code": {"S3Key": "a" * 64 + ".zip"}}}},
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>"}},
        "Rules": {"CheckBootstrapVersion": {}},
    }
    assert normalize(template) == {"Resources": {"Fn": {"Properties": {"Code": {"S3Key": "<asset-hash>.zip"}}}}}
