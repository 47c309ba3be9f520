"""KubeFed v0.10.0 objects for a workload description (pure): FederatedNamespace, FederatedDeployment,
FederatedService and ReplicaSchedulingPreference.

KubeFed semantics relied on (kubernetes-retired/kubefed v0.10.0, docs/userguide.md and pkg/):
- `spec.placement.clusterSelector: {}` places on every cluster; `clusters: [{name}]` on those listed (and then
  the selector is ignored); a namespaced federated object is placed on the intersection with its namespace's
  FederatedNamespace placement (pkg/controller/util/placement.go).
- `spec.overrides[].clusterOverrides[]` are JSON patches (op add/remove/replace, default replace) applied to the
  template for one cluster (pkg/controller/util/overrides.go).
- A ReplicaSchedulingPreference with the FederatedDeployment's namespace/name writes the target's
  `placement.clusters` and a `/spec/replicas` override per cluster, keeping other override paths
  (pkg/schedulingtypes/plugin.go); with `intersectWithClusterSelector` it keeps to the target's selector; a
  `clusters` map without "*" gives unlisted clusters weight 0. The construct renders every placement as the
  cluster list it resolves to (components/federated_workloads.as_placed), so the scheduler keeps to those clusters.
- KubeFed v0.10.0 drops a template's metadata.annotations (ObjectForCluster, pkg/controller/sync/resource.go) and
  keeps the member's on update (dispatch/retain.go); the Service's load-balancer and DNS annotations therefore go
  to the members as per-cluster overrides (components/workload_dns.with_member_annotations), which apply after
  the retained ones, so a changed setting reaches the member on the next deploy.
"""
from __future__ import annotations

from typing import Any, Sequence

from federated_eks.model.workload import ALL_CLUSTERS, Placement, ReplicaPreference, Workload

TYPES_API = "types.kubefed.io/v1beta1"
SCHEDULING_API = "scheduling.kubefed.io/v1alpha1"
REGION_LABEL = "topology.kubernetes.io/region"
"""The KubeFedCluster label every join sets to the cluster's region (stacks/federation.py)."""
APP_LABEL = "app"
MANAGED_BY = {"app.kubernetes.io/managed-by": "federated-eks"}

# The AWS Load Balancer Controller claims Services of this class (its default --load-balancer-class). It is
# set in the template because it cannot change after creation and KubeFed does not retain it: were the
# controller's webhook to set it on the member, KubeFed's next update would try to clear it and fail.
LOAD_BALANCER_CLASS = "service.k8s.aws/nlb"
TARGET_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"

Clusters = Sequence[tuple[str, str]]
"""The federation's clusters as (name, region)."""


def managed(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` (a federated object on the host) with the label that marks it as this app's: the workload waiter
    deletes only host objects that carry it (components/kubefed_join/contract.py MANAGED_BY_LABEL), so a manifest
    folder's objects carry it as typed workloads' do."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    return {**obj, "metadata": {**meta, "labels": {**labels, **MANAGED_BY}}}


def _meta(w: Workload) -> dict[str, Any]:
    return {"name": w.name, "namespace": w.namespace, "labels": dict(MANAGED_BY)}


def placement(p: Placement) -> dict[str, Any]:
    if p.clusters:
        return {"clusters": [{"name": n} for n in p.clusters]}
    if p.regions:
        return {"clusterSelector": {"matchExpressions": [
            {"key": REGION_LABEL, "operator": "In", "values": list(p.regions)}]}}
    return {"clusterSelector": {}}


def namespaces(workloads: Sequence[Workload], clusters: Clusters) -> list[dict[str, Any]]:
    """One FederatedNamespace per namespace, placed where its workloads are (their union)."""
    by_namespace: dict[str, list[Workload]] = {}
    for w in workloads:
        by_namespace.setdefault(w.namespace, []).append(w)
    out = []
    for namespace, members in by_namespace.items():
        placements = {w.placement for w in members}
        if len(placements) == 1:
            where = placement(placements.pop())
        else:
            names = {n for w in members for n in w.placement.resolve(clusters)}
            union = Placement(clusters=tuple(n for n, _ in clusters if n in names))
            where = placement(Placement() if len(names) == len(clusters) else union)
        out.append({"apiVersion": TYPES_API, "kind": "FederatedNamespace",
                    "metadata": {"name": namespace, "namespace": namespace, "labels": dict(MANAGED_BY)},
                    "spec": {"placement": where}})
    return out


def _env(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


def _overrides(w: Workload) -> list[dict[str, Any]]:
    container = "/spec/template/spec/containers/0"
    out = []
    for cluster, o in w.overrides:
        patches: list[dict[str, Any]] = []
        if o.replicas is not None and w.replica_scheduling is None:
            patches.append({"path": "/spec/replicas", "value": o.replicas})
        if o.image is not None:
            patches.append({"path": f"{container}/image", "value": o.image})
        if o.env:
            merged = dict(w.env)
            merged.update(o.env)
            # `add` sets the member whether or not the template has it (RFC 6902).
            patches.append({"op": "add", "path": f"{container}/env", "value": _env(sorted(merged.items()))})
        if patches:
            out.append({"clusterName": cluster, "clusterOverrides": patches})
    return out


def deployment(w: Workload) -> dict[str, Any]:
    labels = {APP_LABEL: w.name}
    container: dict[str, Any] = {"name": w.name, "image": w.image,
                                 "ports": [{"name": "http", "containerPort": w.container_port, "protocol": "TCP"}]}
    if w.env:
        container["env"] = _env(w.env)
    template_spec: dict[str, Any] = {"selector": {"matchLabels": labels},
                                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}
    if w.replica_scheduling is None:
        template_spec = {"replicas": w.replicas, **template_spec}
    spec: dict[str, Any] = {"template": {"metadata": {"labels": labels}, "spec": template_spec}}
    if w.replica_scheduling is None or w.placement.regions:
        spec["placement"] = placement(w.placement)
    overrides = _overrides(w)
    if overrides:
        spec["overrides"] = overrides
    return {"apiVersion": TYPES_API, "kind": "FederatedDeployment", "metadata": _meta(w), "spec": spec}


def _preference(p: ReplicaPreference) -> dict[str, int]:
    out = {"weight": p.weight, "minReplicas": p.min_replicas}
    if p.max_replicas is not None:
        out["maxReplicas"] = p.max_replicas
    return out


def replica_preferences(w: Workload) -> dict[str, ReplicaPreference]:
    """The RSP's per-cluster preferences. A placement by cluster names becomes the map's keys (every other
    cluster then gets weight 0), each with its own preference, else that of "*", else weight 1."""
    rs = w.replica_scheduling
    assert rs is not None
    given = dict(rs.clusters)
    if not w.placement.clusters:
        return given
    default = given.get(ALL_CLUSTERS, ReplicaPreference(weight=1))
    return {n: given.get(n, default) for n in w.placement.clusters}


def replica_scheduling(w: Workload) -> dict[str, Any]:
    rs = w.replica_scheduling
    assert rs is not None
    spec: dict[str, Any] = {"targetKind": "FederatedDeployment", "totalReplicas": rs.total_replicas,
                            "rebalance": rs.rebalance}
    if w.placement.regions:
        spec["intersectWithClusterSelector"] = True
    prefs = replica_preferences(w)
    if prefs:
        spec["clusters"] = {name: _preference(p) for name, p in prefs.items()}
    return {"apiVersion": SCHEDULING_API, "kind": "ReplicaSchedulingPreference", "metadata": _meta(w),
            "spec": spec}


def service(w: Workload) -> dict[str, Any]:
    s = w.service
    assert s is not None
    spec: dict[str, Any] = {"type": s.type, "selector": {APP_LABEL: w.name},
                            "ports": [{"name": "http", "port": s.port, "protocol": "TCP",
                                       "targetPort": s.target_port or w.container_port}]}
    template: dict[str, Any] = {"spec": spec}
    if s.type == "LoadBalancer":
        spec["loadBalancerClass"] = LOAD_BALANCER_CLASS
        template["metadata"] = {"annotations": {SCHEME_ANNOTATION: s.scheme, TARGET_TYPE_ANNOTATION: "ip"}}
    return {"apiVersion": TYPES_API, "kind": "FederatedService", "metadata": _meta(w),
            "spec": {"template": template, "placement": placement(w.placement)}}


def workload_objects(w: Workload) -> list[dict[str, Any]]:
    """The workload's own objects (its namespace comes from `namespaces`), in apply order."""
    out = [deployment(w)]
    if w.replica_scheduling is not None:
        out.append(replica_scheduling(w))
    if w.service is not None:
        out.append(service(w))
    return out
