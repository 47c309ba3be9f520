"""Transit gateway stacks (`peeringTopology: "transitGateway"`), in deploy order:

1. `transit-gateway-<region>`: the region's gateway and route table, and the attachment and routes of each of its
   VPCs (after the VPCs' stacks).
2. `tgw-peering-<region>`: the peering attachments this region requests (to every region after it in name order),
   their acceptance, and this side's associations and static routes (after both regions' gateway stacks).
3. `tgw-peer-routes-<region>`: the accepter's side of the peerings other regions requested: associations and static
   routes (after the requesters' stacks, so after the acceptance).

Which VPCs, peerings and routes: `federated_eks.plan.transit_gateway_layout`. Values cross stacks and regions as weak
references, as for the VPC peering stacks (stacks/peering.py explains why).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Stack
from constructs import Construct

from components.network import Network
from components.transit_gateway import (GatewayPeering, GatewayPeeringProps, PeeringAcceptance, PeeringRoutes,
                                        PeeringRoutesProps, TransitGateway, VpcAttachment, VpcAttachmentProps)
from federated_eks.plan.topology import FederatedVpc
from federated_eks.plan.transit_gateway_layout import RegionPeering


class TransitGatewayStack(Stack):
    """A region's gateway and its VPCs' attachments. Attribute: `gateway` (TransitGateway).

    `vpcs`: the region's VPCs (`transit_gateway_layout.vpcs_in`); `networks`: their constructs by name;
    `destinations`: what every VPC routes to the gateway (`transit_gateway_layout.vpc_routes`).
    """

    def __init__(self, scope: Construct, id: str, *, vpcs: Sequence[FederatedVpc], networks: Mapping[str, Network],
                 destinations: Sequence[str], **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.gateway = TransitGateway(self, "TransitGateway", description=self.stack_name)
        for vpc in vpcs:
            network = networks[vpc.name]
            VpcAttachment(self, vpc.name, VpcAttachmentProps(
                vpc_id=network.vpc.vpc_id, subnet_ids=[s.subnet_id for s in network.vpc.private_subnets],
                route_table_ids=network.route_table_ids, destinations=list(destinations),
                gateway_id=self.gateway.gateway_id, gateway_route_table_id=self.gateway.route_table_id))


class TransitGatewayPeeringStack(Stack):
    """The peerings one region requests. Attribute: `attachment_ids` (peering id -> the accepted attachment's id).

    `gateways`: the TransitGateway constructs by region (this one's and each accepter's); `destinations`: peering
    id -> the accepter region's VPCs (name -> CIDR).
    """

    def __init__(self, scope: Construct, id: str, *, region: str, peerings: Sequence[RegionPeering],
                 gateways: Mapping[str, TransitGateway], destinations: Mapping[str, dict[str, str]],
                 **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        local = gateways[region]
        acceptance = PeeringAcceptance(self, "Acceptance")
        self.attachment_ids: dict[str, str] = {}
        account = self.account
        for p in peerings:
            peering = GatewayPeering(self, p.id, GatewayPeeringProps(
                gateway_id=local.gateway_id, gateway_route_table_id=local.route_table_id,
                peer_gateway_id=gateways[p.accepter].gateway_id, peer_region=p.accepter, peer_account=account,
                destinations=dict(destinations[p.id])), acceptance)
            self.attachment_ids[p.id] = peering.accepted_id


class TransitGatewayPeerRoutesStack(Stack):
    """The accepter's side of the peerings other regions requested from this one's gateway.

    `attachment_ids`: peering id -> attachment id (from the requesters' stacks); `destinations`: peering id -> the
    requester region's VPCs (name -> CIDR).
    """

    def __init__(self, scope: Construct, id: str, *, peerings: Sequence[RegionPeering], gateway: TransitGateway,
                 attachment_ids: Mapping[str, str], destinations: Mapping[str, dict[str, str]], **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        for p in peerings:
            PeeringRoutes(self, p.id, PeeringRoutesProps(
                attachment_id=attachment_ids[p.id], gateway_route_table_id=gateway.route_table_id,
                destinations=dict(destinations[p.id])))
