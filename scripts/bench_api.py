"""Benchmark of the API router: cold import against boto3 alone and an alternative, and per-request overhead.

Measured in one run on this machine:

- cold import of the router's handler module (fresh interpreter each time, medians), against ``import boto3``
  alone (target: at most 1.5x) and against an alternative a user might deploy instead (``litellm``, imported
  with the interpreter given by ``--alternative-python``, which ``make bench-api`` prepares);
- the router's own time per request with the model call stubbed to return at once: median and p99 over many
  requests (target: median under 1 ms).

Usage: ``python scripts/bench_api.py [--imports N] [--requests N] [--alternative-python PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMPORT_TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def cold_import(module: str, runs: int, python: str = sys.executable) -> float:
    """Median seconds to import ``module`` in a fresh interpreter (bytecode already compiled by a warm-up run)."""
    command = [python, "-c", IMPORT_TIMER.format(module=module)]
    subprocess.run(command, env=ENV, check=True, capture_output=True)
    times = [
        float(subprocess.run(command, env=ENV, check=True, capture_output=True, text=True).stdout) for _ in range(runs)
    ]
    return statistics.median(times)


def request_overhead(requests: int) -> tuple[float, float]:
    """Median and p99 milliseconds the router spends per chat request when the model answers instantly."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(ENV)
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["MODELS"] = json.dumps({"m": {"backend": "bedrock", "model": "amazon.nova-lite-v1:0"}})
    # Imported here, after the environment above is set: the handler reads it when it is imported.
    from lambdas.api_router import handler  # noqa: PLC0415
    from lambdas.api_router.completion import Completion  # noqa: PLC0415

    handler.complete = lambda *_: Completion("ok", "stop", 1, 1)  # type: ignore[attr-defined]
    event: dict[str, Any] = json.loads((ROOT / "tests/lambdas/api_router/events/rest_api_request.json").read_text())
    event["body"] = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16})

    class Context:
        function_name = "bench"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        aws_request_id = "bench"

    samples = []
    with open(os.devnull, "w") as sink:  # the metrics flush prints one line per request
        stdout, sys.stdout = sys.stdout, sink
        try:
            for _ in range(requests):
                start = time.perf_counter()
                handler.handler(event, Context())
                samples.append((time.perf_counter() - start) * 1000)
        finally:
            sys.stdout = stdout
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--imports", type=int, default=15, help="cold imports per module (default 15)")
    parser.add_argument("--requests", type=int, default=5000, help="requests for the overhead figure (default 5000)")
    parser.add_argument("--alternative-python", help="interpreter that has litellm installed")
    args = parser.parse_args()

    boto3_s = cold_import("boto3", args.imports)
    router_s = cold_import("lambdas.api_router.handler", args.imports)
    print(f"cold import, median of {args.imports}:")
    print(f"  boto3 alone        {boto3_s * 1000:7.1f} ms")
    print(f"  router handler     {router_s * 1000:7.1f} ms   {router_s / boto3_s:5.2f}x boto3 (target <= 1.5x)")
    if args.alternative_python:
        litellm_s = cold_import("litellm", max(3, args.imports // 3), python=args.alternative_python)
        print(f"  litellm            {litellm_s * 1000:7.1f} ms   {litellm_s / router_s:5.2f}x the router")
    median, p99 = request_overhead(args.requests)
    print(f"router overhead per request ({args.requests} requests, model stubbed):")
    print(f"  median {median:.3f} ms   p99 {p99:.3f} ms   (target: median < 1 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
