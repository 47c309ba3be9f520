"""The federation's clusters as the host last heard them: what tells an unjoin of a cluster removed from the config
from the unjoin of a federation torn down, without a list in the function's environment. One implementation for both
engines' joins.

A record resource carries every cluster's name (contract.MEMBERS): KubeFed's teardown (`Custom::KubefedTeardown`,
recorded in KubeFed's namespace) and Karmada's members record (`Custom::KarmadaMembers`, recorded in the Karmada
release's namespace, beside the kubeconfig Secret). On create and update it writes them on the host, in a ConfigMap
(contract.MEMBERS_CONFIGMAP). Every join depends on its record resource, so an update that removes a cluster updates
the record before its cleanup phase deletes the cluster's join (CloudFormation deletes removed resources only after
every update): that unjoin finds its member no longer listed. The record's own delete (after every unjoin) removes it.

`cluster` below is a cluster_api-style object (the KubeFed join's `cluster_api.Cluster`, the Karmada join's
`resources.Resources`): `ensure`, `read`, `delete_owned`.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from . import contract
from .allowed_clusters import NotAllowed
from .kube_api import Failed, Waiting

log = logging.getLogger("kube_access")
KEY = "clusters"


def record(host, namespace: str, members: tuple[str, ...]) -> None:
    """Write the federation's clusters on the host (created, or updated in place)."""
    host.ensure("ConfigMap", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": contract.MEMBERS_CONFIGMAP, "namespace": namespace,
                     "labels": {contract.MANAGED_BY_LABEL: contract.MANAGED_BY_VALUE}},
        "data": {KEY: ",".join(members)}})


def recorded(host, namespace: str) -> frozenset[str] | None:
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


def forget(host, namespace: str) -> None:
    host.delete_owned("ConfigMap", contract.MEMBERS_CONFIGMAP, namespace,
                      lambda meta: contract.owned(meta.get("labels")))


def left_the_federation(members: frozenset[str] | None, member: str, host: str) -> bool:
    """Whether an unjoin of `member` from `host` is of a cluster removed from the config: the record no longer lists
    it but still lists the host. Without a record every member counts as still in the federation."""
    return members is not None and member not in members and host in members


def record_until(deadline: int, host_name: str, write: Callable[[], None]) -> dict:
    """One poll of a record resource's create or update: `write()` (which checks the host is allowed, then records);
    not complete while the host is not ready (Waiting) and the deadline allows, failed otherwise."""
    what = f"recording the federation's clusters on host {host_name}"
    try:
        write()
    except NotAllowed as exc:
        raise RuntimeError(f"{what} refused: {exc}") from None
    except Waiting as exc:
        if time.time() > deadline:
            raise RuntimeError(f"{what}: still waiting for: {exc}") from None
        log.info("waiting: %s", exc)
        return {"IsComplete": False}
    except Failed as exc:
        raise RuntimeError(f"{what} failed: {exc}") from None
    log.info("host %s: the federation's clusters recorded", host_name)
    return {"IsComplete": True}
