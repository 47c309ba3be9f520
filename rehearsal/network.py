"""Whether a Lambda function reaches an EKS API server now (implements `world.Network`).

A VPC Lambda's traffic leaves from a network interface in each of its subnets (Lambda Developer Guide, "Giving
Lambda functions access to resources in an Amazon VPC"); the private API endpoint of EKS is network interfaces in
the cluster's subnets, guarded by the cluster security group and the groups of `ResourcesVpcConfig` (EKS User
Guide, "Cluster API server endpoint"). So, for every subnet of the function and every subnet of the cluster:

- the function's route table sends the cluster subnet's addresses `local` (same VPC), to an active peering
  connection with the cluster's VPC (longest prefix wins, VPC User Guide "Route priority"), or to a transit gateway
  that delivers them (below), and the cluster subnet's route table sends the function's subnet back the same way;
- through a transit gateway: the source VPC's available attachment to it is associated with a route table whose
  longest matching route names the destination VPC's attachment (propagated or static), or an available peering
  attachment, after which the peer gateway's route table associated with that peering decides the same way
  (Amazon VPC Transit Gateways guide, "How transit gateways work": an attachment's associated route table routes
  what enters through it; peering attachments carry static routes);
- one of the function's security groups has an egress rule admitting TCP 443 to the cluster (a CIDR holding the
  cluster subnet, or one of its API groups, same region only);
- one of the cluster's API groups has an ingress rule admitting TCP 443 from the function (one of its groups,
  same region only: a peered VPC in another region cannot reference a group, VPC Peering Guide, "Update your
  security groups to reference peer security groups"; or a CIDR holding the function's subnet).

Security groups are stateful, so the answer needs no return rule. `why_not` says which of these is missing.

The regional EKS APIs (https://eks.<region>.amazonaws.com: public AWS addresses) are reached from a VPC Lambda only
through a NAT gateway: its network interfaces have private addresses only ("Enable internet access for VPC-connected
Lambda functions", Lambda Developer Guide). `eks_api_why_not` asks, for every subnet of the function: does the
route for public addresses (0.0.0.0/0) go to a NAT gateway, and does an egress rule admit TCP 443 to them.
`Network.describe_cluster` answers DescribeCluster from the clusters created (name, region, endpoint, CA, tags);
`Network.cluster_reaches` asks `why_not` for pods on a host's nodes (its subnets, the EKS cluster security group)
instead of a function: the path KubeFed's and Karmada's controllers take to a member.
`Network.describe_why_not` is IAM's decision on a function's DescribeCluster: the policies attached to its role
(AWS::IAM::Policy), their Resource patterns and their aws:ResourceTag conditions against the cluster's tags
(rehearsal/iam.py). A cluster that does not exist has no tags.
"""
from __future__ import annotations

import ipaddress
from types import SimpleNamespace

from rehearsal import iam
from rehearsal.aws import Aws, Cluster, Rule
from rehearsal.eks_api import EksCluster
from rehearsal.world import LambdaFunction

HTTPS = 443


def _route_target(aws: Aws, subnet: str, destination_cidr: str) -> str | None:
    """The target of the most specific route of `subnet`'s route table covering `destination_cidr`."""
    destination = ipaddress.ip_network(destination_cidr)
    best, target = -1, None
    for cidr, tgt in aws.route_table_of(subnet).routes.items():
        net = ipaddress.ip_network(cidr)
        if destination.subnet_of(net) and net.prefixlen > best:
            best, target = net.prefixlen, tgt
    return target


def _longest(routes: dict[str, str], destination_cidr: str) -> str | None:
    destination = ipaddress.ip_network(destination_cidr)
    matches = [ipaddress.ip_network(c) for c in routes if destination.subnet_of(ipaddress.ip_network(c))]
    return routes[str(max(matches, key=lambda n: n.prefixlen))] if matches else None


MAX_GATEWAY_HOPS = 4
"""Gateways a packet may cross (a loop of static routes would otherwise never end)."""


def _through_gateway(aws: Aws, gateway: str, from_vpc: str, to_vpc: str, destination_cidr: str) -> bool:
    entry = next((a for a in aws.tgw_attachments.values()
                  if a.vpc == from_vpc and a.gateways == (gateway,) and a.state == "available"), None)
    table_id = entry.route_table if entry else None
    for _ in range(MAX_GATEWAY_HOPS):
        table = aws.tgw_route_tables.get(table_id or "")
        if table is None:
            return False
        hop = aws.tgw_attachments.get(_longest(table.routes, destination_cidr) or "")
        if hop is None or aws.tgw_attachment(hop.id, hop.regions[0]).state != "available":  # type: ignore[union-attr]
            return False
        if hop.vpc is not None:
            return hop.vpc == to_vpc
        # A peering: it enters the other gateway, whose route table associated with the peering decides next.
        table_id = hop.peer_route_table if table.gateway == hop.gateways[0] else hop.route_table
    return False


def _leads_to(aws: Aws, target: str | None, from_vpc: str, to_vpc: str, destination_cidr: str = "") -> bool:
    if from_vpc == to_vpc:
        return target == "local"
    if target in aws.transit_gateways:
        return _through_gateway(aws, target, from_vpc, to_vpc, destination_cidr)
    peering = aws.peerings.get(target or "")
    return bool(peering and peering.active and {peering.requester, peering.accepter} == {from_vpc, to_vpc})


def _admits(rule: Rule, cidr: str, groups: tuple[str, ...], same_region: bool) -> bool:
    if not rule.admits_port(HTTPS):
        return False
    if rule.cidr is not None and ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(rule.cidr)):
        return True
    return same_region and rule.group is not None and rule.group in groups


def why_not(aws: Aws, function: LambdaFunction, cluster: Cluster) -> str | None:
    """None when `function` reaches `cluster`'s API server now, else what is missing."""
    if not function.subnets:
        return (f"{function.source} is not in a VPC and the API endpoint of {cluster.name} is private "
                "(EndpointPublicAccess false)")
    api_groups = cluster.security_groups + (cluster.cluster_security_group,)
    for sid in function.subnets:
        src = aws.subnets[sid]
        src_region = aws.vpcs[src.vpc].region
        same_region = src_region == cluster.region
        for cid in cluster.subnets:
            dst = aws.subnets[cid]
            if not _leads_to(aws, _route_target(aws, sid, dst.cidr), src.vpc, dst.vpc, dst.cidr):
                return f"no route from subnet {sid} ({src.cidr}) to {cluster.name}'s subnet {cid} ({dst.cidr})"
            if not _leads_to(aws, _route_target(aws, cid, src.cidr), dst.vpc, src.vpc, src.cidr):
                return f"no return route from {cluster.name}'s subnet {cid} ({dst.cidr}) to subnet {sid} ({src.cidr})"
            egress = [r for g in function.security_groups if g in aws.security_groups
                      for r in aws.security_groups[g].egress]
            if not any(_admits(r, dst.cidr, api_groups, same_region) for r in egress):
                return (f"no egress rule of {function.source}'s security groups {list(function.security_groups)!r} "
                        f"admits TCP 443 to {cluster.name} ({dst.cidr})")
            ingress = [r for g in api_groups if g in aws.security_groups for r in aws.security_groups[g].ingress]
            if not any(_admits(r, src.cidr, function.security_groups, same_region) for r in ingress):
                return (f"no ingress rule on {cluster.name}'s API security groups {list(api_groups)!r} admits "
                        f"TCP 443 from {function.source} (subnet {src.cidr}, groups {list(function.security_groups)!r})")
    return None


PUBLIC = "0.0.0.0/0"
"""Where the regional EKS APIs are, for the routes and rules: outside every VPC (the default route's destination)."""


def eks_api_why_not(aws: Aws, function: LambdaFunction) -> str | None:
    """None when `function` reaches the regional EKS APIs now, else what is missing."""
    if not function.subnets:
        return None  # a Lambda outside any VPC reaches AWS's public endpoints
    for sid in function.subnets:
        target = _route_target(aws, sid, PUBLIC)
        if not (target or "").startswith("nat-"):
            return (f"the route table of subnet {sid} sends public addresses to {target or 'nowhere'}, not to a NAT "
                    "gateway (a Lambda's network interfaces have no public address)")
    egress = [r for g in function.security_groups if g in aws.security_groups for r in aws.security_groups[g].egress]
    if not any(_admits(r, PUBLIC, (), False) for r in egress):
        return (f"no egress rule of {function.source}'s security groups {list(function.security_groups)!r} admits TCP "
                "443 to public addresses (the EKS API)")
    return None


class Network:
    """`world.Network` over the rehearsal's AWS state."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def explain(self, source: str, cluster: str) -> str | None:
        function = self.aws.function_by_source(source)
        if function is None:
            return f"Lambda function {source} does not exist (now)"
        if cluster not in self.aws.clusters:
            return f"EKS cluster {cluster} does not exist (now)"
        return why_not(self.aws, function, self.aws.clusters[cluster])

    def reachable(self, source: str, cluster: str) -> bool:
        return self.explain(source, cluster) is None

    def cluster_reaches(self, source: str, cluster: str) -> bool:
        host, member = self.aws.clusters.get(source), self.aws.clusters.get(cluster)
        if host is None or member is None:
            return False
        # A managed node group's nodes run in the cluster's subnets with the EKS cluster security group (aws-eks-v2
        # Nodegroup: no remote access, the launch template sets no groups), the group's egress admits everything.
        nodes = SimpleNamespace(source=f"the nodes of {source}", subnets=tuple(host.subnets),
                                security_groups=(host.cluster_security_group,))
        return why_not(self.aws, nodes, member) is None  # type: ignore[arg-type]

    def eks_api_why_not(self, source: str) -> str | None:
        function = self.aws.function_by_source(source)
        if function is None:
            return f"Lambda function {source} does not exist (now)"
        return eks_api_why_not(self.aws, function)

    def describe_cluster(self, region: str, name: str) -> EksCluster | None:
        cluster = self.aws.clusters.get(name)
        if cluster is None or cluster.region != region:
            return None
        return EksCluster(name, region, cluster.endpoint, cluster.ca_data, self.aws.account, dict(cluster.tags))

    def describe_why_not(self, source: str, region: str, name: str) -> str | None:
        """Why IAM refuses eks:DescribeCluster of `name` in `region` to Lambda `source` (None: it allows it)."""
        function = self.aws.function_by_source(source)
        if function is None:
            return f"Lambda function {source} does not exist (now)"
        cluster = self.aws.clusters.get(name)
        tags = dict(cluster.tags) if cluster is not None and cluster.region == region else {}
        arn = f"arn:aws:eks:{region}:{self.aws.account}:cluster/{name}"
        return iam.decide(self.aws.role_policies(function.role), "eks:DescribeCluster", arn, tags)
