"""The one error type the CLI turns into a message and exit status 2, without a stack trace."""

from __future__ import annotations


class CliError(Exception):
    """A problem the user can fix: unknown stage, missing credentials, stack not deployed, nothing synthesized."""
