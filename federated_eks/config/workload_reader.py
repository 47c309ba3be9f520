"""Reading `workloads` from the config: raw JSON in, `workload.Workload` / `workload.ManifestFolder` out.

Problems go to the config's reader (`config.Reader`), so they are reported with every other config problem,
each naming the field (`environments.dev.workloads[0].dns.primary`) and the fix, before any construct is
built. Folders of KubeFed YAML are read here (file and YAML errors); their objects are checked against the
KubeFed schemas by `manifest_folder.check`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from federated_eks.config import manifest_folder
from federated_eks.config.fields import MISSING, Reader, kind_of
from federated_eks.plan import (federation_layout, folder_workloads, karmada_folder, karmada_workload,
                                kubefed_workload)
from federated_eks.model import image_reference, object_owners
from federated_eks.plan.cloudformation_limits import MAX_TEMPLATE_BYTES
from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES, FederatedType
from federated_eks.model.workload import (ALL_CLUSTERS, DNS_ROUTINGS, HEALTH_CHECK_PROTOCOLS, LOAD_BALANCER_SCHEMES,
                                    SERVICE_TYPES, ClusterOverride, DnsSpec, ManifestFolder, Placement,
                                    ReplicaPreference, ReplicaScheduling, ServiceSpec, Workload)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Relative `manifests` folders are found from here (the folder with cdk.json)."""

# Every pattern is applied with fullmatch: `$` would also accept a trailing newline.
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")  # Service names must be DNS-1035 labels
_DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")  # what the API server accepts for env[].name
_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")
_DNS_LABEL = re.compile(r"\*|[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?")
MAX_INT32 = 2 ** 31 - 1
PLAIN_HTTP_PORTS = (80, 8080)
"""Ports that serve plain HTTP by convention: an HTTPS health check there cannot pass."""


WORKLOAD_FIELDS = ("name", "namespace", "image", "containerPort", "replicas", "placement", "clusters", "env",
                   "replicaScheduling", "service", "dns")
FOLDER_FIELDS = ("manifests", "hostedZoneId")


def read_workloads(r: Any, raw: Any, path: str, clusters: Sequence[tuple[str, str]],
                   reserved_namespaces: tuple[str, ...] = (),
                   federated_types: Sequence[FederatedType] = DEFAULT_FEDERATED_TYPES,
                   kubernetes_version: str | None = None, engine: str = "kubefed",
                   ) -> tuple[tuple[Workload, ...], tuple[ManifestFolder, ...]]:
    """The workloads and manifest folders of `raw` (the `workloads` list). `clusters` are the federation's
    `(name, region)` pairs; `reserved_namespaces` (KubeFed's own) cannot hold a workload; `federated_types` are
    those the control plane enables (a workload renders objects of some). Folders are read here, their objects'
    templates checked against the Kubernetes schemas of `kubernetes_version` (when given), and the objects
    against the KubeFed CRDs by `folder_problems`. With `engine` "karmada", folders hold Karmada objects (read here,
    checked by `karmada_folder.check` from the app) and every object is rendered as Karmada's for the owner check."""
    if not isinstance(raw, list):
        r.problem(path, f"must be a list, got {kind_of(raw)}",
                  'list workload objects, e.g. [{"name": "web", "namespace": "web", "image": "nginx:1.29", '
                  '"containerPort": 80}]')
        return (), ()
    workloads: list[Workload] = []
    folders: list[ManifestFolder] = []
    seen: dict[tuple[str, str], int] = {}
    rendered: list[tuple[str, dict]] = []  # (place, object) of everything applied on the host, in config order
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        if isinstance(item, dict) and "manifests" in item and engine == "karmada":
            folder = _read_karmada_folder(r, item, p)
            if folder is not None and not _same_folder(r, folder, folders, p):
                folders.append(folder)
                rendered += [(f"{p}.manifests: {file}", obj) for file, obj in folder.objects]
            continue
        if isinstance(item, dict) and "manifests" in item:
            folder = _read_folder(r, item, p, federated_types, kubernetes_version)
            if folder is not None and not _same_folder(r, folder, folders, p):
                folders.append(folder)
                rendered += [(f"{p}.manifests: {file}", obj) for file, obj in folder.objects]
                _check_folder_namespaces(r, folder, p, reserved_namespaces)
            continue
        w = _read_workload(r, item, p, clusters, reserved_namespaces)
        if w is None:
            continue
        if engine != "karmada":
            _check_types_enabled(r, w, p, clusters, federated_types)
        key = (w.namespace, w.name)
        if key in seen:
            r.problem(f"{p}.name", f"workload {w.namespace}/{w.name} is already described by {path}[{seen[key]}]",
                      "give each workload in a namespace its own name")
            continue
        seen[key] = i
        if engine == "karmada":
            if all(other.namespace != w.namespace for other in workloads):
                rendered += [(p, obj) for obj in karmada_workload.namespaces([w])]
            rendered += [(p, obj) for obj in karmada_workload.workload_objects(w, clusters)]
        elif all(other.namespace != w.namespace for other in workloads):  # the namespace's owner: its first workload
            rendered += [(p, obj) for obj in kubefed_workload.namespaces([w], clusters)]
        if engine != "karmada":
            rendered += [(p, obj) for obj in kubefed_workload.workload_objects(w)]
        workloads.append(w)
    _check_record_names(r, workloads, [seen[(w.namespace, w.name)] for w in workloads], path)
    for where, what, fix in object_owners.second_owners(rendered):
        r.problem(where, what, fix)
    return tuple(workloads), tuple(folders)


def _check_folder_namespaces(r: Any, folder: ManifestFolder, path: str, reserved: tuple[str, ...]) -> None:
    """A folder federates (so creates on the host, and deletes) only namespaces the project owns."""
    for file, obj in folder.objects:
        _, kind, namespace, name = object_owners.identity(obj)
        if kind == "FederatedNamespace" and object_owners.system_namespace(namespace or name, reserved):
            r.problem(f"{path}.manifests: {file}: FederatedNamespace {namespace or name}",
                      f"{namespace or name!r} is a system namespace; a folder's namespaces are created on the host, "
                      "federated, and deleted with the folder", "give the folder's objects a namespace of their own")


def _check_types_enabled(r: Any, w: Workload, path: str, clusters: Sequence[tuple[str, str]],
                         federated_types: Sequence[FederatedType]) -> None:
    """Every federated kind the workload renders must be enabled (else `no matches for kind` at deploy)."""
    rendered = [*kubefed_workload.namespaces([w], clusters), *kubefed_workload.workload_objects(w)]
    for obj in rendered:
        disabled = manifest_folder.disabled_default_type(obj["apiVersion"], obj["kind"], federated_types)
        if disabled is not None:
            r.problem(path, *manifest_folder.disabled_type_problem(
                disabled, f"renders a {disabled.federated_kind}, which is"))


def _check_record_names(r: Any, workloads: Sequence[Workload], indexes: Sequence[int], path: str) -> None:
    """Each workload's records are a set of one name (one record per placed cluster, told apart by SetIdentifier
    = cluster name): two workloads with one name in one zone would make the same records twice, which Route 53
    refuses, or mix routing policies under one name."""
    owner: dict[tuple[str, str], int] = {}
    for w, i in zip(workloads, indexes):
        if w.dns is None:
            continue
        key = (w.dns.hosted_zone_id, w.dns.record_name)
        if key in owner:
            r.problem(f"{path}[{i}].dns.recordName", f"{w.dns.record_name!r} in zone {w.dns.hosted_zone_id} is "
                      f"already the record name of {path}[{owner[key]}]", "give each workload its own record name")
        else:
            owner[key] = i


def _check_latency_regions(r: Any, dns: DnsSpec | None, path: str, placed: tuple[str, ...],
                           clusters: Sequence[tuple[str, str]]) -> None:
    """Route 53 allows one latency record per region for a name (CloudFormation refuses a second), and latency
    routing makes one record per placed cluster, in its region."""
    if dns is None or dns.routing != "latency":
        return
    region_of = dict(clusters)
    by_region: dict[str, list[str]] = {}
    for name in placed:
        by_region.setdefault(region_of[name], []).append(name)
    crowded = {region: names for region, names in by_region.items() if len(names) > 1}
    if crowded:
        listed = "; ".join(f"{', '.join(names)} in {region}" for region, names in crowded.items())
        r.problem(f"{path}.routing", f"latency routing needs one placed cluster per region (Route 53 allows one "
                  f"latency record per region for a name), the workload has {listed}",
                  'place it on one cluster per region, or use "weighted" routing')


def folder_problems(folders: Sequence[ManifestFolder], workloads: Sequence[Workload], cluster_names: Sequence[str],
                    crds: list[dict]) -> list[str]:
    """The problems of manifest folders against the KubeFed `crds` (the CRDs the control plane installs, which
    only the app layer can generate), in the config's format. Namespaces of `workloads` count as federated."""
    out = []
    for folder in folders:
        for where, what, fix in manifest_folder.check(folder.objects, crds, cluster_names,
                                                      federated_namespaces=[w.namespace for w in workloads]):
            out.append(f"{folder.source}.manifests: {where}: {what}. Fix: {fix}")
    return out


def check_workloads(workloads: Sequence[Workload], clusters: Sequence[tuple[str, str]],
                    reserved_namespaces: tuple[str, ...] = (),
                    federated_types: Sequence[FederatedType] = DEFAULT_FEDERATED_TYPES) -> list[str]:
    """Every problem of typed workloads, by exactly the config's rules and messages (paths `workloads[i]...`)."""
    reader = Reader()
    read_workloads(reader, [to_config(w) for w in workloads], "workloads", clusters, reserved_namespaces,
                   federated_types)
    return reader.problems


def _read_folder(r: Any, raw: dict, path: str, federated_types: Sequence[FederatedType],
                 kubernetes_version: str | None) -> ManifestFolder | None:
    d = r.obj(raw, path, FOLDER_FIELDS)
    folder = r.value(d, "manifests", path, str, MISSING, '"samples/hello-world"')
    if folder is None:
        return None
    objects, problems = manifest_folder.load(PROJECT_ROOT, folder)
    if kubernetes_version is not None:
        problems += manifest_folder.template_problems(objects, federated_types, kubernetes_version)
    for where, what, fix in problems:
        r.problem(f"{path}.manifests: {where}", what, fix)
    zone = _read_zone(r, d, path)
    if problems:
        return None
    if _oversized(r, [obj for _, obj in objects], f"{path}.manifests"):
        return None
    _check_zone(r, path, zone, folder_workloads.dns_annotated_services(objects),
                "LoadBalancer FederatedService of the folder carries the "
                f"{folder_workloads.EXTERNAL_DNS_HOSTNAME} annotation (template or cluster override)")
    return ManifestFolder(path=folder, objects=objects, source=path, hosted_zone_id=zone)


def _read_zone(r: Any, d: Any, path: str) -> str | None:
    """A folder's `hostedZoneId` (optional), checked as a Route 53 zone id."""
    zone = r.value(d, "hostedZoneId", path, str, None, '"Z0123456789ABCDEFGHIJ"')
    if zone is not None and not _ZONE_ID.fullmatch(zone):
        r.problem(f"{path}.hostedZoneId", f"{zone!r} is not a Route 53 hosted zone id",
                  "copy the zone's id (Z followed by capitals and digits) from the Route 53 console")
    return zone


def _check_zone(r: Any, path: str, zone: str | None, annotated: Sequence[str], services: str) -> None:
    """A folder names a zone exactly when some of its Services (`annotated`) ask ExternalDNS for a record;
    `services` says which Services count, in the engine's terms."""
    if annotated and zone is None:
        r.problem(f"{path}.hostedZoneId", f"is missing, but {annotated[0]} asks ExternalDNS for a record",
                  "name the hosted zone of its records, so that ExternalDNS runs on its clusters with a role on it")
    elif zone is not None and not annotated:
        r.problem(f"{path}.hostedZoneId", f"is set, but no {services}",
                  "annotate the Services that need a record (see docs/workloads/index.md), or remove it")


def _read_karmada_folder(r: Any, raw: dict, path: str) -> ManifestFolder | None:
    """A folder of Karmada objects: read (files, YAML), its size and its DNS zone checked here; its objects are checked
    by `karmada_folder.check` (which needs the Karmada CRDs of components/, so the app runs it)."""
    d = r.obj(raw, path, FOLDER_FIELDS)
    folder = r.value(d, "manifests", path, str, MISSING, '"samples/echo-server-karmada"')
    if folder is None:
        return None
    objects, problems = manifest_folder.load(PROJECT_ROOT, folder, engine="Karmada")
    for where, what, fix in problems:
        r.problem(f"{path}.manifests: {where}", what, fix)
    zone = _read_zone(r, d, path)
    if problems or _oversized(r, [obj for _, obj in objects], f"{path}.manifests"):
        return None
    _check_zone(r, path, zone, karmada_folder.dns_annotated_services(objects),
                f"LoadBalancer Service of the folder carries the {folder_workloads.EXTERNAL_DNS_HOSTNAME} annotation "
                "(on the Service or added by an OverridePolicy)")
    return ManifestFolder(path=folder, objects=objects, source=path, hosted_zone_id=zone)


def _same_folder(r: Any, folder: ManifestFolder, earlier: Sequence[ManifestFolder], path: str) -> bool:
    """Whether `folder` is one of `earlier` again (its objects would be applied twice, and the federation stack
    names a folder's resource after its path, with '/' as '-')."""
    ident = folder.path.strip("/").replace("/", "-")
    for other in earlier:
        if other.path.strip("/").replace("/", "-") == ident:
            r.problem(f"{path}.manifests", f"{folder.path!r} is {other.source}'s folder again (or a path the "
                      "federation stack would name the same way)", "list each folder once")
            return True
    return False


def _oversized(r: Any, objects: list, path: str) -> bool:
    """Whether a folder's objects, YAML aliases written out, are more than a template can carry (checked with
    bounded work before anything expands them; quotas.py then sizes the whole federation template)."""
    size = federation_layout.expanded_size(objects, MAX_TEMPLATE_BYTES)
    if size > MAX_TEMPLATE_BYTES:
        r.problem(path, f"its objects are over {MAX_TEMPLATE_BYTES:,} bytes of JSON with YAML aliases (*name) written "
                  "out, and the federation template carries them: CloudFormation takes templates of at most 1 MB",
                  "carry fewer or smaller objects, and write repeated parts out instead of using anchors (&name)")
        return True
    return False


def _read_workload(r: Any, raw: Any, path: str, clusters: Sequence[tuple[str, str]],
                   reserved: tuple[str, ...]) -> Workload | None:
    d = r.obj(raw, path, WORKLOAD_FIELDS)
    if d is None:
        return None
    before = len(r.problems)
    name = r.value(d, "name", path, str, MISSING, '"echo-server"')
    if name is not None and (not _DNS1035.fullmatch(name) or len(name) > 63):
        r.problem(f"{path}.name", f"{name!r} is not a DNS-1035 label (it names the Deployment and the Service)",
                  "use at most 63 lowercase letters, digits and '-', starting with a letter")
    namespace = r.value(d, "namespace", path, str, MISSING, '"echo"')
    if namespace is not None:
        if not _DNS1123.fullmatch(namespace) or len(namespace) > 63:
            r.problem(f"{path}.namespace", f"{namespace!r} is not a namespace name",
                      "use at most 63 lowercase letters, digits and '-'")
        elif object_owners.system_namespace(namespace, reserved):
            r.problem(f"{path}.namespace", f"{namespace!r} is a system namespace; a workload's namespace is "
                      "federated and deleted with it", "give the workload a namespace of its own")
    image = _image(r, d, "image", path, required=True)
    port = _port(r, d, "containerPort", path, required=True)
    replicas = r.value(d, "replicas", path, int, 1, "2")
    if replicas is not None and not 0 <= replicas <= MAX_INT32:
        r.problem(f"{path}.replicas", f"{replicas} is out of range", "use 0 or more")
    placement = _read_placement(r, d.get("placement", "all"), f"{path}.placement", clusters)
    placed = placement.resolve(clusters) if placement else ()
    env = _read_env(r, d.get("env", {}), f"{path}.env")
    scheduling = None
    if "replicaScheduling" in d:
        scheduling = _read_scheduling(r, d["replicaScheduling"], f"{path}.replicaScheduling", clusters, placed)
        if "replicas" in d:
            r.problem(f"{path}.replicas", "is set together with replicaScheduling, which decides the replicas",
                      "remove replicas, or remove replicaScheduling for a fixed count per cluster")
    overrides = _read_overrides(r, d.get("clusters", {}), f"{path}.clusters", clusters, placed,
                                scheduling is not None)
    service = _read_service(r, d["service"], f"{path}.service") if "service" in d else None
    dns = None
    if "dns" in d:
        dns = _read_dns(r, d["dns"], f"{path}.dns", service, placed)
        _check_latency_regions(r, dns, f"{path}.dns", placed, clusters)
    if len(r.problems) > before:
        return None
    return Workload(name=name, namespace=namespace, image=image, container_port=port, replicas=replicas,
                    placement=placement, overrides=overrides, env=env, replica_scheduling=scheduling,
                    service=service, dns=dns)


def _image(r: Any, d: dict, key: str, path: str, required: bool) -> str | None:
    value = r.value(d, key, path, str, MISSING if required else None, '"registry.k8s.io/echoserver:1.10"')
    if value is not None:
        wrong = image_reference.problem(value)
        if wrong:
            r.problem(f"{path}.{key}", wrong, image_reference.PIN_FIX)
    return value


def _port(r: Any, d: dict, key: str, path: str, required: bool, default: int | None = None) -> int | None:
    value = r.value(d, key, path, int, MISSING if required else default, "8080")
    if value is not None and not 1 <= value <= 65535:
        r.problem(f"{path}.{key}", f"{value} is not a port number", "use 1 to 65535")
        return None
    return value


def _read_placement(r: Any, raw: Any, path: str, clusters: Sequence[tuple[str, str]]) -> Placement | None:
    if raw == "all":
        return Placement()
    d = r.obj(raw, path, ("clusters", "regions")) if not isinstance(raw, str) else None
    if d is None:
        if isinstance(raw, str):
            r.problem(path, f"{raw!r} is not a placement", 'use "all", {"clusters": ["fed-1"]} or '
                      '{"regions": ["us-east-1"]}')
        return None
    if len(d) != 1:
        r.problem(path, "must name either clusters or regions", 'use {"clusters": [...]} or {"regions": [...]}')
        return None
    names = {n for n, _ in clusters}
    regions = {region for _, region in clusters}
    key = next(iter(d))
    if d[key] == []:
        r.problem(f"{path}.{key}", "is empty, which would place the workload on no cluster",
                  "name at least one, or use \"all\" for every cluster")
        return None
    if "clusters" in d:
        chosen = r.string_list(d, "clusters", path, (), '["fed-1"]')
        for i, name in enumerate(chosen or ()):
            if name not in names:
                r.problem(f"{path}.clusters[{i}]", f"{name!r} is not a cluster of this federation",
                          f"use one of: {', '.join(sorted(names))}")
        return Placement(clusters=tuple(dict.fromkeys(chosen or ())))
    chosen = r.string_list(d, "regions", path, (), '["us-east-1"]')
    for i, region in enumerate(chosen or ()):
        if region not in regions:
            r.problem(f"{path}.regions[{i}]", f"no cluster of this federation is in {region!r}",
                      f"use one of: {', '.join(sorted(regions))}")
    return Placement(regions=tuple(dict.fromkeys(chosen or ())))


def _read_env(r: Any, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        r.problem(path, f"must be an object of names to string values, got {kind_of(raw)}",
                  'write it like {"LOG_LEVEL": "info"}')
        return ()
    out = []
    for key, value in sorted(raw.items()):
        if not _ENV_NAME.fullmatch(key):
            r.problem(f"{path}.{key}", "is not an environment variable name",
                      "use letters, digits, '_', '-' and '.', not starting with a digit")
        if not isinstance(value, str):
            r.problem(f"{path}.{key}", f"must be a string, got {kind_of(value)}",
                      'quote it, e.g. "8080"')
            continue
        out.append((key, value))
    return tuple(out)


def _read_overrides(r: Any, raw: Any, path: str, clusters: Sequence[tuple[str, str]], placed: tuple[str, ...],
                    scheduled: bool) -> tuple[tuple[str, ClusterOverride], ...]:
    if not isinstance(raw, dict):
        r.problem(path, f"must be an object of cluster names, got {kind_of(raw)}",
                  'write it like {"fed-1": {"replicas": 2}}')
        return ()
    names = [n for n, _ in clusters]
    out = []
    for name, item in raw.items():
        p = f"{path}.{name}"
        if name not in names:
            r.problem(p, f"{name!r} is not a cluster of this federation", f"use one of: {', '.join(names)}")
            continue
        if name not in placed:
            r.problem(p, f"{name} is not in the workload's placement ({', '.join(placed) or 'none'})",
                      "place the workload on it, or remove its overrides")
            continue
        d = r.obj(item, p, ("replicas", "image", "env"))
        if d is None:
            continue
        replicas = r.value(d, "replicas", p, int, None, "2")
        if replicas is not None:
            if scheduled:
                r.problem(f"{p}.replicas", "is a fixed count while replicaScheduling spreads the replicas",
                          "remove it and give the cluster a weight or min/max in replicaScheduling.clusters")
            elif not 0 <= replicas <= MAX_INT32:
                r.problem(f"{p}.replicas", f"{replicas} is out of range", "use 0 or more")
        image = _image(r, d, "image", p, required=False)
        env = _read_env(r, d.get("env", {}), f"{p}.env")
        out.append((name, ClusterOverride(replicas=replicas, image=image, env=env)))
    return tuple(sorted(out, key=lambda o: names.index(o[0])))


def _read_scheduling(r: Any, raw: Any, path: str, clusters: Sequence[tuple[str, str]],
                     placed: tuple[str, ...]) -> ReplicaScheduling | None:
    d = r.obj(raw, path, ("totalReplicas", "rebalance", "clusters"))
    if d is None:
        return None
    total = r.value(d, "totalReplicas", path, int, MISSING, "7")
    if total is not None and not 0 <= total <= MAX_INT32:
        r.problem(f"{path}.totalReplicas", f"{total} is out of range", "use 0 or more")
    rebalance = r.value(d, "rebalance", path, bool, False, "true")
    prefs_raw = r.value(d, "clusters", path, dict, {}, '{"*": {"weight": 1}}')
    names = [n for n, _ in clusters]
    prefs = []
    for name, item in (prefs_raw or {}).items():
        p = f"{path}.clusters.{name}"
        if name != ALL_CLUSTERS and name not in names:
            r.problem(p, f"{name!r} is not a cluster of this federation",
                      f"use \"{ALL_CLUSTERS}\" or one of: {', '.join(names)}")
            continue
        if name != ALL_CLUSTERS and name not in placed:
            r.problem(p, f"{name} is not in the workload's placement ({', '.join(placed) or 'none'})",
                      "place the workload on it, or remove its preference")
            continue
        pd = r.obj(item, p, ("weight", "minReplicas", "maxReplicas"))
        if pd is None:
            continue
        weight = r.value(pd, "weight", p, int, 0, "1")
        low = r.value(pd, "minReplicas", p, int, 0, "1")
        high = r.value(pd, "maxReplicas", p, int, None, "5")
        for key, value in (("weight", weight), ("minReplicas", low), ("maxReplicas", high)):
            if value is not None and value < 0:
                r.problem(f"{p}.{key}", f"{value} is negative", "use 0 or more")
        if low is not None and high is not None and high < low:
            r.problem(f"{p}.maxReplicas", f"{high} is below minReplicas {low}", "make maxReplicas >= minReplicas")
        prefs.append((name, ReplicaPreference(weight=weight or 0, min_replicas=low or 0, max_replicas=high)))
    if prefs and not any(p.weight or p.min_replicas for _, p in prefs):
        r.problem(f"{path}.clusters", "gives every cluster weight 0 and minReplicas 0, so no replica runs anywhere",
                  'give at least one cluster (or "*") a weight, e.g. {"*": {"weight": 1}}')
    if total is None:
        return None
    order = [ALL_CLUSTERS, *names]
    return ReplicaScheduling(total_replicas=total, rebalance=bool(rebalance),
                             clusters=tuple(sorted(prefs, key=lambda p: order.index(p[0]))))


def _read_service(r: Any, raw: Any, path: str) -> ServiceSpec | None:
    d = r.obj(raw, path, ("type", "port", "targetPort", "scheme"))
    if d is None:
        return None
    kind = r.choice(d, "type", path, SERVICE_TYPES, "ClusterIP")
    port = _port(r, d, "port", path, required=False, default=80)
    target = _port(r, d, "targetPort", path, required=False)
    scheme = r.choice(d, "scheme", path, LOAD_BALANCER_SCHEMES, "internet-facing")
    if "scheme" in d and kind != "LoadBalancer":
        r.problem(f"{path}.scheme", f"only applies to a LoadBalancer service, not {kind}",
                  'remove it, or set "type": "LoadBalancer"')
    return ServiceSpec(type=kind or "ClusterIP", port=port or 80, target_port=target,
                       scheme=scheme or "internet-facing")


def _record_name_problem(name: str) -> str | None:
    labels = name.rstrip(".").split(".")
    if len(name.rstrip(".")) > 253 or len(labels) < 2 or not all(_DNS_LABEL.fullmatch(x) for x in labels):
        return f"{name!r} is not a fully qualified DNS name"
    if "*" in labels:
        return f"{name!r} is a wildcard; each health-checked record needs a real name"
    return None


def _read_dns(r: Any, raw: Any, path: str, service: ServiceSpec | None, placed: tuple[str, ...]) -> DnsSpec | None:
    d = r.obj(raw, path, ("hostedZoneId", "recordName", "routing", "primary", "healthCheckPath", "protocol",
                          "ttl", "weights"))
    if d is None:
        return None
    if service is None or service.type != "LoadBalancer" or service.scheme != "internet-facing":
        r.problem(path, "needs an internet-facing LoadBalancer service: the public hosted zone answers with each "
                  "cluster's load balancer, which clients then reach from the internet",
                  'set "service": {"type": "LoadBalancer", "port": 80}')
    zone = r.value(d, "hostedZoneId", path, str, MISSING, '"Z0123456789ABCDEFGHIJ"')
    if zone is not None and not _ZONE_ID.fullmatch(zone):
        r.problem(f"{path}.hostedZoneId", f"{zone!r} is not a Route 53 hosted zone id",
                  "copy the zone's id (Z followed by capitals and digits) from the Route 53 console")
    record = r.value(d, "recordName", path, str, MISSING, '"echo.example.com"')
    if record is not None:
        wrong = _record_name_problem(record.lower())
        if wrong:
            r.problem(f"{path}.recordName", wrong, "use a name in the hosted zone, e.g. echo.example.com "
                      "(the zone apex works too: the records are aliases)")
    routing = r.choice(d, "routing", path, DNS_ROUTINGS, MISSING)
    primary = r.value(d, "primary", path, str, None, '"fed-1"')
    if routing == "failover":
        if len(placed) != 2:
            r.problem(f"{path}.routing", f"failover needs exactly two placed clusters, the workload has "
                      f"{len(placed)} ({', '.join(placed) or 'none'})",
                      'place it on two clusters, or use "latency" or "weighted" routing')
        if primary is None:
            r.problem(f"{path}.primary", "is required with failover routing",
                      f"name the cluster that serves while healthy, one of: {', '.join(placed)}")
        elif primary not in placed:
            r.problem(f"{path}.primary", f"{primary!r} is not a placed cluster of the workload",
                      f"use one of: {', '.join(placed) or 'none'}")
    elif primary is not None and routing is not None:
        r.problem(f"{path}.primary", f"only applies to failover routing, not {routing}",
                  'remove it, or use "routing": "failover"')
    check_path = r.value(d, "healthCheckPath", path, str, "/", '"/healthz"')
    if check_path is not None and (not check_path.startswith("/") or len(check_path) > 255
                                   or any(c.isspace() for c in check_path)):
        r.problem(f"{path}.healthCheckPath", f"{check_path!r} is not a URL path",
                  'start it with "/", at most 255 characters, no spaces')
    protocol = r.choice(d, "protocol", path, HEALTH_CHECK_PROTOCOLS, "HTTP")
    plain = sorted({p for p in (service.port, service.target_port) if p in PLAIN_HTTP_PORTS}) if service else []
    if protocol == "HTTPS" and plain:
        r.problem(f"{path}.protocol", f"HTTPS health checks on port {plain[0]}, which serves plain HTTP (the load "
                  "balancer passes TCP through: TLS would have to come from the container), so every check fails",
                  'use "HTTP", or serve TLS from the container on another port (e.g. "port": 443, "targetPort": '
                  '8443)')
    ttl = r.value(d, "ttl", path, int, 60, "60")
    if ttl is not None and not 0 <= ttl <= 86400:
        r.problem(f"{path}.ttl", f"{ttl} is out of range", "use 0 to 86400 seconds (short, e.g. 60, for failover)")
    weights = _read_weights(r, d, path, routing, placed)
    if None in (zone, record, routing):
        return None
    return DnsSpec(hosted_zone_id=zone, record_name=record.lower().rstrip("."), routing=routing, primary=primary,
                   health_check_path=check_path, protocol=protocol, ttl_seconds=ttl, weights=weights)


def _read_weights(r: Any, d: dict, path: str, routing: str | None, placed: tuple[str, ...]
                  ) -> tuple[tuple[str, int], ...]:
    if "weights" not in d:
        return ()
    if routing != "weighted":
        r.problem(f"{path}.weights", f"only applies to weighted routing, not {routing}",
                  'remove it, or use "routing": "weighted"')
        return ()
    raw = r.value(d, "weights", path, dict, {}, '{"fed-1": 3, "fed-2": 1}')
    out = []
    for name, weight in (raw or {}).items():
        p = f"{path}.weights.{name}"
        if name not in placed:
            r.problem(p, f"{name!r} is not a placed cluster of the workload", f"use one of: {', '.join(placed)}")
        elif not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 255:
            r.problem(p, f"{weight!r} is not a Route 53 weight", "use a whole number from 0 to 255")
        else:
            out.append((name, weight))
    if out and len(out) == len(placed) and not any(w for _, w in out):
        r.problem(f"{path}.weights", "are all 0, so Route 53 answers with every record equally (or none while "
                  "unhealthy)", "give at least one cluster a weight above 0")
    return tuple(sorted(out, key=lambda o: placed.index(o[0])))


def to_config(w: Workload) -> dict[str, Any]:
    """The config JSON of a workload (what `read_workloads` reads back into the same Workload). Typed
    workloads go through this and the reader, so they meet exactly the rules of the config."""
    out: dict[str, Any] = {"name": w.name, "namespace": w.namespace, "image": w.image,
                           "containerPort": w.container_port}
    if w.replica_scheduling is None:
        out["replicas"] = w.replicas
    if w.placement.clusters:
        out["placement"] = {"clusters": list(w.placement.clusters)}
    elif w.placement.regions:
        out["placement"] = {"regions": list(w.placement.regions)}
    if w.env:
        out["env"] = dict(w.env)
    overrides = {}
    for cluster, o in w.overrides:
        entry: dict[str, Any] = {}
        if o.replicas is not None:
            entry["replicas"] = o.replicas
        if o.image is not None:
            entry["image"] = o.image
        if o.env:
            entry["env"] = dict(o.env)
        overrides[cluster] = entry
    if overrides:
        out["clusters"] = overrides
    rs = w.replica_scheduling
    if rs is not None:
        prefs = {}
        for name, p in rs.clusters:
            pref: dict[str, Any] = {"weight": p.weight, "minReplicas": p.min_replicas}
            if p.max_replicas is not None:
                pref["maxReplicas"] = p.max_replicas
            prefs[name] = pref
        out["replicaScheduling"] = {"totalReplicas": rs.total_replicas, "rebalance": rs.rebalance, "clusters": prefs}
    if w.service is not None:
        s = w.service
        service: dict[str, Any] = {"type": s.type, "port": s.port}
        if s.target_port is not None:
            service["targetPort"] = s.target_port
        if s.type == "LoadBalancer":
            service["scheme"] = s.scheme
        out["service"] = service
    if w.dns is not None:
        d = w.dns
        dns: dict[str, Any] = {"hostedZoneId": d.hosted_zone_id, "recordName": d.record_name, "routing": d.routing,
                               "healthCheckPath": d.health_check_path, "protocol": d.protocol, "ttl": d.ttl_seconds}
        if d.primary is not None:
            dns["primary"] = d.primary
        if d.weights:
            dns["weights"] = dict(d.weights)
        out["dns"] = dns
    return out
