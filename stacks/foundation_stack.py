"""Foundation stack: the KMS key, buckets and notification topic every other stack of the kit builds on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from genai_kit.config import StorageConfig
from genai_kit.names import StageNames
from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.kit_bucket import KitBucket

DATA_CAPTURE_PREFIX = "data-capture/"
# Where the API's router stores the images it answers with response_format "url" (its role may write and read
# only there), expiring after api.image_retention_days.
API_IMAGES_PREFIX = "api-images/"


def bucket_name(names: StageNames, purpose: str) -> str:
    """Physical name of one of the kit's buckets, unique per stage, account and region.

    Fixed names let other stacks write IAM statements from the name alone (account and region
    are their own pseudo parameters), and let operators find each bucket by its purpose.
    """
    return names.bucket(purpose, account=cdk.Aws.ACCOUNT_ID, region=cdk.Aws.REGION)


class FoundationStack(cdk.Stack):
    """Customer-managed KMS key, datasets / artifacts / access-log buckets and the alarm topic.

    Attributes other stacks use: ``removal_policy``, ``key``, ``datasets_bucket``, ``artifacts_bucket`` (and its
    ``artifacts_bucket_name``, usable without a cross-stack reference), ``alarm_topic``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: StageNames,
        storage: StorageConfig,
        removal_policy: Literal["destroy", "retain"],
        alarm_emails: Sequence[str],
        api_images_expiration_days: int | None = None,
        **kwargs: object,
    ) -> None:
        """``removal_policy``: what ``cdk destroy`` does with the stage's stored data (the other stacks follow it);
        ``alarm_emails``: addresses subscribed to the alarm topic; ``api_images_expiration_days``: on a stage whose
        API serves an image model, the days the images it stores under ``API_IMAGES_PREFIX`` are kept (None: no
        such rule)."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.removal_policy = cdk.RemovalPolicy.DESTROY if removal_policy == "destroy" else cdk.RemovalPolicy.RETAIN
        removal = self.removal_policy

        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts what the generative AI kit stores in stage {names.stage}",
            alias=names.kms_alias,
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self._allow_service_publishers()
        self._allow_log_encryption()

        self.access_logs_bucket = self._access_logs_bucket(names, storage, removal)

        self.datasets_bucket = KitBucket(
            self,
            "DatasetsBucket",
            bucket_name=bucket_name(names, "datasets"),
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            storage=storage,
            removal_policy=removal,
        ).bucket
        self.artifacts_bucket_name = bucket_name(names, "artifacts")
        self.artifacts_bucket = KitBucket(
            self,
            "ArtifactsBucket",
            bucket_name=self.artifacts_bucket_name,
            encryption_key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            storage=storage,
            removal_policy=removal,
            extra_lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireDataCapture",
                    prefix=DATA_CAPTURE_PREFIX,
                    expiration=cdk.Duration.days(storage.data_capture_expiration_days),
                ),
                *self._api_images_rules(api_images_expiration_days),
            ],
        ).bucket

        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"GenAI kit {names.stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in alarm_emails:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(email))

        self._skip_auto_delete_provider_checks()
        self._outputs()

    @staticmethod
    def _api_images_rules(days: int | None) -> list[s3.LifecycleRule]:
        """The expiry of the API's stored images: the current version after ``days``, and (the bucket being
        versioned) the noncurrent version that expiry leaves one day later, sooner than the bucket's own
        noncurrent-version rule (where two expirations overlap, S3 honours the shorter: Amazon S3 user guide,
        "How Amazon S3 handles conflicts in lifecycle configurations")."""
        if days is None:
            return []
        return [
            s3.LifecycleRule(
                id="ExpireApiImages",
                prefix=API_IMAGES_PREFIX,
                expiration=cdk.Duration.days(days),
                noncurrent_version_expiration=cdk.Duration.days(1),
            )
        ]

    def _access_logs_bucket(self, names: StageNames, storage: StorageConfig, removal: cdk.RemovalPolicy) -> s3.Bucket:
        """The server access log target of the kit's buckets: SSE-S3 (the only encryption log delivery supports),
        versioned, expiring after ``storage.access_logs_expiration_days``."""
        bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            bucket_name=bucket_name(names, "access-logs"),
            # S3 server access log delivery supports only SSE-S3 on the target bucket, not SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # A deleted or overwritten log object stays recoverable for the noncurrent-version period.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=cdk.Duration.days(storage.access_logs_expiration_days),
                    noncurrent_version_expiration=cdk.Duration.days(storage.noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(
                        storage.abort_incomplete_multipart_upload_days
                    ),
                ),
            ],
            removal_policy=removal,
            auto_delete_objects=removal == cdk.RemovalPolicy.DESTROY,
        )
        skip_checks(
            bucket,
            {
                "CKV_AWS_18": "This is the server access log target of the kit's buckets; logging it would log its own "
                "log deliveries, without end."
            },
        )
        cdk.Validations.of(bucket).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the access log target of the kit's buckets; logging it to itself would loop.",
            )
        )
        return bucket

    def _skip_auto_delete_provider_checks(self) -> None:
        """The function CDK adds to empty the buckets when a destroy-policy stage is deleted."""
        provider = self.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
        if provider is None:
            return
        skip_checks(
            provider.node.find_child("Handler"),
            {
                "CKV_AWS_117": NO_VPC,
                "CKV_AWS_116": "CDK's bucket-emptying function, invoked synchronously by CloudFormation when a "
                "bucket is deleted; CloudFormation reports its errors, so there is no asynchronous invocation to "
                "dead-letter.",
                "CKV_AWS_115": "CDK's bucket-emptying function runs once per bucket deletion; a reserved concurrency "
                "would take from the account's unreserved pool.",
            },
        )

    def _allow_service_publishers(self) -> None:
        """Let the AWS services that publish alarms, events and budget alerts use the key of the encrypted topic.

        CloudWatch alarms, EventBridge rules and AWS Budgets publish to an SSE-KMS topic as their service principal,
        so the key policy (not an IAM policy) must allow them; the source-account condition keeps
        other accounts' alarms and rules out.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmAndEventPublishersToEncrypt",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("budgets.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                # In a key policy, "*" means this key and nothing else.
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )

    def _allow_log_encryption(self) -> None:
        """Let CloudWatch Logs encrypt the kit's log groups (Lambda and state machine logs) with the key.

        CloudWatch Logs uses the key as its regional service principal; the encryption context names the
        log group, so the condition limits the grant to log groups of this account and region.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsToEncrypt",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                # In a key policy, "*" means this key and nothing else.
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:*"
                        )
                    }
                },
            )
        )

    def _outputs(self) -> None:
        outputs = {
            "KmsKeyArn": (self.key.key_arn, "ARN of the KMS key that encrypts the kit's data"),
            "DatasetsBucketName": (self.datasets_bucket.bucket_name, "Bucket for fine-tuning datasets"),
            "ArtifactsBucketName": (
                self.artifacts_bucket.bucket_name,
                f"Bucket for training output and endpoint data capture (under {DATA_CAPTURE_PREFIX})",
            ),
            "AccessLogsBucketName": (self.access_logs_bucket.bucket_name, "Bucket receiving S3 server access logs"),
            "AlarmTopicArn": (self.alarm_topic.topic_arn, "SNS topic for alarms and pipeline notifications"),
        }
        for output_id, (value, description) in outputs.items():
            cdk.CfnOutput(self, output_id, value=value, description=description)
