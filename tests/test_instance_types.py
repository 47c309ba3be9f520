"""Instance types: the committed table is botocore's list (the pinned one), and the architecture we derive for
every type agrees with aws-cdk-lib's, which checks the node group's AMI type against it at synth."""
from __future__ import annotations

import aws_cdk.aws_ec2 as ec2
import pytest

from federated_eks.model import instance_types
from federated_eks.model.instance_type_table import FAMILIES
from tools.refresh_instance_types import TABLE, families, render


def test_the_committed_table_is_what_the_pinned_botocore_lists():
    """Fails after a botocore bump until `python -m tools.refresh_instance_types` is run and committed."""
    assert TABLE.read_text() == render(families())


def all_types() -> list[str]:
    return [f"{family}.{size}" for family, sizes in FAMILIES.items() for size in sizes.split()]


def test_our_architecture_is_cdks_for_every_usable_type_and_cdk_cannot_parse_the_others():
    usable = [t for t in all_types() if instance_types.unusable(t) is None]
    assert len(usable) > 1300
    cdk_arch = {ec2.InstanceArchitecture.ARM_64: "arm64", ec2.InstanceArchitecture.X86_64: "x86_64"}
    assert {t: cdk_arch[ec2.InstanceType(t).architecture] for t in usable} == \
        {t: instance_types.architecture(t) for t in usable}
    for t in all_types():
        if instance_types.unusable(t) and not t.startswith("mac"):
            with pytest.raises(RuntimeError, match="Malformed"):
                ec2.InstanceType(t).architecture


@pytest.mark.parametrize("itype, arch", [("m7g.large", "arm64"), ("t4g.small", "arm64"), ("c7gn.xlarge", "arm64"),
                                         ("a1.large", "arm64"), ("im4gn.large", "arm64"), ("m7i-flex.large", "x86_64"),
                                         ("m6a.large", "x86_64"), ("t3.small", "x86_64")])
def test_architecture_of_well_known_types(itype, arch):
    assert instance_types.architecture(itype) == arch


def test_accelerated_families_are_recognised():
    assert all(instance_types.accelerated(t) for t in ("g5g.xlarge", "g6.xlarge", "p5.48xlarge", "inf2.xlarge",
                                                        "trn1.2xlarge", "dl1.24xlarge", "f2.6xlarge", "vt1.3xlarge",
                                                        "gr6.4xlarge"))
    assert not any(instance_types.accelerated(t) for t in ("m7g.large", "c7gn.large", "hpc7g.4xlarge", "i4g.large"))
