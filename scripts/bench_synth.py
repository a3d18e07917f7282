"""Benchmark: the kit's default synth against an empty CDK app's synth, measured in the same run.

Each app is synthesized in a fresh process, several times, interleaved so that machine noise hits both
alike; the script prints the median wall time and peak resident memory of each and their ratios. Built-in
CloudFormation validation is off for both (``CDK_VALIDATION=false``), as in the peer figure in FACTS.md.

Peak memory is the largest resident set of the process tree (the Python app or its jsii Node.js runtime),
as reported by wait4(2).

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
# The kit's target: at most what one JumpStart endpoint of generative-ai-cdk-constructs costs alone.
TARGET_RATIO = 2.5


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float


def measure(source: str) -> Run:
    """Synthesize ``source`` in a new interpreter; return its wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "CDK_VALIDATION": "false"}
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", source], cwd=ROOT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"synth failed with exit code {process.returncode}")
        # Linux reports ru_maxrss in KiB, macOS in bytes.
        peak_mib = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Run(seconds=seconds, peak_mib=peak_mib)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="synths of each app (default 5)")
    args = parser.parse_args()

    measure(EMPTY_APP)  # warm the file cache and jsii's module cache for both sides alike
    empty: list[Run] = []
    kit: list[Run] = []
    for _ in range(args.runs):
        empty.append(measure(EMPTY_APP))
        kit.append(measure(KIT_APP))

    def medians(runs: list[Run]) -> tuple[float, float]:
        return statistics.median(r.seconds for r in runs), statistics.median(r.peak_mib for r in runs)

    empty_s, empty_mib = medians(empty)
    kit_s, kit_mib = medians(kit)
    ratio = kit_s / empty_s
    print(f"runs per app: {args.runs} (medians; validation off)")
    print(f"empty CDK app : {empty_s:6.2f} s  {empty_mib:7.1f} MiB peak")
    print(f"kit (default) : {kit_s:6.2f} s  {kit_mib:7.1f} MiB peak")
    print(f"ratio         : {ratio:6.2f}x time  {kit_mib / empty_mib:6.2f}x memory  (target <= {TARGET_RATIO}x time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
