"""The `transitGateway` connectivity mode: which regions peer, which routes go where, what each stack holds.

Pure functions over the config (no CDK), used by app.py and stacks/transit_gateway.py (what they build), by
stack_plan.py (the stack graph) and by quotas.py (the AWS limits), so the three can never disagree.

The shape (docs/concepts/transit-gateway.md):
- one transit gateway per region that holds a VPC of the federation, with one route table of its own (CloudFormation
  returns no id for a gateway's default route table: AWS::EC2::TransitGateway's return values are only `Id` and
  `TransitGatewayArn`, so a static route could not name it); every VPC attachment is associated with it and
  propagates its VPC's CIDR into it;
- one peering attachment per pair of regions, requested by the region first in name order (so adding or removing a
  cluster never flips who requests an existing peering); static routes send each remote region's VPC CIDRs over the
  peering, in both gateways' route tables (peering attachments carry static routes only: Amazon VPC Transit
  Gateways guide, "Transit gateway peering attachments");
- each VPC's private route tables send the federation's addresses to the gateway: one summary route per RFC 1918
  block the federation uses (`summary_routes`). The VPC's own CIDR is more specific (its `local` route wins).

Nothing grows with the pairs of clusters: a region's gateway stack grows with its VPCs, a peering stack with the
regions and the remote VPCs.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from itertools import combinations

from federated_eks.model.federation import FederationConfig
from federated_eks.plan.peering_layout import route_tables
from federated_eks.plan.topology import FederatedVpc, vpcs

TRANSIT_GATEWAY = "transitGateway"
"""The `peeringTopology` value of this mode."""

# Amazon VPC Transit Gateways guide, "Quotas for your transit gateways": attachments per transit gateway 5,000 and
# routes per transit gateway route table 10,000 (neither adjustable in the config: far above what a federation
# reaches); peering attachments per transit gateway 50 and transit gateways per account and region 5 (adjustable:
# model.QuotasConfig).
MAX_ATTACHMENTS_PER_GATEWAY = 5000
MAX_ROUTES_PER_GATEWAY_ROUTE_TABLE = 10000

# AWS prices (Transit Gateway pricing page, us-east-1): $0.05 per attachment-hour, VPC and peering attachments
# alike (a peering attachment is billed in both regions: each gateway has it as an attachment), $0.02 per GB sent
# from a VPC attachment into a gateway; data from a peering attachment is not charged processing, but inter-region
# data transfer applies (about $0.02 per GB).
ATTACHMENT_HOUR_USD = 0.05
PROCESSED_GB_USD = 0.02
HOURS_PER_MONTH = 730

RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True)
class RegionPeering:
    """One transit gateway peering attachment: requested from `requester`'s gateway, accepted in `accepter`'s."""

    requester: str
    accepter: str

    @property
    def id(self) -> str:
        return f"{self.requester}-{self.accepter}"


def uses_transit_gateway(cfg: FederationConfig) -> bool:
    return cfg.peering_topology == TRANSIT_GATEWAY


def regions(cfg: FederationConfig) -> list[str]:
    """The regions that get a transit gateway: every region with a VPC of the federation, sorted by name."""
    return sorted({v.region for v in vpcs(cfg)})


def vpcs_in(cfg: FederationConfig, region: str) -> list[FederatedVpc]:
    """The VPCs attached to `region`'s gateway, in `vpcs()` order (the bastion first)."""
    return [v for v in vpcs(cfg) if v.region == region]


def region_peerings(cfg: FederationConfig) -> list[RegionPeering]:
    """Every pair of regions, the earlier name requesting: R(R-1)/2 for R regions, none for one region."""
    return [RegionPeering(a, b) for a, b in combinations(regions(cfg), 2)]


def requested_from(cfg: FederationConfig, region: str) -> list[RegionPeering]:
    return [p for p in region_peerings(cfg) if p.requester == region]


def accepted_in(cfg: FederationConfig, region: str) -> list[RegionPeering]:
    return [p for p in region_peerings(cfg) if p.accepter == region]


def peer_region_of(peering: RegionPeering, region: str) -> str:
    return peering.accepter if peering.requester == region else peering.requester


def static_routes(cfg: FederationConfig, region: str, peering: RegionPeering) -> dict[str, str]:
    """The destinations `region`'s gateway sends over `peering`: the VPCs of the other region, name -> CIDR."""
    return {v.name: v.cidr for v in vpcs_in(cfg, peer_region_of(peering, region))}


def summary_routes(cidrs: list[str]) -> list[str]:
    """The fewest destinations that cover every CIDR in `cidrs` without leaving the private ranges: per RFC 1918
    block (10/8, 172.16/12, 192.168/16) that holds some of them, the smallest network holding all of those, and
    never one of the CIDRs itself (a block with one VPC gets that CIDR's supernet, one bit shorter).

    One route per block, so a VPC's route table needs at most three routes to the gateway whatever the number of
    VPCs. Never equal to a VPC's CIDR: in that VPC's own table it would clash with the `local` route, and in the
    others' with a VPC peering's route to that CIDR while a switch from `mesh` or `hub` is under way (EC2 refuses a
    second route to the same destination); strictly larger, it loses to both (longest prefix wins). The summary may
    cover addresses no federation VPC uses: the gateway drops those (no route in its table). A CIDR outside RFC 1918
    (the config refuses those) keeps a route of its own.
    """
    groups: dict[ipaddress.IPv4Network | None, list[ipaddress.IPv4Network]] = {}
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        block = next((b for b in RFC1918 if net.subnet_of(b)), None)
        groups.setdefault(block, []).append(net)
    out = [str(n) for n in groups.pop(None, [])]
    for block, nets in sorted(groups.items(), key=lambda kv: int(kv[0].network_address)):  # type: ignore[union-attr]
        summary = _smallest_common(nets)
        out.append(str(summary.supernet() if summary in nets else summary))
    return out


def _smallest_common(nets: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    prefix = min(n.prefixlen for n in nets)
    while True:
        candidate = nets[0].supernet(new_prefix=prefix)
        if all(n.subnet_of(candidate) for n in nets):
            return candidate
        prefix -= 1


def vpc_routes(cfg: FederationConfig) -> list[str]:
    """The destinations each VPC's private route tables send to its region's gateway (the same for every VPC)."""
    return summary_routes([v.cidr for v in vpcs(cfg)])


# --- what each stack holds (counted the way the stacks build it; tests/test_transit_gateway.py compares) ---------

GATEWAY_RESOURCES = 2
"""The gateway and its route table."""
ATTACHMENT_RESOURCES = 3
"""Per VPC: its attachment, the attachment's association with the route table, and its propagation."""
ACCEPTANCE_PROVIDER_RESOURCES = 21
"""The acceptance provider of a region that requests peerings (components/transit_gateway.py): two handler functions,
their role, policy and log groups, and the Provider framework's functions, roles, policies, log groups and waiter
state machine."""


def gateway_stack_resources(cfg: FederationConfig, region: str) -> int:
    return GATEWAY_RESOURCES + sum(ATTACHMENT_RESOURCES + len(vpc_routes(cfg)) * route_tables(v)
                                   for v in vpcs_in(cfg, region))


def peering_stack_resources(cfg: FederationConfig, region: str) -> int:
    """Per requested peering: the attachment, its acceptance, its association here, a static route per remote VPC;
    the acceptance provider once."""
    peerings = requested_from(cfg, region)
    if not peerings:
        return 0
    return ACCEPTANCE_PROVIDER_RESOURCES + sum(3 + len(static_routes(cfg, region, p)) for p in peerings)


def peer_routes_stack_resources(cfg: FederationConfig, region: str) -> int:
    """Per accepted peering: its association with this region's route table and a static route per remote VPC."""
    return sum(1 + len(static_routes(cfg, region, p)) for p in accepted_in(cfg, region))


def attachments(cfg: FederationConfig, region: str) -> int:
    """Attachments of `region`'s gateway: its VPCs and one per peered region."""
    return len(vpcs_in(cfg, region)) + len(regions(cfg)) - 1


def gateway_routes(cfg: FederationConfig) -> int:
    """Routes in each gateway's route table: one per VPC of the federation (propagated or static)."""
    return len(vpcs(cfg))


def monthly_attachment_cost(cfg: FederationConfig) -> float:
    """USD per month for the attachments alone (data processing comes on top, per GB): every VPC attachment, and
    each peering attachment on both of its gateways."""
    billed = len(vpcs(cfg)) + 2 * len(region_peerings(cfg))
    return billed * ATTACHMENT_HOUR_USD * HOURS_PER_MONTH
