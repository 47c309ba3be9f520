"""Join and unjoin: apply the objects of manifests.py to the member and the host.

Every step is idempotent (create, or merge-patch what an earlier attempt left), so any poll can stop
at any point and the next one finishes the job. A step that meets something not ready yet raises
`Waiting`; one that can never succeed raises `Failed`. Unjoin never raises: it removes every object
independently and returns what it could not remove.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kubernetes import client

import manifests
from kube_api import Budget, Failed, Waiting, classify, with_retries
from manifests import KUBEFED_GROUP, KUBEFED_VERSION, Names
from namespace_rule import keep_namespace
from properties import ClusterRef, JoinRequest

log = logging.getLogger("kubefed_join")
MERGE_PATCH = "application/merge-patch+json"

# kind -> (API attribute, method suffix, namespaced)
_KINDS = {
    "Namespace": ("core", "namespace", False),
    "ServiceAccount": ("core", "namespaced_service_account", True),
    "Secret": ("core", "namespaced_secret", True),
    "ClusterRole": ("rbac", "cluster_role", False),
    "ClusterRoleBinding": ("rbac", "cluster_role_binding", False),
    "Role": ("rbac", "namespaced_role", True),
    "RoleBinding": ("rbac", "namespaced_role_binding", True),
}
# KubeFed's own kinds, served through the custom-objects API: kind -> plural
_KUBEFED_KINDS = {"KubeFedCluster": "kubefedclusters", "KubeFedConfig": "kubefedconfigs"}


class Cluster:
    """One API server, seen through the typed clients. `role` is 'member' or 'host' (for messages)."""

    def __init__(self, ref: ClusterRef, api: client.ApiClient, role: str, budget: Budget) -> None:
        self.ref, self.role, self.budget = ref, role, budget
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def describe(self, kind: str, name: str) -> str:
        return f"{self.role} {self.ref.name}: {kind} {name}"

    def _call(self, verb: str, kind: str, name: str, namespace: str | None, body: dict | None = None):
        extra = {"_content_type": MERGE_PATCH} if verb == "patch" else {}
        if kind in _KUBEFED_KINDS:
            fn = getattr(self.custom, f"{'get' if verb == 'read' else verb}_namespaced_custom_object")
            args: list = [KUBEFED_GROUP, KUBEFED_VERSION, namespace, _KUBEFED_KINDS[kind]]
            args += [] if verb == "create" else [name]
        else:
            api_name, suffix, namespaced = _KINDS[kind]
            fn = getattr(getattr(self, api_name), f"{verb}_{suffix}")
            args = [] if verb == "create" else [name]
            args += [namespace] if namespaced else []
        if body is not None:
            args.append(body)
        timeout = self.budget.request_timeout(f"{verb} {self.describe(kind, name)}")
        return fn(*args, _request_timeout=timeout, **extra)

    def ensure(self, kind: str, obj: dict, secret: bool = False) -> None:
        """Create `obj`, or bring what already exists (a crashed earlier attempt's) in line with it."""
        meta = obj["metadata"]
        what = self.describe(kind, meta["name"])
        try:
            self._call("create", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s created", what)
            return
        except client.ApiException as exc:
            if exc.status == 404 and meta.get("namespace"):  # its namespace was deleted under it (an unjoin)
                raise Waiting(f"creating {what}: namespace {meta['namespace']} is gone; it is made again next poll")
            if exc.status != 409:
                raise classify(exc, f"creating {what}", redact=secret) from None
        except Exception as exc:  # transport errors
            raise classify(exc, f"creating {what}") from None
        try:
            self._call("patch", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s already existed, updated", what)
        except Exception as exc:
            raise classify(exc, f"updating {what}", redact=secret) from None

    def read(self, kind: str, name: str, namespace: str | None):
        """The object, or None when it does not exist."""
        try:
            return self._call("read", kind, name, namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise classify(exc, f"reading {self.describe(kind, name)}", redact=kind == "Secret") from None
        except Exception as exc:
            raise classify(exc, f"reading {self.describe(kind, name)}") from None

    def delete(self, kind: str, name: str, namespace: str | None, retry: bool = False) -> None:
        """Delete; not-found is success. With `retry`, transient errors are retried within the budget."""
        what = f"deleting {self.describe(kind, name)}"

        def call() -> None:
            try:
                self._call("delete", kind, name, namespace)
                log.info("%s deleted", self.describe(kind, name))
            except client.ApiException as exc:
                # A terminating namespace answers a second delete with 409 Conflict: it is on its way out.
                if exc.status != 404 and not (exc.status == 409 and kind == "Namespace"):
                    raise
        if retry:
            with_retries(call, what, self.budget)
            return
        try:
            call()
        except Exception as exc:
            raise classify(exc, what) from None

    def account_names(self, namespace: str) -> list[str]:
        """Names of the service accounts in `namespace` (none when it does not exist)."""
        timeout = self.budget.request_timeout(f"listing service accounts on {self.role} {self.ref.name}")
        try:
            listed = self.core.list_namespaced_service_account(namespace, _request_timeout=timeout)
        except Exception as exc:
            raise classify(exc, f"listing service accounts on {self.role} {self.ref.name}") from None
        return [a.metadata.name for a in listed.items or []]


@dataclass(frozen=True)
class JoinState:
    ready: bool
    detail: str


def join(req: JoinRequest, member: Cluster, host: Cluster) -> JoinState:
    """Run every join step once; returns whether the KubeFedCluster is Ready, or raises Waiting/Failed."""
    names = req.names
    _check_control_plane(req, host)

    # Member: namespace, service account, its token secret, RBAC of the scope.
    member.ensure("Namespace", manifests.namespace(names))
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
    return JoinState(ready=ready, detail=f"KubeFedCluster {names.member}: {detail}")


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


def unjoin_member(req: JoinRequest, member: Cluster, host: Cluster | None) -> list[Exception]:
    """Remove the member's side, each object on its own (transient errors retried within the budget).
    Returns what could not be removed; the namespace follows namespace_rule.keep_namespace."""
    names = req.names
    left: list[Exception] = []
    refs = [*manifests.all_rbac_refs(names), ("Secret", names.token_secret), ("ServiceAccount", names.service_account)]
    for kind, name in refs:
        try:
            member.delete(kind, name, names.namespace, retry=True)
        except (Waiting, Failed) as exc:
            left.append(exc)
    try:
        why = _namespace_kept(req, member, host)
        if why is None:
            member.delete("Namespace", names.namespace, None, retry=True)
        else:
            log.info("member %s: namespace %s kept: %s", req.member.name, names.namespace, why)
    except (Waiting, Failed) as exc:
        left.append(exc)
    return left


def _namespace_kept(req: JoinRequest, member: Cluster, host: Cluster | None) -> str | None:
    names = req.names
    if host is None:
        return "the host could not be asked whether this is its own namespace"
    member_ns = with_retries(lambda: member.read("Namespace", names.namespace, None),
                             f"reading {member.describe('Namespace', names.namespace)}", member.budget)
    host_ns = with_retries(lambda: host.read("Namespace", names.namespace, None),
                           f"reading {host.describe('Namespace', names.namespace)}", host.budget)
    hosts_kubefed = member_ns is not None and with_retries(
        lambda: member.read("KubeFedConfig", "kubefed", names.namespace),
        f"reading {member.describe('KubeFedConfig', 'kubefed')}", member.budget) is not None
    others = [] if member_ns is None else [
        a for a in with_retries(lambda: member.account_names(names.namespace),
                                f"listing service accounts on member {req.member.name}", member.budget)
        if a not in ("default", names.service_account)]
    return keep_namespace(_uid(host_ns), _uid(member_ns), hosts_kubefed, others)


def _uid(obj) -> str | None:
    return obj.metadata.uid if obj is not None else None


def unjoin_host(req: JoinRequest, host: Cluster) -> list[Exception]:
    """Remove the host's side: the secret the KubeFedCluster names (and ours), then the KubeFedCluster.
    Returns what could not be removed."""
    names = req.names
    left: list[Exception] = []
    secret_names = {names.host_secret}
    try:
        current = with_retries(lambda: host.read("KubeFedCluster", names.member, names.namespace),
                               f"reading {host.describe('KubeFedCluster', names.member)}", host.budget)
        ref = (((current or {}).get("spec") or {}).get("secretRef") or {}).get("name")
        if ref:
            secret_names.add(ref)
    except (Waiting, Failed) as exc:
        left.append(exc)
    for name in sorted(secret_names):
        try:
            host.delete("Secret", name, names.namespace, retry=True)
        except (Waiting, Failed) as exc:
            left.append(exc)
    try:
        host.delete("KubeFedCluster", names.member, names.namespace, retry=True)
    except (Waiting, Failed) as exc:
        left.append(exc)
    return left
