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
from federated_eks import peering_layout
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
