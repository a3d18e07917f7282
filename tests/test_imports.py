"""Every module of the kit imports alone, in an interpreter that has imported nothing else of the kit: no import
cycle hides behind the order in which the app happens to import its modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("genai_kit", "stacks", "lambdas", "jobs")

# Runs in a fresh interpreter: forks one child per module (a copy of an interpreter that has imported only the
# standard library), two at a time, and prints each module whose import fails with its error.
PRELOADED = ("pydantic", "boto3", "botocore.session", "aws_lambda_powertools", "starlette.applications", "uvicorn")
_DRIVER = (
    f"PRELOADED = {PRELOADED!r}\n"
    + r"""
import os, sys, traceback
# Libraries outside the kit load once, before the forks (the kit's own modules are what must import alone).
# Not aws_cdk: jsii starts its Node.js process at import, which forked children cannot share.
for library in PRELOADED:
    __import__(library)
modules = sys.argv[1:]
failed = []
running = {}

def reap():
    pid, status = os.wait()
    module = running.pop(pid)
    if os.waitstatus_to_exitcode(status) != 0:
        failed.append(module)

for module in modules:
    if len(running) >= 2:
        reap()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            __import__(module)
        except BaseException:
            print(f"--- {module}", file=sys.stderr)
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    running[pid] = module
while running:
    reap()
print("\n".join(sorted(failed)))
"""
)


def _modules() -> list[str]:
    files = subprocess.run(  # noqa: S603 (git, on the repository's own tracked files)
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *(f"{package}/*.py" for package in PACKAGES)],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    modules = {str(Path(file).with_suffix("")).replace("/", ".").removesuffix(".__init__") for file in files}
    # A package's __main__ is its command, run with -m: importing it runs it.
    return sorted(module for module in modules if not module.endswith(".__main__"))


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = _modules()
    assert {"genai_kit.stage", "stacks.inference_stack", "lambdas.api_router.app"} <= set(modules)
    result = subprocess.run(  # noqa: S603 (this interpreter, with the test's own driver)
        [sys.executable, "-c", _DRIVER, *modules], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [], result.stderr
