"""The stacks app.build() makes for a config, with their regions and dependencies: pure, no CDK.

Pruning (which deployed stacks the app no longer has), the pipeline's per-stage action count and the topology
report (deploy levels, critical path for any number of clusters) need the stack graph without building 40
clusters' worth of constructs. tests/test_stack_plan.py keeps this equal to the cloud assembly's stacks and
dependencies (explicit ones and those CDK derives from cross-stack references) for several configs.
"""
from __future__ import annotations

from dataclasses import dataclass

from federated_eks.plan import federation_layout, peering_layout, topology, transit_gateway_layout as tgw
from federated_eks.model.federation import FederationConfig


@dataclass(frozen=True)
class PlannedStack:
    kind: str  # access, bastion, cluster, peering, peer-routes, transit-gateway, tgw-peering, tgw-peer-routes,
    # federation, workloads
    qualifier: str  # cluster name, region or region-vpc (peering_layout), "" for the singletons
    name: str
    region: str
    depends_on: tuple[str, ...]  # stack names, sorted


def plan(cfg: FederationConfig) -> list[PlannedStack]:
    """Every stack, in app.build() order."""
    def name(kind: str, qualifier: str = "") -> str:
        return topology.stack_name(cfg, kind, qualifier)

    def network_stack(network: str) -> str:
        return name(topology.BASTION_STACK) if network == topology.BASTION else name(topology.CLUSTER_STACK, network)

    access = name(topology.ACCESS_STACK)
    out = [PlannedStack(topology.ACCESS_STACK, "", access, cfg.bastion.region, ()),
           PlannedStack(topology.BASTION_STACK, "", name(topology.BASTION_STACK), cfg.bastion.region, (access,))]
    out += [PlannedStack(topology.CLUSTER_STACK, c.name, name(topology.CLUSTER_STACK, c.name), c.region, (access,))
            for c in cfg.clusters]
    peerings = topology.peerings(cfg)
    requesters = peering_layout.requester_stacks(peerings)
    requester_of = {p.id: name(topology.PEERING_STACK, plan.qualifier) for plan in requesters for p in plan.peerings}
    for plan in requesters:
        # The requester side reads both VPCs (its routes, and the peer's VPC id).
        deps = {network_stack(n.name) for p in plan.peerings for n in (p.requester, p.accepter)}
        out.append(PlannedStack(topology.PEERING_STACK, plan.qualifier, name(topology.PEERING_STACK, plan.qualifier),
                                plan.region, tuple(sorted(deps))))
    for plan in peering_layout.accepter_stacks(peerings):
        # The accepter side reads the peering id from the requester's stack and its own VPC's route tables.
        deps = {d for p in plan.peerings for d in (requester_of[p.id], network_stack(p.accepter.name))}
        out.append(PlannedStack(topology.PEER_ROUTES_STACK, plan.qualifier,
                                name(topology.PEER_ROUTES_STACK, plan.qualifier), plan.region, tuple(sorted(deps))))
    out += _transit_gateway_stacks(cfg, network_stack)
    federation_deps = sorted(s.name for s in out if s.kind in (topology.CLUSTER_STACK, topology.PEERING_STACK,
                                                                 topology.PEER_ROUTES_STACK, *TGW_KINDS))
    out.append(PlannedStack(topology.FEDERATION_STACK, "", name(topology.FEDERATION_STACK), cfg.host.region,
                            tuple(federation_deps)))
    # Workload stacks: after the federation stack (its Provider, its joins); their manifests read the host's kubectl
    # handler and their waiters the endpoint and CA of the host and of each cluster they are placed on. With engine
    # karmada, their Custom::KarmadaObjects reads the host's endpoint and CA only (karmada-apiserver propagates).
    pairs = [(c.name, c.region) for c in cfg.clusters]
    for split in federation_layout.workload_stacks(cfg)[1:]:
        placed = set() if cfg.engine == "karmada" else {
            n for w in cfg.workloads if w.namespace in split.namespaces for n in w.placement.resolve(pairs)}
        deps = {name(topology.FEDERATION_STACK)} | {name(topology.CLUSTER_STACK, n) for n in placed | {cfg.host_cluster}}
        out.append(PlannedStack(topology.WORKLOADS_STACK, str(split.index),
                                name(topology.WORKLOADS_STACK, str(split.index)), cfg.host.region, tuple(sorted(deps))))
    return out


TGW_KINDS = (topology.TRANSIT_GATEWAY_STACK, topology.TGW_PEERING_STACK, topology.TGW_PEER_ROUTES_STACK)


def _transit_gateway_stacks(cfg: FederationConfig, network_stack) -> list[PlannedStack]:
    """app.transit_gateway_stacks: a gateway stack per region (reads its VPCs), a peering stack per requesting region
    (reads both gateways), a peer-routes stack per accepting region (reads its gateway and the requesters')."""
    if not tgw.uses_transit_gateway(cfg):
        return []

    def name(kind: str, region: str) -> str:
        return topology.stack_name(cfg, kind, region)

    out = [PlannedStack(topology.TRANSIT_GATEWAY_STACK, r, name(topology.TRANSIT_GATEWAY_STACK, r), r,
                        tuple(sorted({network_stack(v.name) for v in tgw.vpcs_in(cfg, r)})))
           for r in tgw.regions(cfg)]
    for r in tgw.regions(cfg):
        if peerings := tgw.requested_from(cfg, r):
            deps = {name(topology.TRANSIT_GATEWAY_STACK, x) for p in peerings for x in (p.requester, p.accepter)}
            out.append(PlannedStack(topology.TGW_PEERING_STACK, r, name(topology.TGW_PEERING_STACK, r), r,
                                    tuple(sorted(deps))))
    for r in tgw.regions(cfg):
        if peerings := tgw.accepted_in(cfg, r):
            deps = {name(topology.TGW_PEERING_STACK, p.requester) for p in peerings}
            deps.add(name(topology.TRANSIT_GATEWAY_STACK, r))
            out.append(PlannedStack(topology.TGW_PEER_ROUTES_STACK, r, name(topology.TGW_PEER_ROUTES_STACK, r), r,
                                    tuple(sorted(deps))))
    return out


def levels(stacks: list[PlannedStack]) -> dict[str, int]:
    """Deploy level of each stack: 0 without dependencies, else one more than its deepest dependency. Stacks of
    one level never depend on each other, so `cdk deploy --concurrency` and CDK Pipelines run them together."""
    by_name = {s.name: s for s in stacks}
    memo: dict[str, int] = {}

    def level(n: str) -> int:
        if n not in memo:
            memo[n] = 1 + max((level(d) for d in by_name[n].depends_on), default=-1)
        return memo[n]

    return {s.name: level(s.name) for s in stacks}
