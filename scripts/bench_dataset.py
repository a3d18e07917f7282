"""Benchmark of the fine-tuning dataset check: throughput, linear growth, bounded memory, early refusal.

Runs the dataset step's record reader (``lambdas/training_validate_dataset/dataset.py``: ``check_records``) on
JSON Lines streams generated in memory and served in the reads an S3 object's stream would give, with the default
rules (``training.dataset``: records of at most 1,024 KiB with a non-empty ``text``). For each record profile:

- **throughput**: seconds and MB/s (10^6 bytes a second) for 64, 128, 256 and 512 MiB, best of ``--repeat``;
- **linear growth**: each size's time over the previous one's (2.00 is linear) and a least-squares line through
  the four points, which projects the time for a 2 GiB file (the ``max_file_mb`` default) against the 15-minute
  function timeout (less the 30 s the step keeps to report); ``--full`` also runs the 2 GiB file;
- **memory**: the peak Python allocation while checking 64 and 512 MiB (tracemalloc), which must not grow with
  the file;

and then the refusal of a 16 MiB file that is one JSON array on one line (time and bytes read), against the
reader used before (botocore's ``StreamingBody.iter_lines``) splitting one line of 1, 2 and 4 MiB.

The figures are this machine's, on one core: the function runs on one vCPU (1,769 MB of memory), and in Lambda the
S3 stream's own throughput can be the bound instead; the function logs the rate it saw ("dataset accepted",
``mib_per_s``).

Usage: ``python scripts/bench_dataset.py [--repeat N] [--full]``
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from botocore.response import StreamingBody  # noqa: E402

from genai_kit.config.training import DatasetRules  # noqa: E402
from lambdas.training_validate_dataset.dataset import MIB, READ_CHUNK_BYTES, DatasetError, Rules, check_records  # noqa: E402

SIZES_MIB = (64, 128, 256, 512)
FULL_MIB = 2048
TIMEOUT_SECONDS = 15 * 60
REPORT_MARGIN_SECONDS = 30
_TEXT = "the model answers questions about invoices, contracts and notes; café déjà-vu naïve numbers 12345 yes/no?"
# With what a JSON writer escapes: quotes, a tab, a line break.
_WORDS = (*_TEXT.split(), '"quoted"', "tab\tnew\nline")


class RepeatingStream(io.RawIOBase):
    """``block`` repeated up to ``size`` bytes (whole blocks), served in reads of at most ``chunk`` bytes."""

    def __init__(self, block: bytes, size: int, chunk: int = READ_CHUNK_BYTES) -> None:
        self._block = block * max(1, chunk // len(block) + 1)
        self._left = size - size % len(block)
        self._offset = 0
        self._period = len(block)

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        take = min(size if size >= 0 else READ_CHUNK_BYTES, self._left, len(self._block) - self._offset)
        data = self._block[self._offset : self._offset + take]
        self._offset = (self._offset + take) % self._period
        self._left -= take
        return data


def small_records(count: int = 4096, seed: int = 7) -> bytes:
    """JSON Lines records of about 300 bytes: words, escapes, non-ASCII text (the per-record cost dominates)."""
    rng = random.Random(seed)  # noqa: S311  (sample text, not secrets)
    # Written as a JSON library writes them: quotes, tabs and line breaks escaped, UTF-8 as it is.
    lines = [
        json.dumps({"text": " ".join(rng.choices(_WORDS, k=rng.randint(25, 45))), "id": i}, ensure_ascii=False).encode()
        for i in range(count)
    ]
    return b"\n".join(lines) + b"\n"


def limit_records(rules: Rules) -> bytes:
    """One JSON Lines record exactly at the record limit (``max_record_kb``, line break excluded)."""
    size = rules.max_record_kb * 1024
    text = (b"lorem ipsum dolor sit amet " * (size // 27 + 1))[: size - len(b'{"text": ""}')]
    return b'{"text": "' + text + b'"}\n'


def run(block: bytes, size_mib: int, rules: Rules) -> tuple[float, int]:
    """Seconds and records of one check of ``size_mib`` MiB of ``block`` repeated."""
    stream = RepeatingStream(block, size_mib * MIB)
    started = time.perf_counter()
    records = check_records(stream, where="bench.jsonl", rules=rules)
    return time.perf_counter() - started, records


def peak_mib(block: bytes, size_mib: int, rules: Rules) -> float:
    tracemalloc.start()
    try:
        check_records(RepeatingStream(block, size_mib * MIB), where="bench.jsonl", rules=rules)
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept of seconds against MiB."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return slope, mean_y - slope * mean_x


def profile(name: str, block: bytes, rules: Rules, *, repeat: int, full: bool) -> None:
    distinct = len(block.splitlines())
    print(f"\n{name}: {len(block) / distinct:,.0f} bytes a line on average ({distinct:,} distinct, repeated)")
    print(f"  {'size':>9}  {'records':>10}  {'seconds':>8}  {'MB/s':>7}  {'time / previous':>15}")
    points: list[tuple[float, float]] = []
    for size in SIZES_MIB:
        seconds, records = min(run(block, size, rules) for _ in range(repeat))
        ratio = f"{seconds / points[-1][1]:.2f}" if points else ""
        print(f"  {size:>5} MiB  {records:>10,}  {seconds:>8.2f}  {size * MIB / 1e6 / seconds:>7.1f}  {ratio:>15}")
        points.append((size, seconds))
    slope, intercept = fit(points)
    projected = slope * FULL_MIB + intercept
    budget = TIMEOUT_SECONDS - REPORT_MARGIN_SECONDS
    print(
        f"  fit: {slope * 1024:.1f} s per GiB {intercept:+.2f} s; 2 GiB projected {projected:.0f} s "
        f"({projected / budget:.0%} of the {budget} s the step may read for)"
    )
    if full:
        seconds, records = run(block, FULL_MIB, rules)
        print(f"  {FULL_MIB:>5} MiB  {records:>10,}  {seconds:>8.2f}  {FULL_MIB * MIB / 1e6 / seconds:>7.1f}  (run)")
    print(f"  peak memory: {peak_mib(block, SIZES_MIB[0], rules):.1f} MiB at {SIZES_MIB[0]} MiB, ", end="")
    print(f"{peak_mib(block, SIZES_MIB[-1], rules):.1f} MiB at {SIZES_MIB[-1]} MiB")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def long_line(rules: Rules) -> None:
    print("\none line that never ends: a 16 MiB JSON array saved as .jsonl")
    data = b"[" + b'{"text": "x"},' * (16 * MIB // 14) + b"]"

    class Counting(io.BytesIO):
        served = 0

        def read(self, size: int | None = -1, /) -> bytes:
            chunk = super().read(size)
            self.served += len(chunk)
            return chunk

    stream = Counting(data)

    def check() -> None:
        try:
            check_records(stream, where="array.jsonl", rules=rules)
        except DatasetError as error:
            print(f"  refused: {error}")

    seconds = timed(check)
    print(f"  in {seconds * 1000:.1f} ms, after reading {stream.served / MIB:.0f} of {len(data) / MIB:.0f} MiB")
    print("  the reader used before (botocore StreamingBody.iter_lines), splitting one line of:")
    for size in (1, 2, 4):
        line = b"[" + b"1," * (size * MIB // 2) + b"1]\n"
        lines = StreamingBody(io.BytesIO(line), len(line)).iter_lines(keepends=True)
        print(f"    {size} MiB: {timed(partial(next, lines)):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest counts (default 3)")
    parser.add_argument("--full", action="store_true", help=f"also check a {FULL_MIB} MiB file of each profile")
    args = parser.parse_args()
    defaults = DatasetRules()
    rules = Rules(
        required_fields=defaults.required_fields,
        min_examples=defaults.min_examples,
        max_files=defaults.max_files,
        max_file_mb=defaults.max_file_mb,
        max_record_kb=defaults.max_record_kb,
    )
    print(f"dataset check, record limit {rules.max_record_kb:,} KiB, reads of {READ_CHUNK_BYTES // 1024:,} KiB")
    profile("small records", small_records(), rules, repeat=args.repeat, full=args.full)
    profile("records at the record limit", limit_records(rules), rules, repeat=args.repeat, full=args.full)
    long_line(rules)


if __name__ == "__main__":
    main()
