"""Which stack holds each peering's resources, and how many resources and outputs each of those stacks gets.

Pure arithmetic over `topology.peerings()`, used by `app.py` (the stacks it builds) and by `quotas.py` (the
CloudFormation limits), so the two can never disagree; tests/test_network.py checks the counts against synthesized
templates.

A peering's resources are its connection and its routes, one per private route table of each side (peer routes
go only where the federation's traffic starts and ends: nodes, the API servers' ENIs, the join Lambda and the
bastion are all in private subnets; public subnets hold only NAT gateways and load balancers, which reach peers
through nobody). The requester's region holds the connection, the requester's routes and, for a same-region
peering, the accepter's routes; the accepter's region holds the accepter's routes of a cross-region peering.

Layout: all the peerings requested from a region stay in one stack, `peering-<region>`, while that stack fits
CloudFormation's limits; a region whose peerings do not fit gets one stack per requesting VPC instead,
`peering-<region>-<vpc>`. The accepter side does the same with `peer-routes-<region>[-<vpc>]`. Every federation that
synthesized before this layout existed fits in one stack per region, so its stacks and logical ids are unchanged.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

# CloudFormation's limits per stack are stated once, in cloudformation_limits (named here too for this module's users).
from federated_eks.plan.cloudformation_limits import MAX_OUTPUTS, MAX_RESOURCES, RESOURCE_BUDGET  # noqa: F401
from federated_eks.plan.subnet_layout import BASTION_VPC, CLUSTER_VPC
from federated_eks.plan.topology import BASTION, FederatedVpc, Peering, accepted_in, requested_from

# Outstanding (pending) VPC peering connection requests: 25 by default (vpc L-DC9F7029), counted per account and
# region (per VPC would be looser). A connection is pending from its request until it is accepted; CloudFormation
# creates a stack's resources in parallel, and the peering stacks of a region deploy in parallel, so each stack
# chains its connections (`waits_for`) to keep a region's requests in flight at 20 or fewer, under the default
# with room for requests made outside the federation.
MAX_PENDING_PEERINGS = 20


def route_tables(vpc: FederatedVpc) -> int:
    """The route tables a peer route goes into: one private route table per AZ of the VPC."""
    return (BASTION_VPC if vpc.name == BASTION else CLUSTER_VPC).azs


def requester_resources(p: Peering) -> int:
    """The connection, the requester's routes, and the accepter's routes when both are in one region."""
    return 1 + route_tables(p.requester) + (0 if p.cross_region else route_tables(p.accepter))


def requester_outputs(p: Peering) -> int:
    """A cross-region peering's connection id is read by the accepter region's stack: one output."""
    return 1 if p.cross_region else 0


def accepter_resources(p: Peering) -> int:
    return route_tables(p.accepter)


@dataclass(frozen=True)
class PeeringStackPlan:
    """One peering stack: its name part after the kind, its region, its peerings, and what it holds."""

    qualifier: str
    region: str
    peerings: tuple[Peering, ...]
    resources: int
    outputs: int
    pending_window: int = MAX_PENDING_PEERINGS
    """How many of its connections may be pending at once: the region's MAX_PENDING_PEERINGS shared by its
    requester stacks (`requester_stacks` sets it; at least 1)."""

    @property
    def fits(self) -> bool:
        return self.resources <= RESOURCE_BUDGET and self.outputs <= MAX_OUTPUTS

    def waits_for(self) -> dict[str, str]:
        """Peering id -> the id of the connection it is created after (DependsOn): each connection waits for the
        one `pending_window` places before it, so at most `pending_window` are requested and not yet accepted."""
        ids = [p.id for p in self.peerings]
        return {ids[i]: ids[i - self.pending_window] for i in range(self.pending_window, len(ids))}


def requester_stacks(peerings: list[Peering]) -> list[PeeringStackPlan]:
    """The `peering-*` stacks: connections and the routes that go with them, by requester region."""
    plans = _layout(requested_from(peerings), lambda p: p.requester.name, requester_resources, requester_outputs)
    per_region = Counter(p.region for p in plans)
    return [replace(p, pending_window=max(1, MAX_PENDING_PEERINGS // per_region[p.region])) for p in plans]


def pending_at_most(plans: list[PeeringStackPlan], region: str) -> int:
    """The most connection requests of `region` that can be pending at once: its stacks deploy in parallel."""
    return sum(min(p.pending_window, len(p.peerings)) for p in plans if p.region == region)


def accepter_stacks(peerings: list[Peering]) -> list[PeeringStackPlan]:
    """The `peer-routes-*` stacks: accepter-side routes of cross-region peerings, by accepter region."""
    return _layout(accepted_in(peerings), lambda p: p.accepter.name, accepter_resources, lambda p: 0)


def _layout(by_region: dict[str, list[Peering]], owner: Callable[[Peering], str],
            resources: Callable[[Peering], int], outputs: Callable[[Peering], int]) -> list[PeeringStackPlan]:
    def plan(qualifier: str, region: str, ps: Iterable[Peering]) -> PeeringStackPlan:
        ps = tuple(ps)
        return PeeringStackPlan(qualifier, region, ps, sum(map(resources, ps)), sum(map(outputs, ps)))

    out = []
    for region, ps in by_region.items():
        whole = plan(region, region, ps)
        if whole.fits:
            out.append(whole)
            continue
        by_vpc: dict[str, list[Peering]] = {}
        for p in ps:
            by_vpc.setdefault(owner(p), []).append(p)
        out += [plan(f"{region}-{vpc}", region, group) for vpc, group in by_vpc.items()]
    return out
