"""Federated workloads on the host cluster, as code: the typed construct behind the config's `workloads`.

For a set of workload descriptions (`federated_eks.workload`) and folders of KubeFed YAML, on the host
cluster's kubectl handler:
- one manifest per namespace (its FederatedNamespace), applied after the joins and the federated types;
- one manifest per workload (FederatedDeployment, ReplicaSchedulingPreference, FederatedService), after its
  namespace;
- one `Custom::FederatedWorkload` per workload (the join Lambda's waiter), after its manifest: a deploy
  finishes when every placed member runs the planned replicas and, for LoadBalancer Services, has a
  load-balancer hostname (returned as attributes `Hostname.<cluster>`);
- Route 53 health checks and records for workloads with `dns`, from those hostnames;
- one manifest per folder, applied as it is (after the joins and types).
Deletes run in reverse: the waiter first, which deletes the workload's federated objects and waits until
KubeFed has removed the member copies and each member's load balancer is gone; then the manifests (the
objects are gone already: kubectl's not-found is ignored by the handler); the namespace; then the joins.

Typed workloads are checked with exactly the config's rules (they go through the config reader), so a bad
one raises `ValueError` listing every problem before anything is added.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Sequence

from aws_cdk import CustomResource, aws_eks_v2 as eks
from constructs import Construct, IDependable

from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import JoinTarget
from components.workload_dns import DnsTarget, WorkloadDns, WorkloadDnsProps
from federated_eks import kubefed_workload
from federated_eks.workload import ManifestFolder, Workload
# The workload rules of the config, applied to typed workloads (the rules, not the JSON: see ARCHITECTURE.md).
from federated_eks.workload_config import check_workloads

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
    """The join Lambda's Provider: it serves `Custom::FederatedWorkload` too."""
    ready: tuple[IDependable, ...] = ()
    """What must exist before a workload is applied: the joins and the federated types."""
    load_balancer_clusters: tuple[str, ...] = ()
    """The clusters with a load-balancer controller (LoadBalancer Services are served only there)."""
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
    objects = [{"ApiVersion": o["apiVersion"], "Kind": o["kind"]} for o in kubefed_workload.workload_objects(w)]
    rendered = json.dumps([kubefed_workload.namespaces([w], target.clusters), kubefed_workload.workload_objects(w)],
                          sort_keys=True)
    return {
        "Workload": {"Namespace": w.namespace, "Name": w.name, "LoadBalanced": str(w.load_balanced).lower(),
                     "TotalReplicas": str(rs.total_replicas) if rs is not None and not bounded else "",
                     "Objects": objects,
                     # Any change of what is applied changes this, so the waiter runs (and waits) on every update.
                     "Revision": hashlib.sha256(rendered.encode()).hexdigest()[:16]},
        "Host": target.host.as_property(),
        "Clusters": clusters,
        "TimeoutSeconds": str(timeout_seconds),
    }


class FederatedWorkloads(Construct):
    """Attributes, by workload `namespace/name`: `manifests`, `waiters` (hostnames: `hostname(key, cluster)`),
    `dns`; `namespaces` by namespace; `folders` by folder path."""

    def __init__(self, scope: Construct, id: str, props: FederatedWorkloadsProps) -> None:
        super().__init__(scope, id)
        target = props.target
        problems = check_workloads(props.workloads, target.clusters, props.reserved_namespaces)
        for i, w in enumerate(props.workloads):
            missing = [c for c in w.placement.resolve(target.clusters) if w.load_balanced
                       and c not in target.load_balancer_clusters]
            if missing:
                problems.append(f"workloads[{i}].service: a LoadBalancer on {', '.join(missing)}, which run no "
                                "load-balancer controller. Fix: set loadBalancerController.install to \"always\" "
                                "in the config (or place the workload where the config's workloads run one)")
        if props.timeout_minutes is not None and props.timeout_minutes * 60 > target.timeout_seconds:
            problems.append(f"timeout_minutes: {props.timeout_minutes} is longer than the Provider's handler deadline "
                            f"({target.timeout_seconds // 60} minutes). Fix: use at most that, or raise "
                            "kubefed.joinTimeoutMinutes")
        if problems:
            raise ValueError("invalid federated workloads:\n" + "\n".join(f"  - {p}" for p in problems))
        self.namespaces: dict[str, eks.KubernetesManifest] = {}
        self.manifests: dict[str, eks.KubernetesManifest] = {}
        self.waiters: dict[str, CustomResource] = {}
        self.dns: dict[str, WorkloadDns] = {}
        self.folders: dict[str, eks.KubernetesManifest] = {}
        timeout_seconds = target.timeout_seconds if props.timeout_minutes is None else props.timeout_minutes * 60
        # Manifests are served by the host's kubectl handler: their ids carry the host, so that a host move creates
        # them on the new host (CloudFormation cannot change a custom resource's ServiceToken). Waiters and DNS are
        # served by the join Provider and keep their ids.
        on_host = f"-on-{target.host.name}" if target.host_moved else ""

        for ns in kubefed_workload.namespaces(list(props.workloads), target.clusters):
            name = ns["metadata"]["name"]
            manifest = eks.KubernetesManifest(self, f"Namespace-{name}{on_host}", cluster=target.host_cluster,
                                              manifest=[ns], overwrite=True)
            for dependency in target.ready:
                manifest.node.add_dependency(dependency)
            self.namespaces[name] = manifest

        for w in props.workloads:
            key = f"{w.namespace}/{w.name}"
            ident = f"{w.namespace}-{w.name}"
            manifest = eks.KubernetesManifest(self, f"Workload-{ident}{on_host}", cluster=target.host_cluster,
                                              manifest=kubefed_workload.workload_objects(w), overwrite=True)
            manifest.node.add_dependency(self.namespaces[w.namespace])
            self.manifests[key] = manifest
            waiter = CustomResource(self, f"Ready-{ident}", service_token=target.service_token,
                                    resource_type=RESOURCE_TYPE,
                                    properties=waiter_properties(w, target, timeout_seconds))
            waiter.node.add_dependency(manifest)
            self.waiters[key] = waiter
            if w.dns is not None:
                regions = dict(target.clusters)
                targets = tuple(DnsTarget(cluster=c, region=regions[c], hostname=self.hostname(key, c))
                                for c in w.placement.resolve(target.clusters))
                self.dns[key] = WorkloadDns(self, f"Dns-{ident}", WorkloadDnsProps(
                    dns=w.dns, port=w.service.port, targets=targets))

        for folder in props.folders:
            # Named by its path, so that reordering the config's workloads replaces nothing.
            ident = folder.path.strip("/").replace("/", "-")
            manifest = eks.KubernetesManifest(self, f"Folder-{ident}{on_host}", cluster=target.host_cluster,
                                              manifest=[obj for _, obj in folder.objects], overwrite=True)
            for dependency in target.ready:
                manifest.node.add_dependency(dependency)
            self.folders[folder.path] = manifest

    def hostname(self, key: str, cluster: str) -> str:
        """The load-balancer hostname of workload `key` (namespace/name) on `cluster` (a token)."""
        return self.waiters[key].get_att_string(f"{contract.HOSTNAME_ATTRIBUTE_PREFIX}{cluster}")
