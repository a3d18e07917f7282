#!/bin/sh
# The router's Lambda handler. The AWS Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this
# script instead of Lambda's Python runtime client, then forwards each invocation to the server it starts.
# The function's code is first on the path (it bundles the router's pinned dependencies), then the layers'.
export PYTHONPATH="${LAMBDA_TASK_ROOT}:/opt/python${PYTHONPATH:+:${PYTHONPATH}}"
exec python -m lambdas.api_router.server
