"""Topology math over a validated config: which VPCs peer, who requests, who may reach whom, names.

Pure functions, no CDK: the stacks only turn these answers into resources, and the tests check the
answers directly.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from federated_eks.plan import karmada_folder
from federated_eks.plan.folder_workloads import load_balancer_clusters as folder_load_balancer_clusters
from federated_eks.model.federation import FederationConfig
from federated_eks.model.workload import ManifestFolder, load_balanced_clusters

BASTION = "bastion"
"""The bastion VPC's name among the federation's VPCs."""
RESERVED_NAMES = (BASTION,)
"""Names a cluster may not take (the VPCs of the federation share one namespace)."""
PREFIX = "fedeks"

# Stack kinds: the middle part of every stack name (`fedeks-<env>-<kind>[-<qualifier>]`).
ACCESS_STACK = "access"
BASTION_STACK = "bastion"
CLUSTER_STACK = "cluster"
PEERING_STACK = "peering"
PEER_ROUTES_STACK = "peer-routes"
TRANSIT_GATEWAY_STACK = "transit-gateway"
TGW_PEERING_STACK = "tgw-peering"
TGW_PEER_ROUTES_STACK = "tgw-peer-routes"
FEDERATION_STACK = "federation"
WORKLOADS_STACK = "workloads"  # `workloads-<n>`: typed workloads beyond the federation stack (federation_layout)

# Roles of the access stack (their purpose part: `fedeks-<env>-<purpose>`), admins on every cluster.
BASTION_ROLE = "bastion"
JOIN_ROLE = "kubefed-join"
WAITER_ROLE = "workload-waiter"


@dataclass(frozen=True)
class FederatedVpc:
    """Where one VPC of the federation is (the bastion's or a cluster's); the construct is components.network."""

    name: str
    region: str
    cidr: str


@dataclass(frozen=True)
class Peering:
    """One VPC peering connection. The requester creates it; the accepter only adds routes."""

    requester: FederatedVpc
    accepter: FederatedVpc

    @property
    def id(self) -> str:
        return f"{self.requester.name}-{self.accepter.name}"

    @property
    def cross_region(self) -> bool:
        return self.requester.region != self.accepter.region


def vpcs(cfg: FederationConfig) -> list[FederatedVpc]:
    """The bastion VPC first, then the clusters' in config order."""
    return [FederatedVpc(BASTION, cfg.bastion.region, cfg.bastion.cidr)] + [
        FederatedVpc(c.name, c.region, c.cidr) for c in cfg.clusters
    ]


def peerings(cfg: FederationConfig) -> list[Peering]:
    """Every peering connection of the configured topology, in `vpcs()` order of the requester, then accepter.

    mesh: every unordered pair of VPCs, N(N+1)/2 for N clusters.
    hub:  only pairs that include the bastion or the host cluster, 2N-1.
    transitGateway: none (VPCs attach to their region's transit gateway: transit_gateway_layout).
    The earlier VPC in `vpcs()` order requests. Appending a cluster to the config therefore
    adds pairs and never changes which side requests an existing one.
    """
    if cfg.peering_topology == "transitGateway":
        return []
    all_vpcs = vpcs(cfg)
    hubs = {BASTION, cfg.host_cluster}
    pairs = []
    for i, a in enumerate(all_vpcs):
        for b in all_vpcs[i + 1:]:
            if cfg.peering_topology == "hub" and not ({a.name, b.name} & hubs):
                continue
            pairs.append(Peering(requester=a, accepter=b))
    return pairs


def peers_of(peerings: list[Peering], name: str) -> list[FederatedVpc]:
    """The VPCs that peer with `name`, in `vpcs()` order (given `peerings()` order: those that request the
    peering with `name` come before `name`, those it requests come after it, each in order)."""
    return [p.requester for p in peerings if p.accepter.name == name] + \
        [p.accepter for p in peerings if p.requester.name == name]


def api_clients_of(cfg: FederationConfig, peerings: list[Peering], name: str) -> list[FederatedVpc]:
    """The VPCs whose addresses may reach `name`'s API server (443 on its control-plane security group), in `vpcs()`
    order. With VPC peering: its peers (`peers_of`). With a transit gateway, which routes every VPC to every other:
    exactly the VPCs that run something calling an API server, i.e. the bastion (operators), the host (the engine's
    controllers, the join and workload-waiter Lambdas) and, during a host move, the previous host (its engine, until
    it is uninstalled). Members' workloads reach each other through their own Services, never through an API
    server, so the rules grow O(N) over the federation, not with the pairs of clusters."""
    if cfg.peering_topology == "transitGateway":
        callers = {BASTION, cfg.host_cluster, cfg.previous_host_cluster}
        return [v for v in vpcs(cfg) if v.name != name and v.name in callers]
    return peers_of(peerings, name)


def requested_from(peerings: list[Peering]) -> dict[str, list[Peering]]:
    """The peerings by the region of their requester (where the connection is created), regions sorted."""
    out: dict[str, list[Peering]] = {}
    for p in peerings:
        out.setdefault(p.requester.region, []).append(p)
    return dict(sorted(out.items()))


def accepted_in(peerings: list[Peering]) -> dict[str, list[Peering]]:
    """The cross-region peerings by the region of their accepter (where its routes go), regions sorted.
    A same-region peering's accepter routes go with the connection."""
    out: dict[str, list[Peering]] = {}
    for p in peerings:
        if p.cross_region:
            out.setdefault(p.accepter.region, []).append(p)
    return dict(sorted(out.items()))


# --- names ------------------------------------------------------------------------------------
# Stack names embed the environment, so two environments can share an account. They depend only
# on the names in the config, so adding a cluster never renames an existing stack.

def stack_name(cfg: FederationConfig, kind: str, qualifier: str = "") -> str:
    return "-".join(x for x in (PREFIX, cfg.env_name, kind, qualifier) if x)


def eks_cluster_name(cfg: FederationConfig, cluster: str) -> str:
    """The EKS name; the config name stays the KubeFed and kubeconfig-context name."""
    return eks_name_prefix(cfg) + cluster


def eks_name_prefix(cfg: FederationConfig) -> str:
    """What every EKS cluster name of the environment starts with. Environment names may hold dashes (config reader),
    so another environment's names may start with it too (`fedeks-dev-` starts env `dev-a`'s `fedeks-dev-a-b`): the
    functions' IAM policy and checks also require the cluster's `fedeks:environment` tag (stack_tags.ENVIRONMENT_TAG,
    components/kube_access)."""
    return f"{PREFIX}-{cfg.env_name}-"


def role_name(cfg: FederationConfig, purpose: str) -> str:
    """IAM role names are fixed so that cluster access entries can name them without a reference."""
    return _role_name(cfg.env_name, purpose)


def _role_name(env_name: str, purpose: str) -> str:
    return f"{PREFIX}-{env_name}-{purpose}"


def role_arn(cfg: FederationConfig, purpose: str) -> str:
    return role_arn_of(cfg.account, cfg.env_name, purpose)


def role_arn_of(account: str, env_name: str, purpose: str) -> str:
    """`role_arn` before there is a config (the reader checks that no configured principal is one of these)."""
    return f"arn:aws:iam::{account}:role/{_role_name(env_name, purpose)}"


def access_entry_id(principal_arn: str) -> str:
    """The construct id of a configured principal's access entry: derived from the ARN alone, so reordering the
    lists or moving a principal between admins and viewers updates its entry in place. (A new logical id would
    make CloudFormation create the new entry before deleting the old one, and EKS allows one entry per principal:
    AlreadyExists.)"""
    return "Principal" + hashlib.sha256(principal_arn.encode()).hexdigest()[:16]


def eks_cluster_arn(cfg: FederationConfig, cluster: str) -> str:
    region = cfg.cluster(cluster).region
    return f"arn:aws:eks:{region}:{cfg.account}:cluster/{eks_cluster_name(cfg, cluster)}"


def folder_load_balanced(cfg: FederationConfig, folder: ManifestFolder) -> tuple[str, ...]:
    """The clusters a manifest folder's LoadBalancer Services are placed on: by their FederatedServices' placements
    (KubeFed), or by the PropagationPolicies that select them (Karmada)."""
    pairs = [(c.name, c.region) for c in cfg.clusters]
    if cfg.engine == "karmada":
        return karmada_folder.load_balancer_clusters(folder.objects, pairs)
    return folder_load_balancer_clusters(folder.objects, pairs)


def load_balancer_clusters(cfg: FederationConfig) -> tuple[str, ...]:
    """The clusters that get a load-balancer controller: those a load-balanced workload or a manifest folder's
    LoadBalancer Service is placed on (`folder_load_balanced`), or every cluster when the config says
    `install: always`."""
    pairs = [(c.name, c.region) for c in cfg.clusters]
    if cfg.load_balancer_controller.install == "always":
        return tuple(n for n, _ in pairs)
    names = {*load_balanced_clusters(cfg.workloads, pairs),
             *(n for f in cfg.manifest_folders for n in folder_load_balanced(cfg, f))}
    return tuple(n for n, _ in pairs if n in names)


def dns_zones(cfg: FederationConfig) -> dict[str, tuple[str, ...]]:
    """Cluster -> the hosted zones of the workloads with `dns` placed on it, and of folders with a `hostedZoneId`
    whose LoadBalancer Services are placed on it: where ExternalDNS runs, and the only zones its role may change
    (components/workload_dns.py)."""
    pairs = [(c.name, c.region) for c in cfg.clusters]
    placed = [(w.dns.hosted_zone_id, w.placement.resolve(pairs)) for w in cfg.workloads if w.dns is not None]
    placed += [(f.hosted_zone_id, folder_load_balanced(cfg, f)) for f in cfg.manifest_folders
               if f.hosted_zone_id is not None]
    out: dict[str, set[str]] = {}
    for zone, names in placed:
        for name in names:
            out.setdefault(name, set()).add(zone)
    return {n: tuple(sorted(out[n])) for n, _ in pairs if n in out}
