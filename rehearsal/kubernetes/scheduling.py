"""Whether a pod template can run on a cluster's nodes: the decision the emulated controllers take before they
report a Deployment, DaemonSet, StatefulSet or Job ready (pure).

Nodes are the cluster's managed node groups (architecture from the AMI type, desired size), labelled
`kubernetes.io/arch` as the kubelet labels every node. A pod is eligible for a node when its `nodeSelector` and its
required node affinity on `kubernetes.io/arch` admit the node's architecture (other labels are not modelled, so
they do not restrict); it runs there only if every container image (init containers included) publishes that
architecture (images.py). The scheduler may put a replica on any eligible node, so a template is ready only if it
runs on every eligible node: otherwise some replica fails with `exec format error`.
"""
from __future__ import annotations

from dataclasses import dataclass

from rehearsal.kubernetes import images

ARCH_LABEL = "kubernetes.io/arch"


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str = ""
    fix: str = ""


def _allowed_by_expression(expression: dict, arch: str) -> bool:
    if expression.get("key") != ARCH_LABEL:
        return True
    operator, values = expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return arch in values
    if operator == "NotIn":
        return arch not in values
    if operator == "DoesNotExist":
        return False
    return True


def eligible(pod_spec: dict, arch: str) -> bool:
    """Whether the pod's node selection admits a node of `arch`."""
    selector = pod_spec.get("nodeSelector") or {}
    if ARCH_LABEL in selector and selector[ARCH_LABEL] != arch:
        return False
    required = ((((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    if required:  # terms are ORed, expressions within a term ANDed
        return any(all(_allowed_by_expression(e, arch) for e in term.get("matchExpressions") or [])
                   for term in required)
    return True


def images_of(pod_spec: dict) -> list[str]:
    return [c.get("image", "") for field in ("initContainers", "containers") for c in pod_spec.get(field) or []
            if isinstance(c, dict)]


def verdict(pod_spec: dict, nodes: dict[str, int]) -> Verdict:
    """`nodes`: architecture -> number of nodes (node groups' desired sizes, summed)."""
    total = sum(nodes.values())
    if total == 0:
        return Verdict(False, "0/0 nodes are available: no nodes available to schedule pods",
                       "give the cluster a node group with desired size of at least 1")
    targets = [arch for arch, count in sorted(nodes.items()) if count > 0 and eligible(pod_spec, arch)]
    if not targets:
        return Verdict(False, f"0/{total} nodes are available: {total} node(s) didn't match Pod's node "
                       "affinity/selector", f"the pod selects {ARCH_LABEL} values no node group has: add a node "
                       "group of that architecture or change the selector")
    for image in images_of(pod_spec):
        lacking = [arch for arch in targets if arch not in images.architectures(image)]
        if lacking:
            published = ", ".join(sorted(images.architectures(image)))
            return Verdict(False, f"image {image!r} publishes {published} only; a replica scheduled on an "
                           f"{lacking[0]} node fails with `exec format error` (CrashLoopBackOff)",
                           f"run it on {published} nodes: a node group of that architecture and a nodeSelector "
                           f"{ARCH_LABEL}: {sorted(images.architectures(image))[0]} on the pod template")
    return Verdict(True)
