"""The README's configuration reference is the one the configuration model renders."""

from __future__ import annotations

from genai_kit.cdk_context import PROJECT_ROOT
from genai_kit.config.reference import BEGIN_MARKER, END_MARKER, render


def test_readme_configuration_reference_is_current() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    embedded = readme.split(BEGIN_MARKER, 1)[1].split(END_MARKER, 1)[0].strip()
    assert embedded == render(), "run `python -m genai_kit.config.reference` and paste its table into the README"
