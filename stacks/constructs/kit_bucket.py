"""An S3 bucket with the kit's storage defaults: private, TLS-only, KMS-encrypted, access-logged, lifecycled."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genai_kit.config import StorageConfig


class KitBucket(Construct):
    """A versioned bucket encrypted with the kit's key that logs its requests to the access logs bucket.

    Versioning keeps replaced or deleted objects (datasets, trained weights) recoverable for
    ``storage.noncurrent_version_expiration_days``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        storage: StorageConfig,
        removal_policy: cdk.RemovalPolicy,
        extra_lifecycle_rules: Sequence[s3.LifecycleRule] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            # One data key per bucket instead of one KMS request per object: cheaper, and avoids KMS throttling.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix=f"{construct_id}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=cdk.Duration.days(storage.noncurrent_version_expiration_days),
                    expired_object_delete_marker=True,
                ),
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(
                        storage.abort_incomplete_multipart_upload_days
                    ),
                ),
                *extra_lifecycle_rules,
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == cdk.RemovalPolicy.DESTROY,
        )
