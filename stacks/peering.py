"""Peering stacks: the requester side of each peering, then the accepter-side routes.

Which peerings each stack holds is `federated_eks.plan.peering_layout`'s answer: all those of one region while they
fit CloudFormation's limits (500 resources, 200 outputs), else those of one VPC.

A template can only create resources in its own region, so a cross-region peering has two halves:
`PeeringStack` in the requester's region (connection + its routes) and `PeeringRoutesStack` in the
accepter's region (routes only). Requesters never depend on accepters, so each level deploys in
parallel across regions and no cycle can form, whatever the regions.

Values cross stacks (and regions) as weak references (`@aws-cdk/core:defaultCrossStackReferences`
is "weak" in cdk.json): the consumer reads the producer's output with Fn::GetStackOutput. Strong
cross-region references use ExportWriter/ExportReader custom resources whose exports cannot be
updated while read and leave stacks stuck on delete; weak ones have neither failure mode. The price:
CloudFormation does not stop a producer from being deleted first; the stack dependencies CDK derives
from the references keep deploy and destroy order right.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Stack
from constructs import Construct

from components.network import Network
from components.vpc_peering import PeeringConnection, PeeringConnectionProps, PeerRoutes, PeerRoutesProps
from federated_eks.plan.topology import Peering


class PeeringStack(Stack):
    """The peerings requested from one region. Attribute: `connections` (peering id -> construct).

    `peerings`: requested from this stack's region (`peering_layout.requester_stacks`); `networks`: the VPC
    constructs of both sides of each, by VPC name; `waits_for`: peering id -> the earlier peering whose connection
    its connection is created after (`PeeringStackPlan.waits_for`: a bounded number of requests pending at once).
    """

    def __init__(self, scope: Construct, id: str, *, peerings: Sequence[Peering], networks: Mapping[str, Network],
                 waits_for: Mapping[str, str] | None = None, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.connections: dict[str, PeeringConnection] = {}
        for p in peerings:
            local, peer = networks[p.requester.name], networks[p.accepter.name]
            conn = PeeringConnection(self, p.id, PeeringConnectionProps(
                vpc_id=local.vpc.vpc_id, route_table_ids=local.route_table_ids, peer_vpc_id=peer.vpc.vpc_id,
                peer_cidr=p.accepter.cidr, peer_region=p.accepter.region if p.cross_region else None))
            self.connections[p.id] = conn
            # Outstanding peering requests are limited (peering_layout.MAX_PENDING_PEERINGS): created after another.
            if waits_for and p.id in waits_for:
                conn.connection.add_dependency(self.connections[waits_for[p.id]].connection)
            if not p.cross_region:
                PeerRoutes(self, f"{p.id}-accepter", PeerRoutesProps(
                    route_table_ids=peer.route_table_ids, peer_cidr=p.requester.cidr,
                    peering_connection_id=conn.connection.ref))


class PeeringRoutesStack(Stack):
    """Accepter-side routes, in one region, for peerings requested from other regions.

    `peerings`: cross-region ones accepted in this stack's region (`peering_layout.accepter_stacks`); `networks`: the
    accepters' VPC constructs by VPC name; `connection_ids`: each peering's connection id, by peering id.
    """

    def __init__(self, scope: Construct, id: str, *, peerings: Sequence[Peering], networks: Mapping[str, Network],
                 connection_ids: Mapping[str, str], **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        for p in peerings:
            PeerRoutes(self, p.id, PeerRoutesProps(
                route_table_ids=networks[p.accepter.name].route_table_ids, peer_cidr=p.requester.cidr,
                peering_connection_id=connection_ids[p.id]))
