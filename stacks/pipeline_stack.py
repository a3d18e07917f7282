"""Pipeline stack (opt-in): a CDK Pipelines pipeline that tests the kit and deploys its stages in order.

Source: the configured repository and branch through an AWS CodeConnections connection. Synth: the README's
two commands (``make test``, then ``make synth``) in CodeBuild. Then one pipeline stage per configured kit
stage, in the listed order, each after a manual approval when it is listed in ``approval_before``. The
pipeline updates itself first when its own definition changes.
"""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import pipelines
from constructs import Construct, IConstruct

from genai_kit.stage import ResolvedStage
from stacks.constructs.checkov import skip_checks
from stacks.constructs.nag import acknowledge_wildcards
from stacks.kit_stage import KitStage

SYNTH_COMMANDS = ["make test", "make synth"]


class PipelineStack(cdk.Stack):
    """The pipeline; ``stages`` maps each deployed stage's name to its ``KitStage``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ResolvedStage,
        **kwargs: object,
    ) -> None:
        """``config``: the home stage, whose ``pipeline_stages`` the pipeline deploys in order."""
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        settings = config.settings.pipeline
        # Both are required when the pipeline is enabled (genai_kit.config.operations.PipelineConfig).
        repository, connection_arn = cast(str, settings.repository), cast(str, settings.connection_arn)
        source = pipelines.CodePipelineSource.connection(
            repository,
            settings.branch,
            connection_arn=connection_arn,
            # Tests and synth need nothing from git history: a zip of the commit is enough.
            code_build_clone_output=False,
        )
        cross_account = (
            len({stage.settings.account for stage in config.pipeline_stages} | {config.settings.account}) > 1
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.names.prefix,
            synth=pipelines.ShellStep("Synth", input=source, commands=SYNTH_COMMANDS),
            # A key for the artifact bucket is what lets other accounts' deploy roles read the artifacts.
            cross_account_keys=cross_account,
            enable_key_rotation=cross_account,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0)
            ),
        )
        self.stages: dict[str, KitStage] = {}
        for stage_config in config.pipeline_stages:
            stage = KitStage(self, config=stage_config)
            pre: list[pipelines.Step] = (
                [pipelines.ManualApprovalStep(f"Approve-{stage_config.stage}")]
                if stage_config.stage in settings.approval_before
                else []
            )
            self.pipeline.add_stage(stage, pre=pre)
            self.stages[stage_config.stage] = stage
        self.pipeline.build_pipeline()
        self._acknowledge_generated_resources()

    def _acknowledge_generated_resources(self) -> None:
        """CDK Pipelines generates its roles; their wildcards are how it works, acknowledged one by one."""
        bucket = self.pipeline.pipeline.artifact_bucket
        codebuild_arn = f"arn:{self.partition}:codebuild:{self.region}:{self.account}:report-group/"
        logs_arn = f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/codebuild/"
        # cdk-nag names a Ref as <LogicalId>.
        projects = [
            f"<{self._logical_id(project)}>"
            for project in (self.pipeline.synth_project, self.pipeline.self_mutation_project)
        ]
        bucket_reason = (
            "CDK Pipelines grants its roles read/write on the objects of the pipeline's own artifact bucket."
        )
        acknowledge_wildcards(
            self.pipeline,
            actions=["s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"],
            reason=bucket_reason,
        )
        # cdk-nag names a Fn::GetAtt as <LogicalId.Attribute>.
        bucket_id = self._logical_id(bucket)
        cdk.Validations.of(self.pipeline).acknowledge(
            cdk.Acknowledgment(id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]", reason=bucket_reason)
        )
        cdk.Validations.of(self.pipeline).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-CB4",
                reason="Build outputs go to the artifact bucket, encrypted at rest there (with the pipeline key "
                "across accounts); the projects keep no other artifacts.",
            )
        )
        cdk.Validations.of(bucket).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="The artifact bucket holds only the pipeline's own build artifacts; CloudTrail records access.",
            )
        )
        acknowledge_wildcards(
            self.pipeline,
            resources=[
                *(f"{logs_arn}{project}:*" for project in projects),
                *(f"{codebuild_arn}{project}-*" for project in projects),
                f"{logs_arn}*",
                f"{codebuild_arn}*",
            ],
            reason="CodeBuild projects write their own log streams and test reports, named at run time.",
        )
        acknowledge_wildcards(
            self.pipeline,
            resources=["*", f"arn:*:iam::{self.account}:role/*"],
            reason="Self-mutation and asset publishing assume the CDK bootstrap roles (cdk-hnb659fds-*) of the "
            "target accounts and read CloudFormation stacks, as `cdk deploy` does; CDK Pipelines scopes them by "
            "the bootstrap roles' tags.",
        )
        self._skip_generated_checks(bucket)

    def _skip_generated_checks(self, bucket: IConstruct) -> None:
        """checkov's findings on what CDK Pipelines generates: its artifact bucket and its asset publishing role."""
        skip_checks(
            bucket,
            {
                "CKV_AWS_18": "The artifact bucket holds only the pipeline's own build artifacts, written and read "
                "by the pipeline's roles; CloudTrail records the API calls on it.",
                "CKV_AWS_21": "Every pipeline execution writes new artifact objects under its own keys and never "
                "overwrites one, so versioning would keep nothing more.",
            },
        )
        assets = self.pipeline.node.try_find_child("Assets")
        if assets is not None:
            skip_checks(
                assets.node.find_child("FileRole").node.find_child("DefaultPolicy"),
                {
                    "CKV_AWS_111": "CDK Pipelines' asset publishing role starts, stops and reads its own CodeBuild "
                    "builds, whose ids CodeBuild assigns at run time (codebuild:BatchGetBuilds/StartBuild/StopBuild "
                    "on '*'); its writes go through the CDK bootstrap file-publishing role it assumes."
                },
            )

    def _logical_id(self, construct: IConstruct) -> str:
        return str(self.resolve(self.get_logical_id(cast(cdk.CfnElement, construct.node.default_child))))
