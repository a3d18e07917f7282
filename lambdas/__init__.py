"""Lambda runtime code, one package per function (``lambdas/<name>/handler.py``); never imports aws_cdk."""
