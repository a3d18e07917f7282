"""The kit's operations command line: ``python -m genai_kit.cli {preflight,outputs,cost} --stage <name>``.

Plain Python that never imports aws_cdk, so it starts in a fraction of a second; boto3 and the configuration
are imported only by the command that needs them.
"""
