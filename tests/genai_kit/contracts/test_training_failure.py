"""The DescribeFailure function's contract: the steps in order as [state, result key] pairs, and the training
step."""

from __future__ import annotations

import pytest

from genai_kit.contracts.training_failure import FailureEnvironment

ENVIRONMENT = FailureEnvironment(steps=(("CheckInput", "checked"), ("Train", "training")), training_step="Train")


def test_steps_are_pairs_in_order() -> None:
    variables = ENVIRONMENT.to_environment()
    assert variables == {"STEPS": '[["CheckInput","checked"],["Train","training"]]', "TRAINING_STEP": "Train"}
    assert FailureEnvironment.from_environment(variables) == ENVIRONMENT


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("not JSON", "STEPS: Input should be a valid tuple"),
        ("[]", "STEPS: Tuple should have at least 1 item"),
        ('[["Train"]]', "STEPS.0.1: Field required"),
    ],
)
def test_bad_steps_are_named(steps: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid training_failure environment") as caught:
        FailureEnvironment.from_environment({"STEPS": steps, "TRAINING_STEP": "Train"})
    assert message in str(caught.value)
