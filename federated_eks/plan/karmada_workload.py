"""Karmada objects for a workload description (pure): what goes to karmada-apiserver for one workload.

Per workload: its Namespace (Karmada propagates the namespaces of propagated objects to the members itself), the
Deployment and the Service as they are (karmada-apiserver runs no Deployment controller: no pods run there), a
PropagationPolicy per object saying where it goes and how many replicas each cluster runs, and an OverridePolicy per
object for what a cluster runs differently. Nothing here knows KubeFed; kubefed_workload.py renders the same
description for KubeFed.

Karmada semantics relied on (karmada-io/karmada, tag v1.19.0-rc.0):
- `placement.clusterAffinity.clusterNames`: every placement is rendered as the cluster list it resolves to (as the
  KubeFed rendering does), so a `regions` placement needs no field selector on the Clusters' `spec.region`.
- Replicas (pkg/scheduler/core/common.go `assignReplicas`, assignment.go, division_algorithm.go): a workload with
  `spec.replicas > 0` is divided by its policy's `replicaScheduling`; `Duplicated` gives every selected cluster
  `spec.replicas`; `Divided` + `Weighted` with a `staticWeightList` gives each cluster a share of `spec.replicas` by
  the Webster method (pkg/util/helper `AllocateWebsterSeats`: seats one at a time to the highest `weight / (2 *
  seats + 1)`); clusters with no positive weight get nothing (`getStaticWeightInfoList` keeps weights > 0 only).
  Fixed per-cluster counts are rendered as weights equal to the counts and `spec.replicas` their sum: then each
  cluster's `count`-th seat has priority count/(2count-1) > 1/2 and its next one count/(2count+1) < 1/2, so the
  total is used up exactly by every cluster's own count, with no tie for the tie-breaker to decide (exact; the test
  replays the algorithm). Equal counts everywhere are rendered as `Duplicated`.
- Overrides (pkg/util/overridemanager): `plaintext` overriders are JSON patches (`add`/`remove`/`replace`) applied to
  the object for the clusters of `targetCluster`.
- Services (karmada#7823): Karmada prunes a non-headless Service's `clusterIP(s)` before propagating it but not its
  `nodePort`s, so node ports allocated by karmada-apiserver would be copied to every member and may collide there.
  LoadBalancer Services are rendered with `allocateLoadBalancerNodePorts: false` (the AWS Load Balancer Controller's
  `ip` targets need no node port), so no node port is allocated anywhere; ClusterIP Services have none.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from federated_eks.model.workload import ALL_CLUSTERS, ReplicaPreference, Workload
from federated_eks.plan.dns_annotations import member_annotations
# The Deployment/Service shapes and the labels are the engine-neutral parts of the KubeFed rendering's templates.
from federated_eks.plan.kubefed_workload import (APP_LABEL, LOAD_BALANCER_CLASS, MANAGED_BY, SCHEME_ANNOTATION,
                                            TARGET_TYPE_ANNOTATION)
# Karmada's namespaces as the model states them (components/karmada_join/contract.py for the constructs).
from federated_eks.model.federation import KARMADA_RELEASE_NAMESPACE, KARMADA_SYSTEM_NAMESPACE

POLICY_API = "policy.karmada.io/v1alpha1"  # components/karmada_crds.POLICY_API (components/ is above this layer)
CLUSTER_NAMESPACE = "karmada-cluster"
"""Where a push join keeps each member's Secrets (on karmada-apiserver) and its service accounts (on the member)."""
RESERVED_NAMESPACES = (KARMADA_RELEASE_NAMESPACE, KARMADA_SYSTEM_NAMESPACE, CLUSTER_NAMESPACE)
"""Karmada's own namespaces: no workload goes there (nor in an execution space `karmada-es-*`: `unsupported`)."""
EXECUTION_SPACE_PREFIX = "karmada-es-"
CONTAINER = "/spec/template/spec/containers/0"

Clusters = Sequence[tuple[str, str]]
"""The federation's clusters as (name, region)."""


def unsupported(w: Workload) -> list[tuple[str, str, str]]:
    """(field under the workload, what, fix) for what Karmada's objects cannot express: per-cluster minimum and
    maximum replicas of replica scheduling (static weights have no bounds), and a namespace in Karmada's execution
    spaces."""
    out = []
    if w.namespace.startswith(EXECUTION_SPACE_PREFIX):
        out.append(("namespace", f"{w.namespace!r} is a Karmada execution space (karmada-es-<cluster>), where Karmada "
                    "keeps its Works", "choose another namespace"))
    rs = w.replica_scheduling
    for name, pref in (rs.clusters if rs else ()):
        for key, value in (("minReplicas", pref.min_replicas), ("maxReplicas", pref.max_replicas)):
            if (key == "minReplicas" and value) or (key == "maxReplicas" and value is not None):
                out.append((f"replicaScheduling.clusters.{name}.{key}", "has no Karmada counterpart (Karmada divides "
                            "totalReplicas by static weights, without per-cluster bounds)",
                            f"remove {key} and express the spread with weights, or set engine \"kubefed\""))
    return out


def replica_preferences(w: Workload, placed: Sequence[str]) -> dict[str, ReplicaPreference]:
    """Each placed cluster's preference, as the KubeFed rendering gives it (kubefed_workload.replica_preferences):
    its own entry, else that of "*", else weight 1 for a placement by cluster names or with no entries at all (an
    even spread), and weight 0 for a cluster missing from the entries of any other placement."""
    rs = w.replica_scheduling
    assert rs is not None
    given = dict(rs.clusters)
    fallback = given.get(ALL_CLUSTERS, ReplicaPreference(weight=1 if w.placement.clusters or not given else 0))
    return {c: given.get(c, fallback) for c in placed}


def replica_division(w: Workload, clusters: Clusters) -> tuple[int, dict[str, int] | None]:
    """(the Deployment's `spec.replicas`, the static weight per cluster), or weights None for `Duplicated`."""
    placed = w.placement.resolve(clusters)
    if w.replica_scheduling is not None:
        prefs = replica_preferences(w, placed)
        return w.replica_scheduling.total_replicas, {c: p.weight for c, p in prefs.items() if p.weight > 0}
    counts = {c: w.replicas_on(c) or 0 for c in placed}
    if len(set(counts.values())) <= 1:
        return next(iter(counts.values()), w.replicas), None
    return sum(counts.values()), {c: n for c, n in counts.items() if n > 0}


def _meta(w: Workload, name: str | None = None) -> dict[str, Any]:
    return {"name": name or w.name, "namespace": w.namespace, "labels": dict(MANAGED_BY)}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(MANAGED_BY)}}


def _env(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in pairs]


def deployment(w: Workload, replicas: int) -> dict[str, Any]:
    labels = {APP_LABEL: w.name}
    container: dict[str, Any] = {"name": w.name, "image": w.image,
                                 "ports": [{"name": "http", "containerPort": w.container_port, "protocol": "TCP"}]}
    if w.env:
        container["env"] = _env(w.env)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(w),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


def service(w: Workload) -> dict[str, Any]:
    s = w.service
    assert s is not None
    spec: dict[str, Any] = {"type": s.type, "selector": {APP_LABEL: w.name},
                            "ports": [{"name": "http", "port": s.port, "protocol": "TCP",
                                       "targetPort": s.target_port or w.container_port}]}
    meta = _meta(w)
    if s.type == "LoadBalancer":
        spec["loadBalancerClass"] = LOAD_BALANCER_CLASS
        spec["allocateLoadBalancerNodePorts"] = False  # karmada#7823: see the module docstring
        meta["annotations"] = {SCHEME_ANNOTATION: s.scheme, TARGET_TYPE_ANNOTATION: "ip"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _selector(obj: dict[str, Any]) -> dict[str, str]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"]}


def policy_name(w: Workload, kind: str) -> str:
    """`<workload>-deployment`, `<workload>-service`: distinct suffixes, so no two workloads' policies collide."""
    return f"{w.name}-{kind.lower()}"


def propagation_policy(w: Workload, obj: dict[str, Any], placed: Sequence[str],
                       weights: Mapping[str, int] | None = None) -> dict[str, Any]:
    placement: dict[str, Any] = {"clusterAffinity": {"clusterNames": list(placed)}}
    if obj["kind"] == "Deployment":
        if weights is None:
            placement["replicaScheduling"] = {"replicaSchedulingType": "Duplicated"}
        else:
            placement["replicaScheduling"] = {
                "replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
                "weightPreference": {"staticWeightList": [
                    {"targetCluster": {"clusterNames": [c]}, "weight": n} for c, n in weights.items()]}}
    return {"apiVersion": POLICY_API, "kind": "PropagationPolicy", "metadata": _meta(w, policy_name(w, obj["kind"])),
            "spec": {"resourceSelectors": [_selector(obj)], "placement": placement}}


def _rule(cluster: str, patches: list[dict[str, Any]]) -> dict[str, Any]:
    return {"targetCluster": {"clusterNames": [cluster]}, "overriders": {"plaintext": patches}}


def deployment_overrides(w: Workload) -> list[dict[str, Any]]:
    """Per cluster: its image and its env (the workload's, with the cluster's added or replacing). Replica counts are
    the propagation policy's (weights), never an override."""
    rules = []
    for cluster, o in w.overrides:
        patches: list[dict[str, Any]] = []
        if o.image is not None:
            patches.append({"path": f"{CONTAINER}/image", "operator": "replace", "value": o.image})
        if o.env:
            merged = dict(w.env)
            merged.update(o.env)
            # `add` sets the member whether or not the template has it (RFC 6902).
            patches.append({"path": f"{CONTAINER}/env", "operator": "add", "value": _env(sorted(merged.items()))})
        if patches:
            rules.append(_rule(cluster, patches))
    return rules


def override_policy(w: Workload, obj: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": POLICY_API, "kind": "OverridePolicy", "metadata": _meta(w, policy_name(w, obj["kind"])),
            "spec": {"resourceSelectors": [_selector(obj)], "overrideRules": rules}}


def workload_objects(w: Workload, clusters: Clusters,
                     service_annotations: Mapping[str, Mapping[str, str]] | None = None) -> list[dict[str, Any]]:
    """The workload's objects on karmada-apiserver, in apply order (its namespace comes from `namespaces`): policies
    before the objects they select, so no object is ever propagated without its placement and overrides.
    `service_annotations`: cluster -> every annotation of the Service on that member (the DNS records'
    ExternalDNS annotations, components/workload_dns.member_annotations), rendered as a per-cluster override."""
    placed = w.placement.resolve(clusters)
    total, weights = replica_division(w, clusters)
    dep = deployment(w, total)
    out = [propagation_policy(w, dep, placed, weights)]
    rules = deployment_overrides(w)
    if rules:
        out.append(override_policy(w, dep, rules))
    out.append(dep)
    if w.service is not None:
        svc = service(w)
        out.append(propagation_policy(w, svc, placed))
        svc_rules = [_rule(c, [{"path": "/metadata/annotations", "operator": "add", "value": dict(a)}])
                     for c, a in (service_annotations or {}).items() if c in placed]
        if svc_rules:
            out.append(override_policy(w, svc, svc_rules))
        out.append(svc)
    return out


def namespaces(workloads: Sequence[Workload]) -> list[dict[str, Any]]:
    """One Namespace per namespace the workloads use, in first-use order."""
    return [namespace(n) for n in dict.fromkeys(w.namespace for w in workloads)]


def all_objects(workloads: Sequence[Workload], clusters: Clusters) -> list[dict[str, Any]]:
    """Everything of `workloads` for karmada-apiserver, in apply order (namespaces first)."""
    return [*namespaces(workloads), *(o for w in workloads for o in workload_objects(w, clusters))]


def federation_objects(workloads: Sequence[Workload], clusters: Clusters) -> list[dict[str, Any]]:
    """What the federation stack's Custom::KarmadaObjects carries (stacks/federation.py `karmada_objects`): the
    workloads' objects, each DNS workload's Service annotated per placed member (plan/dns_annotations.py)."""
    regions = dict(clusters)
    out = namespaces(workloads)
    for w in workloads:
        annotations = None
        if w.dns is not None and w.service is not None:
            template = service(w)["metadata"].get("annotations") or {}
            annotations = {c: member_annotations(template, w.dns, c, regions[c]) for c in w.placement.resolve(clusters)}
        out += workload_objects(w, clusters, service_annotations=annotations)
    return out
