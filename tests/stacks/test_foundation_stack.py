"""Assertions on the foundation stack: key, buckets, topic, outputs, per-stage removal policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.synth import SynthResult


@pytest.fixture(scope="module")
def foundation(dev: SynthResult) -> Template:
    return dev.template("Foundation")


def _kms_buckets(template: Template) -> Mapping[str, Any]:
    return template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        Match.object_like(
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": Match.any_value(),
                                }
                            }
                        )
                    ]
                }
            }
        },
    )


def test_key_is_customer_managed_with_rotation(foundation: Template) -> None:
    foundation.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    foundation.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/genai-kit-dev"})


def test_key_policy_lets_alarm_event_and_budget_services_publish_only_from_this_account(foundation: Template) -> None:
    foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowAlarmAndEventPublishersToEncrypt",
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Principal": {
                                    "Service": [
                                        "budgets.amazonaws.com",
                                        "cloudwatch.amazonaws.com",
                                        "events.amazonaws.com",
                                    ]
                                },
                                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_datasets_and_artifacts_buckets_use_the_kit_key(foundation: Template) -> None:
    buckets = _kms_buckets(foundation)
    assert len(buckets) == 2
    key_id = next(iter(foundation.find_resources("AWS::KMS::Key")))
    for bucket in buckets.values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert rule["BucketKeyEnabled"] is True


def test_access_logs_bucket_uses_sse_s3_because_log_delivery_requires_it(foundation: Template) -> None:
    foundation.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "LifecycleConfiguration": {
                "Rules": [{"Id": "ExpireAccessLogs", "ExpirationInDays": 365, "Status": "Enabled"}]
            },
        },
    )


def test_every_bucket_blocks_public_access(foundation: Template) -> None:
    block_all = {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    buckets = foundation.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == block_all
        assert bucket["Properties"]["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_every_bucket_policy_denies_plain_http_and_old_tls(foundation: Template) -> None:
    policies = foundation.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        conditions = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_data_buckets_are_versioned_logged_and_lifecycled(foundation: Template) -> None:
    for bucket in _kms_buckets(foundation).values():
        properties = bucket["Properties"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert properties["LoggingConfiguration"]["LogFilePrefix"] in ("DatasetsBucket/", "ArtifactsBucket/")
        rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
        assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
        assert rules["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_data_buckets_log_to_the_access_logs_bucket(foundation: Template) -> None:
    logs_bucket_id = next(
        logical_id
        for logical_id, bucket in foundation.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" not in bucket["Properties"]
    )
    for bucket in _kms_buckets(foundation).values():
        assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket_id}


def test_data_capture_expires_in_the_artifacts_bucket(foundation: Template) -> None:
    foundation.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": "ExpireDataCapture",
                            "Prefix": "data-capture/",
                            "ExpirationInDays": 90,
                            "Status": "Enabled",
                        }
                    ]
                )
            }
        },
    )


def test_api_images_expire_in_the_artifacts_bucket_on_a_stage_with_an_image_model(synth: Any) -> None:
    models = [{"alias": "nova-canvas", "id": "amazon.nova-canvas-v1:0", "kind": "image"}]
    stages = {"dev": {"bedrock": {"models": models}, "api": {"image_retention_days": 3}}}
    template = synth("dev", stages=stages).template("Foundation")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.object_like({"Fn::Join": ["", Match.array_with(["genai-kit-dev-artifacts-"])]}),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        {
                            "Id": "ExpireApiImages",
                            "Prefix": "api-images/",
                            "ExpirationInDays": 3,
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            "Status": "Enabled",
                        }
                    ]
                )
            },
        },
    )


def test_no_api_images_rule_without_an_image_model(foundation: Template) -> None:
    rules = [
        rule["Id"]
        for bucket in foundation.find_resources("AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    assert "ExpireDataCapture" in rules
    assert "ExpireApiImages" not in rules


def test_alarm_topic_is_encrypted_with_the_kit_key(foundation: Template) -> None:
    key_id = next(iter(foundation.find_resources("AWS::KMS::Key")))
    foundation.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    foundation.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_no_email_subscription_unless_configured(foundation: Template) -> None:
    foundation.resource_count_is("AWS::SNS::Subscription", 0)


def test_alarm_emails_subscribe_to_the_topic(synth: Any) -> None:
    stages = {"dev": {"alarm_emails": ["ops@example.com", "oncall@example.com"]}}
    template = synth("dev", stages=stages).template("Foundation")
    template.resource_count_is("AWS::SNS::Subscription", 2)
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})


@pytest.mark.parametrize(
    ("stage", "deletion_policy", "auto_delete_count"),
    [("dev", "Delete", 3), ("prod", "Retain", 0)],
)
def test_removal_policy_follows_the_stage(synth: Any, stage: str, deletion_policy: str, auto_delete_count: int) -> None:
    template = synth(stage).template("Foundation")
    for resource_type in ("AWS::KMS::Key", "AWS::S3::Bucket"):
        for resource in template.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == deletion_policy
    template.resource_count_is("Custom::S3AutoDeleteObjects", auto_delete_count)


def test_outputs_name_buckets_key_and_topic(foundation: Template) -> None:
    # CDK adds PublishOutput* outputs for the values other stacks of the stage reference.
    outputs = {name: output for name, output in foundation.find_outputs("*").items() if not name.startswith("Publish")}
    assert set(outputs) == {
        "KmsKeyArn",
        "DatasetsBucketName",
        "ArtifactsBucketName",
        "AccessLogsBucketName",
        "AlarmTopicArn",
    }


def test_stage_tags_reach_every_taggable_resource(synth: Any) -> None:
    template = synth("dev", stages={"dev": {"tags": {"team": "ml-platform"}}}).template("Foundation")
    for tag in ({"Key": "team", "Value": "ml-platform"}, {"Key": "genai-kit:stage", "Value": "dev"}):
        template.has_resource_properties("AWS::S3::Bucket", {"Tags": Match.array_with([tag])})


@pytest.mark.parametrize("purpose", ["datasets", "artifacts", "access-logs"])
def test_bucket_names_are_unique_per_stage_account_and_region(foundation: Template, purpose: str) -> None:
    foundation.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": {
                "Fn::Join": ["", [f"genai-kit-dev-{purpose}-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]
            }
        },
    )


def test_key_policy_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(foundation: Template) -> None:
    foundation.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchLogsToEncrypt",
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": {
                                            "Fn::Join": [
                                                "",
                                                ["arn:aws:logs:us-east-1:", {"Ref": "AWS::AccountId"}, ":log-group:*"],
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
