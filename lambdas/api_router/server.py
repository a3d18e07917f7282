"""Serves the router with uvicorn on the AWS Lambda Web Adapter's port: ``python -m lambdas.api_router.server``.

``AWS_LWA_PORT`` is the adapter's own variable (default 8080, aws-lambda-web-adapter docs/guide
configuration/environment-variables.md): the port it forwards invocations to and checks for readiness.
Loopback only: nothing outside the execution environment reaches the app. One worker, no access log
(API Gateway writes access logs), the pure-Python HTTP/1.1 implementation (h11) and the asyncio loop.
"""

from __future__ import annotations

import os

import uvicorn

from lambdas.api_router.app import create_app

DEFAULT_PORT = 8080


def main() -> None:
    port = int(os.environ.get("AWS_LWA_PORT") or os.environ.get("PORT") or DEFAULT_PORT)
    config = uvicorn.Config(
        create_app(),
        host="127.0.0.1",
        port=port,
        loop="asyncio",
        http="h11",
        lifespan="off",
        access_log=False,
        server_header=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
