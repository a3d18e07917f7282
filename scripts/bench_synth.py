"""Benchmark: the kit's default synth against an empty CDK app's synth, measured in the same run.

Each app is synthesized in a fresh process, several times, interleaved so that machine noise hits both
alike; the script prints the median wall time and peak resident memory of each and their ratios. Built-in
CloudFormation validation is off for both (``CDK_VALIDATION=false``).

Peak memory is the largest resident set of the process tree (the Python app or its jsii Node.js runtime),
as reported by wait4(2).

It also measures, in the same interleaved runs, the kit's floor: its imports, its configuration and cdk-nag on
an app with one empty stack, i.e. what the kit costs before it builds anything; and it breaks the kit's own synth
into phases (imports, configuration, building the construct tree, ``app.synth()``), reporting each phase's median.

Usage: ``python scripts/bench_synth.py [--runs N]`` (``make bench``)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMPTY_APP = "import aws_cdk as cdk\napp = cdk.App()\ncdk.Stack(app, 'Empty')\napp.synth()\n"
KIT_APP = (ROOT / "app.py").read_text(encoding="utf-8")
# The kit's imports, configuration and checks with nothing built: the part of its cost no construct adds.
FLOOR_APP = """
import os, sys
import aws_cdk as cdk
import cdk_nag
from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import load_stage
import stacks.kit_app
app = cdk.App(context=cdk_json_context())
load_stage(app.node.get_all_context())
cdk.Stack(app, "Empty")
cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
app.synth()
sys.stdout.flush()
os._exit(0)
"""
# The kit's synth with the time of each phase printed as "phase=seconds" on its last line of output.
PHASES_APP = """
import os, sys, time
marks = [("start", time.perf_counter())]
import aws_cdk as cdk
import cdk_nag
marks.append(("import aws_cdk + cdk_nag", time.perf_counter()))
from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import load_stage
from stacks.kit_app import build_kit
marks.append(("import the kit", time.perf_counter()))
app = cdk.App(context=cdk_json_context())
config = load_stage(app.node.get_all_context())
marks.append(("load the stage", time.perf_counter()))
build_kit(app, config)
marks.append(("build the tree", time.perf_counter()))
app.synth()
marks.append(("app.synth() with cdk-nag", time.perf_counter()))
print(";".join(f"{name}={end - begin:.4f}" for (_, begin), (name, end) in zip(marks, marks[1:])))
sys.stdout.flush()
os._exit(0)
"""
# The bar for the whole default stage, cdk-nag on, against the empty app.
TARGET_RATIO = 3.0


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    output: str = ""


def measure(source: str, *, stdout: int | None = None) -> Run:
    """Synthesize ``source`` in a new interpreter; return its wall time and peak RSS (and its output if
    ``stdout`` is ``subprocess.PIPE``)."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "CDK_VALIDATION": "false"}
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", source], cwd=ROOT, env=env, stdout=stdout, text=True)
        output = process.stdout.read() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"synth failed with exit code {process.returncode}")
        # Linux reports ru_maxrss in KiB, macOS in bytes.
        peak_mib = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Run(seconds=seconds, peak_mib=peak_mib, output=output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="synths of each app (default 5)")
    args = parser.parse_args()

    measure(EMPTY_APP)  # warm the file cache and jsii's module cache for both sides alike
    empty: list[Run] = []
    floor: list[Run] = []
    kit: list[Run] = []
    phases: list[Run] = []
    for _ in range(args.runs):
        empty.append(measure(EMPTY_APP))
        floor.append(measure(FLOOR_APP))
        kit.append(measure(KIT_APP))
        phases.append(measure(PHASES_APP, stdout=subprocess.PIPE))

    def medians(runs: list[Run]) -> tuple[float, float]:
        return statistics.median(r.seconds for r in runs), statistics.median(r.peak_mib for r in runs)

    empty_s, empty_mib = medians(empty)
    floor_s, floor_mib = medians(floor)
    kit_s, kit_mib = medians(kit)
    ratio = kit_s / empty_s
    print(f"runs per app: {args.runs} (medians; validation off)")
    print(f"empty CDK app : {empty_s:6.2f} s  {empty_mib:7.1f} MiB peak")
    print(
        f"kit, nothing built (imports, config, cdk-nag): {floor_s:6.2f} s  {floor_mib:7.1f} MiB peak  "
        f"{floor_s / empty_s:5.2f}x"
    )
    print(f"kit (default) : {kit_s:6.2f} s  {kit_mib:7.1f} MiB peak")
    print(f"ratio         : {ratio:6.2f}x time  {kit_mib / empty_mib:6.2f}x memory  (target <= {TARGET_RATIO}x time)")
    print("kit's phases (median seconds, in process; the interpreter's start and jsii's are outside them):")
    by_phase: dict[str, list[float]] = {}
    for run in phases:
        for part in run.output.strip().splitlines()[-1].split(";"):
            name, seconds = part.split("=")
            by_phase.setdefault(name, []).append(float(seconds))
    for name, values in by_phase.items():
        print(f"  {name:28s} {statistics.median(values):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
