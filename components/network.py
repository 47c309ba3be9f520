"""A federation VPC: public and private subnets over N AZs, NAT egress, flow logs.

Every VPC of the federation (bastion and clusters) is one of these, so peering code can rely on the
same attributes everywhere: `route_table_ids` lists every route table a peer route must go into.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack, aws_ec2 as ec2, aws_logs as logs
from constructs import Construct

from federated_eks.plan.subnet_layout import subnet_layout


@dataclass(frozen=True)
class NetworkProps:
    cidr: str
    """The VPC CIDR (validated by config: private, /16 up to the size the subnets need)."""
    max_azs: int
    """Availability zones to spread subnets over: `subnet_layout.CLUSTER_VPC.azs` or `BASTION_VPC.azs`."""
    nat_gateways: int = 1
    """NAT gateways (1 is cheapest, one per AZ survives an AZ outage)."""
    nat_azs: tuple[int, ...] | None = None
    """The AZs (indexes into the VPC's AZs) that hold the NAT gateways, as many as `nat_gateways`
    (`nat_layout.nat_gateway_azs` spreads a region's NAT gateways over its AZs); None: the first AZs."""
    flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    """How long VPC flow logs are kept."""


class Network(Construct):
    """The VPC and its flow log. Attributes: `vpc`, `route_table_ids`."""

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        layout = subnet_layout(int(props.cidr.split("/")[1]), props.max_azs)
        nat_subnets = None
        if props.nat_azs is not None:
            if len(props.nat_azs) != props.nat_gateways:
                raise ValueError(f"nat_azs {props.nat_azs} must name {props.nat_gateways} AZs (one per NAT gateway)")
            # The VPC takes the stack's first max_azs AZs (the committed lookup), so an index names one of its AZs.
            azs = Stack.of(self).availability_zones[:props.max_azs]
            nat_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC,
                                              availability_zones=[azs[i] for i in props.nat_azs])
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(props.cidr),
            max_azs=props.max_azs,
            nat_gateways=props.nat_gateways,
            nat_gateway_subnets=nat_subnets,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=layout.public_mask,
                                        map_public_ip_on_launch=False),
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                                        cidr_mask=layout.private_mask),
            ],
        )
        log_group = logs.LogGroup(self, "FlowLogs", retention=props.flow_log_retention,
                                  removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group))

    @functools.cached_property
    def route_table_ids(self) -> list[str]:
        """The route tables peer routes go into: the private subnets' (one per AZ). Everything that talks across
        a peering lives there: nodes and pods, the API servers' ENIs, the join Lambda, the kubectl handler, the
        bastion. Replies leave through the route table of the sender's subnet, so they take the peering too; the
        public subnets (NAT gateways, load balancers) start no traffic to a peer. `peering_layout.route_tables`
        counts the same tables."""
        return [s.route_table.route_table_id for s in self.vpc.private_subnets]
