"""Which Availability Zones hold each VPC's NAT gateways, and how many NAT gateways each AZ of a region gets.

AWS allows 5 NAT gateways per AZ by default (vpc L-FE5A380F). `ec2.Vpc` puts a VPC's NAT gateways in its first AZs,
so with `natGateways: 1` every VPC of a region would use the region's first AZ: 8 clusters and the bastion in one
region are 9 NAT gateways in one AZ. Instead the VPCs of a region take turns: NAT gateways are dealt round-robin
over the AZs, in `topology.vpcs()` order (the bastion, then the clusters as configured), so a region's NAT gateways
differ by at most one per AZ, and an AZ outage stops the egress of only some VPCs. Every VPC takes the first AZs of
its region (the same committed lookup), so AZ index i names the same AZ in every VPC of a region.

Pure arithmetic over the model: the stacks place the gateways by it (components/network.py) and quotas.py counts by
it, so the two cannot disagree.
"""
from __future__ import annotations

from collections import Counter

from federated_eks.model.federation import FederationConfig
from federated_eks.plan.subnet_layout import BASTION_VPC, CLUSTER_VPC
from federated_eks.plan.topology import BASTION, vpcs

BASTION_NAT_GATEWAYS = 1  # the bastion VPC always has one NAT gateway (stacks/bastion.py)


def nat_gateways(cfg: FederationConfig, vpc: str) -> int:
    return BASTION_NAT_GATEWAYS if vpc == BASTION else cfg.nat_gateways


def nat_gateway_azs(cfg: FederationConfig) -> dict[str, tuple[int, ...]]:
    """VPC name -> the indexes (into the region's AZs) of the AZs holding its NAT gateways, ascending."""
    dealt: Counter[str] = Counter()  # NAT gateways dealt so far per region
    out = {}
    for vpc in vpcs(cfg):
        azs = (BASTION_VPC if vpc.name == BASTION else CLUSTER_VPC).azs
        first = dealt[vpc.region]
        count = nat_gateways(cfg, vpc.name)
        out[vpc.name] = tuple(sorted({(first + i) % azs for i in range(count)}))
        dealt[vpc.region] += count
    return out


def nat_gateways_per_az(cfg: FederationConfig) -> Counter[tuple[str, int]]:
    """(region, AZ index) -> the federation's NAT gateways in that AZ."""
    regions = {v.name: v.region for v in vpcs(cfg)}
    return Counter((regions[name], az) for name, azs in nat_gateway_azs(cfg).items() for az in azs)
