"""Join and unjoin: apply the objects of manifests.py to the member and the host.

Every step is idempotent (create, or merge-patch what an earlier attempt left), so any poll can stop
at any point and the next one finishes the job. A step that meets something not ready yet raises
`Waiting`; one that can never succeed raises `Failed`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kubernetes import client

import manifests
from kube_api import REQUEST_TIMEOUT, Failed, Waiting, classify
from manifests import KUBEFED_GROUP, KUBEFED_VERSION, Names
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

    def __init__(self, ref: ClusterRef, api: client.ApiClient, role: str) -> None:
        self.ref, self.role = ref, role
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
        return fn(*args, _request_timeout=REQUEST_TIMEOUT, **extra)

    def ensure(self, kind: str, obj: dict, secret: bool = False) -> None:
        """Create `obj`, or bring what already exists (a crashed earlier attempt's) in line with it."""
        meta = obj["metadata"]
        what = self.describe(kind, meta["name"])
        try:
            self._call("create", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s created", what)
            return
        except client.ApiException as exc:
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

    def delete(self, kind: str, name: str, namespace: str | None) -> None:
        """Delete; not-found is success."""
        try:
            self._call("delete", kind, name, namespace)
            log.info("%s deleted", self.describe(kind, name))
        except client.ApiException as exc:
            if exc.status != 404:
                raise classify(exc, f"deleting {self.describe(kind, name)}") from None
        except Exception as exc:
            raise classify(exc, f"deleting {self.describe(kind, name)}") from None


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
    host.ensure("Secret", manifests.host_secret(names, token_b64), secret=True)
    host.ensure("KubeFedCluster", manifests.kubefed_cluster(names, req.member.endpoint, req.member.ca_data,
                                                            req.labels))
    current = host.read("KubeFedCluster", names.member, names.namespace) or {}
    ready, detail = manifests.ready_condition(current)
    return JoinState(ready=ready, detail=f"KubeFedCluster {names.member}: {detail}")


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


def unjoin_member(req: JoinRequest, member: Cluster) -> None:
    """Remove the member's side. The caller decides what a failure here means (--force semantics)."""
    names = req.names
    for kind, name in manifests.all_rbac_refs(names):
        member.delete(kind, name, names.namespace)
    member.delete("Secret", names.token_secret, names.namespace)
    member.delete("ServiceAccount", names.service_account, names.namespace)
    if req.member.name != req.host.name:  # the host's own namespace runs KubeFed: keep it
        member.delete("Namespace", names.namespace, None)


def unjoin_host(req: JoinRequest, host: Cluster) -> None:
    """Remove the host's side: the secret the KubeFedCluster names (and ours), then the KubeFedCluster."""
    names = req.names
    current = host.read("KubeFedCluster", names.member, names.namespace)
    secret_names = {names.host_secret}
    if current is not None:
        ref = ((current.get("spec") or {}).get("secretRef") or {}).get("name")
        if ref:
            secret_names.add(ref)
    for name in sorted(secret_names):
        host.delete("Secret", name, names.namespace)
    host.delete("KubeFedCluster", names.member, names.namespace)
