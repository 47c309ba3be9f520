"""Pipeline stack: a self-mutating CDK Pipeline that tests the repository, then deploys one stage per environment.

Each stage holds exactly what `cdk deploy --all -c env=<name>` deploys: `build` (app.build) is called on a
FederationStage (below) and gives the stacks explicit names, so the stage's stacks and templates are those of a
direct synth of the environment (tests/test_pipeline.py compares them byte for byte).

Parallelism: inside a stage, CDK Pipelines makes one deploy node per stack that depends on the deploy nodes of the
stacks it depends on (aws-cdk-lib pipelines/lib/helpers-internal/pipeline-graph.ts), sorts the nodes into tranches
by those dependencies (`sortedLeaves()`, graph.ts) and gives every tranche one CodePipeline `runOrder`
(pipelines/lib/codepipeline/codepipeline.ts); actions with the same runOrder run in parallel. So every stack of
one level (all clusters across regions, then all peering stacks, ...) deploys at once. build() adds dependencies
only between levels, never between stacks of one level, which is what keeps the levels parallel. Change sets are
off (`use_change_sets=False`): one action per stack instead of two (prepare, execute). CodePipeline allows 50
actions in a stage; beyond that CDK Pipelines cuts the stage into `<env>.1`, `<env>.2`, ... (`chunkTranches(50,
...)` in codepipeline.ts), which costs parallelism only in the level that is cut (federated_eks/plan/deploy_time.py).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild, aws_iam as iam, pipelines
from constructs import Construct

from components.compliance import acknowledge, logical_id
from federated_eks.model.federation import FederationConfig
from federated_eks.model.pipeline import PipelineConfig

Build = Callable[[Construct, FederationConfig], dict[str, cdk.Stack]]

# The tools every CodeBuild project of the pipeline runs, pinned (CDK Pipelines' defaults are `aws-cdk@2` for
# self-mutation and `cdk-assets@latest` for asset publishing: aws-cdk-lib 2.275 pipelines/lib/codepipeline/
# codepipeline.js, `cliVersion ?? "2"`, `cdkAssetsCliVersion ?? "latest"`).
# - The CDK CLI: the version package.json pins (package-lock.json locks it). The synth step installs it with
#   `make setup` (npm ci); self-mutation installs that same version (`cli_version`).
# - cdk-assets, the asset publisher CDK Pipelines runs (`cdk-assets --path ... publish`), is an npm package of its
#   own, not part of the aws-cdk CLI: pinned here (`cdk_assets_cli_version`). Upgrade it with the CLI.
# - CodeBuild's language runtimes: standard:7.0 (Ubuntu 22.04) carries several Python and Node.js versions and its
#   default changes over the image's life ("If a runtime version is not specified, CodeBuild uses the default
#   version. The default version can change...", docs.aws.amazon.com/codebuild/latest/userguide/
#   available-runtimes.html); `install.runtime-versions` pins them. Python 3.11+ is what the set-up needs
#   (docs/getting-started.md); Node.js 22 runs the global npm installs (Node 20 is end of life; make's own Node
#   comes from the virtualenv).
PROJECT = Path(__file__).resolve().parents[1]
CDK_CLI_VERSION = json.loads((PROJECT / "package.json").read_text())["devDependencies"]["aws-cdk"]
CDK_ASSETS_VERSION = "4.7.3"
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.12", "nodejs": "22"}


def pipeline_stack_name(cfg: PipelineConfig) -> str:
    return f"fedeks-pipeline-{cfg.name}"


# The set-up of docs/getting-started.md: the virtualenv, the pinned CDK CLI (npm ci), Lambda deps
SYNTH_INSTALL = ["make setup"]


def synth_commands(cfg: PipelineConfig) -> list[str]:
    """The synth step, after SYNTH_INSTALL: the adopter's environments proven as this pipeline deploys them
    (`make check-config`: synth, cfn-lint, cdk-nag of each stage's environment), the project's own tests (which
    never read cdk.json's environments: tests/fixtures), then the pipeline's synth. A failing commit neither
    mutates the pipeline nor deploys. The checks synthesize into cdk.out too; it is emptied so that the pipeline's
    output holds only the pipeline's assembly."""
    return [f"make check-config PIPELINE={cfg.name}", "make test", "rm -rf cdk.out",
            f"make pipeline PIPELINE={cfg.name}"]


def connection_actions(connection_arn: str) -> list[str]:
    """The IAM action that lets the source action use the connection. AWS: "When specifying a resource in the IAM
    policy, the service prefix needs to match that of the resource" (CodeConnections rename notes,
    docs.aws.amazon.com/dtconsole/latest/userguide/rename.html); connections made since July 2024 have
    `arn:aws:codeconnections:` ARNs, older ones `arn:aws:codestar-connections:`."""
    service = connection_arn.split(":")[2]
    return [f"{service}:UseConnection"]


class FederationStage(cdk.App):
    """One environment as a pipeline stage: a root cloud assembly of its own, written inside the pipeline's
    (`<outdir>/assembly-<pipeline>-<env>/`), so construct paths, and with them every path-derived name (VPC
    `Name` tags, `aws:cdk:path` metadata, the default policy of an imported role), are those of a direct synth:
    same stack names, same artifact ids, byte-identical templates. A `cdk.Stage` nested in the pipeline stack
    would prefix every path with `<pipeline>/<env>/` and so change those resources.

    CDK Pipelines names the CodePipeline stage after `stage_name`, which an App leaves empty: this class
    provides the environment's name. `context` defaults, as for any App, to what the CDK CLI passes
    (CDK_CONTEXT_JSON), i.e. the pipeline app's own context. Attribute: `stacks` (by stack name)."""

    def __init__(self, *, name: str, outdir: str, config: FederationConfig, build: Build,
                 context: dict | None = None) -> None:
        super().__init__(outdir=outdir, context=context)
        self._name = name
        self.stacks = build(self, config)

    @property
    def stage_name(self) -> str:
        return self._name


class PipelineStack(cdk.Stack):
    """Attributes: `pipeline` (pipelines.CodePipeline), `stages` (environment name -> FederationStage)."""

    def __init__(self, scope: Construct, id: str, *, config: PipelineConfig, build: Build,
                 stage_context: dict | None = None, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        outdir = cdk.Stage.of(self).outdir
        source = pipelines.CodePipelineSource.connection(config.repository, config.branch,
                                                         connection_arn=config.connection_arn)
        self.pipeline = pipelines.CodePipeline(
            self, "Pipeline",
            pipeline_name=id,
            self_mutation=True,
            use_change_sets=False,
            # Environments in other accounts: the artifact bucket needs a KMS key those accounts can use.
            cross_account_keys=config.cross_account,
            enable_key_rotation=config.cross_account,
            synth=pipelines.ShellStep("Synth", input=source, install_commands=SYNTH_INSTALL,
                                      commands=synth_commands(config), primary_output_directory="cdk.out"),
            cli_version=CDK_CLI_VERSION,
            cdk_assets_cli_version=CDK_ASSETS_VERSION,
            # Every CodeBuild project (synth, self-mutation, assets) on one image with pinned runtimes.
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}})),
        )
        self.stages: dict[str, FederationStage] = {}
        for stage in config.stages:
            env = stage.config.env_name
            fed = FederationStage(name=env, outdir=os.path.join(outdir, f"assembly-{id}-{env}"),
                                  config=stage.config, build=build, context=stage_context)
            pre = [pipelines.ManualApprovalStep(f"Approve-{env}", comment=f"Deploy the federation '{env}'?")] \
                if stage.approval else []
            self.pipeline.add_stage(fed, pre=pre)
            self.stages[env] = fed
        self.pipeline.build_pipeline()
        self._grant_connection(config.connection_arn)
        self._acknowledge()

    def _grant_connection(self, connection_arn: str) -> None:
        """aws-cdk-lib 2.275 grants `codestar-connections:UseConnection` whatever the ARN's service
        (aws-codepipeline-actions/lib/codestar-connections/source-action.js, bind()): for a codeconnections ARN
        that statement matches nothing, so the source action's role also gets the action whose prefix matches."""
        (source,) = self.pipeline.pipeline.stages[0].actions
        # The role CodePipeline made for the action (construct path <pipeline>/Source/<action>/CodePipelineActionRole).
        role = self.pipeline.pipeline.node.find_child("Source").node.find_child(
            source.action_properties.action_name).node.find_child("CodePipelineActionRole")
        role.add_to_principal_policy(iam.PolicyStatement(actions=connection_actions(connection_arn),
                                                         resources=[connection_arn]))

    def _acknowledge(self) -> None:
        """cdk-nag findings on what aws-cdk-lib's pipelines module generates, each with the reason it stands.
        cdk-nag 3 matches finding ids exactly (components/compliance.py), so each is listed."""
        pipeline = self.pipeline
        bucket = logical_id(pipeline.pipeline.artifact_bucket)
        acknowledge(pipeline, "aws-cdk-lib's grants on the pipeline's own artifact buckets and their KMS keys "
                    "(read/write of build artifacts): the action wildcards cover only object, list and key-usage "
                    "calls on those resources", *(f"AwsSolutions-IAM5[Action::{a}]" for a in (
                        "s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*",
                        "kms:ReEncrypt*", "kms:GenerateDataKey*")),
                    f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]")
        buckets = list(pipeline.pipeline.cross_region_support.values())
        acknowledge(pipeline, "Objects of the per-region artifact replication buckets CodePipeline needs to "
                    "deploy in other regions; the buckets hold only this pipeline's artifacts",
                    *(f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{name}/*]"
                      for name in (self.resolve(b.replication_bucket.bucket_name) for b in buckets)))
        region, account = self.region, self.account
        logs, reports = f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild", \
            f"arn:aws:codebuild:{region}:{account}:report-group"
        own = [f"<{logical_id(p)}>" for p in (pipeline.synth_project, pipeline.self_mutation_project)]
        acknowledge(pipeline, "Log streams and test reports of the pipeline's own CodeBuild projects (names "
                    "end in a generated suffix); the asset-publishing role covers the per-asset projects CDK "
                    "Pipelines creates, whose names are not known before synth",
                    *(f"AwsSolutions-IAM5[Resource::{logs}/{p}:*]" for p in own),
                    *(f"AwsSolutions-IAM5[Resource::{reports}/{p}-*]" for p in own),
                    f"AwsSolutions-IAM5[Resource::{logs}/*]", f"AwsSolutions-IAM5[Resource::{reports}/*]")
        acknowledge(pipeline, "CDK Pipelines' own policies: the pipeline role may use the replication buckets' "
                    "KMS keys in other regions (ARNs unknown at synth); self-mutation reads any stack "
                    "(cloudformation:DescribeStacks) and bucket listing to diff itself; asset publishing starts "
                    "its CodeBuild builds", "AwsSolutions-IAM5[Resource::*]")
        acknowledge(pipeline, "Self-mutation assumes only the CDK bootstrap roles of this account (the policy's "
                    "condition: iam:ResourceTag/aws-cdk:bootstrap-role is deploy, file- or image-publishing)",
                    f"AwsSolutions-IAM5[Resource::arn:*:iam::{account}:role/*]")
        for scope in [pipeline.pipeline.artifact_bucket, *(b.stack for b in buckets)]:
            acknowledge(scope, "The pipeline's artifact bucket (and its replication bucket in each other "
                        "region) holds only this pipeline's artifacts; access logging would need a log bucket "
                        "per region with no reader",
                        "AwsSolutions-S1")
