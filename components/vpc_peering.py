"""VPC peering: a connection (requester side) and the routes each side needs to reach the other."""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct


@dataclass(frozen=True)
class PeerRoutesProps:
    route_table_ids: list[str]
    """Route tables of the local VPC that peer traffic uses (Network.route_table_ids: the private ones)."""
    peer_cidr: str
    """The peer VPC's CIDR: the destination of every route."""
    peering_connection_id: str


class PeerRoutes(Construct):
    """One route to the peer CIDR through the peering connection in each route table."""

    def __init__(self, scope: Construct, id: str, props: PeerRoutesProps) -> None:
        super().__init__(scope, id)
        self.routes = [
            ec2.CfnRoute(self, f"Route{i}", route_table_id=rt, destination_cidr_block=props.peer_cidr,
                         vpc_peering_connection_id=props.peering_connection_id)
            for i, rt in enumerate(props.route_table_ids)
        ]


@dataclass(frozen=True)
class PeeringConnectionProps:
    vpc_id: str
    route_table_ids: list[str]
    peer_vpc_id: str
    peer_cidr: str
    peer_region: str | None = None
    """Set for a cross-region peering. Same account, so AWS accepts the request automatically."""


class PeeringConnection(Construct):
    """The requester side: the connection and the requester's routes. Attribute: `connection`."""

    def __init__(self, scope: Construct, id: str, props: PeeringConnectionProps) -> None:
        super().__init__(scope, id)
        self.connection = ec2.CfnVPCPeeringConnection(
            self, "Connection", vpc_id=props.vpc_id, peer_vpc_id=props.peer_vpc_id, peer_region=props.peer_region,
            tags=[{"key": "Name", "value": id}])
        PeerRoutes(self, "Routes", PeerRoutesProps(route_table_ids=props.route_table_ids, peer_cidr=props.peer_cidr,
                                                    peering_connection_id=self.connection.ref))
