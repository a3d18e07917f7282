"""CheckInput and Prepare: input checks, hyperparameter precedence, EULA, job naming and the request's shape."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.session import get_session
from botocore.validate import validate_parameters

from genai_kit.contracts.training_prepare import PipelineSettings, PrepareEnvironment
from genai_kit.stage import load_stage
from lambdas.training_prepare.training_job import (
    REASON_MAX_CHARS,
    PrepareError,
    check_execution_input,
    prepare,
    training_job_name,
)
from stacks.constructs.training_pipeline import pipeline_settings
from tests.synth import kit_context

ENV = PrepareEnvironment(
    training_job_prefix="genai-kit-dev-ft",
    training_role_arn="arn:aws:iam::123456789012:role/training",
    datasets_bucket="datasets",
    datasets_prefix="fine-tuning/",
    artifacts_bucket="artifacts",
    output_prefix="training/output/",
    checkpoint_prefix="training/checkpoints/",
    compile_cache_prefix="training/neuron-compile-cache/",
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/kit",
)


def _settings(**training: Any) -> PipelineSettings:
    resolved = load_stage(kit_context(overrides={"stages": {"dev": {"training": training}}})).training
    assert resolved is not None
    return pipeline_settings(resolved)


@pytest.fixture(scope="module")
def settings() -> PipelineSettings:
    return _settings(hyperparameters={"max_steps": 40, "learning_rate": 1e-5})


def _prepare(settings: PipelineSettings, **input_values: Any) -> dict[str, Any]:
    raw = {"dataset": "s3://datasets/fine-tuning/notes/", "accept_eula": True, **input_values}
    checked = check_execution_input(raw, settings=settings, env=ENV)
    return prepare(checked, execution_name="run-1", execution_id="arn:exec:run-1", settings=settings, env=ENV)


def test_request_is_a_valid_create_training_job_call(settings: PipelineSettings) -> None:
    request = _prepare(settings)["request"]
    shape = get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    validate_parameters(request, shape)


def test_request_has_isolation_encryption_checkpoints_and_compile_cache(settings: PipelineSettings) -> None:
    request = _prepare(settings)["request"]
    assert request["EnableNetworkIsolation"] is True
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["OutputDataConfig"] == {
        "S3OutputPath": "s3://artifacts/training/output/",
        "KmsKeyId": ENV.kms_key_arn,
        "CompressionType": "NONE",
    }
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://artifacts/training/checkpoints/{request['TrainingJobName']}/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["Environment"]["NEURON_COMPILE_CACHE_URL"] == "s3://artifacts/training/neuron-compile-cache/"
    # trn1 has local NVMe storage: SageMaker refuses a volume KMS key there.
    assert "VolumeKmsKeyId" not in request["ResourceConfig"]
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 360000}
    assert request["EnableManagedSpotTraining"] is False


def test_gated_model_gets_its_weights_location_and_eula_acceptance(settings: PipelineSettings) -> None:
    environment = _prepare(settings)["request"]["Environment"]
    assert environment["SageMakerGatedModelS3Uri"] == (
        "s3://jumpstart-private-cache-prod-us-east-1/meta-training/trn1/v1.0.0/"
        "train-meta-textgenerationneuron-llama-2-7b.tar.gz"
    )
    assert environment["accept_eula"] == "true"


def test_channels_are_dataset_and_jumpstart_script(settings: PipelineSettings) -> None:
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in _prepare(settings)["request"]["InputDataConfig"]
    }
    assert channels == {
        "training": "s3://datasets/fine-tuning/notes/",
        "code": "s3://jumpstart-cache-prod-us-east-1/source-directory-tarballs/meta/transfer_learning/"
        "textgenerationneuron/prepack/v1.0.0/sourcedir.tar.gz",
    }


def test_hyperparameters_defaults_then_config_then_input_json_encoded(settings: PipelineSettings) -> None:
    hyperparameters = _prepare(settings, hyperparameters={"max_steps": 80})["request"]["HyperParameters"]
    assert hyperparameters["max_steps"] == '"80"'  # input beats config (40) and the default (20)
    assert hyperparameters["learning_rate"] == '"1e-05"'  # config beats the default 6e-06
    assert hyperparameters["warmup_steps"] == '"10"'  # catalog default
    assert hyperparameters["sagemaker_program"] == '"transfer_learning.py"'
    assert "sagemaker_torch_distributed_enabled" not in hyperparameters


def test_multi_node_on_trn1n_enables_torch_distributed(settings: PipelineSettings) -> None:
    request = _prepare(settings, instance_type="ml.trn1n.32xlarge", instance_count=2)["request"]
    assert request["ResourceConfig"]["InstanceType"] == "ml.trn1n.32xlarge"
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == '"true"'
    assert "trn1n/v1.0.0" in request["Environment"]["SageMakerGatedModelS3Uri"]


def test_spot_and_warm_pool_from_configuration() -> None:
    spot = _prepare(_settings(spot={"enabled": True}, max_runtime_seconds=7200))["request"]
    assert spot["EnableManagedSpotTraining"] is True
    assert spot["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    warm = _prepare(_settings(warm_pool_seconds=900))["request"]
    assert warm["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 900


def test_job_name_derives_from_the_execution_and_fits_sagemaker() -> None:
    name = training_job_name("genai-kit-production-ft", "Nightly_Run.2026-11-26T10:00:00-with-a-very-long-suffix-x")
    assert name == training_job_name(
        "genai-kit-production-ft", "Nightly_Run.2026-11-26T10:00:00-with-a-very-long-suffix-x"
    )
    assert len(name) <= 63
    assert name.startswith("genai-kit-production-ft-nightly-run-2026-11-26t10")
    assert training_job_name("p", "a_b") != training_job_name("p", "a.b")


@pytest.mark.parametrize(
    ("input_values", "error", "message"),
    [
        ({"accept_eula": False}, "EulaNotAccepted", '"accept_eula": true'),
        ({"hyperparameters": {"learning_rate": 5}}, "HyperparameterInvalid", "'learning_rate'"),
        ({"hyperparameters": {"lr_scheduler_type": "Linear"}}, "HyperparameterInvalid", "one of CosineAnnealing"),
        ({"hyperparameters": {"epochs": 3}}, "HyperparameterInvalid", "unknown hyperparameter 'epochs'"),
        ({"hyperparameters": {"sagemaker_program": "x.py"}}, "HyperparameterInvalid", "set by the training container"),
        ({"instance_type": "ml.trn1.2xlarge"}, "InvalidInput", "trains here on: ml.trn1.32xlarge, ml.trn1n.32xlarge"),
        ({"instance_count": 5}, "InvalidInput", "above this pipeline's max_instance_count (4)"),
        ({"dataset": "s3://other-bucket/data/"}, "InvalidInput", "expected a folder under s3://datasets/fine-tuning/"),
        ({"dataset": "fine-tuning/../secrets/"}, "InvalidInput", "expected a folder under"),
        ({"datset": "x"}, "InvalidInput", "datset: Extra inputs are not permitted"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    settings: PipelineSettings, input_values: dict[str, Any], error: str, message: str
) -> None:
    with pytest.raises(PrepareError) as refused:
        _prepare(settings, **input_values)
    assert refused.value.error == error
    assert message in str(refused.value)


def test_dataset_can_be_named_relative_to_the_datasets_prefix(settings: PipelineSettings) -> None:
    assert _prepare(settings, dataset="notes")["dataset"] == {
        "bucket": "datasets",
        "prefix": "fine-tuning/notes/",
        "uri": "s3://datasets/fine-tuning/notes/",
    }


@pytest.mark.parametrize(
    ("raw", "kind"),
    [([1, 2], "an array"), ("run", "a string"), (3, "a number"), (None, "null"), (True, "a boolean")],
)
def test_an_input_that_is_not_an_object_is_refused_saying_what_it_is(
    settings: PipelineSettings, raw: Any, kind: str
) -> None:
    with pytest.raises(PrepareError) as refused:
        check_execution_input(raw, settings=settings, env=ENV)
    assert refused.value.error == "InvalidInput"
    assert str(refused.value) == (
        f'execution input must be a JSON object such as {{"dataset": "my-dataset", "accept_eula": true}}; got {kind}'
    )


@pytest.mark.parametrize(
    "input_values",
    [
        {"instance_type": "x" * 200_000},
        {"dataset": "x" * 200_000},
        {"x" * 200_000: 1},
        {"hyperparameters": {"lr_scheduler_type": "x" * 200_000}},
    ],
)
def test_a_reason_stays_short_whatever_the_input_echoed(
    settings: PipelineSettings, input_values: dict[str, Any]
) -> None:
    with pytest.raises(PrepareError) as refused:
        _prepare(settings, **input_values)
    assert len(str(refused.value)) <= REASON_MAX_CHARS


def test_a_dataset_uri_longer_than_sagemaker_accepts_is_refused(settings: PipelineSettings) -> None:
    with pytest.raises(PrepareError, match="SageMaker accepts S3 URIs of at most 1024 characters"):
        _prepare(settings, dataset="a/" * 520)
