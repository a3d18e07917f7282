"""The DescribeFailure function's environment: written by the fine-tuning pipeline's construct, read by
``lambdas/training_failure``.

``STEPS`` lists the pipeline's steps in order, each as ``[state name, result key]``: the function finds the step
that failed as the first whose result is missing from the state. ``TRAINING_STEP`` names the state that runs the
training job, whose failure the function explains from the job's description; ``PREPARATION_STEP`` (the Hugging Face
kind) the state whose preparation job is explained the same way.
"""

from __future__ import annotations

from pydantic import Field

from genai_kit.contracts.base import FunctionEnvironment


class FailureEnvironment(FunctionEnvironment):
    """The function's environment; each field is the variable of its upper-cased name."""

    steps: tuple[tuple[str, str], ...] = Field(min_length=1)
    training_step: str = Field(min_length=1)
    preparation_step: str | None = Field(
        None, description="The Hugging Face kind: the state that prepares the trained model for serving"
    )
