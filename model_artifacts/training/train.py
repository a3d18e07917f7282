"""SageMaker entry point (``sagemaker_program``) of the kit's fine-tuning job: see README.md beside it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kit_training.args import parse_args
from kit_training.neuron import run

if __name__ == "__main__":
    run(parse_args())
