"""Network: the subnet layout of every federation VPC (pure, and as aws-cdk-lib's `ec2.Vpc` really allocates it), the
peering connections and routes on both sides of every peering, and the API servers' 443 rules for peers."""
from __future__ import annotations

import ipaddress

import aws_cdk as cdk
import pytest

from components.network import Network, NetworkProps
from fedtest import CONTEXT, cluster_stacks, environment, resources, synth, templates
from federated_eks.plan import peering_layout, topology
from federated_eks.config.reader import load_environment
from federated_eks.plan.subnet_layout import (BASTION_VPC, CLUSTER_VPC, LARGEST_VPC_MASK, SMALLEST_SUBNET_MASK,
                                         fits, smallest_vpc_mask, subnet_layout)


def test_layout_of_a_slash_16():
    assert subnet_layout(16, CLUSTER_VPC.azs) == subnet_layout(16, 3)
    assert (subnet_layout(16, 3).public_mask, subnet_layout(16, 3).private_mask) == (20, 18)
    assert (subnet_layout(16, 2).public_mask, subnet_layout(16, 2).private_mask) == (18, 18)
    with pytest.raises(ValueError, match="1 to 3 AZs"):
        subnet_layout(16, 4)


def test_smallest_vpcs_the_config_accepts():
    # A cluster's private subnets keep at least /22 (nodes and pods); the bastion's only need to exist.
    assert smallest_vpc_mask(CLUSTER_VPC) == 20
    assert smallest_vpc_mask(BASTION_VPC) == 26


@pytest.mark.parametrize("shape", [CLUSTER_VPC, BASTION_VPC], ids=["cluster", "bastion"])
def test_layout_is_what_ec2_vpc_allocates_and_fits_exactly_when_cdk_can_build_it(shape):
    """For every VPC size AWS allows, the pure layout says the same as aws-cdk-lib's own allocator: the masks it
    gets are the ones `subnet_layout` computed, all subnets lie inside the VPC without overlapping, and `fits` is
    true exactly when CDK can build the VPC with private subnets as large as the shape needs."""
    app = cdk.App(context=CONTEXT)  # committed AZs: the VPC spans exactly `shape.azs` zones
    for mask in range(LARGEST_VPC_MASK, SMALLEST_SUBNET_MASK + 1):
        stack = cdk.Stack(app, f"Vpc{mask}", env=cdk.Environment(account="123456789012", region="us-east-1"))
        vpc_cidr = ipaddress.ip_network(f"10.0.0.0/{mask}")
        layout = subnet_layout(mask, shape.azs)
        try:
            vpc = Network(stack, "Network", NetworkProps(cidr=str(vpc_cidr), max_azs=shape.azs)).vpc
        except RuntimeError as err:  # jsii surfaces CDK's validation error
            assert "is not a valid VPC CIDR range" in str(err)
            assert not fits(shape, mask), mask
            continue
        public = [ipaddress.ip_network(s.ipv4_cidr_block) for s in vpc.public_subnets]
        private = [ipaddress.ip_network(s.ipv4_cidr_block) for s in vpc.private_subnets]
        assert len(public) == len(private) == shape.azs, mask
        assert {n.prefixlen for n in public} == {layout.public_mask}, mask
        assert {n.prefixlen for n in private} == {layout.private_mask}, mask
        subnets = public + private
        assert all(n.subnet_of(vpc_cidr) for n in subnets), mask
        assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:]), mask
        assert fits(shape, mask) == (layout.private_mask <= shape.largest_private_mask), mask


class Resolver:
    """Follows Fn::GetStackOutput from a consumer template to the producing resource."""

    def __init__(self, stacks: dict, assembly) -> None:
        self.json = {n: assembly.get_stack_by_name(n).template for n in stacks}

    def logical_ids(self, stack_name: str, cfn_type: str) -> list[str]:
        return [k for k, v in self.json[stack_name]["Resources"].items() if v["Type"] == cfn_type]

    def resolve(self, value) -> tuple[str, str]:
        """(stack name, logical id) that a weak reference points at."""
        ref = value["Fn::GetStackOutput"]
        output = self.json[ref["StackName"]]["Outputs"][ref["OutputName"]]["Value"]
        return ref["StackName"], output["Ref"]

    def private_route_tables(self, stack_name: str) -> set[tuple[str, str]]:
        """The private subnets' route tables (ec2.Vpc names them after the subnet group, `private`)."""
        tables = {(stack_name, k) for k in self.logical_ids(stack_name, "AWS::EC2::RouteTable")}
        private = {t for t in tables if "privateSubnet" in t[1]}
        assert private and all("publicSubnet" in t[1] for t in tables - private)
        return private

    def vpc(self, stack_name: str) -> tuple[str, str]:
        return stack_name, next(iter(self.logical_ids(stack_name, "AWS::EC2::VPC")))


def network_stack(cfg, name: str) -> str:
    return topology.stack_name(cfg, "bastion") if name == "bastion" else topology.stack_name(cfg, "cluster", name)


def check_peering(raw: dict, synthesized: tuple | None = None) -> None:
    """Every peering's connection and routes, followed through the weak references to the VPCs and route tables:
    routes on both sides in exactly the private route tables, each side in a stack of its own region, each peering
    in the stack `peering_layout` planned, and every peering stack holding exactly the resources and outputs the
    layout counted (the counts the quota checks rely on)."""
    cfg = load_environment({"test": raw}, "test")
    stacks, assembly = synthesized or synth(raw)
    r = Resolver(stacks, assembly)
    expected = topology.peerings(cfg)
    plans = {topology.stack_name(cfg, "peering", plan.qualifier): plan
             for plan in peering_layout.requester_stacks(expected)}
    plans.update({topology.stack_name(cfg, "peer-routes", plan.qualifier): plan
                  for plan in peering_layout.accepter_stacks(expected)})
    planned_in = {(kind, p.id): name for name, plan in plans.items() for p in plan.peerings
                  for kind in (["peer-routes"] if "-peer-routes-" in name else ["peering"])}
    assert {n for n in stacks if "-peering-" in n or "-peer-routes-" in n} == set(plans)
    for name, plan in plans.items():
        assert len(r.json[name]["Resources"]) == plan.resources, name
        assert len(r.json[name].get("Outputs", {})) == plan.outputs, name
        assert stacks[name].region == plan.region
    connections = {}
    for name, t in r.json.items():
        for logical, res in t.get("Resources", {}).items():
            if res["Type"] == "AWS::EC2::VPCPeeringConnection":
                connections[(name, logical)] = res
    assert len(connections) == len(expected)

    for p in expected:
        req_stack = planned_in[("peering", p.id)]
        conn_id, conn = next((k, v) for k, v in connections.items()
                             if k[0] == req_stack and v["Metadata"]["aws:cdk:path"].endswith(f"/{p.id}/Connection"))
        props = conn["Properties"]
        assert r.resolve(props["VpcId"]) == r.vpc(network_stack(cfg, p.requester.name))
        assert r.resolve(props["PeerVpcId"]) == r.vpc(network_stack(cfg, p.accepter.name))
        assert props.get("PeerRegion") == (p.accepter.region if p.cross_region else None)

        acc_stack = planned_in[("peer-routes", p.id)] if p.cross_region else req_stack
        for side_stack, local, peer_cidr in ((req_stack, p.requester, p.accepter.cidr),
                                             (acc_stack, p.accepter, p.requester.cidr)):
            routes = [res["Properties"] for res in r.json[side_stack]["Resources"].values()
                      if res["Type"] == "AWS::EC2::Route" and res["Properties"]["DestinationCidrBlock"] == peer_cidr
                      and _peering_of(r, side_stack, res["Properties"]) == conn_id]
            tables = {r.resolve(rt["RouteTableId"]) for rt in routes}
            assert tables == r.private_route_tables(network_stack(cfg, local.name)), (p.id, side_stack)
            assert len(routes) == len(tables)
            # Each route lives in a stack of the route table's own region.
            assert stacks[side_stack].region == local.region


def _peering_of(r: Resolver, stack: str, props: dict) -> tuple[str, str]:
    value = props["VpcPeeringConnectionId"]
    if "Ref" in value:
        return stack, value["Ref"]
    return r.resolve(value)


@pytest.mark.parametrize("clusters, topo", [(2, "mesh"), (3, "mesh"), (5, "mesh"), (2, "hub"), (3, "hub"), (5, "hub")])
def test_peering_connections_and_routes_on_both_sides(clusters, topo):
    check_peering(environment(clusters, topo))


def test_same_region_clusters_peer_inside_one_stack():
    raw = environment(3)
    raw["clusters"][2]["region"] = "us-east-1"
    check_peering(raw)


def ingress_cidrs(t) -> set[str]:
    rules = resources(t, "AWS::EC2::SecurityGroupIngress").values()
    assert all(r["Properties"]["FromPort"] == 443 == r["Properties"]["ToPort"] for r in rules)
    return {r["Properties"]["CidrIp"] for r in rules if "CidrIp" in r["Properties"]}


@pytest.mark.parametrize("topo", ["mesh", "hub"])
def test_api_servers_accept_443_from_exactly_their_peers(topo):
    raw = environment(4, topo)
    stacks, _ = synth(raw)
    tpl = templates(stacks)
    cidr = {"bastion": raw["bastion"]["cidr"], **{c["name"]: c["cidr"] for c in raw["clusters"]}}
    everyone = set(cidr) - {"bastion"}
    for name in everyone:
        if topo == "mesh" or name == "fed-1":
            peers = {"bastion"} | everyone - {name}
        else:
            peers = {"bastion", "fed-1"}
        assert ingress_cidrs(tpl[f"fedeks-test-cluster-{name}"]) == {cidr[p] for p in peers}, name
    for t in tpl.values():
        assert "0.0.0.0/0" not in {r["Properties"].get("CidrIp")
                                   for r in resources(t, "AWS::EC2::SecurityGroupIngress").values()}


def test_adding_a_cluster_changes_no_existing_logical_id_or_resource():
    before, _ = synth(environment(2))
    after, _ = synth(environment(3))
    t_before, t_after = templates(before), templates(after)
    for name in ("fedeks-test-cluster-fed-1", "fedeks-test-cluster-fed-2", "fedeks-test-bastion"):
        old = t_before[name].to_json()["Resources"]
        new = t_after[name].to_json()["Resources"]
        assert set(old) <= set(new), name
        changed = {new[k]["Type"] for k in old if old[k] != new[k]}
        # The bastion's context list is data in an SSM parameter: the instance is not replaced.
        assert changed <= ({"AWS::SSM::Parameter"} if name.endswith("bastion") else set()), (name, changed)
        added = {new[k]["Type"] for k in set(new) - set(old)}
        assert added <= {"AWS::EC2::SecurityGroupIngress"}, (name, added)  # only fed-3's 443 rule


def test_removing_a_cluster_removes_only_its_peerings():
    three, _ = synth(environment(3))
    two, _ = synth(environment(2))
    old = templates(three)["fedeks-test-peering-us-east-1"].to_json()["Resources"]
    new = templates(two)["fedeks-test-peering-us-east-1"].to_json()["Resources"]
    gone = {old[k]["Metadata"]["aws:cdk:path"].split("/")[1] for k in set(old) - set(new)}
    assert gone == {"bastion-fed-3", "fed-1-fed-3"}
    assert all(old[k] == new[k] for k in new)


def test_peer_443_rules_are_on_the_control_plane_group_which_the_nodes_do_not_carry(three):
    """EKS puts the cluster security group it creates on the API server's ENIs and on every managed node whose
    launch template names no security group; the Cluster's `security_group` goes on the API server's ENIs only
    (EKS User Guide, "View Amazon EKS security group requirements for clusters" and "Customize managed nodes with
    launch templates"). The peers' 443 rules must be on the latter, or 443 on every node opens to the peers."""
    stacks, tpl = three
    for name in cluster_stacks(stacks):
        res = tpl[name].to_json()["Resources"]
        eks_id, eks = next((k, v) for k, v in res.items() if v["Type"] == "AWS::EKS::Cluster")
        (control_plane,) = eks["Properties"]["ResourcesVpcConfig"]["SecurityGroupIds"]
        sg_id = control_plane["Fn::GetAtt"][0]
        assert control_plane == {"Fn::GetAtt": [sg_id, "GroupId"]} and res[sg_id]["Type"] == "AWS::EC2::SecurityGroup"
        rules = [v["Properties"] for v in res.values() if v["Type"] == "AWS::EC2::SecurityGroupIngress"]
        assert rules and all(r["GroupId"] == control_plane and r["FromPort"] == 443 and "CidrIp" in r for r in rules)
        assert "SecurityGroupIngress" not in res[sg_id]["Properties"]
        # The nodes: the launch template names no security group and the node group no remote access, so EKS gives
        # the nodes the cluster security group, which no rule here opens to a peer.
        (nodegroup,) = [v["Properties"] for v in res.values() if v["Type"] == "AWS::EKS::Nodegroup"]
        assert "RemoteAccess" not in nodegroup
        template_id = nodegroup["LaunchTemplate"]["Id"]["Ref"]
        data = res[template_id]["Properties"]["LaunchTemplateData"]
        assert not {"SecurityGroupIds", "SecurityGroups", "NetworkInterfaces"} & set(data)
        assert not any(r["GroupId"] == {"Fn::GetAtt": [eks_id, "ClusterSecurityGroupId"]} for r in rules)
    # The host's API server admits the join Lambda and the workload waiter's on its control-plane group too.
    fed = tpl["fedeks-test-federation"].to_json()["Resources"]
    join_rule, waiter_rule = [fed[k]["Properties"] for k in ("HostApiFromJoinLambda", "HostApiFromWaiterLambda")]
    assert [v for v in fed.values() if v["Type"] == "AWS::EC2::SecurityGroupIngress"] == [
        fed["HostApiFromJoinLambda"], fed["HostApiFromWaiterLambda"]]
    assert waiter_rule["GroupId"] == join_rule["GroupId"]
    rule = join_rule
    ref = rule["GroupId"]["Fn::GetStackOutput"]
    host = tpl[ref["StackName"]].to_json()
    assert ref["StackName"] == "fedeks-test-cluster-fed-1"
    host_eks = next(v for v in host["Resources"].values() if v["Type"] == "AWS::EKS::Cluster")
    host_groups = host_eks["Properties"]["ResourcesVpcConfig"]["SecurityGroupIds"]
    assert host["Outputs"][ref["OutputName"]]["Value"] in host_groups
