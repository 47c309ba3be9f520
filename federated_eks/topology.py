"""Topology math over a validated config: which VPCs peer, who requests, who may reach whom, names.

Pure functions, no CDK: the stacks only turn these answers into resources, and the tests check the
answers directly.
"""
from __future__ import annotations

from dataclasses import dataclass

from federated_eks.model import FederationConfig

BASTION = "bastion"
PREFIX = "fedeks"


@dataclass(frozen=True)
class Network:
    """One VPC of the federation: the bastion's or a cluster's."""

    name: str
    region: str
    cidr: str


@dataclass(frozen=True)
class Peering:
    """One VPC peering connection. The requester creates it; the accepter only adds routes."""

    requester: Network
    accepter: Network

    @property
    def id(self) -> str:
        return f"{self.requester.name}-{self.accepter.name}"

    @property
    def cross_region(self) -> bool:
        return self.requester.region != self.accepter.region


def networks(cfg: FederationConfig) -> list[Network]:
    """The bastion VPC first, then the clusters' in config order."""
    return [Network(BASTION, cfg.bastion.region, cfg.bastion.cidr)] + [
        Network(c.name, c.region, c.cidr) for c in cfg.clusters
    ]


def peerings(cfg: FederationConfig) -> list[Peering]:
    """Every peering connection of the configured topology.

    mesh: every unordered pair of VPCs, N(N+1)/2 for N clusters.
    hub:  only pairs that include the bastion or the host cluster, 2N-1.
    The earlier VPC in `networks()` order requests. Appending a cluster to the config therefore
    adds pairs and never changes which side requests an existing one.
    """
    nets = networks(cfg)
    hubs = {BASTION, cfg.host_cluster}
    pairs = []
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            if cfg.peering_topology == "hub" and not ({a.name, b.name} & hubs):
                continue
            pairs.append(Peering(requester=a, accepter=b))
    return pairs


def peers_of(cfg: FederationConfig, name: str) -> list[Network]:
    """The VPCs that peer with `name`, in `networks()` order."""
    out = []
    for p in peerings(cfg):
        if p.requester.name == name:
            out.append(p.accepter)
        elif p.accepter.name == name:
            out.append(p.requester)
    order = {n.name: i for i, n in enumerate(networks(cfg))}
    return sorted(out, key=lambda n: order[n.name])


def peering_regions(cfg: FederationConfig) -> list[str]:
    """Regions that hold the requester side of at least one peering, sorted."""
    return sorted({p.requester.region for p in peerings(cfg)})


def accepter_regions(cfg: FederationConfig) -> list[str]:
    """Regions that hold accepter-side routes of a cross-region peering, sorted."""
    return sorted({p.accepter.region for p in peerings(cfg) if p.cross_region})


# --- names ------------------------------------------------------------------------------------
# Stack names embed the environment, so two environments can share an account. They depend only
# on the names in the config, so adding a cluster never renames an existing stack.

def stack_name(cfg: FederationConfig, kind: str, qualifier: str = "") -> str:
    return "-".join(x for x in (PREFIX, cfg.env_name, kind, qualifier) if x)


def eks_cluster_name(cfg: FederationConfig, cluster: str) -> str:
    """The EKS name; the config name stays the KubeFed and kubeconfig-context name."""
    return f"{PREFIX}-{cfg.env_name}-{cluster}"


def role_name(cfg: FederationConfig, purpose: str) -> str:
    """IAM role names are fixed so that cluster access entries can name them without a reference."""
    return f"{PREFIX}-{cfg.env_name}-{purpose}"


def role_arn(cfg: FederationConfig, purpose: str) -> str:
    return f"arn:aws:iam::{cfg.account}:role/{role_name(cfg, purpose)}"


def eks_cluster_arn(cfg: FederationConfig, cluster: str) -> str:
    region = cfg.cluster(cluster).region
    return f"arn:aws:eks:{region}:{cfg.account}:cluster/{eks_cluster_name(cfg, cluster)}"
