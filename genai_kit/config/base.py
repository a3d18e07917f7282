"""Strict pydantic base model shared by every configuration section.

Unknown keys are refused with the list of valid keys (and the closest match), because a typo in
cdk.json that is silently ignored deploys something other than what the user wrote.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
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
