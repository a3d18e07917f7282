"""How CheckInput and Prepare refuse an execution input: a named error and a reason of bounded length."""

from __future__ import annotations

# A refusal's reason travels in the state machine's data, the Fail state's cause and the notification: it quotes
# what was given only in part, and is cut at this length whatever the input, so no input can make it large.
REASON_MAX_CHARS = 2000


class PrepareError(ValueError):
    """The execution input cannot start a training job; ``error`` names the kind of problem."""

    def __init__(self, error: str, reason: str) -> None:
        self.error = error
        super().__init__(reason if len(reason) <= REASON_MAX_CHARS else f"{reason[: REASON_MAX_CHARS - 3]}...")
