"""The ValidateDataset function's environment: written by the fine-tuning pipeline's construct, read by
``lambdas/training_validate_dataset``.

``DATASET_RULES`` is the stage's ``training.dataset`` section as JSON (sizes in MiB and KiB), e.g.
``{"max_file_mb":2048,"max_files":1000,"max_record_kb":1024,"min_examples":100,"required_fields":["text"]}``; the
Hugging Face kind adds ``"record_format":"kit_script"``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from genai_kit.contracts.base import FunctionEnvironment


class DatasetRules(BaseModel):
    """What the dataset step checks: the fields every record has, and the counts and sizes it allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    required_fields: tuple[str, ...] = Field(min_length=1)
    min_examples: int = Field(ge=1)
    max_files: int = Field(ge=1)
    max_file_mb: int = Field(ge=1)
    max_record_kb: int = Field(ge=1)
    # Last and optional: a JumpStart pipeline's variable is unchanged (None is left out of the environment).
    record_format: Literal["kit_script"] | None = Field(
        None,
        description="kit_script: every record is one of the kit's training script's formats, checked by the "
        "script's own kit_training.data (packaged with the function); required_fields are then not checked",
    )


class ValidateDatasetEnvironment(FunctionEnvironment):
    """The function's environment; each field is the variable of its upper-cased name."""

    dataset_rules: DatasetRules
