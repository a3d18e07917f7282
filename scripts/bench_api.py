"""Benchmark of the API router: cold start against boto3 and an alternative, and its own time to first byte.

Measured in one run on this machine, each figure against a baseline measured in the same run:

- **cold start to ready**: a fresh process runs the router's packaged asset the way the AWS Lambda Web
  Adapter starts it (its handler script ``run.sh`` serving on the adapter's port) until ``/health`` answers,
  polled every 10 ms as the adapter's readiness check does; against a fresh ``python -c "import boto3"``
  (target: at most 1.5x). The alternative a user might deploy instead, ``litellm``, is imported likewise with
  the interpreter given by ``--alternative-python`` (``make bench-api`` prepares it).
- **time to first byte**: a streamed chat request through the router's ASGI app with the model stubbed to
  answer at once, from the request to the first body bytes, in process (the router's own time) and over a
  loopback HTTP connection kept alive (what the adapter sees); against calling the stub directly for its
  first event (target: the router's own overhead under 2 ms median).

Usage: ``python scripts/bench_api.py [--starts N] [--requests N] [--alternative-python PATH]``
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENVIRONMENT = {
    "MODELS": json.dumps({"m": {"backend": "bedrock", "model": "amazon.nova-lite-v1:0"}}),
    "MAX_BODY_BYTES": "65536",
    "MODEL_TIMEOUT_SECONDS": "30",
    "MODEL_WAIT_SECONDS": "30",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
    # Lambda's code is read-only: each cold start compiles what has no bytecode in the asset.
    "PYTHONDONTWRITEBYTECODE": "1",
}
BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": True}).encode()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.99) - 1, 0)]


def import_process(python: str, module: str) -> float:
    """Seconds for a fresh interpreter to import ``module`` and exit."""
    started = time.perf_counter()
    subprocess.run([python, "-c", f"import {module}"], check=True, capture_output=True)
    return time.perf_counter() - started


def router_start(asset: Path) -> float:
    """Seconds from starting the router's handler script to its first healthy readiness answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as bin_dir:
        python = Path(bin_dir) / "python"
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
        environment = {
            **os.environ,
            **ENVIRONMENT,
            "LAMBDA_TASK_ROOT": str(asset),
            "AWS_LWA_PORT": str(port),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }
        environment.pop("PYTHONPATH", None)
        started = time.perf_counter()
        process = subprocess.Popen([str(asset / "lambdas/api_router/run.sh")], env=environment, cwd=asset)
        try:
            while True:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    connection.request("GET", "/health")
                    if connection.getresponse().status == 200:
                        return time.perf_counter() - started
                except OSError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError("the router exited before it was ready")
                time.sleep(0.01)
        finally:
            process.terminate()
            process.wait(timeout=10)


# The router's own start, by what it loads (each alone in a fresh interpreter, in the asset as Lambda loads it).
BREAKDOWN = {
    "botocore (the router's pinned copy)": ("botocore.session", "botocore.config"),
    "uvicorn (with click)": ("uvicorn",),
    "starlette": ("starlette.applications", "starlette.responses", "starlette.routing"),
    "Powertools Logger and Metrics": ("aws_lambda_powertools.logging", "aws_lambda_powertools.metrics"),
    "pydantic and the router's contract": ("genai_kit.contracts.api_router",),
    "the whole router app": ("lambdas.api_router.app", "lambdas.api_router.server"),
}


def import_time(asset: Path, modules: tuple[str, ...]) -> float:
    """Seconds to import ``modules`` in a fresh interpreter whose path starts with ``asset``."""
    script = (
        "import time\n"
        "started = time.perf_counter()\n"
        f"for name in {list(modules)!r}: __import__(name)\n"
        "print(time.perf_counter() - started)\n"
    )
    environment = {**os.environ, **ENVIRONMENT, "PYTHONPATH": str(asset)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, cwd=asset, check=True, capture_output=True, text=True
    )
    return float(result.stdout.split()[-1])


def compiled_copy(asset: Path, into: Path) -> Path:
    """A copy of ``asset`` with bytecode for this interpreter, as if the asset shipped it."""
    copy = into / "asset"
    shutil.copytree(asset, copy)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)], check=True, capture_output=True)
    return copy


class _Instant:
    """A model stream that answers at once."""

    def __iter__(self) -> Iterator[Any]:
        from lambdas.api_router.events import Finish, TextDelta  # noqa: PLC0415

        yield TextDelta("ok")
        yield Finish("stop")

    def close(self) -> None:
        pass


def time_to_first_byte(requests: int) -> dict[str, tuple[float, float]]:
    """Median and p99 milliseconds to the first body bytes: the stub alone, the app in process, over HTTP."""
    os.environ.update(ENVIRONMENT)
    from lambdas.api_router import chat  # noqa: PLC0415
    from lambdas.api_router.app import create_app  # noqa: PLC0415

    setattr(chat, "open_stream", lambda *_: _Instant())  # noqa: B010  (the model call, stubbed)
    app = create_app()

    direct = []
    for _ in range(requests):
        started = time.perf_counter()
        next(iter(_Instant()))
        direct.append((time.perf_counter() - started) * 1000)

    async def asgi_once() -> float:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"", "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        first: list[float] = []
        received = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": BODY, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body") and not first:
                first.append(time.perf_counter())

        started = time.perf_counter()
        await app(scope, receive, send)
        return (first[0] - started) * 1000

    async def asgi_all() -> list[float]:
        return [await asgi_once() for _ in range(requests)]

    in_process = asyncio.run(asgi_all())
    over_http = _over_loopback(app, requests)
    return {
        "stub alone": _percentiles(direct),
        "router, in process": _percentiles(in_process),
        "router, loopback HTTP": _percentiles(over_http),
    }


def _over_loopback(app: Any, requests: int) -> list[float]:
    import uvicorn  # noqa: PLC0415

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("POST", "/v1/chat/completions", BODY, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read1(1)
            samples.append((time.perf_counter() - started) * 1000)
            response.read()
    finally:
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--starts", type=int, default=15, help="cold starts per measurement (default 15)")
    parser.add_argument("--requests", type=int, default=2000, help="requests for the first-byte figures")
    parser.add_argument("--alternative-python", help="interpreter that has litellm installed")
    args = parser.parse_args()

    from stacks.api_stack import ROUTER_AWS_SERVICES, ROUTER_INCLUDE, ROUTER_PACKAGE  # noqa: PLC0415
    from stacks.constructs.lambda_code import stage_function  # noqa: PLC0415

    asset = stage_function(ROUTER_PACKAGE, include=ROUTER_INCLUDE, aws_services=ROUTER_AWS_SERVICES)
    import_process(sys.executable, "boto3")  # warm the file cache and bytecode
    router_start(asset)
    boto3_s, router_s = [], []
    for _ in range(args.starts):  # interleaved, so machine noise hits both alike
        boto3_s.append(import_process(sys.executable, "boto3"))
        router_s.append(router_start(asset))
    boto3_median, router_median = statistics.median(boto3_s), statistics.median(router_s)
    print(f"cold start, median of {args.starts} fresh processes:")
    print(f"  python -c 'import boto3'          {boto3_median * 1000:7.1f} ms")
    print(
        f"  router asset, run.sh to ready     {router_median * 1000:7.1f} ms   "
        f"{router_median / boto3_median:5.2f}x boto3 (target <= 1.5x)"
    )
    if args.alternative_python:
        import_process(args.alternative_python, "litellm")
        litellm_s = statistics.median(
            import_process(args.alternative_python, "litellm") for _ in range(max(3, args.starts // 3))
        )
        ratio = litellm_s / router_median
        print(f"  python -c 'import litellm'        {litellm_s * 1000:7.1f} ms   {ratio:5.2f}x the router")

    print("  where the router's start goes, import time alone in a fresh interpreter (median of 5):")
    for label, modules in BREAKDOWN.items():
        seconds = statistics.median(import_time(asset, modules) for _ in range(5))
        print(f"    {label:36s} {seconds * 1000:6.1f} ms")
    with tempfile.TemporaryDirectory() as scratch:
        compiled = compiled_copy(asset, Path(scratch))
        seconds = statistics.median(import_time(compiled, BREAKDOWN["the whole router app"]) for _ in range(5))
    print(f"    {'the same, had the asset bytecode':36s} {seconds * 1000:6.1f} ms   (Lambda's Python 3.13 cannot")
    print("      use bytecode compiled by another Python, so the asset ships none)")

    figures = time_to_first_byte(args.requests)
    stub = figures["stub alone"][0]
    print(f"time to first byte of a streamed chat, model stubbed ({args.requests} requests):")
    for name, (median, p99) in figures.items():
        overhead = "" if name == "stub alone" else f"   overhead {median - stub:6.3f} ms"
        print(f"  {name:22s} median {median:7.3f} ms   p99 {p99:7.3f} ms{overhead}")
    print("  target: the router's own overhead (in process) under 2 ms median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
