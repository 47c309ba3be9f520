"""How a federation VPC is cut into subnets: one public and one private subnet per availability zone.

Pure arithmetic, used by the config (is a CIDR big enough?) and by `components/network.py` (the masks it gives
`ec2.Vpc`), so the two can never disagree. The AZ counts of the two VPC kinds live here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

# AWS allows VPC and subnet CIDRs from /16 to /28 (Amazon VPC User Guide, "VPC CIDR blocks" and "Subnet sizing").
LARGEST_VPC_MASK = 16
SMALLEST_SUBNET_MASK = 28


@dataclass(frozen=True)
class VpcShape:
    """One kind of federation VPC: how many AZs it spans and how small its private subnets may get."""

    azs: int
    largest_private_mask: int
    """The smallest private subnet it can live with, as a mask: nodes, pods (the VPC CNI gives each pod a VPC
    address) and Lambdas run there."""


# A cluster VPC: 3 AZs, private subnets of at least /22 (1019 usable addresses for nodes and pods each).
CLUSTER_VPC = VpcShape(azs=3, largest_private_mask=22)
# The bastion VPC: 2 AZs, one instance; any subnet AWS allows will do.
BASTION_VPC = VpcShape(azs=2, largest_private_mask=SMALLEST_SUBNET_MASK)


@dataclass(frozen=True)
class SubnetLayout:
    public_mask: int
    private_mask: int


def subnet_layout(vpc_mask: int, azs: int) -> SubnetLayout:
    """The subnet masks for a /`vpc_mask` VPC over `azs` AZs (1 to 3).

    Each private subnet gets a quarter of the range. With 3 AZs the public subnets (NAT gateways, load
    balancers) share the last quarter, a sixteenth each; with fewer AZs each gets a quarter too. `ec2.Vpc`
    places public subnets first and aligns each private one to its size, so with 3 AZs the public ones fill
    3/16, the private ones start at 1/4 and end exactly at the end of the range.
    """
    if not 1 <= azs <= 3:
        raise ValueError(f"a federation VPC spans 1 to 3 AZs, not {azs}")
    return SubnetLayout(public_mask=vpc_mask + (4 if azs == 3 else 2), private_mask=vpc_mask + 2)


def fits(shape: VpcShape, vpc_mask: int) -> bool:
    """Whether a /`vpc_mask` VPC leaves subnets AWS allows and private subnets as large as `shape` needs."""
    layout = subnet_layout(vpc_mask, shape.azs)
    return (max(layout.public_mask, layout.private_mask) <= SMALLEST_SUBNET_MASK
            and layout.private_mask <= shape.largest_private_mask)


def smallest_vpc_mask(shape: VpcShape) -> int:
    """The largest mask (smallest VPC) that `fits` the shape: /20 for a cluster, /26 for the bastion."""
    return max(m for m in range(LARGEST_VPC_MASK, SMALLEST_SUBNET_MASK + 1) if fits(shape, m))
