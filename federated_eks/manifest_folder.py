"""A folder of KubeFed YAML, applied as it is: reading it, and checking every object before anything is built.

`load` reads `*.yaml` / `*.yml` files (sorted by name, every document of each) and reports unreadable files,
YAML errors and documents that are not Kubernetes objects. `check` validates each object against the
OpenAPI schema of its KubeFed CRD (the same CRDs the control plane installs), and the KubeFed rules a schema
cannot express: placement naming clusters of this federation, and a FederatedNamespace for the namespace of
every namespaced federated object (KubeFed places nothing in a namespace that is not federated).
Problems are `(where, what, fix)`: where is `<file>: <Kind> <namespace>/<name>: <field>`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from federated_eks import image_reference
from federated_eks.kubefed_workload import LOAD_BALANCER_CLASS, REGION_LABEL

Problem = tuple[str, str, str]
SUFFIXES = (".yaml", ".yml")
_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "boolean": "true or false", "number": "a number"}


def load(root: Path, folder: str) -> tuple[tuple[tuple[str, dict], ...], list[Problem]]:
    """Every object in `folder` (relative to `root` unless absolute) as `(file, object)`, or the problems."""
    base = root / folder
    if not base.is_dir():
        return (), [(folder, "is not a folder", "point manifests at a folder of KubeFed YAML files, relative to "
                     "the folder with cdk.json")]
    files = sorted(p for p in base.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        return (), [(folder, "has no .yaml or .yml file", "put the KubeFed objects in YAML files there")]
    objects: list[tuple[str, dict]] = []
    problems: list[Problem] = []
    for path in files:
        shown = f"{folder.rstrip('/')}/{path.name}"
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append((shown, f"cannot be read ({type(exc).__name__})", "make it a readable UTF-8 file"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            problems.append((shown, f"is not valid YAML{line}: {getattr(exc, 'problem', None) or exc}",
                             "fix the YAML syntax"))
            continue
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            wrong = _not_an_object(doc)
            if wrong:
                problems.append((f"{shown} (document {i + 1})", wrong, "give every document apiVersion, kind and "
                                 "metadata.name"))
                continue
            objects.append((shown, doc))
    return tuple(objects), problems


def _not_an_object(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "is not a Kubernetes object (a mapping)"
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        missing.append("metadata.name")
    return f"has no {', '.join(missing)}" if missing else None


def _served(crds: Iterable[dict]) -> dict[tuple[str, str], tuple[dict, str]]:
    """(apiVersion, kind) -> (openAPIV3Schema, scope) for every served version of `crds`."""
    out = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served", True):
                out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = (
                    version["schema"]["openAPIV3Schema"], spec["scope"])
    return out


def _field(error: jsonschema.ValidationError) -> str:
    parts = list(error.absolute_path)
    if error.validator == "required":  # the missing field, not its parent
        missing = re.match(r"'(.+)' is a required property", error.message)
        parts.append(missing.group(1) if missing else "?")
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(what, fix) for one schema error, in the config's words."""
    if error.validator == "type":
        wanted = error.validator_value
        got = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}.get(type(error.instance), type(error.instance).__name__)
        hint = {"array": "write a YAML list (- item)", "object": "write a YAML mapping (key: value)"}
        return (f"must be {_TYPE_NAMES.get(wanted, wanted)}, got {got}",
                hint.get(wanted, f"write {_TYPE_NAMES.get(wanted, wanted)}"))
    if error.validator == "required":
        return "is required", "add the field"
    return error.message, "follow the KubeFed API for this field"


def _placement_fix(field: str) -> str:
    if field.endswith("placement.clusters"):
        return ("list clusters as `clusters: [{name: fed-1}]`; to place on every cluster write "
                "`clusterSelector: {}` instead")
    return ""


def check(objects: Iterable[tuple[str, dict]], crds: Iterable[dict], clusters: Iterable[str],
          federated_namespaces: Iterable[str] = ()) -> list[Problem]:
    """Problems of `objects` against the KubeFed `crds`; `clusters` are the federation's cluster names and
    `federated_namespaces` namespaces that something else (a described workload) federates."""
    objects = list(objects)
    served = _served(crds)
    names = set(clusters)
    namespaces = set(federated_namespaces) | {
        o.get("metadata", {}).get("namespace") or o["metadata"]["name"]
        for _, o in objects if o["kind"] == "FederatedNamespace"}
    problems: list[Problem] = []
    for file, obj in objects:
        meta = obj["metadata"]
        where = f"{file}: {obj['kind']} {meta.get('namespace', '')}{'/' if meta.get('namespace') else ''}" \
                f"{meta['name']}"
        found = served.get((obj["apiVersion"], obj["kind"]))
        if found is None:
            problems.append((where, f"{obj['apiVersion']} {obj['kind']} is not a KubeFed type this federation "
                             "serves", "use a federated type of kubefed's types (types.kubefed.io/v1beta1 "
                             "Federated<Kind>), a ReplicaSchedulingPreference, or enable the type first"))
            continue
        schema, scope = found
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            field = _field(error)
            what, fix = _explain(error)
            problems.append((f"{where}: {field or '(object)'}", what, _placement_fix(field) or fix))
        namespace = meta.get("namespace")
        if scope == "Namespaced" and not namespace:
            problems.append((f"{where}: metadata.namespace", "is missing, so kubectl would put it in the default "
                             "namespace", "set the namespace the object belongs to"))
        elif (scope == "Namespaced" and obj["kind"] != "FederatedNamespace"
              and obj["apiVersion"].startswith("types.kubefed.io/") and namespace not in namespaces):
            problems.append((f"{where}: metadata.namespace", f"namespace {namespace!r} is not federated, so "
                             "KubeFed places the object nowhere (NamespaceNotFederated)",
                             f"add a FederatedNamespace {namespace!r} to the folder"))
        placement = (obj.get("spec") or {}).get("placement") if isinstance(obj.get("spec"), dict) else None
        listed = placement.get("clusters") if isinstance(placement, dict) else None
        if isinstance(listed, list):
            for i, entry in enumerate(listed):
                name = entry.get("name") if isinstance(entry, dict) else None
                if isinstance(name, str) and name not in names:
                    problems.append((f"{where}: spec.placement.clusters[{i}].name",
                                     f"{name!r} is not a cluster of this federation",
                                     f"use one of: {', '.join(sorted(names))}"))
        problems += federation_problems(where, obj, names)
    return problems


def serves_load_balancers(objects: Iterable[tuple[str, dict]]) -> bool:
    """Whether any FederatedService in `objects` is of type LoadBalancer (where: `load_balancer_clusters`)."""
    for _, obj in objects:
        template = ((obj.get("spec") or {}).get("template") or {}) if isinstance(obj.get("spec"), dict) else {}
        if obj.get("kind") == "FederatedService" and (template.get("spec") or {}).get("type") == "LoadBalancer":
            return True
    return False


# What KubeFed accepts without a word but never acts on (or acts on wrongly), checked per object.
RSP_TARGET_KINDS = ("FederatedDeployment", "FederatedReplicaSet")
"""The kinds KubeFed v0.10.0's replica scheduler handles (pkg/schedulingtypes/replicascheduler.go)."""
JOIN_LABELS = (REGION_LABEL,)
"""The labels every join sets on its KubeFedCluster (stacks/federation.py): a selector on any other key
matches no cluster."""
_POD_TEMPLATE_PATHS = {"FederatedDeployment": ("template", "spec", "template", "spec"),
                       "FederatedStatefulSet": ("template", "spec", "template", "spec"),
                       "FederatedDaemonSet": ("template", "spec", "template", "spec"),
                       "FederatedReplicaSet": ("template", "spec", "template", "spec"),
                       "FederatedJob": ("template", "spec", "template", "spec"),
                       "FederatedCronJob": ("template", "spec", "jobTemplate", "spec", "template", "spec")}


def _at(obj: Any, keys: Iterable[str]) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def federation_problems(where: str, obj: dict, names: set[str]) -> list[Problem]:
    """KubeFed rules no schema expresses: overrides and RSP preferences naming clusters of this federation,
    RSP target kinds the scheduler handles, selectors on labels the joins set, LoadBalancer Services the AWS
    Load Balancer Controller claims, pinned images (the typed workloads' rule)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    problems: list[Problem] = []
    known = f"use one of: {', '.join(sorted(names))}"
    for i, o in enumerate(spec.get("overrides") or []):
        name = o.get("clusterName") if isinstance(o, dict) else None
        if isinstance(name, str) and name not in names:
            problems.append((f"{where}: spec.overrides[{i}].clusterName", f"{name!r} is not a cluster of this "
                             "federation, so the override applies nowhere", known))
    if obj["kind"] == "ReplicaSchedulingPreference":
        kind = spec.get("targetKind")
        if isinstance(kind, str) and kind not in RSP_TARGET_KINDS:
            problems.append((f"{where}: spec.targetKind", f"{kind!r} is not a kind KubeFed's replica scheduler "
                             "handles, so it schedules nothing", f"use one of: {', '.join(RSP_TARGET_KINDS)}"))
        for name in (spec.get("clusters") or {}) if isinstance(spec.get("clusters"), dict) else ():
            if name != "*" and name not in names:
                problems.append((f"{where}: spec.clusters.{name}", f"{name!r} is not a cluster of this federation",
                                 f"use \"*\" or one of: {', '.join(sorted(names))}"))
    selector = _at(spec, ("placement", "clusterSelector"))
    if isinstance(selector, dict):
        keys = [(f"matchLabels.{k}", k) for k in selector.get("matchLabels") or {}]
        keys += [(f"matchExpressions[{i}].key", e.get("key")) for i, e in
                 enumerate(selector.get("matchExpressions") or []) if isinstance(e, dict)]
        for field, key in keys:
            if key not in JOIN_LABELS:
                problems.append((f"{where}: spec.placement.clusterSelector.{field}", f"{key!r} is not a label the "
                                 "federation's joins set on a cluster, so the selector matches no cluster",
                                 f"select on {', '.join(JOIN_LABELS)} (the cluster's region), or list clusters "
                                 "under placement.clusters"))
    if obj["kind"] == "FederatedService":
        service = _at(spec, ("template", "spec"))
        if isinstance(service, dict) and service.get("type") == "LoadBalancer" \
                and service.get("loadBalancerClass") != LOAD_BALANCER_CLASS:
            problems.append((f"{where}: spec.template.spec.loadBalancerClass",
                             f"is {service.get('loadBalancerClass')!r}: a LoadBalancer Service needs the class the "
                             "AWS Load Balancer Controller claims, else the legacy in-tree controller makes a "
                             "Classic Load Balancer (or nothing serves it)",
                             f"set `loadBalancerClass: {LOAD_BALANCER_CLASS}` in the template's spec"))
        if isinstance(service, dict) and service.get("type") == "LoadBalancer" \
                and not isinstance(_at(spec, ("placement", "clusters")), list):
            problems.append((f"{where}: spec.placement", "places a LoadBalancer Service by clusterSelector: a "
                             "cluster removed from the config stays selected until its unjoin, which then leaves "
                             "the Service and its load balancer behind (billing, and blocking the VPC's deletion)",
                             "list the clusters under placement.clusters (`clusters: [{name: fed-1}]`), so that "
                             "removing a cluster removes its load balancer first"))
    pod = _at(spec, _POD_TEMPLATE_PATHS.get(obj["kind"], ("-",)))
    images = [(f"{'.'.join(_POD_TEMPLATE_PATHS[obj['kind']])}.{group}[{i}].image", c.get("image"))
              for group in ("initContainers", "containers") for i, c in
              enumerate((pod or {}).get(group) or []) if isinstance(pod, dict) and isinstance(c, dict)]
    images += [(f"spec.overrides[{i}].clusterOverrides[{j}].value", patch.get("value"))
               for i, o in enumerate(spec.get("overrides") or []) if isinstance(o, dict)
               for j, patch in enumerate(o.get("clusterOverrides") or [])
               if isinstance(patch, dict) and str(patch.get("path", "")).endswith("/image")]
    for field, image in images:
        wrong = image_reference.problem(image) if isinstance(image, str) else None
        if wrong:
            problems.append((f"{where}: {field}", wrong, image_reference.PIN_FIX))
    return problems


def placed_clusters(obj: dict, clusters: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The clusters of `(name, region)` pairs a federated object's placement selects, as KubeFed v0.10.0 reads it
    (pkg/controller/util/placement.go: `clusters` when given, else `clusterSelector`, a label selector over the
    labels the joins set: the region label only). An operator a selector cannot have: every cluster."""
    clusters = tuple(clusters)
    placement = _at(obj, ("spec", "placement"))
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
             and _at(obj, ("spec", "template", "spec", "type")) == "LoadBalancer"
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
    for o in _at(obj, ("spec",)).get("overrides") or []:
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
        template = _at(fd, ("spec", "template", "spec")) or {}
        containers = _at(template, ("template", "spec", "containers")) or [{}]
        image = containers[0].get("image") if isinstance(containers[0], dict) else None
        if rsp is not None:
            prefs = _at(rsp, ("spec", "clusters")) or {}
            placed = placed_clusters(fd, clusters) if _at(rsp, ("spec", "intersectWithClusterSelector")) \
                else tuple(n for n, _ in clusters if not prefs or "*" in prefs or n in prefs)
            planned = tuple((n, None, _override(fd, n, _IMAGE_PATH, image)) for n in placed)
            bounded = any(isinstance(p, dict) and p.get("maxReplicas") is not None for p in prefs.values())
            total = None if bounded else _at(rsp, ("spec", "totalReplicas"))
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
            load_balanced=fs is not None and _at(fs, ("spec", "template", "spec", "type")) == "LoadBalancer"))
    return out


EXTERNAL_DNS_HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"


def dns_annotated_services(objects: Iterable[tuple[str, dict]]) -> list[str]:
    """`<file>: FederatedService <namespace>/<name>` of every LoadBalancer FederatedService asking ExternalDNS for
    a record (the hostname annotation in its template, or in an override of its annotations)."""
    out = []
    for file, obj in objects:
        if obj.get("kind") != "FederatedService" or _at(obj, ("spec", "template", "spec", "type")) != "LoadBalancer":
            continue
        found = EXTERNAL_DNS_HOSTNAME in (_at(obj, ("spec", "template", "metadata", "annotations")) or {})
        for o in _at(obj, ("spec",)).get("overrides") or []:
            for patch in (o.get("clusterOverrides") or []) if isinstance(o, dict) else []:
                value = patch.get("value") if isinstance(patch, dict) else None
                path = str(patch.get("path", "")) if isinstance(patch, dict) else ""
                found = found or path.endswith(EXTERNAL_DNS_HOSTNAME.replace("/", "~1")) or (
                    path == "/metadata/annotations" and isinstance(value, dict) and EXTERNAL_DNS_HOSTNAME in value)
        if found:
            meta = obj["metadata"]
            out.append(f"{file}: FederatedService {meta.get('namespace', '')}/{meta['name']}")
    return out
