"""CDK code of the kit: one module per deployable stack, reusable constructs in ``stacks.constructs``."""
