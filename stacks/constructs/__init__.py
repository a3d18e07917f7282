"""Reusable L3 constructs shared by the kit's stacks."""
