"""Join: apply the objects of manifests.py to the member and the host (through cluster_api).

Every step is idempotent (create, or merge-patch what an earlier attempt left), so any poll can stop
at any point and the next one finishes the job. A step that meets something not ready yet raises
`Waiting`; one that can never succeed raises `Failed`. Its sibling unjoin.py removes what it made.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .. import contract as c
from . import manifests
from .cluster_api import Cluster
from components.kube_access.kube_api import Failed, Waiting
from .manifests import Names
from .properties import JoinRequest

log = logging.getLogger("kubefed_join")


@dataclass(frozen=True)
class JoinState:
    ready: bool
    detail: str


def join(req: JoinRequest, member: Cluster, host: Cluster) -> JoinState:
    """Run every join step once; returns whether the KubeFedCluster is Ready, or raises Waiting/Failed."""
    names = req.names
    _check_control_plane(req, host)

    # Member: namespace, service account, its token secret, RBAC of the scope.
    member.create_if_missing("Namespace", manifests.namespace(names))  # an existing namespace is not ours to change
    namespace = member.read("Namespace", names.namespace, None)
    if namespace is not None and namespace.metadata.deletion_timestamp:
        raise Waiting(f"member {names.member}: namespace {names.namespace} is being deleted (an earlier unjoin); "
                      "waiting until it is gone to make it again")
    member.ensure("ServiceAccount", manifests.service_account(names))
    _ensure_token_secret(member, names)
    wanted = manifests.rbac(names, req.scope)
    wanted_refs = {(kind, obj["metadata"]["name"]) for kind, obj in wanted}
    for kind, name in manifests.all_rbac_refs(names):  # left over from the other scope
        if (kind, name) not in wanted_refs:
            member.delete(kind, name, names.namespace)
    for kind, obj in wanted:
        member.ensure(kind, obj)
    token_b64 = _filled_token(member, names)

    # Host: the member's token, then the KubeFedCluster pointing at the member.
    secret_changed = _ensure_host_secret(host, names, token_b64)
    desired = manifests.kubefed_cluster(names, req.member.endpoint, req.member.ca_data, req.labels)
    current = host.read("KubeFedCluster", names.member, names.namespace)
    if current is None or secret_changed or manifests.kubefed_cluster_differs(current, desired):
        _write_kubefed_cluster(host, desired, current)
        current = host.read("KubeFedCluster", names.member, names.namespace)
    ready, detail = manifests.ready_condition(current or {})
    if ready:
        _record_ready(req, member, host)
    return JoinState(ready=ready, detail=f"KubeFedCluster {names.member}: {detail}")


def _record_ready(req: JoinRequest, member: Cluster, host: Cluster) -> None:
    """Note on both sides which properties were Ready (contract.READY_ANNOTATION; handler.restores_last_ready reads
    it). On the host secret, not the KubeFedCluster: a change there would make KubeFed probe the cluster again."""
    names = req.names
    record = {"metadata": {"annotations": {c.READY_ANNOTATION: req.digest}}}
    for cluster, kind, name in ((host, "Secret", names.host_secret), (member, "ServiceAccount", names.service_account)):
        try:
            cluster.patch(kind, name, names.namespace, record, missing_ok=True)
        except (Waiting, Failed) as exc:
            log.warning("could not record the ready state: %s", exc)  # the join is ready all the same


def last_ready(req: JoinRequest, cluster: Cluster, role: str) -> str | None:
    """The digest recorded on `cluster`'s side of the join (None if not recorded); raises Waiting/Failed."""
    names = req.names
    kind, name = ("Secret", names.host_secret) if role == "host" else ("ServiceAccount", names.service_account)
    meta = cluster.metadata(kind, name, names.namespace)
    return ((meta or {}).get("annotations") or {}).get(c.READY_ANNOTATION)


def _ensure_host_secret(host: Cluster, names: Names, token_b64: str) -> bool:
    """Put the member's token on the host; True when it was missing or different."""
    existing = host.read("Secret", names.host_secret, names.namespace)
    if existing is not None and (existing.data or {}).get("token") == token_b64:
        return False
    host.ensure("Secret", manifests.host_secret(names, token_b64), secret=True)
    return True


def _write_kubefed_cluster(host: Cluster, desired: dict, current: dict | None) -> None:
    """Create or update the KubeFedCluster, stamped with the time of the change (whole seconds, as KubeFed
    writes its condition times) so that only a status the controller wrote after it counts as Ready.

    A stale status must never look fresh: when the current condition changed within this very second, wait
    for the next second first (at most one)."""
    now = time.time()
    last = manifests.last_transition(current or {})
    if last is not None and last >= int(now):
        if not host.budget.sleep(last + 1 - now):
            raise Waiting(f"host {host.ref.name}: KubeFedCluster {desired['metadata']['name']} changes next poll "
                          "(its status changed this very second)")
        now = time.time()
    stamped = manifests.stamp_change(desired, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    host.ensure("KubeFedCluster", stamped)


def _check_control_plane(req: JoinRequest, host: Cluster) -> None:
    config = host.read("KubeFedConfig", "kubefed", req.namespace)
    if config is None:
        raise Failed(f"host {req.host.name}: KubeFedConfig 'kubefed' not found in namespace {req.namespace}: the "
                     "KubeFed control plane is not installed there (check the chart release and kubefed.namespace)")
    scope = (config.get("spec") or {}).get("scope") or manifests.CLUSTER_SCOPE
    if scope != req.scope:
        raise Waiting(f"host {req.host.name}: KubeFedConfig scope is {scope}, the join asks for {req.scope} "
                      "(the chart upgrade that changes it has not landed)")


def _ensure_token_secret(member: Cluster, names: Names) -> None:
    existing = member.read("Secret", names.token_secret, names.namespace)
    if existing is not None and existing.type != "kubernetes.io/service-account-token":
        # Not ours (or a broken earlier attempt): a secret's type cannot change, so replace it.
        member.delete("Secret", names.token_secret, names.namespace)
        existing = None
    if existing is None:
        member.ensure("Secret", manifests.token_secret(names), secret=True)


def _filled_token(member: Cluster, names: Names) -> str:
    secret = member.read("Secret", names.token_secret, names.namespace)
    token = ((secret.data or {}).get("token") if secret is not None else None)
    if not token:
        raise Waiting(f"member {names.member}: the token controller has not filled Secret "
                      f"{names.namespace}/{names.token_secret} yet")
    return token
