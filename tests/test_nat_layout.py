"""NAT gateways spread over each region's AZs (federated_eks/plan/nat_layout.py), counted against the NAT gateways per AZ
quota (vpc L-FE5A380F); tests/test_scale.py checks the synthesized 40-cluster mesh with `nat_gateways_per_az`."""
from __future__ import annotations

from collections import Counter

import pytest

from fedtest import environment, synth
from federated_eks.plan import nat_layout
from federated_eks.config.reader import ConfigError, load_environment
from test_quotas import FORTY_QUOTAS, federation


def nat_gateways_per_az(assembly) -> Counter[str]:
    """AZ name -> NAT gateways in the synthesized templates (each gateway's subnet names its AZ)."""
    out: Counter[str] = Counter()
    for stack in assembly.stacks:
        resources = stack.template.get("Resources", {})
        for nat in (r for r in resources.values() if r["Type"] == "AWS::EC2::NatGateway"):
            subnet = resources[nat["Properties"]["SubnetId"]["Ref"]]
            out[subnet["Properties"]["AvailabilityZone"]] += 1
    return out


def test_a_regions_nat_gateways_are_dealt_over_its_azs_in_vpc_order():
    cfg = load_environment({"t": federation(40, quotas=FORTY_QUOTAS)}, "t")
    azs = nat_layout.nat_gateway_azs(cfg)
    assert azs["bastion"] == (0,)
    assert [azs[f"fed-{i}"] for i in range(1, 9)] == [(1,), (2,), (0,), (1,), (2,), (0,), (1,), (2,)]
    per_az = nat_layout.nat_gateways_per_az(cfg)
    assert [per_az["us-east-1", az] for az in range(3)] == [3, 3, 3]
    # The first VPC of every other region keeps its NAT gateway in the first AZ, as before.
    assert azs["fed-9"] == (0,)


def test_several_nat_gateways_per_vpc_take_distinct_azs():
    raw = environment(3, natGateways=2, quotas={"elasticIpsPerRegion": 7})
    for c in raw["clusters"]:
        c["region"] = "us-east-1"
    cfg = load_environment({"t": raw}, "t")
    assert nat_layout.nat_gateway_azs(cfg) == {"bastion": (0,), "fed-1": (1, 2), "fed-2": (0, 1), "fed-3": (0, 2)}
    assert sorted(nat_layout.nat_gateways_per_az(cfg).values()) == [2, 2, 3]


def test_more_nat_gateways_than_an_az_holds_are_refused_naming_the_quota_and_the_fix():
    raw = federation(40, natGateways=3, quotas=dict(FORTY_QUOTAS, elasticIpsPerRegion=30, natGatewaysPerAz=5))
    with pytest.raises(ConfigError) as err:
        load_environment({"t": raw}, "t")
    assert err.value.problems == [
        "environments.t.natGateways: NAT gateways per Availability Zone (spread over each region's AZs; 3 per cluster "
        "VPC, 1 for the bastion's): us-east-1 AZ 1 (9), us-east-1 AZ 2 (8), us-east-1 AZ 3 (8), over the quota of 5 "
        "per AZ (quotas.natGatewaysPerAz). Fix: set natGateways to 1, put fewer clusters in a region, or raise the "
        "quota to 9 or more (Service Quotas: vpc L-FE5A380F) and set quotas.natGatewaysPerAz: 9"]
    raw["quotas"]["natGatewaysPerAz"] = 9
    load_environment({"t": raw}, "t")


def test_the_synthesized_nat_gateways_sit_where_the_layout_says():
    raw = environment(2)
    raw["clusters"][1]["region"] = "us-east-1"
    _, assembly = synth(raw)
    per_az = nat_gateways_per_az(assembly)
    assert per_az == Counter({"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}), per_az
