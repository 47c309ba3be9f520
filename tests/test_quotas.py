"""AWS limits: the quota checks over the model (no CDK), the `quotas` field, and the peering stack layout's
arithmetic (synthesized counts are checked in test_network.py and test_scale.py)."""
from __future__ import annotations

import dataclasses

import pytest

from fedtest import ENVIRONMENTS, environment
from federated_eks.plan import peering_layout, topology
from federated_eks.config import quotas
from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import QuotasConfig

P = "environments.test"
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-southeast-1", "ap-southeast-2", "ap-northeast-1"]


def federation(n: int, topology_: str = "mesh", first_region: int = 8, regions: int = 10, **overrides) -> dict:
    """`n` clusters: the first `first_region` in us-east-1 (with the bastion and the host), the others spread
    round-robin over the next `regions - 1` regions; CIDRs 10.<i>.0.0/16."""
    placed = ["us-east-1"] * min(first_region, n)
    others = REGIONS[1:regions]
    placed += [others[i % len(others)] for i in range(n - len(placed))]
    raw = environment(0, topology_, **overrides)
    raw["clusters"] = [{"name": f"fed-{i + 1}", "region": r, "cidr": f"10.{i}.0.0/16"} for i, r in enumerate(placed)]
    return raw


# The quotas a 40-cluster federation with 8 clusters (and the bastion) in us-east-1 needs raised; tests/test_scale.py
# synthesizes it.
FORTY_QUOTAS = {"vpcsPerRegion": 9, "elasticIpsPerRegion": 9}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_environment({"test": raw}, "test")
    return err.value.problems


def test_sixty_clusters_in_a_mesh_are_refused_naming_each_limit_and_the_fixes():
    found = problems(federation(60, quotas=FORTY_QUOTAS))
    assert found == [
        f"{P}.clusters: the private route tables of bastion, fed-1, fed-2, fed-3 and 57 more need up to 61 routes "
        "(one per peer VPC and the NAT default route), over the quota of 50 routes per route table "
        '(quotas.routesPerRouteTable). Fix: use "peeringTopology": "hub" (only the bastion and the host peer with '
        'every VPC) or "transitGateway" (one transit gateway attachment per VPC, nothing per pair of VPCs), fewer '
        "clusters, or raise the quota to 61 or more (Service Quotas: vpc L-93826ACB) and set "
        "quotas.routesPerRouteTable: 61",
        f"{P}.clusters: bastion, fed-1, fed-2, fed-3 and 57 more would have up to 60 active VPC peering connections, "
        "over the quota of 50 per VPC (quotas.peeringsPerVpc). Fix: use \"peeringTopology\": \"hub\" (only the "
        "bastion and the host peer with every VPC) or \"transitGateway\" (one transit gateway attachment per VPC, "
        "nothing per pair of VPCs), fewer clusters, or raise the quota to 60 or more (Service "
        "Quotas: vpc L-7E9ECCDB) and set quotas.peeringsPerVpc: 60",
        # fed-1, the host: 60 peer VPCs and the join and waiter Lambdas; the Lambdas' groups: 60 clusters and EKS.
        f"{P}.clusters: the security groups of fed-1, the join and waiter Lambdas would need up to 62 rules (one per "
        "peer VPC or cluster; the host's also the join and waiter Lambdas'; those Lambdas': one per cluster and the "
        "EKS API's), over "
        "the quota of 60 rules per security group (quotas.rulesPerSecurityGroup). Fix: use \"peeringTopology\": "
        "\"hub\" (only the bastion and the host peer with every VPC), fewer clusters, or raise the quota to 62 or "
        "more (Service Quotas: vpc L-0EA8095F) and set quotas.rulesPerSecurityGroup: 62",
    ]


def test_sixty_clusters_pass_in_a_hub_with_the_quotas_it_needs_raised():
    raw = federation(60, "hub")
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == [f"{P}.clusters"] * 3 + [f"{P}.natGateways", f"{P}.clusters"]
    # A hub at its limits: the way out is a transit gateway.
    assert "bastion, fed-1 need up to 61 routes" in found[0]
    assert 'Fix: use "peeringTopology": "transitGateway" (one transit gateway attachment per VPC, nothing per pair ' \
        'of VPCs), fewer clusters, or raise the quota to 61' in found[0]
    raw["quotas"] = {"routesPerRouteTable": 61, "peeringsPerVpc": 60, "vpcsPerRegion": 9,
                     "elasticIpsPerRegion": 9, "rulesPerSecurityGroup": 62}
    cfg = load_environment({"test": raw}, "test")
    assert cfg.quotas == QuotasConfig(61, 60, 9, 9, 62)


def test_forty_clusters_need_only_vpcs_and_eips_raised_in_the_crowded_region():
    for topo in ("mesh", "hub"):
        found = problems(federation(40, topo))
        assert found == [
            f"{P}.clusters: federation VPCs per region: us-east-1 (9), over the quota of 5 VPCs per region "
            "(quotas.vpcsPerRegion; a default VPC or any other VPC in the account counts too). Fix: put fewer "
            "clusters in a region, or raise the quota to 9 or more (Service Quotas: vpc L-F678F1CE) and set "
            "quotas.vpcsPerRegion: 9",
            f"{P}.natGateways: Elastic IPs per region (one per NAT gateway: 1 per cluster VPC, 1 for the bastion's): "
            "us-east-1 (9), over the quota of 5 per region (quotas.elasticIpsPerRegion; other Elastic IPs in the "
            "account count too). Fix: put fewer clusters in a region, or raise the quota to 9 or more (Service "
            "Quotas: ec2 L-0263D0A3) and set quotas.elasticIpsPerRegion: 9"]
        load_environment({"test": federation(40, topo, quotas=FORTY_QUOTAS)}, "test")


@pytest.mark.parametrize("n", [49, 50])
def test_routes_per_table_at_the_limit(n):
    """A mesh of n clusters gives each of its n + 1 VPCs n peers, so n + 1 routes per private route table: 49
    clusters fit the default 50, 50 clusters do not (and nothing else is over)."""
    raw = federation(n, quotas=FORTY_QUOTAS)
    if n == 49:
        load_environment({"test": raw}, "test")
    else:
        found = problems(raw)
        assert len(found) == 1
        assert found[0].startswith(f"{P}.clusters: the private route tables of bastion, fed-1, fed-2, fed-3 and 47 "
                                   "more need up to 51 routes")


def test_routes_limit_counts_the_nat_route():
    cfg = load_environment({"test": federation(40, quotas=FORTY_QUOTAS)}, "test")
    peerings = topology.peerings(cfg)
    tight = QuotasConfig(routes_per_route_table=40, vpcs_per_region=9, elastic_ips_per_region=9)
    found = quotas.check(dataclasses.replace(cfg, quotas=tight), peerings)
    assert len(found) == 1 and "need up to 41 routes" in found[0].what and "routesPerRouteTable: 41" in found[0].fix
    enough = QuotasConfig(routes_per_route_table=41, vpcs_per_region=9, elastic_ips_per_region=9)
    assert quotas.check(dataclasses.replace(cfg, quotas=enough), peerings) == []


def test_elastic_ips_follow_nat_gateways():
    raw = environment(2, natGateways=3)
    raw["clusters"][1]["region"] = "us-east-1"  # bastion 1 + 3 + 3 NAT gateways in us-east-1
    found = problems(raw)
    assert found == [
        f"{P}.natGateways: Elastic IPs per region (one per NAT gateway: 3 per cluster VPC, 1 for the bastion's): "
        "us-east-1 (7), over the quota of 5 per region (quotas.elasticIpsPerRegion; other Elastic IPs in the "
        "account count too). Fix: set natGateways to 1, put fewer clusters in a region, or raise the quota to 7 or "
        "more (Service Quotas: ec2 L-0263D0A3) and set quotas.elasticIpsPerRegion: 7"]


def test_a_quota_aws_cannot_raise_that_far_and_a_stack_that_cannot_fit_say_so():
    """130 clusters in a hub: the hubs would need 130 peerings (AWS's maximum is 125), and fed-1 alone requests 129
    peerings with 3 routes each (and 3 more for each accepter in its region): 543 resources, one stack's worth
    that cannot be split."""
    raw = federation(130, "hub", first_region=10, quotas={"vpcsPerRegion": 14, "elasticIpsPerRegion": 14,
                                                          "routesPerRouteTable": 1000, "peeringsPerVpc": 125,
                                                          "rulesPerSecurityGroup": 200})
    raw["clusters"] = [dict(c, cidr=f"10.{i // 2}.{128 * (i % 2)}.0/17") for i, c in enumerate(raw["clusters"])]
    found = problems(raw)
    assert found == [
        f"{P}.clusters: bastion, fed-1 would have up to 130 active VPC peering connections, over the quota of 125 per "
        "VPC (quotas.peeringsPerVpc). Fix: use \"peeringTopology\": \"transitGateway\" (one transit gateway "
        "attachment per VPC, nothing per pair of VPCs), or fewer clusters (raising quotas.peeringsPerVpc cannot help: "
        "AWS allows at most 125)",
        f"{P}.clusters: stack fedeks-test-peering-us-east-1-fed-1 would hold 543 resources and 120 outputs, over "
        "CloudFormation's limits of 500 resources and 200 outputs per stack (not adjustable). Fix: use "
        "\"peeringTopology\": \"transitGateway\" (one transit gateway attachment per VPC, nothing per pair of VPCs), "
        "or fewer clusters (one VPC's peerings always share a stack)"]


def test_quotas_field_is_checked():
    assert problems(environment(quotas={"routesPerRouteTable": 20, "peeringsPerVpc": 200, "vpcs": 3})) == [
        f"{P}.quotas.vpcs: unknown field. Fix: remove it or use one of: routesPerRouteTable, peeringsPerVpc, "
        "vpcsPerRegion, elasticIpsPerRegion, rulesPerSecurityGroup, natGatewaysPerAz, eksClustersPerRegion, "
        "peeringAttachmentsPerTransitGateway",
        f"{P}.quotas.routesPerRouteTable: 20 is out of range. Fix: set the quota your account has (Service Quotas "
        "shows it): from AWS's default 50 up to AWS's maximum 1000",
        f"{P}.quotas.peeringsPerVpc: 200 is out of range. Fix: set the quota your account has (Service Quotas shows "
        "it): from AWS's default 50 up to AWS's maximum 125"]
    assert load_environment({"test": environment()}, "test").quotas == QuotasConfig()


def test_the_sample_environments_fit_the_default_quotas_in_one_stack_per_region():
    for name in ("dev", "prod"):
        cfg = load_environment(ENVIRONMENTS, name)
        assert cfg.quotas == QuotasConfig()
        peerings = topology.peerings(cfg)
        plans = peering_layout.requester_stacks(peerings) + peering_layout.accepter_stacks(peerings)
        assert all(p.qualifier == p.region for p in plans)  # the stack names deployed environments have


def test_a_region_whose_peerings_do_not_fit_gets_one_stack_per_requesting_vpc():
    cfg = load_environment({"test": federation(40, quotas=FORTY_QUOTAS)}, "test")
    peerings = topology.peerings(cfg)
    requesters = peering_layout.requester_stacks(peerings)
    east = [p for p in requesters if p.region == "us-east-1"]
    assert [p.qualifier for p in east] == ["us-east-1-bastion"] + [f"us-east-1-fed-{i}" for i in range(1, 9)]
    whole = sum(p.resources for p in east)
    assert whole > peering_layout.RESOURCE_BUDGET  # why it was split
    assert all(p.fits for p in requesters + peering_layout.accepter_stacks(peerings))
    # Every peering in exactly one requester stack, and cross-region ones in exactly one accepter stack.
    ids = [p.id for plan in requesters for p in plan.peerings]
    assert sorted(ids) == sorted(p.id for p in peerings)
    accepted = [p.id for plan in peering_layout.accepter_stacks(peerings) for p in plan.peerings]
    assert sorted(accepted) == sorted(p.id for p in peerings if p.cross_region)


def test_resource_and_output_counts_per_peering():
    cfg = load_environment({"test": environment(3)}, "test")
    by_id = {p.id: p for p in topology.peerings(cfg)}
    same = by_id["bastion-fed-1"]      # both in us-east-1: connection, 2 bastion routes, 3 fed-1 routes
    cross = by_id["fed-1-fed-2"]       # us-east-1 -> us-east-2: connection and 3 routes; 3 routes in us-east-2
    assert (peering_layout.requester_resources(same), peering_layout.requester_outputs(same)) == (6, 0)
    assert (peering_layout.requester_resources(cross), peering_layout.requester_outputs(cross)) == (4, 1)
    assert peering_layout.accepter_resources(cross) == 3


@pytest.mark.parametrize("n, first_region, resources", [(9, 9, 306), (16, 5, 353)],
                         ids=["bastion+9-in-one-region", "16-with-5-first"])
def test_the_layouts_that_passed_500_resources_before_now_fit(n, first_region, resources):
    """Layouts like the two of issue 10 that failed synth with TooManyResourcesInStack (568 and 516 resources in
    peering-us-east-1): with routes in the private route tables only, us-east-1's peerings fit one stack again."""
    raw = federation(n, first_region=first_region, quotas={"vpcsPerRegion": 10, "elasticIpsPerRegion": 10})
    cfg = load_environment({"test": raw}, "test")
    peerings = topology.peerings(cfg)
    plans = peering_layout.requester_stacks(peerings) + peering_layout.accepter_stacks(peerings)
    assert all(p.fits for p in plans)
    (east,) = [p for p in peering_layout.requester_stacks(peerings) if p.region == "us-east-1"]
    assert (east.qualifier, east.resources) == ("us-east-1", resources)


def test_peering_requests_pending_at_once_stay_at_twenty_per_region():
    """A connection waits for the one `pending_window` places before it; a region's stacks share the 20."""
    cfg = load_environment({"test": federation(40, quotas=FORTY_QUOTAS)}, "test")
    plans = peering_layout.requester_stacks(topology.peerings(cfg))
    east = [p for p in plans if p.region == "us-east-1"]
    assert {p.pending_window for p in east} == {2}  # nine stacks: 20 // 9
    assert peering_layout.pending_at_most(plans, "us-east-1") == 18
    first = east[0]  # the bastion's 40 peerings: 2 chains of 20
    waits = first.waits_for()
    ids = [p.id for p in first.peerings]
    assert len(ids) == 40 and waits[ids[2]] == ids[0] and waits[ids[39]] == ids[37]
    assert [i for i in ids if i not in waits] == ids[:2]
    # A region whose peerings need more than 20 stacks (one per requesting VPC) cannot keep to 20: refused.
    assert problems(federation(24, first_region=24, quotas={"vpcsPerRegion": 25, "elasticIpsPerRegion": 25,
                                                            "natGatewaysPerAz": 9})) == [
        f"{P}.clusters: us-east-1's 24 peering stacks deploy in parallel with 24 VPC peering requests pending at "
        "once, over the 20 federated-eks allows under AWS's quota of outstanding peering requests (25 by default, "
        "vpc L-DC9F7029). Fix: use \"peeringTopology\": \"hub\" (only the bastion and the host peer with every "
        "VPC) or \"transitGateway\" (one transit gateway attachment per VPC, nothing per pair of VPCs), or fewer "
        "clusters in the region"]


# --- security-group rules, per engine ----------------------------------------------------------------------------

@pytest.mark.parametrize("engine, host_rules, lambda_rules", [("kubefed", 3, 61), ("karmada", 2, 62)])
def test_security_group_rules_are_counted_from_what_each_engine_builds(engine, host_rules, lambda_rules):
    """60 clusters with a transit gateway (an API server admits its callers: the bastion, and on members the host):
    KubeFed's host also admits its join and waiter Lambdas (3), each of their groups sends to 60 clusters and EKS
    (61); Karmada's host admits its one join Lambda (2), whose group also sends to karmada-apiserver's node port
    (62). What grows with the clusters is the Lambdas' egress, not the API servers' ingress."""
    raw = federation(60, "transitGateway", engine=engine, quotas={"vpcsPerRegion": 9, "elasticIpsPerRegion": 9})
    cfg = load_environment({"test": dict(raw, quotas={**raw["quotas"], "rulesPerSecurityGroup": 62})}, "test")
    rules = quotas.security_group_rules(cfg, topology.peerings(cfg))
    lambdas = quotas.SECURITY_GROUP_RULES[engine][2]
    assert (rules["fed-1"], rules[lambdas], rules["fed-2"]) == (host_rules, lambda_rules, 2)
    (problem,) = problems(raw)
    assert f"would need up to {lambda_rules} rules" in problem and f"rulesPerSecurityGroup: {lambda_rules}" in problem
    worst = {"kubefed": "the join and waiter Lambdas", "karmada": "the Karmada join Lambda"}[engine]
    assert f"the security groups of {worst} would need" in problem


@pytest.mark.parametrize("engine, passing", [("kubefed", 59), ("karmada", 58)])
def test_at_the_security_group_limit_the_engines_lambda_group_decides(engine, passing):
    """With the default 60 rules, the engine's most crowded group decides: the Lambdas' egress (KubeFed: N + 1,
    Karmada: N + 2, with the node port)."""
    quota = {"vpcsPerRegion": 9, "elasticIpsPerRegion": 9}
    load_environment({"test": federation(passing, "transitGateway", engine=engine, quotas=quota)}, "test")
    (problem,) = problems(federation(passing + 1, "transitGateway", engine=engine, quotas=quota))
    assert "would need up to 61 rules" in problem


def synthesized_rules(assembly) -> dict[tuple[str, str], tuple[int, int]]:
    """(stack, group) -> (inbound, outbound) rules of every security group of the synthesized assembly: its inline
    rules and the rule resources of any stack naming it (directly, or through another stack's output)."""
    templates_ = {s.stack_name: s.template for s in assembly.stacks}
    count: dict[tuple[str, str], list[int]] = {}

    def group_of(stack: str, ref) -> tuple[str, str]:
        if "Fn::GetStackOutput" in ref:
            out = ref["Fn::GetStackOutput"]
            return group_of(out["StackName"], templates_[out["StackName"]]["Outputs"][out["OutputName"]]["Value"])
        if "Fn::GetAtt" in ref:
            return stack, ref["Fn::GetAtt"][0] + ("" if ref["Fn::GetAtt"][1] == "GroupId" else "." + ref["Fn::GetAtt"][1])
        raise AssertionError(f"unexpected security group reference {ref} in {stack}")

    for stack, template in templates_.items():
        for key, r in template.get("Resources", {}).items():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::EC2::SecurityGroup":
                c = count.setdefault((stack, key), [0, 0])
                c[0] += len(props.get("SecurityGroupIngress", []))
                c[1] += len(props.get("SecurityGroupEgress", []))
            elif r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                c = count.setdefault(group_of(stack, props["GroupId"]), [0, 0])
                c[r["Type"].endswith("Egress")] += 1
    return {k: (i, o) for k, (i, o) in count.items()}


@pytest.mark.parametrize("engine", ["kubefed", "karmada"])
def test_the_counts_are_the_synthesized_rules(engine):
    """The check's count of each growing group is what synth makes (4 clusters, a mesh): the host's API server's
    inbound rules and the engine's Lambda groups' outbound rules; no other group has more."""
    from fedtest import synth

    raw = environment(4, engine=engine)
    cfg = load_environment({"test": raw}, "test")
    rules = quotas.security_group_rules(cfg, topology.peerings(cfg))
    _, assembly = synth(raw)
    found = synthesized_rules(assembly)
    federation_groups = {k: v for k, v in found.items() if k[0] == "fedeks-test-federation"}
    lambdas = quotas.SECURITY_GROUP_RULES[engine][2]
    assert sorted(o for i, o in federation_groups.values()) == [rules[lambdas]] * (2 if engine == "kubefed" else 1)
    host_api = max(i for (stack, _), (i, _) in found.items() if stack == "fedeks-test-cluster-fed-1")
    assert host_api == rules["fed-1"]
    assert max(max(v) for v in found.values()) == max(rules.values())


@pytest.mark.parametrize("engine, passing", [("kubefed", 59), ("karmada", 58)])
def test_a_config_at_the_security_group_limit_synthesizes_with_every_group_within_the_quota(engine, passing):
    """The most clusters a transit gateway passes the check with at the default 60 rules per security group (one
    more does not: above); synthesized, no security group of any stack has more than 60 inbound or 60 outbound
    rules, and exactly the engine's Lambda groups (KubeFed: the join's and the waiter's; Karmada: the join's) have 60.
    (One synth per engine, about a minute each.)"""
    from fedtest import synth

    raw = federation(passing, "transitGateway", engine=engine, quotas={"vpcsPerRegion": 9, "elasticIpsPerRegion": 9})
    cfg = load_environment({"test": raw}, "test")
    _, assembly = synth(raw)
    found = synthesized_rules(assembly)
    assert max(max(v) for v in found.values()) == cfg.quotas.rules_per_security_group == 60
    crowded = {k for k, v in found.items() if max(v) == 60}
    assert {k[0] for k in crowded} == {"fedeks-test-federation"}
    assert len(crowded) == (2 if engine == "kubefed" else 1)
