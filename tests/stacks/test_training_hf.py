"""The training stack of the Hugging Face kind: clean under cdk-nag and cfn-lint, the PrepareServing state between
an accepted model and Register, the registered version's serving container, and what each role may do."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aws_cdk.assertions import Template

from genai_kit.contracts.training_prepare import PipelineSettings
from genai_kit.stage.hf_training_job import TRAINING_SCRIPT_DIR
from genai_kit.synth_summary import validation_findings
from tests.cfn_lint import cfn_lint_problems
from tests.pipeline.conftest import HF_STAGES
from tests.stacks.test_training_stack import _definition, _function, _policy, _render, _resources
from tests.synth import SynthResult

VLLM_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-vllm-inference-neuronx:"


@pytest.fixture(scope="module")
def hf_stage(synth: Callable[..., SynthResult]) -> SynthResult:
    """The stage the pipeline tests run (synthesized once per session)."""
    result: SynthResult = synth("dev", stages=HF_STAGES)
    return result


def test_nag_and_cfn_lint_are_clean(hf_stage: SynthResult) -> None:
    assert validation_findings(hf_stage.assembly_dir) == []
    assert cfn_lint_problems(hf_stage.assembly_dir) == []


def test_an_accepted_model_is_prepared_for_serving_then_registered(hf_stage: SynthResult) -> None:
    states = _definition(hf_stage.template("Training"))["States"]
    assert states["ModelAccepted?"]["Default"] == "PrepareServing"
    prepare = states["PrepareServing"]
    assert prepare["Resource"] == "arn:<AWS::Partition>:states:::sagemaker:createTrainingJob.sync"
    assert prepare["Next"] == "Register"
    parameters = prepare["Parameters"]
    assert parameters["RoleArn"].startswith("<PipelineTrainingRole")
    assert parameters["AlgorithmSpecification"]["TrainingImage"].startswith(VLLM_IMAGE)
    assert parameters["EnableNetworkIsolation"] is True
    assert parameters["ResourceConfig"] == {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
    code, model = parameters["InputDataConfig"]
    assert code["DataSource"]["S3DataSource"]["S3Uri"].startswith("s3://cdk-hnb659fds-assets-<AWS::AccountId>-")
    assert model["DataSource"]["S3DataSource"]["S3Uri.$"] == "States.Format('{}model/', $.evaluation.modelData.S3Uri)"
    assert parameters["Environment"]["PREPARATION_EXPORT_ARGUMENTS"] == (
        "--task text-generation --batch_size 1 --sequence_length 2048 --tensor_parallel_size 2"
    )
    register = states["Register"]["Parameters"]
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["Image"].startswith(VLLM_IMAGE)
    assert container["Environment"]["SM_ON_MODEL"] == "/opt/ml/model"
    assert container["ModelDataSource"] == {"S3DataSource.$": "$.prepared.serving.modelData"}
    assert register["ModelPackageDescription.$"].startswith(
        "States.Format('Fine-tuned huggingface:TinyLlama/TinyLlama-1.1B-Chat-v1.0 by training job {}'"
    )


def test_the_training_role_pulls_both_images_and_reads_only_the_two_code_objects(hf_stage: SynthResult) -> None:
    template = hf_stage.template("Training")
    statements = _policy(template, "TrainingRole")
    resources = statements["PullTrainingImage"]["Resource"]
    pulled = " ".join(_render(r) for r in (resources if isinstance(resources, list) else [resources]))
    assert "repository/huggingface-pytorch-training-neuronx" in pulled
    assert "repository/huggingface-vllm-inference-neuronx" in pulled
    code = statements["ReadCodeAssets"]
    assert code["Action"] == "s3:GetObject"
    assert len(code["Resource"]) == 2
    # No token secret configured: nothing of Secrets Manager.
    assert "ReadTokenSecret" not in statements


def test_prepare_names_the_source_archive_and_the_failure_step_knows_the_preparation(hf_stage: SynthResult) -> None:
    template = hf_stage.template("Training")
    variables = _function(template, "lambdas.training_prepare.handler.handler")["Environment"]["Variables"]
    assert _render(variables["SOURCE_ARCHIVE_URI"]).startswith("s3://cdk-hnb659fds-assets-<AWS::AccountId>-")
    assert _render(variables["SOURCE_ARCHIVE_URI"]).endswith(".gz")
    failure = _function(template, "lambdas.training_failure.handler.handler")["Environment"]["Variables"]
    assert failure["PREPARATION_STEP"] == "PrepareServing"
    assert ["PrepareServing", "serving"] in json.loads(failure["STEPS"])


def test_the_settings_file_holds_the_scripts_request_parts(hf_stage: SynthResult) -> None:
    (settings_file,) = hf_stage.assembly_dir.glob("asset.*/lambdas/training_prepare/pipeline.json")
    settings = PipelineSettings.model_validate_json(settings_file.read_text())
    assert settings.huggingface is not None
    assert settings.huggingface.hyperparameters["model_id"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert settings.specs == {}
    assert settings.default_instance_type == "ml.trn1.2xlarge"


def test_the_rollout_serves_with_the_serving_container(hf_stage: SynthResult) -> None:
    template: Template = hf_stage.template("Training")
    statements = _policy(template, "ServingRole")
    pulled = json.dumps(statements)
    assert "huggingface-vllm-inference-neuronx" in pulled
    assert _resources(template, "AWS::SageMaker::ModelPackageGroup")


def test_the_dataset_step_carries_the_scripts_record_rules(hf_stage: SynthResult) -> None:
    template = hf_stage.template("Training")
    function = _function(template, "lambdas.training_validate_dataset.handler.handler")
    rules = json.loads(function["Environment"]["Variables"]["DATASET_RULES"])
    assert rules["record_format"] == "kit_script"
    asset = hf_stage.assembly_dir / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    packaged = asset / "kit_training" / "data.py"
    assert packaged.read_text() == (TRAINING_SCRIPT_DIR / "kit_training" / "data.py").read_text()
