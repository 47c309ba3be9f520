"""The CPU architectures the container images this project installs publish, so that the emulated clusters
start a pod only on nodes it can run on (a pod on a node whose architecture its image lacks fails with
`exec format error` and never gets ready).

- KubeFed v0.10.0 (`quay.io/kubernetes-multicluster/kubefed`, controller and webhook): amd64 only. Its Makefile's
  `container` target builds `bin/hyperfed-linux-$(HOST_ARCH)`, the build machine's architecture, into a
  single-architecture image (kubernetes-retired/kubefed Makefile: `HOST_ARCH ?= $(shell go env GOARCH)`), and the
  upstream request for arm64 images was closed unfixed when the project was retired.
- The AWS Load Balancer Controller (any tag): amd64 and arm64. Its Makefile publishes
  `IMG_PLATFORM ?= linux/amd64,linux/arm64` with ko / docker buildx (kubernetes-sigs/aws-load-balancer-controller).

Images matched by name (the last path component, so a mirror of the same image matches) and tag.

Images not in the table (the workloads' images, which users choose) are taken to publish both amd64 and arm64:
the rehearsal is offline and cannot read a registry's manifest list, and refusing every unknown image would make
it useless for any real workload. docs/operations/rehearse.md tells users that workload images must exist for their
nodes' architecture; a known single-architecture image belongs in this table.
"""
from __future__ import annotations

from dataclasses import dataclass

BOTH = frozenset({"amd64", "arm64"})


@dataclass(frozen=True)
class ImageArchitectures:
    name: str
    """The image name (last component of the repository path)."""
    tag: str | None
    """None: any tag."""
    architectures: frozenset[str]
    source: str


TABLE = (
    ImageArchitectures("kubefed", "v0.10.0", frozenset({"amd64"}),
                       "KubeFed v0.10.0: single-architecture image built on amd64 (kubefed Makefile `container`)"),
    ImageArchitectures("aws-load-balancer-controller", None, BOTH,
                       "aws-load-balancer-controller Makefile IMG_PLATFORM linux/amd64,linux/arm64"),
)


def split(image: str) -> tuple[str, str | None]:
    """(name, tag) of an image reference: `registry/path/name:tag@digest` -> (name, tag)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    return name, tag or None


def known(image: str) -> ImageArchitectures | None:
    name, tag = split(image)
    for entry in TABLE:
        if entry.name == name and entry.tag in (None, tag):
            return entry
    return None


def architectures(image: str) -> frozenset[str]:
    """The architectures `image` publishes (the table, else both: see the module docstring)."""
    entry = known(image)
    return entry.architectures if entry else BOTH
