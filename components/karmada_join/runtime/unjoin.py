"""Unjoin, as `karmadactl unjoin` does, object by object: delete the Cluster and wait for karmada-controller-manager
to remove it (it deletes the Works in karmada-es-<cluster>, and so the propagated objects from the member); once
contract.CLUSTER_DELETE_SECONDS have passed, or at once when the member cannot be reached, force it: remove the
finalizers of the Works in karmada-es-<cluster>, delete that namespace, remove the Cluster's finalizers. Then the
Secrets on karmada-apiserver and the member's objects.

Never raises: each object is tried on its own and what could not be removed is returned (the handler retries it
next poll or records it as left behind). Only what this join made is deleted (manifests.owns), so a forged request
naming another cluster removes nothing it did not make.
"""
from __future__ import annotations

import logging

from components.karmada_join import contract as c
from components.kube_access.kube_api import Failed, Waiting

from . import manifests
from .resources import Resources

log = logging.getLogger("karmada_join")


def unjoin_karmada(cluster: str, karmada: Resources, force: bool) -> list[Exception]:
    """Remove the Cluster (forced when `force`) and its Secrets. Returns what is not done yet or failed."""
    left: list[Exception] = []
    mine = lambda meta: manifests.owns(cluster, meta)  # noqa: E731
    try:
        meta = karmada.metadata("Cluster", cluster, None)
        if meta is not None and not mine(meta):
            log.warning("karmada-apiserver: Cluster %s was not made by this join: kept", cluster)
        elif meta is not None:
            if not meta.get("deletionTimestamp"):
                karmada.delete_owned("Cluster", cluster, None, mine)
            if force:
                _force(cluster, karmada)
            if karmada.metadata("Cluster", cluster, None) is not None:
                left.append(Waiting(f"karmada-apiserver: Cluster {cluster} is being removed by "
                                    "karmada-controller-manager (its Works, then the member's copies)"))
    except (Waiting, Failed) as exc:
        left.append(exc)
    for name in (cluster, c.impersonator_secret(cluster)):
        try:
            karmada.delete_owned("Secret", name, c.MEMBER_NAMESPACE, mine)
        except (Waiting, Failed) as exc:
            left.append(exc)
    return left


def _force(cluster: str, karmada: Resources) -> None:
    """karmadactl unjoin --force: the Works' finalizers, the execution namespace, the Cluster's finalizers."""
    space = c.execution_namespace(cluster)
    for work in karmada.list("Work", space):
        name = (work.get("metadata") or {}).get("name")
        if name and (work.get("metadata") or {}).get("finalizers"):
            karmada.patch("Work", name, space, {"metadata": {"finalizers": []}}, missing_ok=True)
            log.warning("karmada-apiserver: removed the finalizers of Work %s/%s (forced unjoin)", space, name)
    karmada.delete("Namespace", space, None, retry=True)
    karmada.patch("Cluster", cluster, None, {"metadata": {"finalizers": []}}, missing_ok=True)


def unjoin_member(cluster: str, member: Resources) -> list[Exception]:
    left: list[Exception] = []
    mine = lambda meta: manifests.owns(cluster, meta)  # noqa: E731
    for kind, name, namespace in manifests.member_objects(cluster):
        try:
            member.delete_owned(kind, name, namespace, mine)
        except (Waiting, Failed) as exc:
            left.append(exc)
    try:
        member.delete_owned("Namespace", c.MEMBER_NAMESPACE, None, mine)
    except (Waiting, Failed) as exc:
        left.append(exc)
    return left


def member_left_behind(cluster: str) -> list[tuple[str, str, str | None]]:
    return [*manifests.member_objects(cluster), ("Namespace", c.MEMBER_NAMESPACE, None)]


def karmada_left_behind(cluster: str) -> list[tuple[str, str, str | None]]:
    return [("Cluster", cluster, None), ("Secret", cluster, c.MEMBER_NAMESPACE),
            ("Secret", c.impersonator_secret(cluster), c.MEMBER_NAMESPACE)]
