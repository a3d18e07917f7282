"""Runtime code shared by the kit's Lambda functions (packaged into each function's asset)."""
