"""A delivery pipeline (`context.pipelines.<name>` of cdk.json), typed: its source and the environments its stages
deploy, each with its validated FederationConfig (read by federated_eks/config/pipelines.py; built by
stacks/pipeline.py)."""
from __future__ import annotations

from dataclasses import dataclass

from federated_eks.model.federation import FederationConfig


@dataclass(frozen=True)
class PipelineStage:
    config: FederationConfig
    approval: bool = False
    # The environment's account differs from the pipeline's, and the config says it is bootstrapped with
    # `cdk bootstrap --trust <pipeline account>` in every region it uses.
    trusts_pipeline_account: bool = False


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    account: str
    region: str
    connection_arn: str
    repository: str
    branch: str
    stages: tuple[PipelineStage, ...]

    @property
    def cross_account(self) -> bool:
        return any(s.config.account != self.account for s in self.stages)
