"""Federated workloads on the host cluster, as code: the typed construct behind the config's `workloads`.

For a set of workload descriptions (`federated_eks.model.workload`) and folders of KubeFed YAML, on the host
cluster's kubectl handler:
- the host's v1 Namespace of every namespace it federates (typed workloads' and folders' FederatedNamespaces;
  never `default`, `kube-*` or KubeFed's), first, after the joins and the federated types;
- one manifest per typed workload namespace (its FederatedNamespace), after its Namespace;
- one manifest per workload (FederatedDeployment, ReplicaSchedulingPreference, FederatedService), after its
  namespace;
- one `Custom::FederatedWorkload` per workload (components/workload_waiter/), after its manifest: a deploy
  finishes when every placed member runs the planned replicas and, for LoadBalancer Services, has a
  load-balancer hostname (returned as attributes `Hostname.<cluster>`);
- for workloads with `dns`, the annotations ExternalDNS on each placed member turns into Route 53 records
  (`components/workload_dns.py`; ExternalDNS itself is installed by the cluster stacks);
- one manifest per folder, applied as it is (after the joins and types), and a waiter per FederatedDeployment
  of the folder (`folder_workloads.waited_workloads`).
  Each object has one owner across the stack's FederatedWorkloads (federated_eks/model/object_owners.py); a folder's
  manifest goes after the namespaces its objects use.
Deletes run in reverse: the waiter first, which deletes the workload's federated objects and waits until
KubeFed has removed the member copies and each member's load balancer is gone; then the manifests (the
objects are gone already: kubectl's not-found is ignored by the handler); the FederatedNamespace; the host's
Namespace (KubeFed never creates or deletes it: "Creation or deletion of namespaces in the host cluster is not
the responsibility of the sync controller", v0.10.0 pkg/controller/sync/controller.go, which only removes its
managed label); then the joins.

Typed workloads are checked with exactly the config's rules (they go through the config reader), so a bad
one raises `ValueError` listing every problem before anything is added.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Sequence

from aws_cdk import CustomResource, Stack, aws_eks_v2 as eks
from constructs import Construct, IDependable

from components.cluster_functions import JoinTarget
from components.workload_waiter import contract
from components.workload_waiter.workload_waiter import waiter as waiter_resource
from components.workload_dns import with_member_annotations
from federated_eks.plan import folder_workloads, kubefed_workload
from federated_eks.plan.folder_workloads import FolderWorkload
from federated_eks.model import object_owners
from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES, FederatedType
from federated_eks.model.workload import ManifestFolder, Placement, Workload
# The workload rules of the config, applied to typed workloads (the rules, not the JSON: see ARCHITECTURE.md).
from federated_eks.config.workload_reader import check_workloads

RESOURCE_TYPE = contract.WORKLOAD_TYPE


@dataclass(frozen=True)
class FederationTarget:
    """What workloads need from the federation (the federation stack's `workload_target`)."""

    host_cluster: eks.ICluster
    """The host cluster, with a kubectl handler."""
    host: JoinTarget
    members: tuple[tuple[JoinTarget, str], ...]
    """Every cluster of the federation with its region, in config order."""
    service_token: str
    """The workload waiter's Provider (components/workload_waiter/): it serves `Custom::FederatedWorkload`."""
    ready: tuple[IDependable, ...] = ()
    """What must exist before a workload is applied, and outlive it on delete: the joins (after the federated
    types) and the network path from the waiter Lambda to the host's API server. Manifests and waiters depend
    on each."""
    load_balancer_clusters: tuple[str, ...] = ()
    """The clusters with a load-balancer controller (LoadBalancer Services are served only there)."""
    federated_types: tuple[FederatedType, ...] = DEFAULT_FEDERATED_TYPES
    """The types the control plane enables (`kubefed.federatedTypes` and `kubefed.disabledTypes`)."""
    timeout_seconds: int = 900
    """The longest a waiter may wait: the Provider's handler deadline (the federation stack passes its
    `deadlines.join`, from joinTimeoutMinutes; the Provider's total timeout is derived from it)."""
    host_moved: bool = False
    """The federation's host has moved (config `previousHostCluster`): the manifests' ids carry the host's name."""

    @property
    def clusters(self) -> tuple[tuple[str, str], ...]:
        return tuple((m.name, region) for m, region in self.members)


@dataclass(frozen=True)
class FederatedWorkloadsProps:
    target: FederationTarget
    workloads: Sequence[Workload] = ()
    folders: Sequence[ManifestFolder] = ()
    timeout_minutes: int | None = None
    """How long a deploy waits for a workload to run where it is placed (and a delete for it to go); default and
    maximum: the target's `timeout_seconds` (a longer wait would end in the Provider's generic timeout)."""
    reserved_namespaces: tuple[str, ...] = field(default=())
    """Namespaces no workload may use (KubeFed's own)."""


def as_placed(w: Workload, clusters: Sequence[tuple[str, str]]) -> Workload:
    """`w` with its placement resolved to the clusters it names now (pure): "all" and `regions` become a cluster
    list. Rendered so, (1) a cluster that leaves the config leaves the placement in the same deploy, and KubeFed
    deletes the workload's copies there (load balancers included) while the cluster is still joined: the
    unjoin runs later, in CloudFormation's cleanup phase; (2) replica scheduling keys its preferences by cluster
    name, which schedules whatever the namespace's placement is (a `regions` selector with replica scheduling
    found no cluster when another workload made the namespace's placement a cluster list: KubeFed evaluates a
    namespace by its own placement, pkg/controller/util/placement.go)."""
    return replace(w, placement=Placement(clusters=w.placement.resolve(clusters)))


# The kinds of a workload's objects on the host that its waiter deletes (and owns: `owned_by_waiter`).
WAITED_KINDS = ("FederatedDeployment", "FederatedService", "ReplicaSchedulingPreference")


def owned_by_waiter(obj: dict, waited: set[tuple[str, str]]) -> dict:
    """`obj` with the annotation naming its waiter (contract.OWNER_ANNOTATION) when it is one of the objects a waiter
    of `waited` ((namespace, name) of each waited workload) deletes; else `obj` as it is. Written by the manifest, the
    ownership moves with CloudFormation's update of the manifest and goes back with its rollback."""
    meta = obj.get("metadata") or {}
    key = (meta.get("namespace"), meta.get("name"))
    if obj.get("kind") not in WAITED_KINDS or key not in waited:
        return obj
    annotations = {**(meta.get("annotations") or {}), contract.OWNER_ANNOTATION: contract.physical_id(*key)}
    return {**obj, "metadata": {**meta, "annotations": annotations}}


def workload_objects(w: Workload, clusters: Sequence[tuple[str, str]]) -> list[dict]:
    """The workload's objects as applied (pure): KubeFed's rendering, with the Service's annotations (its
    settings and DNS records) as per-cluster overrides, so that a change reaches the members
    (`workload_dns.with_member_annotations`), and its waiter named as their owner (`owned_by_waiter`)."""
    regions = dict(clusters)
    placed = [(c, regions[c]) for c in w.placement.resolve(clusters)]
    return [owned_by_waiter(with_member_annotations(o, w.dns, placed) if o["kind"] == "FederatedService" else o,
                            {(w.namespace, w.name)})
            for o in kubefed_workload.workload_objects(w)]


def waiter_properties(w: Workload, target: FederationTarget, timeout_seconds: int) -> dict:
    """The waiter's properties (pure apart from the tokens in the targets)."""
    placed = set(w.placement.resolve(target.clusters))
    clusters = []
    for member, _ in target.members:
        if member.name in placed:
            replicas = w.replicas_on(member.name)
            clusters.append({**member.as_property(), "Replicas": "" if replicas is None else str(replicas),
                             "Image": w.override(member.name).image or w.image})
    rs = w.replica_scheduling
    # With max-replica bounds the scheduler may place fewer than the total: then the total is not checked.
    bounded = rs is not None and any(p.max_replicas is not None for _, p in rs.clusters)
    applied = workload_objects(w, target.clusters)
    objects = [{"ApiVersion": o["apiVersion"], "Kind": o["kind"]} for o in applied]
    rendered = json.dumps([kubefed_workload.namespaces([w], target.clusters), applied], sort_keys=True)
    return {
        contract.WORKLOAD: {"Namespace": w.namespace, "Name": w.name, "LoadBalanced": str(w.load_balanced).lower(),
                     "TotalReplicas": str(rs.total_replicas) if rs is not None and not bounded else "",
                     "Objects": objects,
                     # Any change of what is applied changes this, so the waiter runs (and waits) on every update.
                     "Revision": hashlib.sha256(rendered.encode()).hexdigest()[:16]},
        contract.HOST: target.host.as_property(),
        contract.CLUSTERS: clusters,
        contract.TIMEOUT_SECONDS: str(timeout_seconds),
    }


def folder_waiter_properties(fw: FolderWorkload, rendered: str, target: FederationTarget,
                             timeout_seconds: int) -> dict:
    """The waiter's properties for a folder's FederatedDeployment (the same contract as typed workloads);
    `rendered` is the folder's objects as applied (any change reruns the waiter)."""
    members = {m.name: m for m, _ in target.members}
    return {
        contract.WORKLOAD: {"Namespace": fw.namespace, "Name": fw.name, "LoadBalanced": str(fw.load_balanced).lower(),
                     "TotalReplicas": "" if fw.total_replicas is None else str(fw.total_replicas),
                     "Objects": [{"ApiVersion": a, "Kind": k} for a, k in fw.kinds],
                     "Revision": hashlib.sha256(rendered.encode()).hexdigest()[:16]},
        contract.HOST: target.host.as_property(),
        contract.CLUSTERS: [{**members[c].as_property(), "Replicas": "" if replicas is None else str(replicas),
                             **({"Image": image} if image else {})} for c, replicas, image in fw.clusters],
        contract.TIMEOUT_SECONDS: str(timeout_seconds),
    }


class FederatedWorkloads(Construct):
    """Attributes, by workload `namespace/name`: `manifests`, `waiters` (hostnames: `hostname(key, cluster)`);
    `namespaces` by namespace; `folders` by folder path."""


def _rendered(path: str, workloads: Sequence[Workload], folders: Sequence[ManifestFolder],
              clusters: tuple[tuple[str, str], ...]) -> list[tuple[str, dict]]:
    """(place, object) of everything the construct at `path` applies on the host: each namespace's
    FederatedNamespace once (named by its first workload), each workload's objects, each folder's objects."""
    out: list[tuple[str, dict]] = []
    for i, w in enumerate(workloads):
        if all(other.namespace != w.namespace for other in workloads[:i]):
            out += [(f"{path}: workloads[{i}]", obj) for obj in kubefed_workload.namespaces([w], clusters)]
        out += [(f"{path}: workloads[{i}]", obj) for obj in kubefed_workload.workload_objects(w)]
    for folder in folders:
        out += [(f"{path}: {file}", obj) for file, obj in folder.objects]
    return out


class FederatedWorkloads(Construct):
    """Attributes, by workload `namespace/name`: `manifests`, `waiters` (hostnames: `hostname(key, cluster)`); by
    namespace: `host_namespaces` (the host's v1 Namespace, created first and deleted last) and `namespaces` (typed workloads' FederatedNamespace); `folders` by folder path; `rendered` (place, object) of
    everything applied (one owner per object across the stack's FederatedWorkloads)."""

    def __init__(self, scope: Construct, id: str, props: FederatedWorkloadsProps) -> None:
        super().__init__(scope, id)
        target = props.target
        problems = check_workloads(props.workloads, target.clusters, props.reserved_namespaces,
                                   target.federated_types)
        for i, w in enumerate(props.workloads):
            missing = [c for c in w.placement.resolve(target.clusters) if w.load_balanced
                       and c not in target.load_balancer_clusters]
            if missing:
                problems.append(f"workloads[{i}].service: a LoadBalancer on {', '.join(missing)}, which run no "
                                "load-balancer controller. Fix: set loadBalancerController.install to \"always\" "
                                "in the config (or place the workload where the config's workloads run one)")
        # One owner per object, across this construct and every other FederatedWorkloads of the stack.
        # (A construct that raised is left in the tree without `rendered`: it owns nothing.)
        rendered = _rendered(self.node.path, props.workloads, props.folders, target.clusters)
        others = [item for c in Stack.of(self).node.find_all() if isinstance(c, FederatedWorkloads)
                  for item in getattr(c, "rendered", ())]
        problems += [f"{where}: {what}. Fix: {fix}"
                     for where, what, fix in object_owners.second_owners(others + rendered)]
        if props.timeout_minutes is not None and props.timeout_minutes * 60 > target.timeout_seconds:
            problems.append(f"timeout_minutes: {props.timeout_minutes} is longer than the Provider's handler deadline "
                            f"({target.timeout_seconds // 60} minutes). Fix: use at most that, or raise "
                            "kubefed.joinTimeoutMinutes")
        if problems:
            raise ValueError("invalid federated workloads:\n" + "\n".join(f"  - {p}" for p in problems))
        self.rendered = rendered
        self.host_namespaces: dict[str, eks.KubernetesManifest] = {}
        self.namespaces: dict[str, eks.KubernetesManifest] = {}
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        self.waiters: dict[str, CustomResource] = {}
        self.folders: dict[str, eks.KubernetesManifest] = {}
        timeout_seconds = target.timeout_seconds if props.timeout_minutes is None else props.timeout_minutes * 60
        # Manifests are served by the host's kubectl handler: their ids carry the host, so that a host move creates
        # them on the new host (CloudFormation cannot change a custom resource's ServiceToken). Waiters and DNS are
        # served by the waiter's Provider and keep their ids. (Waiters made while the join's Provider served them
        # had ids `Ready-*`; `Waiter-*` ones replace them, and own the objects once the manifest names them.)
        on_host = f"-on-{target.host.name}" if target.host_moved else ""

        # The host's v1 Namespace of every federated namespace this construct owns, first: typed workloads'
        # and folders' FederatedNamespaces (system namespaces exist already and are never created or deleted).
        folder_namespaces = [ns for folder in props.folders for ns in folder_workloads.federated_namespaces(
            folder.objects)]
        for name in dict.fromkeys([w.namespace for w in props.workloads] + folder_namespaces):
            if object_owners.system_namespace(name, props.reserved_namespaces):
                continue
            manifest = eks.KubernetesManifest(self, f"HostNamespace-{name}{on_host}", cluster=target.host_cluster,
                                              manifest=[object_owners.host_namespace(name, kubefed_workload.MANAGED_BY)],
                                              overwrite=True)
            manifest.node.add_dependency(*target.ready)
            self.host_namespaces[name] = manifest

        placed = [as_placed(w, target.clusters) for w in props.workloads]
        for ns in kubefed_workload.namespaces(placed, target.clusters):
            name = ns["metadata"]["name"]
            manifest = eks.KubernetesManifest(self, f"Namespace-{name}{on_host}", cluster=target.host_cluster,
                                              manifest=[ns], overwrite=True)
            manifest.node.add_dependency(self.host_namespaces[name], *target.ready)
            self.namespaces[name] = manifest

        for w in placed:
            key = f"{w.namespace}/{w.name}"
            ident = f"{w.namespace}-{w.name}"
            manifest = eks.KubernetesManifest(self, f"Workload-{ident}{on_host}", cluster=target.host_cluster,
                                              manifest=workload_objects(w, target.clusters), overwrite=True)
            manifest.node.add_dependency(self.namespaces[w.namespace])
            self.manifests[key] = manifest
            waiter = waiter_resource(self, f"Waiter-{ident}", service_token=target.service_token,
                                     properties=waiter_properties(w, target, timeout_seconds))
            waiter.node.add_dependency(manifest, *target.ready)
            self.waiters[key] = waiter

        for folder in props.folders:
            # Named by its path, so that reordering the config's workloads replaces nothing.
            ident = folder.path.strip("/").replace("/", "-")
            waited = folder_workloads.waited_workloads(folder.objects, target.clusters)
            owners = {(fw.namespace, fw.name) for fw in waited}
            manifest = eks.KubernetesManifest(self, f"Folder-{ident}{on_host}", cluster=target.host_cluster,
                                              manifest=[owned_by_waiter(kubefed_workload.managed(obj), owners)
                                                        for _, obj in folder.objects],
                                              overwrite=True)
            manifest.node.add_dependency(*target.ready)
            # After the namespaces its objects live in (its own, or a typed workload's), deleted before them.
            for name in folder_workloads.namespaces_used(folder.objects):
                for owner in (self.host_namespaces, self.namespaces):
                    if name in owner:
                        manifest.node.add_dependency(owner[name])
            self.folders[folder.path] = manifest
            # The waiter for each of its FederatedDeployments: the deploy waits for them like for typed workloads, and a
            # delete (or a cluster leaving) removes their copies, load balancers included, before any unjoin.
            rendered = json.dumps([obj for _, obj in folder.objects], sort_keys=True)
            for fw in waited:
                waiter = waiter_resource(self, f"Waiter-{ident}-{fw.namespace}-{fw.name}",
                                         service_token=target.service_token,
                                         properties=folder_waiter_properties(fw, rendered, target, timeout_seconds))
                waiter.node.add_dependency(manifest)
                self.waiters[f"{fw.namespace}/{fw.name}"] = waiter

    def hostname(self, key: str, cluster: str) -> str:
        """The load-balancer hostname of workload `key` (namespace/name) on `cluster` (a token)."""
        return self.waiters[key].get_att_string(f"{contract.HOSTNAME_ATTRIBUTE_PREFIX}{cluster}")
