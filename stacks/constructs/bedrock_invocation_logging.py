"""Amazon Bedrock model invocation logging to a KMS-encrypted log group and the kit's artifacts bucket.

CloudFormation has no resource for this account-and-region-wide setting, so a custom resource calls
``PutModelInvocationLoggingConfiguration`` on create and update and ``DeleteModelInvocationLoggingConfiguration``
on delete (CDK's ``AwsCustomResource``: no Lambda code of the kit's own). Destinations and their permissions
follow the Amazon Bedrock user guide, "Monitor model invocation using CloudWatch Logs and Amazon S3":

- CloudWatch Logs: Bedrock assumes a service role that may write to the log group's
  ``aws/bedrock/modelinvocations`` stream, and nothing else; CloudWatch Logs encrypts with the kit's key,
  which the key policy allows for this log group only;
- S3: Bedrock writes as its service principal under ``<prefix>AWSLogs/<account>/BedrockModelInvocationLogs/``,
  which the bucket policy allows (and the key policy, since the bucket is SSE-KMS).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from genai_kit.config.bedrock import InvocationLoggingConfig
from stacks.constructs.checkov import NO_VPC, skip_checks
from stacks.constructs.log_retention import retention

LOG_STREAM = "aws/bedrock/modelinvocations"


class InvocationLogging(Construct):
    """The log group, the Bedrock delivery role, the destination grants and the logging setting itself.

    The key and the bucket belong to the foundation stack: the grants Bedrock and CloudWatch Logs need as
    service principals are added to their resource policies there, and only while logging is on.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        config: InvocationLoggingConfig,
        encryption_key: kms.IKey,
        bucket: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        prefix = config.s3_key_prefix
        # Bedrock's calls carry this source; the conditions keep other accounts' Bedrock from using the grants.
        bedrock_source = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack.format_arn(service="bedrock", resource="*")},
        }

        # A physical name: the logging configuration names the log group, and the key policy's encryption
        # context condition must name it too, from the foundation stack, without a reference back to this one.
        log_group_name = f"/genai-kit/{stage}/bedrock/model-invocations"
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForBedrockInvocationLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                # In a key policy, "*" means this key and nothing else.
                resources=["*"],
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            )
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=retention(config.log_retention_days),
            removal_policy=removal_policy,
        )

        self._allow_s3_delivery(stack, bucket, encryption_key, prefix, bedrock_source)

        self.role = iam.Role(
            self,
            "DeliveryRole",
            description="Lets Amazon Bedrock deliver model invocation logs to the kit's log group",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=bedrock_source),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteInvocationLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group_arn}:log-stream:{LOG_STREAM}"],
            )
        )
        self.setting = self._setting(config, bucket, prefix, encryption_key, removal_policy)
        # Bedrock checks the destinations when the setting is made: the role and its policy must exist first.
        self.setting.node.add_dependency(self.role)
        self._acknowledge_provider_findings(stack)

    @staticmethod
    def _allow_s3_delivery(
        stack: cdk.Stack, bucket: s3.IBucket, key: kms.IKey, prefix: str, bedrock_source: dict[str, dict[str, str]]
    ) -> None:
        """Let Bedrock, for this account only, write the log objects under ``prefix`` and encrypt them with ``key``."""
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogDelivery",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{prefix}AWSLogs/{stack.account}/BedrockModelInvocationLogs/*")],
                conditions=bedrock_source,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogEncryption",
                principals=[iam.ServicePrincipal("bedrock.amazonaws.com")],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions=bedrock_source,
            )
        )

    def _setting(
        self,
        config: InvocationLoggingConfig,
        bucket: s3.IBucket,
        prefix: str,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
    ) -> cr.AwsCustomResource:
        """The account and region's model invocation logging setting (PutModelInvocationLoggingConfiguration on
        create and update, DeleteModelInvocationLoggingConfiguration on delete) naming both destinations."""
        logging_config = {
            "cloudWatchConfig": {
                "logGroupName": self.log_group.log_group_name,
                "roleArn": self.role.role_arn,
                # No largeDataDeliveryS3Config: the S3 destination below already receives every record in full,
                # so events too large for CloudWatch (over 100 KB, or binary) are not stored twice.
            },
            "s3Config": {"bucketName": bucket.bucket_name, "keyPrefix": prefix.rstrip("/")},
            "textDataDeliveryEnabled": config.text_data,
            "imageDataDeliveryEnabled": config.image_data,
            "embeddingDataDeliveryEnabled": config.embedding_data,
            "videoDataDeliveryEnabled": config.video_data,
            "audioDataDeliveryEnabled": config.audio_data,
        }
        put = cr.AwsSdkCall(
            service="bedrock",
            action="PutModelInvocationLoggingConfiguration",
            parameters={"loggingConfig": logging_config},
            # One setting per account and region: its identity never changes.
            physical_resource_id=cr.PhysicalResourceId.of("bedrock-model-invocation-logging"),
        )
        return cr.AwsCustomResource(
            self,
            "Setting",
            resource_type="Custom::BedrockModelInvocationLogging",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(service="bedrock", action="DeleteModelInvocationLoggingConfiguration"),
            install_latest_aws_sdk=False,
            # The provider function's own log group, encrypted with the kit's key like every other.
            log_group=logs.LogGroup(
                self,
                "SettingLogs",
                encryption_key=key,
                retention=retention(config.log_retention_days),
                removal_policy=removal_policy,
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    # These two APIs act on the account and region's single setting and take no resource ARN
                    # (service authorization reference for Amazon Bedrock), so IAM accepts only "*".
                    iam.PolicyStatement(
                        actions=[
                            "bedrock:PutModelInvocationLoggingConfiguration",
                            "bedrock:DeleteModelInvocationLoggingConfiguration",
                        ],
                        resources=["*"],
                    ),
                    iam.PolicyStatement(
                        actions=["iam:PassRole"],
                        resources=[self.role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                    ),
                ]
            ),
        )

    def _acknowledge_provider_findings(self, stack: cdk.Stack) -> None:
        """The Lambda function behind every AwsCustomResource of the stack is CDK's, not the kit's."""
        provider = stack.node.try_find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        if provider is None:
            return
        skip_checks(
            provider,
            {
                "CKV_AWS_117": NO_VPC,
                "CKV_AWS_116": "CDK's AwsCustomResource function, invoked synchronously by CloudFormation, which "
                "reports its errors; there is no asynchronous invocation to dead-letter.",
                "CKV_AWS_115": "CDK's AwsCustomResource function runs once per custom resource event of a "
                "deployment; a reserved concurrency would take from the account's unreserved pool.",
            },
        )
        basic_execution_role = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        cdk.Validations.of(provider).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM4[Policy::{basic_execution_role}]",
                reason="CDK's AwsCustomResource provider logs with the AWS managed basic execution policy.",
            )
        )
        cdk.Validations.of(self.setting).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Put/DeleteModelInvocationLoggingConfiguration take no resource ARN: IAM accepts only '*'.",
            )
        )
