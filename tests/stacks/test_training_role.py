"""The training role for the kit's Hugging Face script: the images, S3 folder, code assets and token secret it is
given and nothing else; cdk-nag, cfn-lint and checkov clean; the JumpStart form builds the same role as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from genai_kit.catalog import resolve_training_image
from genai_kit.synth_summary import validation_findings
from stacks.constructs.training_role import S3Reads, jumpstart_reads, token_secret_statements, training_job_role
from stacks.constructs.training_source import preparation_code, training_source
from stacks.training_stack import TrainingStack
from tests.cfn_lint import cfn_lint_problems
from tests.stacks.test_checkov import _scan
from tests.synth import SynthResult

REGION = "us-west-2"
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:hf-token-AbCdEf"
SERVING_IMAGE = "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-tgi-inference:2.1.2-optimum0.0.27"
MODEL_FOLDER = "s3://my-models/llama-3/"


def _hf_stack(outdir: Path, *, secret: str | None = SECRET) -> cdk.Stack:
    app = cdk.App(outdir=str(outdir), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="123456789012", region=REGION))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    training_job_role(
        stack,
        stage="qa",
        job_prefix="genai-kit-qa-ft",
        datasets_bucket_name="datasets-bucket",
        artifacts_bucket_name="artifacts-bucket",
        encryption_key=key,
        image_uris=[resolve_training_image(region=REGION), SERVING_IMAGE],
        reads=[S3Reads("BaseModel", (MODEL_FOLDER,), folders=True)],
        assets=[training_source(stack), preparation_code(stack)],
        token_secret_arn=secret,
    )
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    return stack


@pytest.fixture(scope="module")
def hf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    outdir = tmp_path_factory.mktemp("hf-role")
    stack = _hf_stack(outdir)
    template = Template.from_stack(stack)
    cdk.App.of(stack).synth()  # type: ignore[union-attr]
    return template, outdir


def _statements(template: Template) -> dict[str, dict[str, Any]]:
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(statements)}


def test_the_token_secret_is_read_by_its_arn_only(hf: tuple[Template, Path]) -> None:
    statements = _statements(hf[0])
    assert statements["ReadTokenSecret"] == {
        "Sid": "ReadTokenSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": SECRET,
    }
    readers = [s for s in statements.values() if "secretsmanager:GetSecretValue" in str(s["Action"])]
    assert len(readers) == 1


def test_its_key_is_decrypted_only_through_secrets_manager_for_that_secret(hf: tuple[Template, Path]) -> None:
    assert _statements(hf[0])["DecryptTokenSecretViaSecretsManager"] == {
        "Sid": "DecryptTokenSecretViaSecretsManager",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": "secretsmanager.us-west-2.amazonaws.com",
                "kms:EncryptionContext:SecretARN": SECRET,
            }
        },
    }


def test_the_model_folder_is_read_and_listed_under_its_prefix_only(hf: tuple[Template, Path]) -> None:
    statements = _statements(hf[0])
    assert statements["ReadBaseModel"]["Action"] == "s3:GetObject"
    # The partition is a token: the ARN's last joined part is what follows it.
    assert statements["ReadBaseModel"]["Resource"]["Fn::Join"][1][-1] == ":s3:::my-models/llama-3/*"
    assert statements["ListBaseModel"]["Action"] == "s3:ListBucket"
    assert statements["ListBaseModel"]["Resource"]["Fn::Join"][1][-1] == ":s3:::my-models"
    assert statements["ListBaseModel"]["Condition"] == {"StringLike": {"s3:prefix": ["llama-3/*"]}}
    assert "ReadJumpStartArtifacts" not in statements


def test_the_code_assets_are_read_by_their_own_objects_only(hf: tuple[Template, Path]) -> None:
    statement = _statements(hf[0])["ReadCodeAssets"]
    assert statement["Action"] == "s3:GetObject"
    keys = [resource["Fn::Join"][1][-1] for resource in statement["Resource"]]
    assert len(keys) == 2
    assert keys[0].endswith(".gz")  # the script's sourcedir.tar.gz
    assert keys[1].endswith(".zip")  # the preparation job's code
    assert all(":s3:::cdk-hnb659fds-assets-123456789012-us-west-2/" in key for key in keys)
    # Nothing on the bootstrap bucket beyond those objects (asset.grant_read would grant s3:GetObject* and s3:List*
    # on all of it).
    bootstrap = [s for s in _statements(hf[0]).values() if "cdk-hnb659fds-assets" in str(s["Resource"])]
    assert bootstrap == [statement]


def test_both_images_are_pulled_and_no_action_is_a_wildcard(hf: tuple[Template, Path]) -> None:
    statements = _statements(hf[0])
    pulled = [r["Fn::Join"][1][-1] for r in statements["PullTrainingImage"]["Resource"]]
    assert pulled == [
        ":ecr:us-west-2:763104351884:repository/huggingface-pytorch-tgi-inference",
        ":ecr:us-west-2:763104351884:repository/huggingface-pytorch-training-neuronx",
    ]
    actions = [a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if "*" in a]
    wildcard_resources = sorted(s["Sid"] for s in statements.values() if s["Resource"] == "*")
    assert wildcard_resources == ["AuthenticateToEcr", "DecryptTokenSecretViaSecretsManager", "PublishOwnMetrics"]


def test_the_role_is_nag_cfn_lint_and_checkov_clean(hf: tuple[Template, Path]) -> None:
    _, outdir = hf
    assert validation_findings(outdir) == []
    assert cfn_lint_problems(outdir) == []
    report = _scan(outdir)
    assert [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]] == []


def test_without_a_secret_there_is_neither_the_read_nor_the_decrypt(tmp_path: Path) -> None:
    statements = _statements(Template.from_stack(_hf_stack(tmp_path, secret=None)))
    assert "ReadTokenSecret" not in statements
    assert "DecryptTokenSecretViaSecretsManager" not in statements
    assert not [s for s in statements.values() if str(s["Action"]).startswith("secretsmanager")]


def _policy(**arguments: Any) -> dict[str, Any]:
    """The training role's policy in a stack of its own, from ``training_job_role``'s image and read arguments."""
    stack = cdk.Stack(cdk.App(), "Probe", env=cdk.Environment(account="123456789012", region="us-east-1"))
    training_job_role(
        stack,
        stage="dev",
        job_prefix="genai-kit-dev-ft",
        datasets_bucket_name="d",
        artifacts_bucket_name="a",
        encryption_key=kms.Key(stack, "Key"),
        **arguments,
    )
    return dict(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))


def test_the_jumpstart_specs_build_what_the_general_form_builds(dev: SynthResult) -> None:
    # GIVEN the default stage's JumpStart specs
    training = dev.stage.node.find_child("Training")
    assert isinstance(training, TrainingStack)
    specs = training.pipeline.settings.specs
    # WHEN the role is built from them, and from their images and reads THEN the policies are the same
    from_specs = _policy(specs=specs)
    general = _policy(image_uris=[s.image_uri for s in specs.values()], reads=[jumpstart_reads(specs.values())])
    assert from_specs == general
    (statements,) = [p["Properties"]["PolicyDocument"]["Statement"] for p in from_specs.values()]
    assert [s["Sid"] for s in statements if "Sid" in s][:4] == [
        "ReadDatasets",
        "ListDatasets",
        "ReadJumpStartArtifacts",
        "ListJumpStartArtifacts",
    ]


def test_the_default_stage_training_policy_is_unchanged(dev: SynthResult) -> None:
    # The policy has the JumpStart statements and no Hugging Face ones (the whole template is in the snapshot).
    dev.template("Training").has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Sid": "ListDatasets"}), Match.object_like({"Sid": "ReadJumpStartArtifacts"})]
                )
            }
        },
    )
    text = str(dev.templates["Training"])
    assert "ReadCodeAssets" not in text
    assert "DecryptTokenSecretViaSecretsManager" not in text


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: S3Reads("Base Model", ("s3://b/k",)), "letters and digits"),
        (lambda: S3Reads("Model", ()), "no URI"),
        (lambda: S3Reads("Model", ("https://b/k",)), "expected s3://<bucket>/<key>"),
        (lambda: S3Reads("Model", ("s3://bucket",)), "expected s3://<bucket>/<key>"),
        (lambda: S3Reads("Model", ("s3://bucket/llama",), folders=True), "a folder URI ends with '/'"),
        (lambda: token_secret_statements("hf-token"), "got 'hf-token'; expected arn:"),
    ],
)
def test_what_cannot_be_granted_is_named(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_a_role_without_an_image_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "Probe")
    with pytest.raises(ValueError, match="no image to pull"):
        training_job_role(
            stack,
            stage="qa",
            job_prefix="p",
            datasets_bucket_name="d",
            artifacts_bucket_name="a",
            encryption_key=kms.Key(stack, "Key"),
        )
