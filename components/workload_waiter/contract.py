"""What the workload waiter's construct writes and its Lambda reads: one definition on each side of the deploy boundary.

A leaf module (the standard library and the shared components/kube_access/contract.py): the construct
(components/workload_waiter/workload_waiter.py), the workloads that use it (components/federated_workloads.py) and
the runtime (components/workload_waiter/runtime/) import it, and it is packaged into the Lambda with the runtime.
"""
from __future__ import annotations

from components.kube_access.contract import HOST, NAMESPACE, TIMEOUT_SECONDS  # noqa: F401 (the waiter's keys too)

# The CloudFormation resource type: a deploy waits until the workload runs where it is placed, a delete until it is
# gone. A ready workload returns `Hostname.<cluster>` per load-balanced cluster.
WORKLOAD_TYPE = "Custom::FederatedWorkload"
HOSTNAME_ATTRIBUTE_PREFIX = "Hostname."

# Property keys (besides HOST and TIMEOUT_SECONDS): the workload, and the clusters it is placed on.
WORKLOAD = "Workload"
CLUSTERS = "Clusters"

# Which waiter owns a workload's federated objects on the host, by its physical id. The construct writes it on each
# object it renders (so CloudFormation rolls it back with the manifest); a delete removes an object only when the
# object names it here. Without the annotation the owner is the waiter of LEGACY_PHYSICAL_ID (made before the
# waiter had a Provider of its own, and whose delete the join's Provider still serves).
OWNER_ANNOTATION = "federated-eks/workload-waiter"
# On the workload's FederatedDeployment once the waiter saw it Ready: the digest of the properties it was Ready with
# and the hostnames it returned (JSON). An update that cannot reach a member completes when it asks for exactly that
# state (a rollback), instead of failing the rollback for the reason that failed the update.
READY_ANNOTATION = "federated-eks/workload-ready"


def physical_id(namespace: str, name: str) -> str:
    """The physical id of the waiter of `namespace/name` (it changes exactly when the workload does)."""
    return f"workload-waiter/{namespace}/{name}"


def legacy_physical_id(namespace: str, name: str) -> str:
    """The physical id the join's Provider gave the waiter of `namespace/name` before this component existed."""
    return f"federated-workload/{namespace}/{name}"


def owner(annotations: dict | None, namespace: str, name: str) -> str:
    """The physical id of the waiter that owns an object with these annotations."""
    return (annotations or {}).get(OWNER_ANNOTATION) or legacy_physical_id(namespace, name)

# The Kubernetes group of the waiter's role on every cluster (its EKS access entry): on the host it is bound to the
# waiter's ClusterRole (workload_waiter.py HOST_RULES). EKS refuses groups starting with system:, eks:, aws:, amazon:
# or iam: (CreateAccessEntry, kubernetesGroups).
KUBERNETES_GROUP = "federated-eks:workload-waiter"
