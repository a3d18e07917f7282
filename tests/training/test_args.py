"""Argument parsing: SageMaker's ``--name value`` form and ``SM_*`` paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit_training.args import build_parser, parse_args

from genai_kit.config.hf_training import HfTrainingConfig, HfTrainingHyperparameters

ENV = {"SM_CHANNEL_TRAIN": "/opt/ml/input/data/train", "SM_MODEL_DIR": "/opt/ml/model"}


def test_sagemaker_style_arguments_are_parsed() -> None:
    argv = ["--learning_rate", "0.0002", "--method", "full", "--lora_target_modules", "q_proj,v_proj"]
    args = parse_args(
        [*argv, "--max_steps", "40"],
        environ={**ENV, "SM_CHANNEL_VALIDATION": "/opt/ml/input/data/validation", "HF_TOKEN_SECRET_ARN": "arn:x"},
    )
    assert (args.learning_rate, args.method, args.max_steps) == (0.0002, "full", 40)
    assert args.lora_target_modules == ("q_proj", "v_proj")
    assert args.train_dir == Path("/opt/ml/input/data/train")
    assert args.validation_dir == Path("/opt/ml/input/data/validation")
    assert args.model_dir == Path("/opt/ml/model")
    assert args.checkpoint_dir == Path("/opt/ml/checkpoints")
    assert args.hf_token_secret_arn == "arn:x"


def test_a_model_channel_wins_over_the_hub_id() -> None:
    args = parse_args(["--model_id", "org/name"], environ={**ENV, "SM_CHANNEL_MODEL": "/opt/ml/input/data/model"})
    assert args.base_model == "/opt/ml/input/data/model"
    assert parse_args(["--model_id", "org/name"], environ=ENV).base_model == "org/name"


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_a_revision_pins_a_hub_model_and_is_ignored_with_a_model_channel() -> None:
    argv = ["--model_id", "org/name", "--revision", COMMIT]
    assert parse_args(argv, environ=ENV).base_revision == COMMIT
    channel = parse_args(argv, environ={**ENV, "SM_CHANNEL_MODEL": "/opt/ml/input/data/model"})
    assert (channel.base_model, channel.base_revision) == ("/opt/ml/input/data/model", None)
    assert parse_args(["--model_id", "org/name"], environ=ENV).base_revision is None


@pytest.mark.parametrize("revision", ["main", "v1.0", COMMIT.upper(), COMMIT[:12]])
def test_a_revision_that_is_not_a_commit_exits_naming_the_option(
    revision: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        parse_args(["--model_id", "org/name", "--revision", revision], environ=ENV)
    assert excinfo.value.code == 2
    assert f"argument --revision: got '{revision}'; expected a hub commit id" in capsys.readouterr().err


@pytest.mark.parametrize("revision", ["main", COMMIT, COMMIT.upper(), COMMIT[:12], f"{COMMIT}0", " " + COMMIT[1:]])
def test_the_script_and_the_configuration_accept_the_same_revisions(revision: str) -> None:
    try:
        HfTrainingConfig.model_validate({"model_id": "org/name", "model_type": "llama", "revision": revision})
        configuration = True
    except ValueError:
        configuration = False
    try:
        parse_args(["--revision", revision], environ=ENV)
        script = True
    except SystemExit:
        script = False
    assert script == configuration == (revision == COMMIT)


def test_no_model_at_all_is_refused_naming_both_ways() -> None:
    with pytest.raises(ValueError, match="no hub model id and no 'model' input channel"):
        _ = parse_args([], environ=ENV).base_model


def test_no_train_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="the job needs a 'train' channel"):
        parse_args([], environ={})


def test_a_bad_choice_exits_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        parse_args(["--precision", "fp16"], environ=ENV)
    assert excinfo.value.code == 2
    assert "--precision: invalid choice: 'fp16'" in capsys.readouterr().err


def test_the_script_takes_exactly_the_configurations_hyperparameters_with_the_same_defaults() -> None:
    parser = build_parser()
    # model_id and revision are the model's (HfTrainingConfig), the rest SageMaker's paths.
    paths = {"train_dir", "validation_dir", "model_channel_dir", "model_dir", "checkpoint_dir", "model_id", "revision"}
    script = {a.dest: a.default for a in parser._actions if a.dest != "help" and a.dest not in paths}
    config = HfTrainingHyperparameters().model_dump()
    assert script == config
