"""Any kind of object on an API server, through the KubeFed join's cluster access (cluster_api.Cluster: ensure,
create_if_missing, read, patch, delete, delete_owned, list; kube_api: one error classification, retries, the
invocation's time budget). Only the request itself differs: a generic REST call for a kind of KINDS (or of a
Kubernetes object's apiVersion and kind), so that the same verbs serve the member's RBAC, karmada-apiserver's
Clusters, Works and policies, and the workloads a `Custom::KarmadaObjects` applies.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from components.kube_access.kube_api import with_retries
from components.kubefed_join.runtime.cluster_api import MERGE_PATCH, Cluster


@dataclass(frozen=True)
class Kind:
    api_version: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str | None) -> str:
        """The collection's path: of `namespace` for a namespaced kind, of every namespace when it is None."""
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        return f"{base}/namespaces/{namespace}/{self.plural}" if self.namespaced and namespace is not None \
            else f"{base}/{self.plural}"


KINDS = {
    "Namespace": Kind("v1", "namespaces", False),
    "Node": Kind("v1", "nodes", False),
    "ServiceAccount": Kind("v1", "serviceaccounts", True),
    "Secret": Kind("v1", "secrets", True),
    "ConfigMap": Kind("v1", "configmaps", True),
    "Service": Kind("v1", "services", True),
    "ClusterRole": Kind("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": Kind("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": Kind("rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": Kind("rbac.authorization.k8s.io/v1", "rolebindings", True),
    "Deployment": Kind("apps/v1", "deployments", True),
    "Cluster": Kind("cluster.karmada.io/v1alpha1", "clusters", False),
    "Work": Kind("work.karmada.io/v1alpha1", "works", True),
    "ResourceBinding": Kind("work.karmada.io/v1alpha2", "resourcebindings", True),
    "PropagationPolicy": Kind("policy.karmada.io/v1alpha1", "propagationpolicies", True),
    "ClusterPropagationPolicy": Kind("policy.karmada.io/v1alpha1", "clusterpropagationpolicies", False),
    "OverridePolicy": Kind("policy.karmada.io/v1alpha1", "overridepolicies", True),
    "ClusterOverridePolicy": Kind("policy.karmada.io/v1alpha1", "clusteroverridepolicies", False),
}


def kind_of(obj: dict) -> Kind | None:
    """The Kind of a Kubernetes object, when it is one of KINDS at the apiVersion it names."""
    known = KINDS.get(str(obj.get("kind")))
    return known if known is not None and known.api_version == obj.get("apiVersion") else None


class Resources(Cluster):
    """A cluster_api.Cluster whose requests are plain REST calls that answer with dicts, for every kind of KINDS."""

    def _call(self, verb: str, kind: str, name: str | None, namespace: str | None, body: dict | None = None,
              **extra):
        spec = KINDS[kind]
        path = spec.collection(namespace) + ("" if verb in ("create", "list") else f"/{name}")
        method = {"create": "POST", "list": "GET", "read": "GET", "patch": "PATCH", "delete": "DELETE"}[verb]
        headers = {"Accept": "application/json",
                   "Content-Type": extra.pop("_content_type", MERGE_PATCH if verb == "patch" else "application/json")}
        selector = extra.pop("_label_selector", None)
        query = [("labelSelector", selector)] if selector else []
        api = self.core.api_client

        def request(_request_timeout):
            response = api.call_api(path, method, query_params=query, header_params=headers, body=body,
                                    auth_settings=["BearerToken"],
                                    _preload_content=False, _return_http_data_only=True,
                                    _request_timeout=_request_timeout)
            data = response.data
            return json.loads(data) if data else {}
        return self.budget.call(request, f"{verb} {self.describe(kind, name or '')}", **extra)

    def list_everywhere(self, kind: str, label_selector: str | None = None) -> list[dict]:
        """The objects of `kind` in every namespace (those whose labels match `label_selector`, `key=value`, when
        given), as plain dicts; transient errors are retried within the budget."""
        what = f"listing {kind} objects{' labelled ' + label_selector if label_selector else ''} on {self.role} " \
               f"{self.ref.name}"
        return with_retries(lambda: list(self._call("list", kind, None, None, _label_selector=label_selector)
                                         .get("items") or []), what, self.budget)
