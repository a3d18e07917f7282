"""Reads the ``context`` of the project's cdk.json, for runs that do not go through the CDK CLI.

``python app.py``, the tests and the benchmark build the app without the CLI, which is what normally
hands cdk.json's context to the app. Passing it to ``App(context=...)`` is harmless under the CLI:
context from the CLI (cdk.json, ``--context``) takes precedence over ``App(context=...)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """Return the ``context`` object of cdk.json (empty if the file has none)."""
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{path}: 'context' must be a JSON object")
    return context
