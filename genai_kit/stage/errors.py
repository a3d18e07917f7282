"""The errors resolution steps raise: which key of their section is wrong, and why."""

from __future__ import annotations


class ResolutionError(ValueError):
    """A section of the stage's configuration cannot be deployed in the stage's region; ``key`` is the offending
    key below the section (``instance_type`` below ``training``, ``source.model_id`` below ``endpoints.<i>``)."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


class EndpointError(ResolutionError):
    """An endpoint's configuration cannot be deployed; ``key`` is the offending key below the endpoint."""
