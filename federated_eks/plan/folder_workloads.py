"""The pure queries on a folder of KubeFed objects (read and checked by `federated_eks.config.manifest_folder`):
which namespaces it federates, which clusters its placements select, what the workload waiter watches, which
Services ask for load balancers or DNS records. Objects are `(file, object)` pairs of any shape."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from federated_eks.model.object_owners import identity
from federated_eks.plan.kubefed_workload import REGION_LABEL


def field_at(obj: Any, *keys: str) -> Any:
    """obj[k1][k2]... through mappings only, or None (any shape)."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def federated_namespaces(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """The namespaces the folder's FederatedNamespaces federate (a FederatedNamespace lives in the namespace it
    federates), in order."""
    return list(dict.fromkeys(identity(obj)[2] or identity(obj)[3] for _, obj in objects
                              if obj.get("kind") == "FederatedNamespace"))


def namespaces_used(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """Every namespace the folder's objects live in, in order."""
    return list(dict.fromkeys(identity(obj)[2] for _, obj in objects if identity(obj)[2]))


def serves_load_balancers(objects: Iterable[tuple[str, dict]]) -> bool:
    """Whether any FederatedService in `objects` (or, in a folder of Karmada objects, any v1 Service) is of type
    LoadBalancer (where: `load_balancer_clusters`, karmada_folder.load_balancer_clusters)."""
    return any((obj.get("kind") == "FederatedService"
                and field_at(obj, "spec", "template", "spec", "type") == "LoadBalancer")
               or (obj.get("apiVersion") == "v1" and obj.get("kind") == "Service"
                   and field_at(obj, "spec", "type") == "LoadBalancer") for _, obj in objects)


def placed_clusters(obj: dict, clusters: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The clusters of `(name, region)` pairs a federated object's placement selects, as KubeFed v0.10.0 reads it
    (pkg/controller/util/placement.go: `clusters` when given, else `clusterSelector`, a label selector over the
    labels the joins set: the region label only). An operator a selector cannot have: every cluster."""
    clusters = tuple(clusters)
    placement = field_at(obj, "spec", "placement")
    if not isinstance(placement, dict):
        return ()
    if isinstance(placement.get("clusters"), list):
        named = {c.get("name") for c in placement["clusters"] if isinstance(c, dict)}
        return tuple(n for n, _ in clusters if n in named)
    selector = placement.get("clusterSelector")
    if not isinstance(selector, dict):
        return ()
    chosen = [n for n, _ in clusters]
    for key, value in (selector.get("matchLabels") or {}).items():
        chosen = [n for n, r in clusters if n in chosen and key == REGION_LABEL and r == value]
    for e in selector.get("matchExpressions") or []:
        op, values = (e.get("operator"), e.get("values") or []) if isinstance(e, dict) else (None, [])
        if not isinstance(e, dict) or op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return tuple(n for n, _ in clusters)
        if e.get("key") != REGION_LABEL:  # a label no join sets: only NotIn / DoesNotExist match
            chosen = chosen if op in ("NotIn", "DoesNotExist") else []
            continue
        chosen = [n for n, r in clusters if n in chosen and op != "DoesNotExist"
                  and (op == "Exists" or (r in values) == (op == "In"))]
    return tuple(chosen)


def load_balancer_clusters(objects: Iterable[tuple[str, dict]], clusters: Iterable[tuple[str, str]]
                           ) -> tuple[str, ...]:
    """The clusters a LoadBalancer FederatedService of `objects` is placed on (in `clusters` order)."""
    clusters = tuple(clusters)
    names = {n for _, obj in objects if obj.get("kind") == "FederatedService"
             and field_at(obj, "spec", "template", "spec", "type") == "LoadBalancer"
             for n in placed_clusters(obj, clusters)}
    return tuple(n for n, _ in clusters if n in names)


@dataclass(frozen=True)
class FolderWorkload:
    """What the workload waiter watches for one FederatedDeployment of a folder: with the
    ReplicaSchedulingPreference and the FederatedService of the same namespace/name when the folder has them."""

    namespace: str
    name: str
    kinds: tuple[tuple[str, str], ...]
    """(apiVersion, kind) of those objects, in the folder's order."""
    clusters: tuple[tuple[str, int | None, str | None], ...]
    """(cluster, planned replicas or None when scheduled, image of the first container or None)."""
    load_balanced: bool
    total_replicas: int | None


_IMAGE_PATH = "/spec/template/spec/containers/0/image"


def _override(obj: dict, cluster: str, path: str, default: Any) -> Any:
    for o in field_at(obj, "spec").get("overrides") or []:
        if isinstance(o, dict) and o.get("clusterName") == cluster:
            for patch in o.get("clusterOverrides") or []:
                if isinstance(patch, dict) and patch.get("path") == path and patch.get("op", "replace") != "remove":
                    default = patch.get("value")
    return default


def waited_workloads(objects: Iterable[tuple[str, dict]], clusters: Iterable[tuple[str, str]]
                     ) -> list[FolderWorkload]:
    """Every FederatedDeployment of a (checked) folder as the waiter sees it (pure)."""
    clusters = tuple(clusters)
    by_key: dict[tuple[str, str], dict[str, dict]] = {}
    for _, obj in objects:
        meta = obj["metadata"]
        by_key.setdefault((meta.get("namespace", ""), meta["name"]), {})[obj["kind"]] = obj
    out = []
    for (namespace, name), kinds in by_key.items():
        fd = kinds.get("FederatedDeployment")
        if fd is None or not isinstance(fd.get("spec"), dict):
            continue
        rsp, fs = kinds.get("ReplicaSchedulingPreference"), kinds.get("FederatedService")
        template = field_at(fd, "spec", "template", "spec") or {}
        containers = field_at(template, "template", "spec", "containers") or [{}]
        image = containers[0].get("image") if isinstance(containers[0], dict) else None
        if rsp is not None:
            prefs = field_at(rsp, "spec", "clusters") or {}
            placed = placed_clusters(fd, clusters) if field_at(rsp, "spec", "intersectWithClusterSelector") \
                else tuple(n for n, _ in clusters if not prefs or "*" in prefs or n in prefs)
            planned = tuple((n, None, _override(fd, n, _IMAGE_PATH, image)) for n in placed)
            bounded = any(isinstance(p, dict) and p.get("maxReplicas") is not None for p in prefs.values())
            total = None if bounded else field_at(rsp, "spec", "totalReplicas")
        else:
            planned = tuple((n, int(_override(fd, n, "/spec/replicas", template.get("replicas", 1))),
                             _override(fd, n, _IMAGE_PATH, image)) for n in placed_clusters(fd, clusters))
            total = None
        # KubeFed places a namespaced object only where its namespace is (pkg/controller/util/placement.go).
        namespace_placement = by_key.get((namespace, namespace), {}).get("FederatedNamespace")
        if namespace_placement is not None:
            where = set(placed_clusters(namespace_placement, clusters))
            planned = tuple(p for p in planned if p[0] in where)
        if not planned:
            continue
        out.append(FolderWorkload(
            namespace=namespace, name=name,
            kinds=tuple((o["apiVersion"], o["kind"]) for o in (fd, rsp, fs) if o is not None),
            clusters=planned, total_replicas=total,
            load_balanced=fs is not None and field_at(fs, "spec", "template", "spec", "type") == "LoadBalancer"))
    return out


EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"


def dns_annotated_services(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """`<file>: FederatedService <namespace>/<name>` of every LoadBalancer FederatedService asking ExternalDNS for
    a record (the hostname annotation in its template, or in an override of its annotations)."""
    out = []
    for file, obj in objects:
        if obj.get("kind") != "FederatedService" \
                or field_at(obj, "spec", "template", "spec", "type") != "LoadBalancer":
            continue
        found = EXTERNAL_DNS_HOSTNAME in (field_at(obj, "spec", "template", "metadata", "annotations") or {})
        for o in field_at(obj, "spec").get("overrides") or []:
            for patch in (o.get("clusterOverrides") or []) if isinstance(o, dict) else []:
                value = patch.get("value") if isinstance(patch, dict) else None
                path = str(patch.get("path", "")) if isinstance(patch, dict) else ""
                found = found or path.endswith(EXTERNAL_DNS_HOSTNAME.replace("/", "~1")) or (
                    path == "/metadata/annotations" and isinstance(value, dict) and EXTERNAL_DNS_HOSTNAME in value)
        if found:
            meta = obj["metadata"]
            out.append(f"{file}: FederatedService {meta.get('namespace', '')}/{meta['name']}")
    return out
