"""Whether an unjoin deletes the KubeFed namespace on the member (pure).

kubefedctl unjoin (KubeFed v0.10.0, pkg/kubefedctl/unjoin.go, deleteFedNSFromUnjoinCluster) reads the
namespace on the host and on the unjoining cluster and keeps it when their UIDs are equal
(pkg/controller/util/cluster_util.go, IsPrimaryCluster: `meta.GetUID() == clusterMeta.GetUID()`): the
member is the host itself. A name comparison would not do: after a host move CloudFormation deletes the
old join with its OLD properties, where the member (now the new host) differs from the old host.

That rule alone still deletes the namespace of a cluster that is a host of another control plane (the
new host after a move: its namespace holds the controller, the KubeFedConfig and every member secret), and
of a member that another join still uses (a join to the new host lives in the same namespace). So the
namespace also stays while it holds a KubeFedConfig, or a service account of another join.
"""
from __future__ import annotations


def keep_namespace(host_uid: str | None, member_uid: str | None, member_hosts_kubefed: bool,
                   other_accounts: list[str]) -> str | None:
    """Why the member's namespace must stay, or None when the unjoin may delete it."""
    if member_uid is None:
        return "it does not exist"
    if host_uid is not None and host_uid == member_uid:
        return "it is the host's own namespace (same UID on host and member, as kubefedctl unjoin checks)"
    if member_hosts_kubefed:
        return "the member hosts a KubeFed control plane there (a KubeFedConfig exists)"
    if other_accounts:
        return f"other joins still use it (service accounts {', '.join(sorted(other_accounts))})"
    return None
