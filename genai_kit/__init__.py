"""Plain-Python core of the kit: typed configuration, catalog resolution, Neuron facts, ops tooling.

Nothing under this package imports ``aws_cdk``: the ops CLI and the Lambdas import it and must start fast.
"""
