"""What a push-mode Karmada join creates, as plain objects (pure: no I/O), as `karmadactl join` does
(karmada-io/karmada v1.19.0-rc.0 pkg/karmadactl/join and pkg/util/cluster.go, reference karmada.md):
- on the member: Namespace karmada-cluster (label karmada.io/system), service accounts karmada-impersonator and
  karmada-<cluster>, each with a service-account-token Secret, ClusterRole and ClusterRoleBinding
  karmada-controller-manager:karmada-<cluster> (every verb on everything, get on non-resource URLs);
- on karmada-apiserver: Namespace karmada-cluster, Secrets <cluster> (caBundle, token) and <cluster>-impersonator
  (token), the Cluster (syncMode Push, apiEndpoint, id, secret refs, provider, region), and owner references from
  both Secrets to the Cluster.
Every object carries the app's label and this join's annotation (contract.JOIN_ANNOTATION = the member's name).
"""
from __future__ import annotations

from components.karmada_join import contract as c

CLUSTER_API_VERSION = "cluster.karmada.io/v1alpha1"
SYSTEM_LABEL = {"karmada.io/system": "true"}
TOKEN_TYPE = "kubernetes.io/service-account-token"


def _meta(cluster: str, name: str, namespace: str | None = None, labels: dict | None = None,
          annotations: dict | None = None) -> dict:
    meta: dict = {"name": name,
                  "labels": {**(labels or {}), c.MANAGED_BY_LABEL: c.MANAGED_BY_VALUE},
                  "annotations": {**(annotations or {}), c.JOIN_ANNOTATION: cluster}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def owns(cluster: str, metadata: dict | None) -> bool:
    """Whether the join of `cluster` made the object: the app's label and this join's annotation."""
    meta = metadata or {}
    return c.owned(meta.get("labels")) and (meta.get("annotations") or {}).get(c.JOIN_ANNOTATION) == cluster


def made_by_a_join(metadata: dict | None) -> bool:
    """A namespace some Karmada join created (it may serve several joins on karmada-apiserver)."""
    meta = metadata or {}
    return c.owned(meta.get("labels")) and bool((meta.get("annotations") or {}).get(c.JOIN_ANNOTATION))


def namespace(cluster: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": _meta(cluster, c.MEMBER_NAMESPACE, labels=SYSTEM_LABEL)}


def service_accounts(cluster: str) -> list[str]:
    return [c.IMPERSONATOR_SERVICE_ACCOUNT, c.member_service_account(cluster)]


def service_account(cluster: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(cluster, name, c.MEMBER_NAMESPACE)}


def token_secret(cluster: str, account: str) -> dict:
    """The service account's token Secret (named as the account); the token controller fills data.token."""
    return {"apiVersion": "v1", "kind": "Secret", "type": TOKEN_TYPE,
            "metadata": _meta(cluster, account, c.MEMBER_NAMESPACE,
                              annotations={"kubernetes.io/service-account.name": account})}


def cluster_role(cluster: str) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": _meta(cluster, c.member_cluster_role(cluster)),
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["get"]}]}


def cluster_role_binding(cluster: str) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": _meta(cluster, c.member_cluster_role(cluster)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": c.member_cluster_role(cluster)},
            "subjects": [{"kind": "ServiceAccount", "name": c.member_service_account(cluster),
                          "namespace": c.MEMBER_NAMESPACE}]}


def member_objects(cluster: str) -> list[tuple[str, str, str | None]]:
    """(kind, name, namespace) of what a join makes on the member, in the order an unjoin deletes them."""
    return [("ClusterRoleBinding", c.member_cluster_role(cluster), None),
            ("ClusterRole", c.member_cluster_role(cluster), None),
            *(("Secret", a, c.MEMBER_NAMESPACE) for a in service_accounts(cluster)),
            *(("ServiceAccount", a, c.MEMBER_NAMESPACE) for a in service_accounts(cluster))]


def karmada_secret(cluster: str, name: str, data: dict[str, str]) -> dict:
    """A Secret on karmada-apiserver; `data` already base64 (as the API serves it)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": dict(sorted(data.items())),
            "metadata": _meta(cluster, name, c.MEMBER_NAMESPACE)}


def karmada_secrets(cluster: str, ca_data: str, token_b64: str, impersonator_token_b64: str) -> list[dict]:
    return [karmada_secret(cluster, cluster, {"caBundle": ca_data, "token": token_b64}),
            karmada_secret(cluster, c.impersonator_secret(cluster), {"token": impersonator_token_b64})]


def karmada_cluster(cluster: str, endpoint: str, cluster_id: str, region: str) -> dict:
    ref = {"namespace": c.MEMBER_NAMESPACE}
    return {"apiVersion": CLUSTER_API_VERSION, "kind": "Cluster", "metadata": _meta(cluster, cluster),
            "spec": {"syncMode": "Push", "apiEndpoint": endpoint.lower(), "id": cluster_id,
                     "secretRef": {**ref, "name": cluster},
                     "impersonatorSecretRef": {**ref, "name": c.impersonator_secret(cluster)},
                     "provider": "aws", "region": region}}


def spec_differs(current: dict, desired: dict) -> bool:
    spec = current.get("spec") or {}
    return any(spec.get(key) != value for key, value in desired["spec"].items())


def owner_reference(cluster_obj: dict) -> dict:
    meta = cluster_obj["metadata"]
    return {"apiVersion": CLUSTER_API_VERSION, "kind": "Cluster", "name": meta["name"], "uid": meta["uid"]}


def ready(cluster_obj: dict) -> tuple[bool, str]:
    """Whether the Cluster's Ready condition is True, and what it says."""
    for cond in ((cluster_obj.get("status") or {}).get("conditions") or []):
        if cond.get("type") == "Ready":
            detail = f"Ready={cond.get('status')} ({cond.get('reason') or ''}: {str(cond.get('message') or '')[:200]})"
            return cond.get("status") == "True", detail
    return False, "no Ready condition yet (karmada-controller-manager has not probed it)"
