"""Join: apply manifests.py's objects to the member and to karmada-apiserver, every step idempotent, so any poll may
stop anywhere and the next one finishes. Waiting: not ready yet; Failed: can never succeed (a name or an id
registered by another cluster). Its sibling unjoin.py removes what it made.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from components.karmada_join import contract as c
from components.kube_access.kube_api import Failed, Waiting

from . import manifests
from .properties import JoinRequest
from .resources import Resources

log = logging.getLogger("karmada_join")


@dataclass(frozen=True)
class JoinState:
    ready: bool
    detail: str
    cluster_id: str = ""


def cluster_id(member: Resources) -> str:
    """The member's id, as karmadactl takes it: the uid of its kube-system Namespace."""
    meta = member.metadata("Namespace", "kube-system", None)
    if not meta or not meta.get("uid"):
        raise Waiting(f"member {member.ref.name}: Namespace kube-system has no uid yet")
    return meta["uid"]


def check_registration(karmada: Resources, name: str, member_id: str) -> None:
    """Failed when another cluster holds the name or the id; a stale Cluster of this join (the member was
    replaced: same name, new id) is deleted, and the join waits until it is gone."""
    for other in karmada.list("Cluster", None):
        meta, spec = other.get("metadata") or {}, other.get("spec") or {}
        if meta.get("name") != name and spec.get("id") == member_id:
            raise Failed(f"member {name}: its id {member_id} is already registered in Karmada as Cluster "
                         f"{meta.get('name')!r}; unjoin that one first (karmadactl unjoin {meta.get('name')})")
        if meta.get("name") == name and spec.get("id") not in (None, member_id):
            if not manifests.owns(name, meta):
                raise Failed(f"member {name}: the name is already registered in Karmada by another cluster (id "
                             f"{spec.get('id')}, not made by federated-eks); rename the cluster or unjoin that one")
            if not meta.get("deletionTimestamp"):
                karmada.delete_owned("Cluster", name, None, lambda m: manifests.owns(name, m))
            raise Waiting(f"member {name}: a Cluster of an earlier member of that name (id {spec.get('id')}) is "
                          "being removed first")


def join(req: JoinRequest, member: Resources, karmada: Resources) -> JoinState:
    name = req.member.name
    member_id = cluster_id(member)
    check_registration(karmada, name, member_id)

    member.create_if_missing("Namespace", manifests.namespace(name))
    ns = member.metadata("Namespace", c.MEMBER_NAMESPACE, None) or {}
    if ns.get("deletionTimestamp"):
        raise Waiting(f"member {name}: namespace {c.MEMBER_NAMESPACE} is being deleted (an earlier unjoin)")
    tokens = {}
    for account in manifests.service_accounts(name):
        member.ensure("ServiceAccount", manifests.service_account(name, account))
        tokens[account] = _token(member, name, account)
    member.ensure("ClusterRole", manifests.cluster_role(name))
    member.ensure("ClusterRoleBinding", manifests.cluster_role_binding(name))
    missing = [a for a, t in tokens.items() if not t]
    if missing:
        raise Waiting(f"member {name}: the token controller has not filled the token Secrets of {', '.join(missing)} "
                      "yet")

    karmada.create_if_missing("Namespace", manifests.namespace(name))
    changed = False
    for secret in manifests.karmada_secrets(name, req.member.ca_data, tokens[c.member_service_account(name)],
                                            tokens[c.IMPERSONATOR_SERVICE_ACCOUNT]):
        changed |= _ensure_secret(karmada, name, secret)
    desired = manifests.karmada_cluster(name, req.member.endpoint, member_id, req.member.region)
    current = karmada.read("Cluster", name, None)
    if current is None:
        karmada.create_if_missing("Cluster", desired)
        changed = True
    elif manifests.spec_differs(current, desired):
        karmada.patch("Cluster", name, None, {"spec": desired["spec"]})
        changed = True
    current = karmada.read("Cluster", name, None)
    if current is None:
        raise Waiting(f"karmada-apiserver: Cluster {name} is not there yet")
    _own_secrets(karmada, name, current)
    if changed:
        # The status is the controller's view of what was there before this change: judged on the next poll, after
        # karmada-controller-manager's cluster status controller has probed the member with the new credentials.
        return JoinState(False, f"Cluster {name}: created or updated; its status is read next poll", member_id)
    ready, detail = manifests.ready(current)
    if ready:
        _record_ready(req, karmada)
    return JoinState(ready, f"Cluster {name}: {detail}", member_id)


def _token(member: Resources, cluster: str, account: str) -> str:
    """The account's token (base64, as served), or "" while the token controller has not filled it. A Secret of that
    name that is not a token Secret of the account (a broken earlier attempt) is replaced."""
    secret = member.read("Secret", account, c.MEMBER_NAMESPACE)
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    if secret is not None and (secret.get("type") != manifests.TOKEN_TYPE
                               or annotations.get("kubernetes.io/service-account.name") != account):
        member.delete_owned("Secret", account, c.MEMBER_NAMESPACE, lambda m: manifests.owns(cluster, m))
        raise Waiting(f"member {cluster}: Secret {c.MEMBER_NAMESPACE}/{account} was not a token Secret of its "
                      "account; replaced")
    if secret is None:
        member.create_if_missing("Secret", manifests.token_secret(cluster, account), secret=True)
        return ""
    return (secret.get("data") or {}).get("token") or ""


def _ensure_secret(karmada: Resources, cluster: str, secret: dict) -> bool:
    """Put the Secret on karmada-apiserver; True when it was missing or stale (karmadactl leaves an existing one
    as it is: a re-join after the member's tokens changed must replace them)."""
    name = secret["metadata"]["name"]
    current = karmada.read("Secret", name, c.MEMBER_NAMESPACE)
    if current is not None and (current.get("data") or {}) == secret["data"]:
        return False
    if current is not None and not manifests.owns(cluster, current.get("metadata")):
        raise Failed(f"karmada-apiserver: Secret {c.MEMBER_NAMESPACE}/{name} exists and was not made by this join "
                     f"of {cluster}; remove it or rename the cluster")
    if current is None:
        karmada.create_if_missing("Secret", secret, secret=True)
    else:
        karmada.patch("Secret", name, c.MEMBER_NAMESPACE, {"data": secret["data"]})
    log.info("karmada-apiserver: Secret %s/%s %s", c.MEMBER_NAMESPACE, name, "updated" if current else "created")
    return True


def _own_secrets(karmada: Resources, cluster: str, cluster_obj: dict) -> None:
    """Owner references from both Secrets to the Cluster (they go with it), as karmadactl sets them."""
    wanted = [manifests.owner_reference(cluster_obj)]
    for name in (cluster, c.impersonator_secret(cluster)):
        meta = karmada.metadata("Secret", name, c.MEMBER_NAMESPACE) or {}
        if meta.get("ownerReferences") != wanted:
            karmada.patch("Secret", name, c.MEMBER_NAMESPACE, {"metadata": {"ownerReferences": wanted}})


def _record_ready(req: JoinRequest, karmada: Resources) -> None:
    """The properties this join was Ready with, on its Secret (handler.restores_last_ready reads it)."""
    name = req.member.name
    try:
        karmada.patch("Secret", name, c.MEMBER_NAMESPACE,
                      {"metadata": {"annotations": {c.READY_ANNOTATION: req.digest}}}, missing_ok=True)
    except (Waiting, Failed) as exc:
        log.warning("could not record the ready state: %s", exc)


def last_ready(req: JoinRequest, karmada: Resources) -> str | None:
    meta = karmada.metadata("Secret", req.member.name, c.MEMBER_NAMESPACE) or {}
    return (meta.get("annotations") or {}).get(c.READY_ANNOTATION)
