"""`peeringTopology: "transitGateway"`: the layout (pure), the config checks, the synthesized resources, the acceptance
handler against botocore's EC2 model, and a three-region federation rehearsed from create to delete with every VPC's
reach checked through the gateways in between."""
from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections import Counter
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from components.tgw_peering_acceptance import handler
from fedtest import environment, scratch_dir, synth
from test_quotas import FORTY_QUOTAS, federation
from federated_eks.config import quotas
from federated_eks.plan import stack_plan, topology, transit_gateway_layout as tgw
from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import QuotasConfig
from federated_eks.plan.stack_tags import KIND_TAG
from rehearsal.__main__ import emulated_kubernetes
from rehearsal.cloudformation import Player, read_assembly
from rehearsal.network import why_not
from rehearsal.world import LambdaFunction, RehearsalFailure
from rehearsal import aws as aws_model

pytestmark = pytest.mark.timeout(900)
P = "environments.test"
TGW = "transitGateway"


def three_regions(**overrides) -> dict:
    """The bastion and fed-1 in us-east-1, fed-2 in us-east-2, fed-3 in us-west-2."""
    return environment(3, TGW, **overrides)


def config(raw: dict):
    return load_environment({"test": raw}, "test")


# --- the layout -----------------------------------------------------------------------------------------------------

def test_summary_routes_cover_each_private_block_with_the_smallest_network():
    assert tgw.summary_routes(["172.20.0.0/16", "172.21.0.0/16", "172.22.0.0/16"]) == ["172.20.0.0/14"]
    assert tgw.summary_routes(["172.20.0.0/16", "172.31.0.0/16"]) == ["172.16.0.0/12"]
    assert tgw.summary_routes(["10.0.0.0/16", "10.16.0.0/20", "192.168.0.0/20", "172.20.0.0/16", "10.9.0.0/16"]) \
        == ["10.0.0.0/11", "172.20.0.0/15", "192.168.0.0/19"]
    # Never a VPC's own CIDR (the `local` route, or a peering's route during a switch): one bit shorter.
    assert tgw.summary_routes(["10.1.2.0/24"]) == ["10.1.2.0/23"]


def test_regions_peer_once_per_pair_the_earlier_name_requesting_whatever_the_cluster_order():
    cfg = config(three_regions())
    assert [p.id for p in tgw.region_peerings(cfg)] == ["us-east-1-us-east-2", "us-east-1-us-west-2",
                                                         "us-east-2-us-west-2"]
    raw = three_regions()
    raw["clusters"].reverse()
    assert tgw.region_peerings(config(raw)) == tgw.region_peerings(cfg)
    east1 = tgw.region_peerings(cfg)[0]
    assert tgw.static_routes(cfg, "us-east-1", east1) == {"fed-2": "172.22.0.0/16"}
    assert tgw.static_routes(cfg, "us-east-2", east1) == {"bastion": "172.20.0.0/16", "fed-1": "172.21.0.0/16"}
    assert topology.peerings(cfg) == []


def test_nothing_grows_per_pair_of_clusters():
    """Over 3 regions, each stack grows by a constant per cluster added (linear), never with the pairs."""
    def counts(n: int) -> list[int]:
        raw = environment(n, TGW, quotas={"vpcsPerRegion": 50, "elasticIpsPerRegion": 50, "natGatewaysPerAz": 50})
        for i, c in enumerate(raw["clusters"]):
            c["region"] = tgw_regions[i % 3]
            c["cidr"] = f"10.{i}.0.0/16"
        cfg = config(raw)
        return [f(cfg, r) for r in tgw_regions for f in (tgw.gateway_stack_resources, tgw.peering_stack_resources,
                                                          tgw.peer_routes_stack_resources)]
    tgw_regions = ["us-east-1", "us-east-2", "us-west-2"]
    c3, c6, c9, c30 = counts(3), counts(6), counts(9), counts(30)
    step = [b - a for a, b in zip(c3, c6)]
    assert step == [b - a for a, b in zip(c6, c9)]
    assert [b - a for a, b in zip(c3, c30)] == [9 * s for s in step]


# --- the config -----------------------------------------------------------------------------------------------------

def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        config(raw)
    return err.value.problems


def test_sixty_clusters_that_a_mesh_and_a_hub_refuse_pass_with_a_transit_gateway():
    raw = federation(60, TGW, quotas={**FORTY_QUOTAS, "rulesPerSecurityGroup": 62})
    cfg = config(raw)
    assert topology.peerings(cfg) == [] and len(tgw.region_peerings(cfg)) == 45  # 10 regions
    assert tgw.vpc_routes(cfg) == ["10.0.0.0/10", "172.20.0.0/15"]  # the clusters' 10.0-10.59, the bastion's
    for mode in ("mesh", "hub"):
        refused = [p for p in problems(dict(raw, peeringTopology=mode)) if "routes per route table" in p]
        assert refused and '"transitGateway" (one transit gateway attachment per VPC, nothing per pair of VPCs)' \
            in refused[0], mode


def test_security_group_rules_count_the_callers_of_api_servers_not_the_pairs_of_clusters():
    """With a gateway, an API server admits the bastion and the host only; what grows with the clusters is the egress
    of the host's Lambdas (one rule per cluster and the EKS API's)."""
    found = problems(federation(60, TGW, quotas=FORTY_QUOTAS))
    assert found == [
        f"{P}.clusters: the security groups of the join and waiter Lambdas would need up to 61 rules (one per "
        "peer VPC or cluster; the host's also the join and waiter Lambdas'; those Lambdas': one per cluster and the "
        "EKS API's), over the quota of 60 rules per security group (quotas.rulesPerSecurityGroup). Fix: fewer "
        "clusters, or raise the quota to 61 or more (Service Quotas: vpc L-0EA8095F) and set "
        "quotas.rulesPerSecurityGroup: 61"]
    cfg = config(federation(60, TGW, quotas={**FORTY_QUOTAS, "rulesPerSecurityGroup": 61}))
    peerings = topology.peerings(cfg)
    assert max(len(topology.api_clients_of(cfg, peerings, c.name)) for c in cfg.clusters) == 2


def test_a_region_whose_gateway_stack_would_not_fit_is_refused_naming_the_stack_and_the_fix():
    raw = federation(90, TGW, first_region=0, regions=2, quotas={
        "vpcsPerRegion": 100, "elasticIpsPerRegion": 100, "natGatewaysPerAz": 40, "rulesPerSecurityGroup": 100})
    found = [p for p in problems(raw) if "transit-gateway" in p]
    assert found == [
        f"{P}.clusters: stack fedeks-test-transit-gateway-us-east-2 would hold 812 resources (per VPC of the region "
        "its attachment and routes, per peering its attachment and a route per remote VPC), over CloudFormation's "
        "limit of 500 resources per stack (not adjustable). Fix: spread the clusters over more regions, or fewer "
        "clusters"]


def test_peering_attachments_over_the_quota_say_the_limit_and_the_fix():
    cfg = dataclasses.replace(config(three_regions()),
                              quotas=QuotasConfig(peering_attachments_per_transit_gateway=1))
    assert [(p.field, p.what, p.fix) for p in quotas.transit_gateway_problems(cfg)] == [(
        "clusters", "the transit gateways of us-east-1, us-east-2, us-west-2 would each have 2 peering attachments "
        "(one per other region of the federation), over the quota of 1 per transit gateway "
        "(quotas.peeringAttachmentsPerTransitGateway)",
        'put the clusters in fewer regions, or raise the quota to 2 or more (Service Quotas: vpc "Peering attachments '
        'per transit gateway") and set quotas.peeringAttachmentsPerTransitGateway: 2')]
    assert config(three_regions(quotas={"peeringAttachmentsPerTransitGateway": 60})).quotas \
        .peering_attachments_per_transit_gateway == 60


# --- the templates --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def assembly():
    """Five regions, us-east-1 holding the bastion and two clusters."""
    raw = environment(6, TGW)
    _, built = synth(raw, name="test", outdir=scratch_dir("tgw-"))
    return config(raw), built


def test_each_stack_holds_what_the_layout_counts_and_no_vpc_peering(assembly):
    cfg, built = assembly
    count = {topology.TRANSIT_GATEWAY_STACK: tgw.gateway_stack_resources, topology.TGW_PEERING_STACK:
             tgw.peering_stack_resources, topology.TGW_PEER_ROUTES_STACK: tgw.peer_routes_stack_resources}
    types: Counter[str] = Counter()
    for planned in stack_plan.plan(cfg):
        resources = built.get_stack_by_name(planned.name).template["Resources"]
        types.update(r["Type"] for r in resources.values())
        if planned.kind in count:
            mine = [r for r in resources.values() if r["Type"] != "AWS::CDK::Metadata"]
            assert len(mine) == count[planned.kind](cfg, planned.region), planned.name
    assert types["AWS::EC2::VPCPeeringConnection"] == 0
    assert types["AWS::EC2::TransitGateway"] == 5 and types["AWS::EC2::TransitGatewayVpcAttachment"] == 7
    assert types["AWS::EC2::TransitGatewayPeeringAttachment"] == 10  # 5 regions: 10 pairs
    assert types["Custom::TransitGatewayPeeringAcceptance"] == 10
    # Static routes: each of the 10 peerings, both sides, one per VPC of the other region (7 VPCs in all).
    assert types["AWS::EC2::TransitGatewayRoute"] == sum(
        len(tgw.static_routes(cfg, side, p)) for p in tgw.region_peerings(cfg) for side in (p.requester, p.accepter))


def test_vpc_attachments_use_the_private_subnets_and_each_private_table_gets_the_summary(assembly):
    cfg, built = assembly
    template = built.get_stack_by_name("fedeks-test-transit-gateway-us-east-1").template["Resources"]
    attachments = [r for r in template.values() if r["Type"] == "AWS::EC2::TransitGatewayVpcAttachment"]
    assert len(attachments) == 3 and all(len(a["Properties"]["SubnetIds"]) in (2, 3) for a in attachments)
    assert all("privateSubnet" in json.dumps(a["Properties"]["SubnetIds"]) for a in attachments)
    routes = [r for r in template.values() if r["Type"] == "AWS::EC2::Route"]
    assert len(routes) == 2 + 3 + 3  # bastion 2 AZs, clusters 3: one summary route each
    assert {r["Properties"]["DestinationCidrBlock"] for r in routes} == set(tgw.vpc_routes(cfg)) == {"172.16.0.0/12"}
    assert all("privateSubnet" in json.dumps(r["Properties"]["RouteTableId"]) and r.get("DependsOn")
               for r in routes)
    gateway = next(r for r in template.values() if r["Type"] == "AWS::EC2::TransitGateway")["Properties"]
    assert gateway["DefaultRouteTableAssociation"] == gateway["DefaultRouteTablePropagation"] == "disable"


def test_every_api_server_admits_443_from_exactly_the_vpcs_that_call_it(assembly):
    """The bastion and the host call API servers (operators; the engine, the join and the waiter); members do not
    call each other's, so the rules grow with the clusters, not with their pairs."""
    cfg, built = assembly
    cidr = {v.name: v.cidr for v in topology.vpcs(cfg)}
    for c in cfg.clusters:
        template = built.get_stack_by_name(topology.stack_name(cfg, topology.CLUSTER_STACK, c.name)).template
        rules = {r["Properties"]["CidrIp"] for r in template["Resources"].values()
                 if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"].get("FromPort") == 443
                 and "CidrIp" in r["Properties"]}
        callers = {topology.BASTION, cfg.host_cluster} - {c.name}
        assert rules == {cidr[n] for n in callers}, c.name


def test_a_host_move_keeps_the_previous_host_calling_every_api_server():
    raw = three_regions(hostCluster="fed-2", previousHostCluster="fed-1")
    raw["clusters"][1]["region"] = "us-east-1"  # a move within the host's region (across regions is refused)
    cfg = config(raw)
    peerings = topology.peerings(cfg)
    for c in cfg.clusters:
        names = {v.name for v in topology.api_clients_of(cfg, peerings, c.name)}
        assert names == {topology.BASTION, cfg.host_cluster, cfg.previous_host_cluster} - {c.name}, c.name


def test_the_acceptance_may_accept_only_its_stacks_attachments_in_the_accepter_region(assembly):
    cfg, built = assembly
    template = built.get_stack_by_name("fedeks-test-tgw-peering-us-east-2").template["Resources"]
    accepts = [s for r in template.values() if r["Type"] == "AWS::IAM::Policy"
               for s in r["Properties"]["PolicyDocument"]["Statement"]
               if s["Action"] == "ec2:AcceptTransitGatewayPeeringAttachment"]
    regions = sorted(json.dumps(s["Resource"]).split(":ec2:")[1].split(":")[0] for s in accepts)
    assert regions == sorted(p.accepter for p in tgw.requested_from(cfg, "us-east-2"))
    assert all("transit-gateway-attachment/" in json.dumps(s["Resource"]) and "*" not in json.dumps(s["Resource"])
               for s in accepts)


# --- the acceptance handler, against botocore's EC2 model -----------------------------------------------------------

def stubbed(region: str = "us-west-2"):
    client = boto3.client("ec2", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def described(state: str) -> dict:
    return {"TransitGatewayPeeringAttachments": [{"TransitGatewayAttachmentId": "tgw-attach-1", "State": state}]}


EVENT = {"RequestType": "Create", "ResourceProperties": {"TransitGatewayAttachmentId": "tgw-attach-1",
                                                         "AccepterRegion": "us-west-2"}}


def test_the_handler_accepts_a_pending_acceptance_then_waits_until_available():
    client, stub = stubbed()
    ids = {"TransitGatewayAttachmentIds": ["tgw-attach-1"]}
    stub.add_response("describe_transit_gateway_peering_attachments", described("pendingAcceptance"), ids)
    stub.add_response("accept_transit_gateway_peering_attachment", {}, {"TransitGatewayAttachmentId": "tgw-attach-1"})
    stub.add_response("describe_transit_gateway_peering_attachments", described("pending"), ids)
    stub.add_response("describe_transit_gateway_peering_attachments", described("available"), ids)
    with stub:
        assert handler.on_event(EVENT, None, ec2=client) == {"PhysicalResourceId": "tgw-attach-1"}
        assert handler.is_complete(EVENT, None, ec2=client) == {"IsComplete": False}
        assert handler.is_complete(EVENT, None, ec2=client) == {"IsComplete": True}
    stub.assert_no_pending_responses()


def test_the_handler_refuses_a_rejected_attachment_and_does_nothing_on_delete():
    client, stub = stubbed()
    stub.add_response("describe_transit_gateway_peering_attachments", described("rejected"),
                      {"TransitGatewayAttachmentIds": ["tgw-attach-1"]})
    with stub, pytest.raises(RuntimeError, match="tgw-attach-1 is rejected, it cannot be accepted"):
        handler.on_event(EVENT, None, ec2=client)
    delete = {**EVENT, "RequestType": "Delete", "PhysicalResourceId": "tgw-attach-1"}
    assert handler.on_event(delete, None, ec2=None) == {"PhysicalResourceId": "tgw-attach-1"}
    assert handler.is_complete(delete, None, ec2=None) == {"IsComplete": True}


# --- the rehearsal --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rehearsal_assembly():
    _, built = synth(three_regions(), name="tgw", outdir=scratch_dir("tgw-rehearsal-"))
    return Path(built.directory)


def player_for(folder: Path, tmp_path: Path, edit=None) -> Player:
    stacks = read_assembly(folder)
    if edit:
        for s in stacks:
            edit(s)
    return Player(stacks, emulated_kubernetes(tmp_path / "kubernetes"), lambda line: None)


def probe(player: Player, vpc_cidr: str) -> LambdaFunction:
    """A function in the private subnets of the VPC of `vpc_cidr`, allowed all egress (what the join Lambda, the
    bastion or a workload would be)."""
    aws = player.aws
    vpc = next(v for v in aws.vpcs.values() if v.cidr == vpc_cidr)
    private = tuple(s.id for s in aws.subnets.values() if s.vpc == vpc.id
                    and any(t.startswith("nat-") for t in aws.route_table_of(s.id).routes.values()))
    group = aws_model.physical_id("sg-", "probe", vpc.id)
    aws.security_groups[group] = aws_model.SecurityGroup(group, vpc.id, vpc.region, [],
                                                         [aws_model.Rule("-1", 0, 65535, cidr="0.0.0.0/0")])
    return LambdaFunction(stack="probe", logical_id=vpc.id, asset_dir=None, handler="", environment={},
                          timeout_seconds=3, security_groups=(group,), subnets=private)


def test_three_regions_rehearse_and_every_vpc_reaches_every_other_through_the_gateways(rehearsal_assembly,
                                                                                      tmp_path):
    """Every VPC routes to every other through the gateways (both ways); the API servers' security groups then admit
    exactly their callers, the bastion and the host: a member's packets reach another member's API server's subnet
    and stop at its security group."""
    cfg = load_environment({"tgw": three_regions()}, "tgw")
    player = player_for(rehearsal_assembly, tmp_path)
    player.create_all()
    clusters = {c.name: player.aws.clusters[topology.eks_cluster_name(cfg, c.name)] for c in cfg.clusters}
    callers = {topology.BASTION, cfg.host_cluster}
    for vpc in topology.vpcs(cfg):
        function = probe(player, vpc.cidr)
        for name, cluster in clusters.items():
            if name != vpc.name:
                reason = why_not(player.aws, function, cluster)
                if vpc.name in callers:
                    assert reason is None, (vpc.name, name)
                else:
                    assert reason is not None and reason.startswith("no ingress rule on"), (vpc.name, name, reason)
    # The control: without the static routes of one peering, us-east-2 and us-west-2 no longer reach each other (no
    # route, before any security group), the rest still does.
    east2_west2 = next(a for a in player.aws.tgw_attachments.values()
                       if len(a.regions) == 2 and set(a.regions) == {"us-east-2", "us-west-2"})
    removed = {(t.id, c): a for t in player.aws.tgw_route_tables.values() for c, a in t.routes.items()
               if a == east2_west2.id}
    for table_id, cidr in removed:
        del player.aws.tgw_route_tables[table_id].routes[cidr]
    assert "no route" in why_not(player.aws, probe(player, "172.22.0.0/16"), clusters["fed-3"])
    assert why_not(player.aws, probe(player, "172.21.0.0/16"), clusters["fed-3"]) is None  # the host, by us-east-1
    for (table_id, cidr), attachment in removed.items():  # put back: the delete must still run clean
        player.aws.tgw_route_tables[table_id].routes[cidr] = attachment
    for vpc in topology.vpcs(cfg):  # and the probes' security groups go (a VPC with one cannot be deleted)
        player.aws.security_groups.pop(probe(player, vpc.cidr).security_groups[0])
    player.delete_all()
    assert player.summary.created == player.summary.deleted + player.summary.retained
    assert player.aws.vpcs == {} and player.aws.transit_gateways == {} and player.aws.tgw_attachments == {}


def play_until_failure(folder: Path, tmp_path: Path, edit) -> RehearsalFailure:
    player = player_for(folder, tmp_path, edit)
    with pytest.raises(RehearsalFailure) as failure:
        player.create_all()
    return failure.value


def test_a_static_route_to_a_peering_not_yet_accepted_is_refused(rehearsal_assembly, tmp_path):
    """The routes name the acceptance (so they wait for it); named the attachment, they are created before it is
    accepted, and EC2 refuses them."""
    def edit(stack) -> None:
        if "-tgw-peering-us-east-1" in stack.name:
            resources = stack.template["Resources"]
            for resource in resources.values():
                if resource["Type"] == "AWS::EC2::TransitGatewayRoute":
                    peering = resource["Properties"]["TransitGatewayAttachmentId"]["Ref"].split("Acceptance")[0]
                    attachment = next(k for k, r in resources.items() if k.startswith(peering + "Attachment")
                                      and r["Type"] == "AWS::EC2::TransitGatewayPeeringAttachment")
                    resource["Properties"]["TransitGatewayAttachmentId"] = {"Ref": attachment}
    error = play_until_failure(rehearsal_assembly, tmp_path, edit)
    assert "is pendingAcceptance, not available (IncorrectState)" in str(error)
    assert "tgw-peering-us-east-1" in error.stack


def test_accepting_from_the_requester_region_is_refused(rehearsal_assembly, tmp_path):
    def edit(stack) -> None:
        if "-tgw-peering-us-east-1" in stack.name:
            for resource in stack.template["Resources"].values():
                if resource["Type"] == "Custom::TransitGatewayPeeringAcceptance":
                    resource["Properties"]["AccepterRegion"] = "us-east-1"
    error = play_until_failure(rehearsal_assembly, tmp_path, edit)
    assert "can only be accepted in its accepter's region" in str(error) and "not in us-east-1" in str(error)


def test_a_route_to_a_gateway_the_vpc_is_not_attached_to_is_refused(rehearsal_assembly, tmp_path):
    def edit(stack) -> None:
        if "-transit-gateway-us-east-2" in stack.name:
            resources = stack.template["Resources"]
            attachment = [k for k, r in resources.items() if r["Type"].startswith("AWS::EC2::TransitGatewayRouteTable")
                          and r["Type"] != "AWS::EC2::TransitGatewayRouteTable"
                          or r["Type"] == "AWS::EC2::TransitGatewayVpcAttachment"]
            for k in attachment:
                del resources[k]
            for resource in resources.values():
                resource.pop("DependsOn", None)
    error = play_until_failure(rehearsal_assembly, tmp_path, edit)
    assert "has no available attachment to transit gateway" in str(error) and "transit-gateway-us-east-2" in error.stack


def test_make_topology_draws_the_gateways_and_states_their_hourly_cost():
    from federated_eks.plan.diagram import render

    text = render(config(three_regions()))
    assert text.count('(["transit gateway"])') == 3 and text.count("-->|TGW peering|") == 3
    assert "4 VPC attachments and 3 gateway peerings (an attachment on each side): 10 attachments at $0.05 per " \
           "hour, ~$365 a month" in text
    assert "Transit Gateway cost" not in render(config(environment(3)))


def test_switching_a_deployed_mesh_to_transit_gateway_keeps_every_path_then_prune_moves_it(tmp_path):
    """docs/concepts/transit-gateway.md "Switching": the deploy adds the gateways while the peerings stay (their
    routes are more specific than the summary, so traffic stays on them), `make prune` deletes the peering stacks
    and the same paths run through the gateways; then the whole environment deletes clean."""
    def assembly(mode: str) -> list:
        _, built = synth(three_regions(peeringTopology=mode), name="sw", outdir=scratch_dir("tgw-switch-"))
        return read_assembly(Path(built.directory))

    cfg = load_environment({"sw": three_regions()}, "sw")
    player = Player(assembly("mesh"), emulated_kubernetes(tmp_path / "kubernetes"), lambda line: None)
    player.create_all()
    then = assembly(TGW)
    left = player.deploy(then)
    kinds = {n: player.stacks[n].tags[KIND_TAG] for n in left}
    assert left and set(kinds.values()) == {topology.PEERING_STACK, topology.PEER_ROUTES_STACK}, kinds

    def targets() -> set[str]:
        """The first hop of every VPC's traffic to every API server, after checking that it gets there: admitted from
        the callers of API servers (the bastion, the host), routed to the API server's security group from the rest
        (a gateway's API servers admit their callers only; topology.api_clients_of)."""
        hops = set()
        for vpc in topology.vpcs(cfg):
            function = probe(player, vpc.cidr)
            for c in cfg.clusters:
                cluster = player.aws.clusters[topology.eks_cluster_name(cfg, c.name)]
                if c.name != vpc.name:
                    reason = why_not(player.aws, function, cluster)
                    if vpc.name in (topology.BASTION, cfg.host_cluster):
                        assert reason is None, (vpc.name, c.name)
                    else:
                        assert reason is None or reason.startswith("no ingress rule on"), (vpc.name, c.name, reason)
                    destination = player.aws.subnets[cluster.subnets[0]].cidr
                    hops.add(next(t for d, t in sorted(player.aws.route_table_of(function.subnets[0]).routes.items(),
                                                       key=lambda kv: -int(kv[0].split("/")[1]))
                                  if ipaddress.ip_network(destination).subnet_of(ipaddress.ip_network(d)))[:4])
            player.aws.security_groups.pop(function.security_groups[0])
        return hops

    assert targets() == {"pcx-"}
    player.delete_after_update([], left)  # make prune: the peering stacks only
    assert player.aws.peerings == {} and targets() == {"tgw-"}
    player.delete_after_update(then, [])
    assert player.aws.vpcs == {} and player.aws.transit_gateways == {}
