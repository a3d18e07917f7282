"""Contracts between a construct that configures a Lambda function and the function that reads the configuration.

Each module holds one function's environment as a typed model: the construct serialises it with
``to_environment()`` and the function parses it with ``from_environment()``. Both sides import the same
module, so neither depends on the other's code. Plain pydantic: no ``aws_cdk`` and no ``boto3`` here.
"""
