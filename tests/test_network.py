"""Network: the subnet layout of every federation VPC (pure, and as aws-cdk-lib's `ec2.Vpc` really allocates it)."""
from __future__ import annotations

import ipaddress

import aws_cdk as cdk
import pytest

from components.network import Network, NetworkProps
from fedtest import CONTEXT
from federated_eks.subnet_layout import (BASTION_VPC, CLUSTER_VPC, LARGEST_VPC_MASK, SMALLEST_SUBNET_MASK,
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
