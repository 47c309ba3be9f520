"""The fix the rehearsal names for a Kubernetes refusal or a workload that never gets ready, from its message
(one place for every custom resource the Kubernetes side serves)."""
from __future__ import annotations

_FIXES = (
    ("exec format error", "run the pods on nodes of an architecture their images publish: an x86 (amd64) node group "
                          "for amd64-only images (KubeFed v0.10.0), with a kubernetes.io/arch nodeSelector"),
    ("node(s) didn't match", "give the cluster a node group the pods can be scheduled on"),
    ("0/0 nodes", "give the cluster a node group the pods can be scheduled on"),
    ("no matches for kind", "install the kind's CustomResourceDefinition (or enable its federated type) before this "
                            "resource, and make this resource depend on it"),
    ("already exists", "one owner per object: remove the duplicate, or let the existing owner keep it"),
    ("failed calling webhook", "the webhook's Deployment must be ready first: make this resource depend on the "
                               "release that installs it (with wait), and check that its pods can run on the "
                               "cluster's nodes"),
)


def fix_for(message: str, default: str = "fix the object named above") -> str:
    if 'namespaces "' in message and "not found" in message:
        return "create the Namespace first (a v1 Namespace in a resource this one depends on)"
    return next((fix for needle, fix in _FIXES if needle in message), default)
