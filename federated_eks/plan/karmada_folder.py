"""The pure queries on a folder of Karmada objects (engine karmada; read and checked by
`federated_eks.config.karmada_folder`): which kinds a folder may hold, which policy propagates each resource
template, which clusters a policy places it on, which Services ask for load balancers or DNS records, and the order
the objects are applied in. Objects are `(file, object)` pairs of any shape; nothing here raises.

Karmada semantics relied on (karmada-io/karmada, tag v1.19.0-rc.0):
- pkg/util/selector.go `ResourceSelectorPriority`: a resource selector matches an object of its apiVersion and kind
  (and of its namespace, when it names one) by name when it names one, else by its labelSelector when it has one,
  else every such object. A PropagationPolicy or OverridePolicy selects objects of its own namespace only (the
  detector looks policies up in the object's namespace); the Cluster* policies select in every namespace.
- `ClusterMatches` (same file): a cluster is in a `clusterAffinity` when it is not in `exclude` and matches each of
  `labelSelector`, `clusterNames` and `fieldSelector` that is set (all of them: an intersection); a placement
  without `clusterAffinity` (and without `clusterAffinities`) selects every cluster. `clusterAffinities` are tried in
  order (the first term with a fit wins): the clusters it may place on are the union of its terms.
- Namespaces of propagated objects are propagated to the members by Karmada itself (the namespace controller): a
  folder's Namespace needs no policy.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from federated_eks.model.object_owners import identity
from federated_eks.plan.folder_workloads import EXTERNAL_DNS_HOSTNAME, field_at
from federated_eks.plan.karmada_workload import POLICY_API

PROPAGATION_KINDS = ("PropagationPolicy", "ClusterPropagationPolicy")
OVERRIDE_KINDS = ("OverridePolicy", "ClusterOverridePolicy")
POLICY_KINDS = {"PropagationPolicy": True, "ClusterPropagationPolicy": False, "OverridePolicy": True,
                "ClusterOverridePolicy": False}
"""Karmada's policy kinds (policy.karmada.io/v1alpha1) a folder may hold -> namespaced."""
TEMPLATE_KINDS = {("v1", "Namespace"): False, ("apps/v1", "Deployment"): True, ("v1", "Service"): True,
                  ("v1", "ConfigMap"): True, ("v1", "ServiceAccount"): True,
                  ("rbac.authorization.k8s.io/v1", "Role"): True, ("rbac.authorization.k8s.io/v1", "RoleBinding"): True}
"""The Kubernetes kinds a folder may hold -> namespaced: the resource templates Karmada propagates that the Karmada
join Lambda applies to karmada-apiserver (components/karmada_join/runtime/resources.py KINDS, checked by the tests).
Secrets are not among them (a folder's objects are carried in the CloudFormation template, in clear text), nor
cluster-scoped RBAC (which grants power over every namespace of every member)."""
MAX_OBJECTS = 200
"""The most objects one Custom::KarmadaObjects carries (components/karmada_join/runtime/properties.py MAX_OBJECTS)."""
REGION_FIELD = "region"
"""The Cluster field a `fieldSelector` may select on that every join sets (`spec.region`; provider and zones are
not set)."""
KUBEFED_GROUPS = ("types.kubefed.io", "core.kubefed.io", "scheduling.kubefed.io", "multiclusterdns.kubefed.io")
"""The API groups of KubeFed's kinds (FederatedDeployment, ReplicaSchedulingPreference, ...)."""
KARMADA_GROUP_SUFFIX = ".karmada.io"
"""Every Karmada API group (policy, work, cluster, config, networking, ...) ends so."""


def group_of(api_version: Any) -> str:
    return str(api_version).rpartition("/")[0]


def is_kubefed(obj: dict) -> bool:
    return group_of(obj.get("apiVersion")) in KUBEFED_GROUPS


def is_karmada(obj: dict) -> bool:
    return group_of(obj.get("apiVersion")).endswith(KARMADA_GROUP_SUFFIX)


def is_policy(obj: dict) -> bool:
    return obj.get("apiVersion") == POLICY_API and obj.get("kind") in POLICY_KINDS


def _labels_match(selector: Any, labels: Any) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist) over `labels`."""
    if not isinstance(selector, dict):
        return True
    labels = labels if isinstance(labels, dict) else {}
    match = selector.get("matchLabels")
    if isinstance(match, dict) and any(not isinstance(k, str) or labels.get(k) != v for k, v in match.items()):
        return False
    expressions = selector.get("matchExpressions")
    for e in expressions if isinstance(expressions, list) else ():
        if not isinstance(e, dict) or not isinstance(e.get("key"), str):
            return False
        key, op = e["key"], e.get("operator")
        values = [v for v in e["values"] if isinstance(v, str)] if isinstance(e.get("values"), list) else []
        present = key in labels
        if not {"In": present and labels.get(key) in values, "NotIn": not present or labels.get(key) not in values,
                "Exists": present, "DoesNotExist": not present}.get(op, False):
            return False
    return True


def selects(policy: dict, obj: dict) -> bool:
    """Whether `policy` (any of POLICY_KINDS) selects the resource template `obj` (ResourceSelectorPriority)."""
    _, _, namespace, name = identity(obj)
    if POLICY_KINDS.get(str(policy.get("kind"))) and identity(policy)[2] != namespace:
        return False  # a namespaced policy selects in its own namespace only
    selectors = field_at(policy, "spec", "resourceSelectors")
    for s in selectors if isinstance(selectors, list) else ():
        if not isinstance(s, dict) or s.get("apiVersion") != obj.get("apiVersion") or s.get("kind") != obj.get("kind"):
            continue
        if s.get("namespace") and s.get("namespace") != namespace:
            continue
        if s.get("name"):
            if s["name"] == name:
                return True
        elif _labels_match(s.get("labelSelector"), field_at(obj, "metadata", "labels")):
            return True
    return False


def templates(objects: Iterable[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The resource templates of `objects` Karmada propagates by a policy (not the policies, not the Namespaces)."""
    return [(f, o) for f, o in objects if not is_policy(o) and o.get("kind") != "Namespace"]


def propagating_policies(objects: Sequence[tuple[str, dict]], obj: dict) -> list[dict]:
    """The PropagationPolicies and ClusterPropagationPolicies of `objects` that select `obj`."""
    return [p for _, p in objects if is_policy(p) and p.get("kind") in PROPAGATION_KINDS and selects(p, obj)]


def _affinity_clusters(affinity: Any, clusters: Sequence[tuple[str, str]]) -> list[str]:
    """The clusters of `(name, region)` one ClusterAffinity matches (ClusterMatches; Clusters carry no labels: a
    labelSelector with any requirement matches none, and `spec.region` is the only field the joins set)."""
    if not isinstance(affinity, dict):
        return [n for n, _ in clusters]
    exclude = affinity.get("exclude") if isinstance(affinity.get("exclude"), list) else []
    names = affinity.get("clusterNames") if isinstance(affinity.get("clusterNames"), list) else []
    out = []
    for name, region in clusters:
        if name in exclude or (names and name not in names):
            continue
        if "labelSelector" in affinity and not _labels_match(affinity["labelSelector"], {}):
            continue
        fields = field_at(affinity, "fieldSelector", "matchExpressions")
        fields = fields if isinstance(fields, list) else []
        if any(not _labels_match({"matchExpressions": [e]}, {REGION_FIELD: region} if isinstance(e, dict)
                                 and e.get("key") == REGION_FIELD else {}) for e in fields):
            continue
        out.append(name)
    return out


def placed_clusters(policy: dict, clusters: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The clusters (in `clusters` order) a propagation policy may place what it selects on: its clusterAffinity's,
    or the union of its clusterAffinities' terms, or every cluster."""
    placement = field_at(policy, "spec", "placement")
    placement = placement if isinstance(placement, dict) else {}
    terms = placement.get("clusterAffinities")
    if isinstance(terms, list) and terms:
        names = {n for t in terms for n in _affinity_clusters(t, clusters)}
    else:
        names = set(_affinity_clusters(placement.get("clusterAffinity"), clusters))
    return tuple(n for n, _ in clusters if n in names)


def _is_load_balancer(obj: dict) -> bool:
    return obj.get("apiVersion") == "v1" and obj.get("kind") == "Service" \
        and field_at(obj, "spec", "type") == "LoadBalancer"


def load_balancer_services(objects: Iterable[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return [(f, o) for f, o in objects if _is_load_balancer(o)]


def load_balancer_clusters(objects: Iterable[tuple[str, dict]], clusters: Iterable[tuple[str, str]]
                           ) -> tuple[str, ...]:
    """The clusters (in `clusters` order) a LoadBalancer Service of the folder is propagated to, by every policy
    of the folder that selects it."""
    objects, clusters = list(objects), tuple(clusters)
    names = {n for _, svc in load_balancer_services(objects) for p in propagating_policies(objects, svc)
             for n in placed_clusters(p, clusters)}
    return tuple(n for n, _ in clusters if n in names)


def dns_annotated_services(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """`<file>: Service <namespace>/<name>` of every LoadBalancer Service asking ExternalDNS for a record: the
    hostname annotation on the Service, or added by an override policy selecting it (a plaintext overrider of
    /metadata/annotations, or an annotationsOverrider)."""
    objects = list(objects)
    out = []
    def keys(value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    def items(value: Any) -> list:
        return value if isinstance(value, list) else []

    for file, svc in load_balancer_services(objects):
        found = EXTERNAL_DNS_HOSTNAME in keys(field_at(svc, "metadata", "annotations"))
        for _, policy in objects:
            if not (is_policy(policy) and policy.get("kind") in OVERRIDE_KINDS and selects(policy, svc)):
                continue
            for rule in items(field_at(policy, "spec", "overrideRules")):
                for patch in items(field_at(rule, "overriders", "plaintext")):
                    path, value = str(field_at(patch, "path") or ""), field_at(patch, "value")
                    found = found or path.endswith(EXTERNAL_DNS_HOSTNAME.replace("/", "~1")) or (
                        path == "/metadata/annotations" and EXTERNAL_DNS_HOSTNAME in keys(value))
                for o in items(field_at(rule, "overriders", "annotationsOverrider")):
                    found = found or EXTERNAL_DNS_HOSTNAME in keys(field_at(o, "value"))
        if found:
            _, _, namespace, name = identity(svc)
            out.append(f"{file}: Service {namespace}/{name}")
    return out


def namespaces(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """The Namespaces the folder creates, in order."""
    return list(dict.fromkeys(identity(o)[3] for _, o in objects
                              if o.get("apiVersion") == "v1" and o.get("kind") == "Namespace"))


def apply_order(objects: Iterable[dict]) -> list[dict]:
    """Namespaces first (everything else lives in them), then the override and propagation policies, then the
    resource templates they select, each group in the folder's order: no template is ever propagated without its
    placement and its overrides. Deletes run in reverse (components/karmada_join/runtime/objects.py)."""
    def rank(obj: dict) -> int:
        if obj.get("kind") == "Namespace":
            return 0
        if is_policy(obj):
            return 1 if obj.get("kind") in OVERRIDE_KINDS else 2
        return 3
    return sorted(objects, key=rank)
