"""The federation's clusters as the host last heard them: what tells an unjoin of a cluster removed from the config
from the unjoin of a federation torn down, without a list in the function's environment.

The teardown resource carries every cluster's name (contract.MEMBERS); on create and update it records them on the
host, in a ConfigMap in KubeFed's namespace (contract.MEMBERS_CONFIGMAP). An update that removes a cluster updates
the teardown before its cleanup phase deletes the cluster's join (CloudFormation deletes removed resources only
after every update), so that unjoin finds its member no longer listed; the teardown's own delete removes the record.
"""
from __future__ import annotations

from .. import contract
from .cluster_api import Cluster

KEY = "clusters"


def record(host: Cluster, namespace: str, members: tuple[str, ...]) -> None:
    """Write the federation's clusters on the host (created, or updated in place)."""
    host.ensure("ConfigMap", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": contract.MEMBERS_CONFIGMAP, "namespace": namespace,
                     "labels": {contract.MANAGED_BY_LABEL: contract.MANAGED_BY_VALUE}},
        "data": {KEY: ",".join(members)}})


def recorded(host: Cluster, namespace: str) -> frozenset[str] | None:
    """The clusters last recorded on the host; None when there is no record (a federation deployed before the record
    existed: every member is then taken as still in it)."""
    obj = host.read("ConfigMap", contract.MEMBERS_CONFIGMAP, namespace)
    if obj is None:
        return None
    if not isinstance(obj, dict):
        obj = host.core.api_client.sanitize_for_serialization(obj)
    if not contract.owned((obj.get("metadata") or {}).get("labels")):
        return None
    return frozenset(filter(None, ((obj.get("data") or {}).get(KEY) or "").split(",")))


def forget(host: Cluster, namespace: str) -> None:
    host.delete_owned("ConfigMap", contract.MEMBERS_CONFIGMAP, namespace,
                      lambda meta: contract.owned(meta.get("labels")))
