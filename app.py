#!/usr/bin/env python3
"""federated-eks: the whole federation, from one config.

    npx cdk synth -c env=dev        (default env: dev; environments live in cdk.json context)
    npx cdk synth -c pipeline=main  (the delivery pipeline of context.pipelines.main; stacks/pipeline.py)

Stacks, in deploy order (each level deploys in parallel with --concurrency):
  0. access                  IAM roles every cluster trusts (bastion, KubeFed join Lambda)
  1. bastion, cluster-<name>  the operator box; one VPC + EKS cluster per configured cluster
  2. peering-<region>         VPC peering connections and the requester-side routes (-<vpc> when split)
  3. peer-routes-<region>     accepter-side routes of cross-region peerings (-<vpc> when split)
  4. federation               the engine (KubeFed, or Karmada) on the host cluster, and one join per cluster
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

import aws_cdk as cdk
from constructs import Construct

from components import karmada_crds
from components.kubefed_crds import all_crds
from components.network import Network
from federated_eks.config import karmada_folder
from federated_eks.config.reader import ConfigError
from federated_eks.config.workload_reader import folder_problems
from federated_eks.model.federation import FederationConfig
from federated_eks.plan import federation_layout, peering_layout, topology, transit_gateway_layout as tgw
from federated_eks.plan.stack_tags import stack_tags
from stacks.access import AccessStack
from stacks.bastion import BastionStack
from stacks.cluster import ClusterStack
from stacks.federation import FederationStack, WorkloadsStack
from stacks.peering import PeeringRoutesStack, PeeringStack
from stacks.transit_gateway import TransitGatewayPeeringStack, TransitGatewayPeerRoutesStack, TransitGatewayStack


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
    dns_zones = topology.dns_zones(config)
    for c in config.clusters:
        stack = ClusterStack(app, name(topology.CLUSTER_STACK, c.name),
                             **ident(topology.CLUSTER_STACK, c.name), config=config, cluster_name=c.name,
                             peers=topology.api_clients_of(config, peerings, c.name), env=env(c.region),
                             load_balancer_controller=config.load_balancer_controller if c.name in load_balanced
                             else None, dns_zones=dns_zones.get(c.name, ()),
                             description=f"federated-eks: VPC and EKS cluster {c.name}")
        stack.add_stack_dependency(access)
        clusters[c.name] = stack

    # VPC, route-table and peering ids cross regions as weak references (cdk.json sets
    # @aws-cdk/core:defaultCrossStackReferences to "weak": Fn::GetStackOutput instead of the export
    # custom resources that cannot be updated while read); stacks/peering.py explains the trade-off.
    networks = {topology.BASTION: bastion.network, **{n: s.network for n, s in clusters.items()}}

    def networks_of(names: Iterable[str]) -> dict[str, Network]:
        return {n: networks[n] for n in names}

    # One stack per region and side while it fits CloudFormation's limits, else one per VPC (peering_layout).
    requesters = [PeeringStack(app, name(topology.PEERING_STACK, plan.qualifier),
                               **ident(topology.PEERING_STACK, plan.qualifier), peerings=plan.peerings,
                               waits_for=plan.waits_for(),
                               networks=networks_of(n for p in plan.peerings
                                                    for n in (p.requester.name, p.accepter.name)),
                               env=env(plan.region),
                               description=f"federated-eks: VPC peering requested from {plan.region}")
                  for plan in peering_layout.requester_stacks(peerings)]
    connection_ids = {pid: conn.connection.ref for s in requesters for pid, conn in s.connections.items()}
    accepters = [PeeringRoutesStack(app, name(topology.PEER_ROUTES_STACK, plan.qualifier),
                                    **ident(topology.PEER_ROUTES_STACK, plan.qualifier), peerings=plan.peerings,
                                    networks=networks_of(p.accepter.name for p in plan.peerings),
                                    connection_ids={p.id: connection_ids[p.id] for p in plan.peerings},
                                    env=env(plan.region),
                                    description=f"federated-eks: routes for peerings accepted in {plan.region}")
                 for plan in peering_layout.accepter_stacks(peerings)]

    connectivity = [*requesters, *accepters, *transit_gateway_stacks(app, config, networks, ident)]

    federation = FederationStack(app, name(topology.FEDERATION_STACK), **ident(topology.FEDERATION_STACK),
                                 config=config, clusters=clusters,
                                 env=env(config.host.region),
                                 description="federated-eks: "
                                 f"{'Karmada' if config.engine == 'karmada' else 'KubeFed'} control plane and "
                                 "cluster joins")
    for stack in connectivity:
        federation.add_stack_dependency(stack)
    for split in federation_layout.workload_stacks(config)[1:]:
        WorkloadsStack(app, name(topology.WORKLOADS_STACK, str(split.index)),
                       **ident(topology.WORKLOADS_STACK, str(split.index)), config=config, federation=federation,
                       index=split.index, env=env(config.host.region),
                       description="federated-eks: federated workloads beyond the federation stack")

    for key, value in config.tags:
        cdk.Tags.of(app).add(key, value)
    return {s.stack_name: s for s in app.node.children if isinstance(s, cdk.Stack)}


def transit_gateway_stacks(app: Construct, config: FederationConfig, networks: dict[str, Network],
                           ident: Callable[[str, str], dict]) -> list[cdk.Stack]:
    """`peeringTopology: "transitGateway"`: per region its gateway stack, the peerings it requests and the routes of
    those it accepts (transit_gateway_layout; stacks/transit_gateway.py). None in the other modes. `ident`: a
    stack's name and tags by kind and region (build's)."""
    if not tgw.uses_transit_gateway(config):
        return []
    env = {r: cdk.Environment(account=config.account, region=r) for r in tgw.regions(config)}
    destinations = tgw.vpc_routes(config)

    def name(kind: str, region: str) -> str:
        return topology.stack_name(config, kind, region)

    gateways = {r: TransitGatewayStack(app, name(topology.TRANSIT_GATEWAY_STACK, r),
                                       **ident(topology.TRANSIT_GATEWAY_STACK, r), vpcs=tgw.vpcs_in(config, r),
                                       networks=networks, destinations=destinations, env=env[r],
                                       description=f"federated-eks: transit gateway of {r} and its VPC attachments")
                for r in tgw.regions(config)}
    requesters = [TransitGatewayPeeringStack(
        app, name(topology.TGW_PEERING_STACK, r), **ident(topology.TGW_PEERING_STACK, r), region=r,
        peerings=tgw.requested_from(config, r), gateways={k: g.gateway for k, g in gateways.items()},
        destinations={p.id: tgw.static_routes(config, r, p) for p in tgw.requested_from(config, r)}, env=env[r],
        description=f"federated-eks: transit gateway peerings requested from {r}")
        for r in tgw.regions(config) if tgw.requested_from(config, r)]
    attachment_ids = {pid: aid for s in requesters for pid, aid in s.attachment_ids.items()}
    accepters = [TransitGatewayPeerRoutesStack(
        app, name(topology.TGW_PEER_ROUTES_STACK, r), **ident(topology.TGW_PEER_ROUTES_STACK, r),
        peerings=tgw.accepted_in(config, r), gateway=gateways[r].gateway,
        attachment_ids={p.id: attachment_ids[p.id] for p in tgw.accepted_in(config, r)},
        destinations={p.id: tgw.static_routes(config, r, p) for p in tgw.accepted_in(config, r)}, env=env[r],
        description=f"federated-eks: routes of the transit gateway peerings accepted in {r}")
        for r in tgw.regions(config) if tgw.accepted_in(config, r)]
    return [*gateways.values(), *requesters, *accepters]


def check_manifest_folders(config: FederationConfig) -> None:
    """Every object of the config's manifest folders against the CRDs this federation's control plane installs
    (generated in components/, so checked here rather than by the config reader): KubeFed's, or with engine karmada
    Karmada's policies (federated_eks/config/karmada_folder.py)."""
    if not config.manifest_folders:
        return
    if config.engine == "karmada":
        clusters = [(c.name, c.region) for c in config.clusters]
        problems = [f"{f.source}.manifests: {where}: {what}. Fix: {fix}" for f in config.manifest_folders
                    for where, what, fix in karmada_folder.check(
                        f.objects, karmada_crds.all_crds(), clusters, [w.namespace for w in config.workloads],
                        config.kubernetes_version)]
        if problems:
            raise ConfigError(problems)
        return
    problems = folder_problems(config.manifest_folders, config.workloads, [c.name for c in config.clusters],
                               all_crds(config.kubefed.federated_types))
    if problems:
        raise ConfigError(problems)


if __name__ == "__main__":
    import cli  # the command line: context, direct runs, checks after synth, one-line errors

    sys.exit(cli.main(sys.argv[1:], build))
