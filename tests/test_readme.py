"""The README tells the truth: its configuration reference is the one the model renders, its layout the folders,
its default endpoint entry the default."""

from __future__ import annotations

import json
from typing import Any

from genai_kit.cdk_context import PROJECT_ROOT
from genai_kit.config.endpoints import EndpointConfig
from genai_kit.config.reference import BEGIN_MARKER, END_MARKER, render
from genai_kit.config.stage import DEFAULT_ENDPOINT


def test_readme_configuration_reference_is_current() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    embedded = readme.split(BEGIN_MARKER, 1)[1].split(END_MARKER, 1)[0].strip()
    assert embedded == render(), "run `python -m genai_kit.config.reference` and paste its table into the README"


def _architecture_layout() -> list[str]:
    """The paths the README's architecture section lists in its folder layout, in order."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("\n```\n", 1)[1].split("\n```", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def test_readme_architecture_layout_names_existing_paths_and_every_kit_package() -> None:
    listed = _architecture_layout()
    missing = [path for path in listed if not (PROJECT_ROOT / path).exists()]
    assert not missing, f"the README's layout names paths that do not exist: {missing}"
    packages = sorted(
        f"genai_kit/{path.parent.name}/"
        for path in (PROJECT_ROOT / "genai_kit").glob("*/__init__.py")
        if path.parent.name != "__pycache__"
    )
    unlisted = [package for package in packages if package not in listed]
    assert not unlisted, f"the README's layout omits these genai_kit packages: {unlisted}"


def _json_block_after(marker: str) -> Any:
    """The first ```json block after ``marker`` in the README, parsed."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split(marker, 1)[1]
    return json.loads(after.split("```json\n", 1)[1].split("\n```", 1)[0])


def test_readme_default_endpoint_entry_is_the_default() -> None:
    entry = _json_block_after("this is the default entry in full, to copy and change:")
    assert EndpointConfig.model_validate(entry) == DEFAULT_ENDPOINT


def test_readme_scheduled_endpoint_example_is_the_default_endpoint_with_a_schedule() -> None:
    entry = _json_block_after("### Scheduled endpoints")
    example = EndpointConfig.model_validate(entry)
    assert example.schedule is not None
    assert example.model_copy(update={"name": DEFAULT_ENDPOINT.name, "schedule": None}) == DEFAULT_ENDPOINT
