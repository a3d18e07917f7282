"""Strict pydantic base model shared by every configuration section.

Unknown keys are refused with the list of valid keys (and the closest match), because a typo in
cdk.json that is silently ignored deploys something other than what the user wrote.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

UNKNOWN_KEY_ERROR = "unknown_key"


class StrictModel(BaseModel):
    """A frozen model that rejects unknown keys with a message naming the valid ones."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=False, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        allowed = {field.alias or name for name, field in cls.model_fields.items()}
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            key = unknown[0]
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise PydanticCustomError(
                UNKNOWN_KEY_ERROR,
                "unknown key{suggestion}; valid keys are: {valid}",
                {"key": key, "suggestion": suggestion, "valid": ", ".join(sorted(allowed))},
            )
        return data


# The values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy's retentionInDays).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"got {value}; CloudWatch Logs accepts only these retention periods (days): "
            f"{', '.join(str(days) for days in LOG_RETENTION_DAYS)}"
        )
    return value


LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]

# A Hugging Face hub commit id, as the hub's "Files and versions" history shows it (full SHA-1).
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


def _commit(value: str) -> str:
    if not _COMMIT_RE.match(value):
        raise ValueError(
            f"got '{value}'; expected a commit id (40 lowercase hexadecimal characters, the 'Files and versions' "
            "history of the model on huggingface.co); a branch or tag such as 'main' moves, so the weights could "
            "change under the same configuration"
        )
    return value


HubCommit = Annotated[str, AfterValidator(_commit)]
"""A Hugging Face hub revision pinned to one commit (a branch or tag name is refused, naming the value)."""


def describe_errors(error: ValidationError, *, prefix: str) -> list[str]:
    """One line per pydantic error: ``<prefix>.<key path>: <what is wrong>``, quoting the bad value.

    Used for the stage configuration (prefix ``stages.<name>``) and for values checked again at run time, such
    as an execution's hyperparameters (prefix ``hyperparameters``).
    """
    lines = []
    for detail in error.errors(include_url=False):
        loc = [prefix, *(str(part) for part in detail["loc"])]
        if detail["type"] == UNKNOWN_KEY_ERROR:
            loc.append(detail["ctx"]["key"])
        path = ".".join(loc)
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] in ("value_error", UNKNOWN_KEY_ERROR) or "input" not in detail:
            # Our own validators already quote the bad value and say what is valid.
            lines.append(f"{path}: {message}")
        elif detail["type"] == "missing":
            lines.append(f"{path}: is required")
        else:
            lines.append(f"{path}: got {detail['input']!r}; {message[0].lower()}{message[1:]}")
    return lines
