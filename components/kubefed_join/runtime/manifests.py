"""What a KubeFed join creates, as plain objects (pure: no I/O).

The same objects `kubefedctl join` creates (KubeFed v0.10.0): on the member a namespace, a service
account, its token secret and RBAC for the federation scope; on the host a secret with the member's
token and the KubeFedCluster that points at the member.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from .. import contract as c

CLUSTER_SCOPE = "Cluster"
NAMESPACED_SCOPE = "Namespaced"
KUBEFED_GROUP = "core.kubefed.io"
KUBEFED_VERSION = "v1beta1"
MANAGED_BY = {c.MANAGED_BY_LABEL: c.MANAGED_BY_VALUE}


@dataclass(frozen=True)
class Names:
    """Object names for one (member, host) pair in the KubeFed namespace."""

    member: str
    host: str
    namespace: str

    @property
    def join_id(self) -> str:
        """Written on every object the join makes (contract.JOIN_ANNOTATION): an unjoin deletes only its own."""
        return f"{self.namespace}/{self.host}/{self.member}"

    @property
    def service_account(self) -> str:
        return f"{self.member}-{self.host}"

    @property
    def token_secret(self) -> str:
        return self.service_account

    @property
    def host_secret(self) -> str:
        # A dot cannot occur in `<member>-<host>`, so this never collides with a member token
        # secret, even when the host joins itself and both live in the same namespace.
        return f"{self.member}.kubefed-token"

    @property
    def cluster_rbac(self) -> str:
        return f"kubefed-controller-manager:{self.service_account}"

    @property
    def healthcheck_rbac(self) -> str:
        return f"kubefed-controller-manager:{self.namespace}:healthcheck-{self.service_account}"


def namespace(names: Names) -> dict:
    """Created only when missing (never patched): the annotation says a join made it, so an unjoin may delete it."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": names.namespace, "labels": MANAGED_BY,
                         "annotations": {c.OWNED_NAMESPACE_ANNOTATION: names.join_id}}}


def _own(names: Names, obj: dict) -> dict:
    """`obj` annotated as made by this join."""
    meta = obj["metadata"]
    meta["annotations"] = {**meta.get("annotations", {}), c.JOIN_ANNOTATION: names.join_id}
    return obj


def owns(names: Names, metadata: dict | None) -> bool:
    """Whether this join made the object (its labels and annotations as the API returns them): the app's label, and
    this join's annotation (objects of versions before the annotation carry only the label)."""
    meta = metadata or {}
    made_by = (meta.get("annotations") or {}).get(c.JOIN_ANNOTATION)
    return c.owned(meta.get("labels")) and made_by in (None, names.join_id)


def made_by_a_join(metadata: dict | None) -> bool:
    """Whether a join created this namespace (it carries OWNED_NAMESPACE_ANNOTATION)."""
    return c.OWNED_NAMESPACE_ANNOTATION in ((metadata or {}).get("annotations") or {})


def service_account(names: Names) -> dict:
    return _own(names, {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
            "metadata": {"name": names.service_account, "namespace": names.namespace, "labels": MANAGED_BY}})


def token_secret(names: Names) -> dict:
    """Since Kubernetes 1.24 no token secret is made automatically: create it, the token controller fills it."""
    return _own(names, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                        "metadata": {"name": names.token_secret, "namespace": names.namespace, "labels": MANAGED_BY,
                                     "annotations": {"kubernetes.io/service-account.name": names.service_account}}})


def _subject(names: Names) -> list[dict]:
    return [{"kind": "ServiceAccount", "name": names.service_account, "namespace": names.namespace}]


def rbac(names: Names, scope: str) -> list[tuple[str, dict]]:
    """(kind, object) pairs the member needs for `scope`, in creation order."""
    if scope == CLUSTER_SCOPE:
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": names.cluster_rbac, "labels": MANAGED_BY},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                          {"nonResourceURLs": ["*"], "verbs": ["get"]}]}
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": names.cluster_rbac, "labels": MANAGED_BY},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": names.cluster_rbac},
                   "subjects": _subject(names)}
        return [("ClusterRole", _own(names, role)), ("ClusterRoleBinding", _own(names, binding))]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": names.cluster_rbac, "namespace": names.namespace, "labels": MANAGED_BY},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": names.cluster_rbac, "namespace": names.namespace, "labels": MANAGED_BY},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.cluster_rbac},
               "subjects": _subject(names)}
    health = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": names.healthcheck_rbac, "labels": MANAGED_BY},
              "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
                        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]}
    health_binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                      "metadata": {"name": names.healthcheck_rbac, "labels": MANAGED_BY},
                      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": names.healthcheck_rbac},
                      "subjects": _subject(names)}
    return [(kind, _own(names, obj)) for kind, obj in (("Role", role), ("RoleBinding", binding), ("ClusterRole", health),
                                                        ("ClusterRoleBinding", health_binding))]


def all_rbac_refs(names: Names) -> list[tuple[str, str]]:
    """(kind, name) of every RBAC object either scope creates: what unjoin and a scope change remove."""
    return [("ClusterRoleBinding", names.cluster_rbac), ("ClusterRole", names.cluster_rbac),
            ("RoleBinding", names.cluster_rbac), ("Role", names.cluster_rbac),
            ("ClusterRoleBinding", names.healthcheck_rbac), ("ClusterRole", names.healthcheck_rbac)]


def host_secret(names: Names, token_b64: str) -> dict:
    """The member's token on the host. `token_b64` is the member secret's data.token, still encoded."""
    return _own(names, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": names.host_secret, "namespace": names.namespace, "labels": MANAGED_BY},
                        "data": {"token": token_b64}})


def kubefed_cluster(names: Names, api_endpoint: str, ca_bundle: str, labels: dict[str, str]) -> dict:
    return _own(names, {
        "apiVersion": f"{KUBEFED_GROUP}/{KUBEFED_VERSION}", "kind": "KubeFedCluster",
        "metadata": {"name": names.member, "namespace": names.namespace, "labels": {**labels, **MANAGED_BY}},
        # KubeFed mishandles upper-case endpoints, and EKS endpoints have them (upstream issues 1190, 1148).
        "spec": {"apiEndpoint": api_endpoint.lower(), "caBundle": ca_bundle,
                 "secretRef": {"name": names.host_secret}},
    })


# When the join last changed the KubeFedCluster (RFC 3339, whole seconds, UTC).
CHANGED_AT = "federated-eks/changed-at"


def stamp_change(kubefed_cluster_obj: dict, when: str) -> dict:
    """`kubefed_cluster_obj` with the CHANGED_AT annotation set to `when`. KubeFed's cluster controller
    (v0.10.0 pkg/controller/kubefedcluster/controller.go, UpdateFunc) drops its cached client and status
    when a KubeFedCluster's spec, labels or annotations change, so the change is probed afresh."""
    meta = kubefed_cluster_obj["metadata"]
    return {**kubefed_cluster_obj, "metadata": {**meta, "annotations": {**meta.get("annotations", {}),
                                                                        CHANGED_AT: when}}}


def kubefed_cluster_differs(current: dict, desired: dict) -> bool:
    """Whether the KubeFedCluster on the host lacks something of `desired` (spec or labels)."""
    labels = (current.get("metadata") or {}).get("labels") or {}
    spec = current.get("spec") or {}
    return (any(labels.get(k) != v for k, v in desired["metadata"]["labels"].items())
            or any(spec.get(k) != v for k, v in desired["spec"].items())
            or not ((current.get("metadata") or {}).get("annotations") or {}).get(CHANGED_AT))


def _seconds(rfc3339: str | None) -> int | None:
    try:
        return int(datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())
    except (AttributeError, TypeError, ValueError):
        return None


def last_transition(kubefed_cluster_obj: dict) -> int | None:
    """Epoch seconds of the latest lastTransitionTime among the status conditions, if any."""
    times = [_seconds(c.get("lastTransitionTime")) for c in
             (kubefed_cluster_obj.get("status") or {}).get("conditions") or []]
    return max((t for t in times if t is not None), default=None)


def ready_condition(kubefed_cluster_obj: dict) -> tuple[bool, str]:
    """(ready, description of the latest conditions) from a KubeFedCluster's status.

    Ready counts only when written after the last change (CHANGED_AT): KubeFed's controller writes every
    condition of a fresh probe with lastTransitionTime = lastProbeTime = the probe's time, and after a
    change its first probe is fresh (clusterclient.go GetClusterStatus; controller.go
    thresholdAdjustedClusterStatus keeps an earlier transition time only while readiness is unchanged
    since that probe). A Ready whose transition predates the change was reported for the old spec."""
    conditions = (kubefed_cluster_obj.get("status") or {}).get("conditions") or []
    changed = _seconds(((kubefed_cluster_obj.get("metadata") or {}).get("annotations") or {}).get(CHANGED_AT))
    for c in conditions:
        if c.get("type") == "Ready" and c.get("status") == "True":
            when = _seconds(c.get("lastTransitionTime"))
            if changed is None or (when is not None and when >= changed):
                return True, "Ready"
            return False, (f"Ready was reported before the change at {_iso(changed)} (last transition "
                           f"{c.get('lastTransitionTime')}); waiting for the KubeFed controller to probe it again")
    if not conditions:
        return False, "no status reported yet by the KubeFed controller"
    described = "; ".join(
        f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')}: {c.get('message')})" if c.get("reason") else "")
        for c in conditions)
    return False, described


def _iso(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
