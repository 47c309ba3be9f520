"""A delivery pipeline (`context.pipelines.<name>` of cdk.json), typed: its source and the environments its stages
deploy, each with its validated FederationConfig (read by federated_eks/config/pipelines.py; built by
stacks/pipeline.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from federated_eks.model.federation import FederationConfig
from federated_eks.model.field_doc import doc, key_doc


@dataclass(frozen=True)
class PipelineStage:
    config: FederationConfig = field(metadata=doc(
        "stages[].environment", "string", "The environment the stage deploys.",
        rule="an environment of `context.environments`, each at most once; deploy order is list order",
        example='"prod"'))
    approval: bool = field(default=False, metadata=doc(
        "stages[].approval", "true or false", "A manual approval before the stage deploys anything.", example="true"))
    # The environment's account differs from the pipeline's, and the config says it is bootstrapped with
    # `cdk bootstrap --trust <pipeline account>` in every region it uses.
    trusts_pipeline_account: bool = field(default=False, metadata=doc(
        "stages[].trustsPipelineAccount", "true or false", "States that you ran the bootstrap with `--trust "
        "<pipeline account>` in every region of the stage's environment.",
        rule="required (`true`) when the environment's account is not the pipeline's", example="true"))


@dataclass(frozen=True)
class PipelineConfig:
    name: str = field(metadata=doc(
        "<name>", "object key", "The pipeline: its key under `context.pipelines` in `cdk.json`, picked with "
        "`-c pipeline=<name>` (`make pipeline PIPELINE=<name>`).",
        rule="1-30 lowercase letters, digits or `-`, starting with a letter", default="—", example='"main"'))
    account: str = field(metadata=doc("account", "string", "The account of the pipeline stack.", rule="12 digits",
                                      example='"111111111111"'))
    region: str = field(metadata=doc("region", "string", "The region of the pipeline stack.",
                                     rule="a region of the `aws` partition", example='"us-east-1"'))
    connection_arn: str = field(metadata=doc(
        "source.connectionArn", "string", "An AVAILABLE CodeConnections connection (GitHub, GitLab, Bitbucket) in the "
        "pipeline's account.", rule="`arn:aws:codeconnections:<region>:<account>:connection/<id>` (the older "
        "`codestar-connections` prefix works too), in the pipeline's account",
        example='"arn:aws:codeconnections:us-east-1:111111111111:connection/<id>"',
        also=(key_doc("source", "object", "Where the pipeline's source comes from (the fields below).",
                      example='{"connectionArn": "...", "repository": "org/federated-eks", "branch": "main"}'),)))
    repository: str = field(metadata=doc("source.repository", "string", "The repository.",
                                         rule="`owner/name`, no URL, no `.git`", example='"org/federated-eks"'))
    branch: str = field(metadata=doc(
        "source.branch", "string", "The branch; every push to it runs the pipeline.",
        rule="a valid git branch name (`git check-ref-format --branch`)", example='"main"'))
    stages: tuple[PipelineStage, ...] = field(metadata=doc(
        "stages", "list of objects", "One stage per environment, in deploy order (the fields below).",
        rule="at least one", example='[{"environment": "dev"}, {"environment": "prod", "approval": true}]'))

    @property
    def cross_account(self) -> bool:
        return any(s.config.account != self.account for s in self.stages)
