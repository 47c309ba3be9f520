"""Transit Gateway: a region's gateway, the VPC attachments, and the peering of two regions' gateways.

What goes where is `federated_eks.plan.transit_gateway_layout`'s answer; this module only makes the resources.

- `TransitGateway`: the gateway and its route table. Default association and propagation are off and the route
  table is our own: CloudFormation returns no id for a gateway's default route table (AWS::EC2::TransitGateway
  return values: `Id`, `TransitGatewayArn`), and the static routes of a peering must name a table.
- `VpcAttachment`: a VPC's attachment in its private subnets (one per AZ: the gateway's interfaces go there, the
  same subnets whose route tables get the routes), associated with the route table and propagating its CIDR into it,
  and the VPC's routes to the gateway.
- `GatewayPeering` (requester's region): the peering attachment, its acceptance (custom resource: CloudFormation
  cannot accept one), then the association and static routes of the requester's side.
- `PeeringRoutes` (accepter's region): the association and static routes of the accepter's side.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack, aws_ec2 as ec2, aws_iam as iam
from aws_cdk import aws_lambda as lambda_, aws_logs as logs, custom_resources as cr
from constructs import Construct

from components.compliance import acknowledge, acknowledge_provider_framework
from components.lambda_bundling import RUNTIME

ACCEPTANCE_TYPE = "Custom::TransitGatewayPeeringAcceptance"
HANDLER_DIR = Path(__file__).resolve().parent / "tgw_peering_acceptance"
# Acceptance takes a few minutes (pendingAcceptance -> pending -> available); poll every 15 s for up to 30 minutes.
POLL_INTERVAL = Duration.seconds(15)
TOTAL_TIMEOUT = Duration.minutes(30)


class TransitGateway(Construct):
    """Attributes: `gateway` (CfnTransitGateway), `route_table` (CfnTransitGatewayRouteTable), and their ids
    (`gateway_id`, `route_table_id`: tokens, read once; every read of a `ref` is a call into aws-cdk-lib)."""

    def __init__(self, scope: Construct, id: str, *, description: str) -> None:
        super().__init__(scope, id)
        self.gateway = ec2.CfnTransitGateway(
            self, "Gateway", description=description, auto_accept_shared_attachments="disable",
            default_route_table_association="disable", default_route_table_propagation="disable",
            dns_support="enable", tags=[{"key": "Name", "value": description}])
        self.gateway_id: str = self.gateway.ref
        self.route_table = ec2.CfnTransitGatewayRouteTable(self, "RouteTable", transit_gateway_id=self.gateway_id)
        self.route_table_id: str = self.route_table.ref


@dataclass(frozen=True)
class VpcAttachmentProps:
    vpc_id: str
    subnet_ids: list[str]
    """The VPC's private subnets, one per AZ."""
    route_table_ids: list[str]
    """The private subnets' route tables (Network.route_table_ids)."""
    destinations: list[str]
    """What the VPC sends to the gateway (`transit_gateway_layout.vpc_routes`)."""
    gateway_id: str
    gateway_route_table_id: str


class VpcAttachment(Construct):
    """Attribute: `attachment`."""

    def __init__(self, scope: Construct, id: str, props: VpcAttachmentProps) -> None:
        super().__init__(scope, id)
        self.attachment = ec2.CfnTransitGatewayVpcAttachment(
            self, "Attachment", vpc_id=props.vpc_id, subnet_ids=props.subnet_ids, transit_gateway_id=props.gateway_id,
            tags=[{"key": "Name", "value": id}])
        attachment_id = self.attachment.ref
        ec2.CfnTransitGatewayRouteTableAssociation(
            self, "Association", transit_gateway_attachment_id=attachment_id,
            transit_gateway_route_table_id=props.gateway_route_table_id)
        ec2.CfnTransitGatewayRouteTablePropagation(
            self, "Propagation", transit_gateway_attachment_id=attachment_id,
            transit_gateway_route_table_id=props.gateway_route_table_id)
        for i, table in enumerate(props.route_table_ids):
            for j, destination in enumerate(props.destinations):
                route = ec2.CfnRoute(self, f"Route{i}" + (f"x{j}" if j else ""), route_table_id=table,
                                     destination_cidr_block=destination, transit_gateway_id=props.gateway_id)
                # EC2 refuses a route to a gateway the VPC is not attached to yet; the route names the gateway, not
                # the attachment, so the order is explicit (DependsOn, as node.add_dependency gives, in one call).
                route.add_dependency(self.attachment)


class PeeringAcceptance(Construct):
    """The provider of `Custom::TransitGatewayPeeringAcceptance` resources, one per requester stack. Its role may
    accept exactly the attachments `allow` names, in their accepter's region."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description="Accepts this stack's transit gateway peering attachments (federated-eks)")
        self.policy = iam.Policy(self, "Permissions", roles=[self.role], statements=[iam.PolicyStatement(
            actions=["ec2:DescribeTransitGatewayPeeringAttachments"], resources=["*"])])
        acknowledge(self.policy, "ec2:DescribeTransitGatewayPeeringAttachments supports no resource-level permissions "
                    "(Service Authorization Reference, Amazon EC2: a Describe action with no resource type); the "
                    "accept action is scoped to this stack's own attachments; the log actions to the functions' "
                    "log groups.", "AwsSolutions-IAM5[Resource::*]")
        code = lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"])
        functions = []
        for fn_id, entry in (("OnEvent", "handler.on_event"), ("IsComplete", "handler.is_complete")):
            log_group = logs.LogGroup(self, f"{fn_id}Logs", retention=logs.RetentionDays.ONE_MONTH,
                                      removal_policy=RemovalPolicy.DESTROY)
            self.policy.add_statements(iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                                           resources=[log_group.log_group_arn]))
            fn = lambda_.Function(self, fn_id, runtime=RUNTIME, handler=entry, code=code, role=self.role,
                                  timeout=Duration.seconds(30), memory_size=128, log_group=log_group,
                                  description="Accepts a transit gateway peering attachment (federated-eks)")
            fn.node.add_dependency(self.policy)
            functions.append(fn)
        self.provider = cr.Provider(self, "Provider", on_event_handler=functions[0], is_complete_handler=functions[1],
                                    query_interval=POLL_INTERVAL, total_timeout=TOTAL_TIMEOUT)
        acknowledge_provider_framework(self.provider, functions, "the acceptance functions")
        self.service_token: str = self.provider.service_token
        self._stack = Stack.of(self)

    def allow(self, attachment_id: str, accepter_region: str) -> None:
        self.policy.add_statements(iam.PolicyStatement(
            actions=["ec2:AcceptTransitGatewayPeeringAttachment"],
            resources=[self._stack.format_arn(service="ec2", region=accepter_region, resource="transit-gateway-attachment",
                                        resource_name=attachment_id)]))


@dataclass(frozen=True)
class GatewayPeeringProps:
    gateway_id: str
    gateway_route_table_id: str
    peer_gateway_id: str
    peer_region: str
    peer_account: str
    destinations: dict[str, str]
    """The accepter region's VPCs, name -> CIDR: static routes over the peering in this gateway's route table."""


class GatewayPeering(Construct):
    """The requester's side. Attributes: `attachment`, `acceptance` (what the accepter's side waits for)."""

    def __init__(self, scope: Construct, id: str, props: GatewayPeeringProps, acceptance: PeeringAcceptance) -> None:
        super().__init__(scope, id)
        self.attachment = ec2.CfnTransitGatewayPeeringAttachment(
            self, "Attachment", transit_gateway_id=props.gateway_id, peer_transit_gateway_id=props.peer_gateway_id,
            peer_region=props.peer_region, peer_account_id=props.peer_account, tags=[{"key": "Name", "value": id}])
        attachment_id = self.attachment.ref
        acceptance.allow(attachment_id, props.peer_region)
        self.acceptance = CustomResource(
            self, "Acceptance", service_token=acceptance.service_token, resource_type=ACCEPTANCE_TYPE,
            properties={"TransitGatewayAttachmentId": attachment_id, "AccepterRegion": props.peer_region})
        self.acceptance.node.add_dependency(acceptance.policy)
        self.accepted_id: str = self.acceptance.ref
        """The attachment's id, available once accepted: what the routes of both sides name."""
        PeeringRoutes(self, "Routes", PeeringRoutesProps(
            attachment_id=self.accepted_id, gateway_route_table_id=props.gateway_route_table_id,
            destinations=props.destinations))


@dataclass(frozen=True)
class PeeringRoutesProps:
    attachment_id: str
    """The peering attachment, available (accepted)."""
    gateway_route_table_id: str
    destinations: dict[str, str]
    """The other region's VPCs, name -> CIDR (a route's id is the VPC's name: removing a VPC leaves the others')."""


class PeeringRoutes(Construct):
    """One side's association of an available peering attachment with its route table, and its static routes."""

    def __init__(self, scope: Construct, id: str, props: PeeringRoutesProps) -> None:
        super().__init__(scope, id)
        ec2.CfnTransitGatewayRouteTableAssociation(
            self, "Association", transit_gateway_attachment_id=props.attachment_id,
            transit_gateway_route_table_id=props.gateway_route_table_id)
        for name, destination in props.destinations.items():
            ec2.CfnTransitGatewayRoute(self, f"To-{name}", destination_cidr_block=destination,
                                       transit_gateway_attachment_id=props.attachment_id,
                                       transit_gateway_route_table_id=props.gateway_route_table_id)
