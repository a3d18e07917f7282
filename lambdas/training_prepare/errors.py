"""How CheckInput and Prepare refuse an execution input: a named error and a reason of bounded length, quoting
what was given only in part; and the instance-count check both kinds of model share."""

from __future__ import annotations

from genai_kit.contracts.training_prepare import PipelineSettings

# A refusal's reason travels in the state machine's data, the Fail state's cause and the notification: it quotes
# what was given only in part, and is cut at this length whatever the input, so no input can make it large.
REASON_MAX_CHARS = 2000
QUOTE_MAX_CHARS = 100


class PrepareError(ValueError):
    """The execution input cannot start a training job; ``error`` names the kind of problem."""

    def __init__(self, error: str, reason: str) -> None:
        self.error = error
        super().__init__(reason if len(reason) <= REASON_MAX_CHARS else f"{reason[: REASON_MAX_CHARS - 3]}...")


def clip(value: str) -> str:
    """``value`` cut to QUOTE_MAX_CHARS: input echoed in a reason."""
    return value if len(value) <= QUOTE_MAX_CHARS else f"{value[:QUOTE_MAX_CHARS]}... ({len(value):,} characters)"


def quote(value: str) -> str:
    """``value`` in quotes, cut to QUOTE_MAX_CHARS: input echoed in a reason."""
    return (
        f"'{value}'" if len(value) <= QUOTE_MAX_CHARS else f"'{value[:QUOTE_MAX_CHARS]}...' ({len(value):,} characters)"
    )


def check_instance_count(settings: PipelineSettings, instance_type: str, count: int) -> None:
    """Refuse more instances than ``max_instance_count``, or several of a type without EFA (``InvalidInput``)."""
    if count > settings.max_instance_count:
        raise PrepareError(
            "InvalidInput",
            f"instance_count: {count} is above this pipeline's max_instance_count ({settings.max_instance_count})",
        )
    if count > 1 and instance_type not in settings.efa_instance_types:
        raise PrepareError(
            "InvalidInput",
            f"instance_count: {instance_type} has no EFA networking and cannot train multi-node; use 1 or one of: "
            f"{', '.join(settings.efa_instance_types) or 'none'}",
        )
