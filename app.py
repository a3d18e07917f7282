#!/usr/bin/env python3
"""CDK entry point: load the configuration, build the selected stage with its checks, synthesize."""

import os
import sys

import aws_cdk as cdk

from genai_kit.cdk_context import cdk_json_context
from genai_kit.stage import ConfigError, load_stage
from stacks.kit_app import build_kit

app = cdk.App(context=cdk_json_context())
try:
    config = load_stage(app.node.get_all_context())
except ConfigError as error:
    sys.exit(str(error))
build_kit(app, config)
try:
    app.synth()
except RuntimeError as error:
    # A failed check (cdk-nag) is a report for the user, not a crash: print it without the jsii stack trace.
    if "ValidationFailed" not in str(error):
        raise
    sys.exit(str(error))
# The cloud assembly is written: end now. An orderly interpreter shutdown tears down every jsii object proxy and
# waits for the Node.js process (a third of a second on this kit); the Node.js process ends on its own once its
# input closes.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
