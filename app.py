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

import json
import os
import sys
from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from components.kubefed_crds import all_crds
from components.network import Network
from federated_eks import topology
from federated_eks.config import ConfigError, load_environment
from federated_eks.model import FederationConfig
from federated_eks.pipelines import load_pipeline
from federated_eks.stack_tags import stack_tags
from federated_eks.workload_config import folder_problems
from stacks.access import AccessStack
from stacks.bastion import BastionStack
from stacks.cluster import ClusterStack
from stacks.federation import FederationStack
from stacks.peering import PeeringRoutesStack, PeeringStack


def build(app: Construct, config: FederationConfig) -> dict[str, cdk.Stack]:
    """Add every stack of the federation to `app` (a cdk.App, or a cdk.Stage of the pipeline); returns them
    by stack name. Stack names are explicit, so a Stage does not prefix them: the pipeline deploys the same
    stacks as `cdk deploy`. Raises ConfigError for manifest folders that KubeFed would refuse (before any
    construct is built)."""
    check_manifest_folders(config)

    def env(region: str) -> cdk.Environment:
        return cdk.Environment(account=config.account, region=region)

    def name(kind: str, qualifier: str = "") -> str:
        return topology.stack_name(config, kind, qualifier)

    def ident(kind: str, qualifier: str = "") -> dict:
        return {"stack_name": name(kind, qualifier), "tags": stack_tags(config, kind, qualifier)}

    access = AccessStack(app, name(topology.ACCESS_STACK), **ident(topology.ACCESS_STACK), config=config,
                         env=env(config.bastion.region),
                         description="federated-eks: IAM roles trusted by every cluster")
    bastion = BastionStack(app, name(topology.BASTION_STACK), **ident(topology.BASTION_STACK), config=config,
                           env=env(config.bastion.region),
                           description="federated-eks: bastion VPC and operator instance (SSM only)")
    bastion.add_stack_dependency(access)

    peerings = topology.peerings(config)  # computed once; every stack below gets its share
    clusters: dict[str, ClusterStack] = {}
    load_balanced = topology.load_balancer_clusters(config)
    for c in config.clusters:
        stack = ClusterStack(app, name(topology.CLUSTER_STACK, c.name),
                             **ident(topology.CLUSTER_STACK, c.name), config=config, cluster_name=c.name,
                             peers=topology.peers_of(peerings, c.name), env=env(c.region),
                             load_balancer_controller=config.load_balancer_controller if c.name in load_balanced
                             else None,
                             description=f"federated-eks: VPC and EKS cluster {c.name}")
        stack.add_stack_dependency(access)
        clusters[c.name] = stack

    # VPC, route-table and peering ids cross regions as weak references (cdk.json sets
    # @aws-cdk/core:defaultCrossStackReferences to "weak": Fn::GetStackOutput instead of the export
    # custom resources that cannot be updated while read); stacks/peering.py explains the trade-off.
    networks = {topology.BASTION: bastion.network, **{n: s.network for n, s in clusters.items()}}

    def networks_of(names: Iterable[str]) -> dict[str, Network]:
        return {n: networks[n] for n in names}

    requesters = {region: PeeringStack(app, name(topology.PEERING_STACK, region),
                                       **ident(topology.PEERING_STACK, region), peerings=ps,
                                       networks=networks_of(n for p in ps for n in (p.requester.name, p.accepter.name)),
                                       env=env(region),
                                       description=f"federated-eks: VPC peering requested from {region}")
                  for region, ps in topology.requested_from(peerings).items()}
    connection_ids = {pid: conn.connection.ref for s in requesters.values() for pid, conn in s.connections.items()}
    accepters = {region: PeeringRoutesStack(app, name(topology.PEER_ROUTES_STACK, region),
                                            **ident(topology.PEER_ROUTES_STACK, region), peerings=ps,
                                            networks=networks_of(p.accepter.name for p in ps),
                                            connection_ids={p.id: connection_ids[p.id] for p in ps}, env=env(region),
                                            description=f"federated-eks: routes for peerings accepted in {region}")
                 for region, ps in topology.accepted_in(peerings).items()}

    federation = FederationStack(app, name(topology.FEDERATION_STACK), **ident(topology.FEDERATION_STACK),
                                 config=config, clusters=clusters,
                                 env=env(config.host.region),
                                 description="federated-eks: KubeFed control plane and cluster joins")
    for stack in [*requesters.values(), *accepters.values()]:
        federation.add_stack_dependency(stack)

    for key, value in config.tags:
        cdk.Tags.of(app).add(key, value)
    return {s.stack_name: s for s in app.node.children if isinstance(s, cdk.Stack)}


def check_manifest_folders(config: FederationConfig) -> None:
    """Every object of the config's manifest folders against the CRDs this federation's control plane installs
    (generated in components/, so checked here rather than by the config reader)."""
    if not config.manifest_folders:
        return
    problems = folder_problems(config.manifest_folders, config.workloads, [c.name for c in config.clusters],
                               all_crds(config.kubefed.federated_types))
    if problems:
        raise ConfigError(problems)


def cli_context(app: cdk.App, key: str) -> Any:
    """Context value `key` as the CDK CLI passed it, nulls included.

    jsii drops the null members of objects on the way from the App to Python (`try_get_context` turns
    `{"a": null, "b": 1}` into `{"b": 1}`), so a null in cdk.json would silently become the default. The CLI hands
    the app its context as JSON in CDK_CONTEXT_JSON, and the top-level keys that do not fit in the environment in a
    file named by CONTEXT_OVERFLOW_LOCATION_ENV (aws-cdk CLI 2.1148, toolkit-lib prepare-source.ts
    `writeContextToEnv`); read there, the config reader sees (and refuses) every null.
    """
    sources = [os.environ.get("CDK_CONTEXT_JSON")]
    overflow = os.environ.get("CONTEXT_OVERFLOW_LOCATION_ENV")
    if overflow and os.path.exists(overflow):
        with open(overflow, encoding="utf-8") as f:
            sources.append(f.read())
    for text in sources:
        context = json.loads(text) if text else {}
        if key in context:
            return context[key]
    return app.node.try_get_context(key)


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
            pipeline = load_pipeline(cli_context(app, "pipelines"), cli_context(app, "environments"), pipeline_name)
        else:
            config = load_environment(cli_context(app, "environments"), env_name)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    try:
        if pipeline_name:
            from stacks.pipeline import PipelineStack, pipeline_stack_name  # only here: CDK Pipelines costs import time

            PipelineStack(app, pipeline_stack_name(pipeline), config=pipeline, build=build,
                          env=cdk.Environment(account=pipeline.account, region=pipeline.region),
                          description=f"federated-eks: delivery pipeline {pipeline.name}")
        else:
            build(app, config)
    except ConfigError as err:  # a manifest folder KubeFed would refuse (check_manifest_folders)
        print(err, file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
