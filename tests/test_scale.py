"""Scale: 40 clusters over 10 regions (8 of them, the bastion and the host in us-east-1) synthesize in mesh and in
hub with the quotas they need raised (VPCs and Elastic IPs in us-east-1: test_quotas.FORTY_QUOTAS), with every stack
inside CloudFormation's limits and every peering routed on both sides; in the mesh, us-east-1's peerings are split
per VPC. (The join functions' allowed-cluster environment fits 60 clusters in Lambda's 4 KB: tested in
test_kubefed_join_construct.py.)

Each topology is one test with one synth (about a minute each on a free core): a fixture shared by several tests
would be built again on each xdist worker that runs one of them."""
from __future__ import annotations

import pytest

from fedtest import synth
from federated_eks.plan import peering_layout
from test_nat_layout import nat_gateways_per_az
from test_network import check_peering
from test_quotas import FORTY_QUOTAS, federation


@pytest.mark.parametrize("topology", ["mesh", "hub"])
def test_forty_clusters_synthesize_within_cloudformation_limits_and_peer_correctly(topology):
    raw = federation(40, topology, quotas=FORTY_QUOTAS)
    stacks, assembly = synth(raw)
    assert len([n for n in stacks if "-cluster-" in n]) == 40
    for name in stacks:
        template = assembly.get_stack_by_name(name).template
        # The CLI adds one AWS::CDK::Metadata resource to each template, so 499 here is 500 deployed.
        assert len(template["Resources"]) <= peering_layout.RESOURCE_BUDGET, name
        assert len(template.get("Outputs", {})) <= peering_layout.MAX_OUTPUTS, name
        assert len(template.get("Parameters", {})) <= 200, name
    peering = sorted(n.removeprefix("fedeks-test-peering-") for n in stacks if "-peering-" in n)
    if topology == "mesh":
        # us-east-1's nine VPCs request every peering of the mesh's first rows: one stack each.
        assert [q for q in peering if q.startswith("us-east-1")] == \
            ["us-east-1-bastion"] + [f"us-east-1-fed-{i}" for i in range(1, 9)]
    else:
        assert "us-east-1" in peering  # the hub's peerings from us-east-1 fit one stack
    check_peering(raw, (stacks, assembly))
    # Nine NAT gateways in us-east-1, three per AZ: inside the default quota of 5 per AZ (vpc L-FE5A380F).
    assert max(nat_gateways_per_az(assembly).values()) == 3
    # Peering requests pending at once, whatever CloudFormation's timing: at most 20 per region (vpc L-DC9F7029).
    regions = {assembly.get_stack_by_name(n).environment.region for n in stacks if "-peering-" in n}
    assert max(pending_at_once(assembly, r) for r in regions) <= peering_layout.MAX_PENDING_PEERINGS


def pending_at_once(assembly, region: str) -> int:
    """The most peering connections of `region`'s stacks that can be pending at once under any timing: each stack's
    connections form chains by DependsOn (each waits for at most one, and is waited for by at most one), so the
    most at once is the number of chains; the region's stacks deploy in parallel."""
    heads = 0
    for stack in assembly.stacks:
        if stack.environment.region != region:
            continue
        resources = stack.template.get("Resources", {})
        connections = {k for k, r in resources.items() if r["Type"] == "AWS::EC2::VPCPeeringConnection"}
        waits = {k: [d for d in resources[k].get("DependsOn", []) if d in connections] for k in connections}
        waited = [d for ds in waits.values() for d in ds]
        assert all(len(ds) <= 1 for ds in waits.values()) and len(waited) == len(set(waited)), stack.stack_name
        heads += sum(1 for ds in waits.values() if not ds)
    return heads
