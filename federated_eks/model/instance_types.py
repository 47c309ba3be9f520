"""EC2 instance types: which names exist, their CPU architecture, and which ones the federation can run.

The names come from `instance_type_table.py` (generated from botocore's EC2 model, offline; see
tools/refresh_instance_types.py). Region availability is not checked: that needs an AWS call.
"""
from __future__ import annotations

import re

from federated_eks.model.instance_type_table import FAMILIES

ARM64 = "arm64"
X86_64 = "x86_64"

# aws-cdk-lib 2.275.0's own parse of a type (aws-ec2/lib/instance-types.js, getter `InstanceType.architecture`):
# <family letters><generation 1-2 digits><capabilities>.<size>. A node group asks CDK for the architecture of
# each type, and CDK throws (MalformedInstanceTypeIdentifier) on names this does not match, e.g. u-6tb1.metal.
_CDK_FORM = re.compile(r"([a-z]+)(\d{1,2})([a-z\-]*)\.([a-z0-9\-]+)")

# Accelerated computing (GPU, Inferentia, Trainium, FPGA, Gaudi, video transcoding): they need the NVIDIA or Neuron
# AMI types and device plugins, which the federation does not set up; the node group runs the standard AL2023 AMI.
ACCELERATED_PREFIXES = ("dl", "f", "g", "gr", "inf", "p", "trn", "vt")


def exists(instance_type: str) -> bool:
    family, _, size = instance_type.partition(".")
    return size in sizes(family)


def sizes(family: str) -> tuple[str, ...]:
    """The sizes of `family` (none for an unknown family), smallest first as far as the names tell."""
    order = {"nano": 0, "micro": 1, "small": 2, "medium": 3, "large": 4, "xlarge": 5}

    def key(size: str) -> tuple[int, int, str]:
        if size in order:
            return (0, order[size], size)
        digits = size.split("xlarge")[0]
        return (1 if digits.isdigit() else 2, int(digits) if digits.isdigit() else 0, size)
    return tuple(sorted(FAMILIES.get(family, "").split(), key=key))


def architecture(instance_type: str) -> str:
    """arm64 or x86_64, by CDK's rule (so the AMI type we set never disagrees with CDK's own check): arm64 when
    the family letters are `a` (A1) or the capabilities after the generation contain `g` (Graviton:
    m7g, t4g, c7gn, x2gd, im4gn, hpc7g...). Only for names `unusable()` accepts."""
    m = _CDK_FORM.fullmatch(instance_type)
    if m is None:
        raise ValueError(f"{instance_type!r} is not of the form CDK can parse")
    prefix, _, capabilities, _ = m.groups()
    return ARM64 if prefix == "a" or "g" in capabilities else X86_64


def unusable(instance_type: str) -> str | None:
    """Why an existing type cannot run a federation instance (node or bastion), or None."""
    m = _CDK_FORM.fullmatch(instance_type)
    if instance_type.startswith("mac"):
        return "is a Mac instance (Dedicated Hosts only, not supported by EKS)"
    if m is None:
        return "is not supported by aws-cdk-lib's instance type parser (high-memory u-* and similar families)"
    return None


def accelerated(instance_type: str) -> bool:
    m = _CDK_FORM.fullmatch(instance_type)
    return m is not None and m.group(1) in ACCELERATED_PREFIXES
