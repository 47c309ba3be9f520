#!/usr/bin/env python3
"""federated-eks: the whole federation, from one config.

    npx cdk synth -c env=dev        (default env: dev; environments live in cdk.json context)
    npx cdk synth -c pipeline=main  (the delivery pipeline of context.pipelines.main; stacks/pipeline.py)

Stacks, in deploy order (each level deploys in parallel with --concurrency):
  0. access                  IAM roles every cluster trusts (bastion, KubeFed join Lambda)
  1. bastion, cluster-<name>  the operator box; one VPC + EKS cluster per configured cluster
  2. peering-<region>         VPC peering connections and the requester-side routes
  3. peer-routes-<region>     accepter-side routes of cross-region peerings
  4. federation               KubeFed on the host cluster, and one join per cluster
"""
from __future__ import annotations

import sys

import aws_cdk as cdk
from constructs import Construct

from federated_eks import topology
from federated_eks.config import ConfigError, FederationConfig, load_environment
from federated_eks.pipelines import load_pipeline
from federated_eks.stack_tags import stack_tags
from stacks.access import AccessStack
from stacks.bastion import BastionStack
from stacks.cluster import ClusterStack
from stacks.federation import FederationStack
from stacks.peering import PeeringRoutesStack, PeeringStack


def build(app: Construct, config: FederationConfig) -> dict[str, cdk.Stack]:
    """Add every stack of the federation to `app` (a cdk.App, or a cdk.Stage of the pipeline); returns them
    by stack name. Stack names are explicit, so a Stage does not prefix them: the pipeline deploys the same
    stacks as `cdk deploy`."""
    def env(region: str) -> cdk.Environment:
        return cdk.Environment(account=config.account, region=region)

    def name(kind: str, qualifier: str = "") -> str:
        return topology.stack_name(config, kind, qualifier)

    def ident(kind: str, qualifier: str = "") -> dict:
        return {"stack_name": name(kind, qualifier), "tags": stack_tags(config, kind, qualifier)}

    access = AccessStack(app, name("access"), **ident("access"), config=config, env=env(config.bastion.region),
                         description="federated-eks: IAM roles trusted by every cluster")
    bastion = BastionStack(app, name("bastion"), **ident("bastion"), config=config,
                           env=env(config.bastion.region),
                           description="federated-eks: bastion VPC and operator instance (SSM only)")
    bastion.add_stack_dependency(access)

    clusters: dict[str, ClusterStack] = {}
    for c in config.clusters:
        stack = ClusterStack(app, name("cluster", c.name), **ident("cluster", c.name), config=config,
                             cluster_name=c.name, env=env(c.region),
                             description=f"federated-eks: VPC and EKS cluster {c.name}")
        stack.add_stack_dependency(access)
        clusters[c.name] = stack

    # VPC, route-table and peering ids cross regions as weak references (cdk.json sets
    # @aws-cdk/core:defaultCrossStackReferences to "weak": Fn::GetStackOutput instead of the export
    # custom resources that cannot be updated while read); stacks/peering.py explains the trade-off.
    networks = {"bastion": bastion.network, **{n: s.network for n, s in clusters.items()}}
    requesters = {region: PeeringStack(app, name("peering", region), **ident("peering", region),
                                       config=config, region_name=region,
                                       networks=networks, env=env(region),
                                       description=f"federated-eks: VPC peering requested from {region}")
                  for region in topology.peering_regions(config)}
    accepters = {region: PeeringRoutesStack(app, name("peer-routes", region),
                                            **ident("peer-routes", region), config=config, region_name=region,
                                            networks=networks, requesters=requesters, env=env(region),
                                            description=f"federated-eks: routes for peerings accepted in {region}")
                 for region in topology.accepter_regions(config)}

    federation = FederationStack(app, name("federation"), **ident("federation"), config=config, clusters=clusters,
                                 env=env(config.host.region),
                                 description="federated-eks: KubeFed control plane and cluster joins")
    for stack in [*requesters.values(), *accepters.values()]:
        federation.add_stack_dependency(stack)

    for key, value in config.tags:
        cdk.Tags.of(app).add(key, value)
    return {s.stack_name: s for s in app.node.children if isinstance(s, cdk.Stack)}


def main() -> int:
    # CDK's built-in template validation costs about 2.4 s of a 6.5 s synth of dev. The test suite runs it
    # on every change (with cfn-lint and cdk-nag); `-c validate=true` runs it on a synth too.
    app = cdk.App(builtin_cloud_formation_validation=False)
    if str(app.node.try_get_context("validate")).lower() == "true":
        cdk.Validations.of(app).add_plugins(cdk.CloudFormationValidatePlugin())
    env_name = app.node.try_get_context("env") or "dev"
    pipeline_name = app.node.try_get_context("pipeline")
    try:
        if pipeline_name:  # -c pipeline=NAME: the delivery pipeline of context.pipelines.NAME, not one environment
            pipeline = load_pipeline(app.node.try_get_context("pipelines"), app.node.try_get_context("environments"),
                                     pipeline_name)
        else:
            config = load_environment(app.node.try_get_context("environments"), env_name)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    if pipeline_name:
        from stacks.pipeline import PipelineStack, pipeline_stack_name  # only here: CDK Pipelines costs import time

        PipelineStack(app, pipeline_stack_name(pipeline), config=pipeline, build=build,
                      env=cdk.Environment(account=pipeline.account, region=pipeline.region),
                      description=f"federated-eks: delivery pipeline {pipeline.name}")
    else:
        build(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
