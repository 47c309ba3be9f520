"""What the federation stack holds: its resources and (an upper bound of) its template's bytes, from the model (no
CDK), so the config check refuses a federation whose stack would pass CloudFormation's 500 resources or 1 MB before
anything is built; and where typed workloads go once they do not fit it (`workload_stacks`: workload stacks).

The counts follow stacks/federation.py and components/federated_workloads.py. The bytes are the Kubernetes objects
as the template carries them (JSON in a JSON string), exactly, plus the measured size of everything else per
resource, with room for the longest names the config allows; tests/test_config_fuzz.py checks both against the
synthesized template of every config it accepts. With engine karmada the stack is another (the control plane's chart,
the Karmada join provider, one Custom::KarmadaObjects holding every workload's objects): its own estimate
(`karmada_template_bytes`), checked by tests/test_federation_split.py.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from federated_eks.plan import folder_workloads as folders, karmada_workload, kubefed_workload
from federated_eks.model import object_owners
from federated_eks.model.federation import FederationConfig
from federated_eks.plan.cloudformation_limits import MAX_TEMPLATE_BYTES, RESOURCE_BUDGET

# The engine guard (components/engine_guard.py), the KubeFed control plane (3 Helm releases), the join provider (5
# functions with their roles, policies and log groups, the Provider's state machine, its security group, the
# DescribeCluster policy), the teardown and the host API's ingress rule (28); the workload waiter's provider (the same,
# 22), its ingress rule and its ClusterRole on the host (24).
BASE_RESOURCES = 28 + 24
PER_CLUSTER = 1          # its join (Custom::KubefedJoin)
PER_HOST_NAMESPACE = 1   # the host's v1 Namespace of each federated namespace the project owns (a KubernetesManifest)
PER_NAMESPACE = 1        # the FederatedNamespace of the workloads' namespace (a KubernetesManifest)
PER_WORKLOAD = 2         # its objects (a KubernetesManifest) and its waiter (Custom::FederatedWorkload)
PER_FOLDER = 1           # a manifest folder's objects (one KubernetesManifest)
PER_FOLDER_WORKLOAD = 1  # the waiter of each FederatedDeployment of a folder
# DNS records are not in the stack: ExternalDNS on the members keeps them (components/workload_dns.py).


def host_namespaces(cfg: FederationConfig) -> list[str]:
    """The federated namespaces whose host Namespace the federation stack creates (components/federated_workloads.py):
    the typed workloads' and the folders' FederatedNamespaces, but never a system namespace."""
    names = [w.namespace for w in cfg.workloads]
    names += [ns for f in cfg.manifest_folders for ns in folders.federated_namespaces(f.objects)]
    return [n for n in dict.fromkeys(names) if not object_owners.system_namespace(n, (cfg.kubefed.namespace,))]


def folder_workloads(cfg: FederationConfig) -> int:
    clusters = [(c.name, c.region) for c in cfg.clusters]
    return sum(len(folders.waited_workloads(f.objects, clusters)) for f in cfg.manifest_folders)


# Karmada (stacks/federation.py `_build_karmada`): the engine guard, the control plane's namespace, hook RBAC and chart, the
# Karmada join's provider (the KubeFed join's 22: functions, roles, policies with the DescribeCluster one, log groups,
# state machine, security group), its two ingress rules (host API, karmada-apiserver's node port) and the members
# record (Custom::KarmadaMembers); with the default etcd storage class, the
# Pod Identity agent and EBS CSI driver add-ons, the driver's role and the StorageClass; a Custom::KarmadaJoin per
# cluster, one Custom::KarmadaObjects for all the typed workloads and one per manifest folder.
KARMADA_BASE_RESOURCES = 29
KARMADA_STORAGE_RESOURCES = 4
KARMADA_PER_CLUSTER = 1
KARMADA_WORKLOAD_OBJECTS = 1
KARMADA_PER_FOLDER = 1


def federation_resources(cfg: FederationConfig) -> int:
    """The federation stack's resources, without the CDK's metadata resource."""
    if cfg.engine == "karmada":
        return (KARMADA_BASE_RESOURCES + (KARMADA_STORAGE_RESOURCES if cfg.karmada.etcd_storage.managed_class else 0)
                + KARMADA_PER_CLUSTER * len(cfg.clusters) + (KARMADA_WORKLOAD_OBJECTS if cfg.workloads else 0)
                + KARMADA_PER_FOLDER * len(cfg.manifest_folders))
    return (BASE_RESOURCES + PER_CLUSTER * len(cfg.clusters) + PER_HOST_NAMESPACE * len(host_namespaces(cfg))
            + PER_NAMESPACE * len({w.namespace for w in cfg.workloads})
            + PER_WORKLOAD * len(cfg.workloads) + PER_FOLDER * len(cfg.manifest_folders)
            + PER_FOLDER_WORKLOAD * folder_workloads(cfg))


# Template bytes besides the Kubernetes objects: measured on synthesized templates (2 to 6 clusters, names of 5
# characters), plus room for names of the longest lengths the config allows, which recur in ids and paths.
BASE_BYTES = 72_000            # measured 55,619 (environment "test"; 29,644 before the waiter's own provider);
#                                20-character environment names add ~11,000
BYTES_PER_CLUSTER = 7_000      # measured 5,658: a join, with its cluster's endpoint and CA from the cluster stack, and
#                                the cluster in the join's and the waiter's functions' environment and egress
BYTES_PER_NAMESPACE = 2_000    # measured 1,156
BYTES_PER_WORKLOAD = 3_500     # measured 2,459: the objects' resource and the waiter
BYTES_PER_PLACED_CLUSTER = 800  # measured 639: each placed cluster in the waiter's properties
BYTES_PER_ANNOTATED_CLUSTER = 2_000  # per placed cluster of a LoadBalancer or DNS workload: its Service's
#                                      annotations as a cluster override (components/workload_dns.py)
BYTES_PER_FOLDER = 2_000       # measured 1,340, and its path, in the resource's id and construct path


def embedded_bytes(objects: list[dict[str, Any]]) -> int:
    """The bytes of `objects` in a template: one KubernetesManifest's JSON, as a JSON string."""
    return len(json.dumps(json.dumps(objects)))


def expanded_size(obj: Any, limit: int) -> int:
    """About the JSON length of `obj` with every YAML alias written out, counting no further than just past `limit`
    (a few hundred bytes of YAML anchors can stand for gigabytes: this stops after `limit` worth of work)."""
    total, todo = 0, [obj]
    while todo and total <= limit:
        item = todo.pop()
        if isinstance(item, dict):
            total += 2 + 2 * len(item)
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list):
            total += 2 + len(item)
            todo.extend(item)
        else:
            total += len(item) + 2 if isinstance(item, str) else 8
    return total


def manifests(cfg: FederationConfig) -> Iterable[list[dict[str, Any]]]:
    """The Kubernetes objects of each KubernetesManifest of the federation stack."""
    clusters = [(c.name, c.region) for c in cfg.clusters]
    yield from ([ns] for ns in kubefed_workload.namespaces(list(cfg.workloads), clusters))
    yield from (kubefed_workload.workload_objects(w) for w in cfg.workloads)
    yield from ([kubefed_workload.managed(obj) for _, obj in f.objects] for f in cfg.manifest_folders)


# Karmada's federation template besides its objects: measured on synthesized templates (2, 3 and 6 clusters, an
# environment name of 1 character; stacks/federation.py `_build_karmada`), with room for the longest names.
KARMADA_BASE_BYTES = 48_000            # measured 35,589 (the guard, the chart, the join provider, the two rules)
KARMADA_BYTES_PER_CLUSTER = 2_600      # measured 1,885: a join, with its cluster's endpoint and CA, its output entry
KARMADA_OBJECTS_RESOURCE_BYTES = 2_000  # measured 1,306: the Custom::KarmadaObjects besides its objects


def karmada_objects_bytes(objects: list[dict[str, Any]]) -> int:
    """The bytes of a Custom::KarmadaObjects' objects in a template: one JSON string (sorted keys, as
    components/karmada_join `objects_properties` writes it), in the template's JSON."""
    return len(json.dumps(json.dumps(objects, sort_keys=True)))


def karmada_template_bytes(cfg: FederationConfig) -> int:
    """An upper bound of a Karmada federation template's bytes: its objects exactly (plan/karmada_workload.py
    `federation_objects`, DNS annotations included), the rest measured."""
    clusters = [(c.name, c.region) for c in cfg.clusters]
    objects = karmada_workload.federation_objects(cfg.workloads, clusters)
    return (KARMADA_BASE_BYTES + KARMADA_BYTES_PER_CLUSTER * len(cfg.clusters)
            + ((KARMADA_OBJECTS_RESOURCE_BYTES + karmada_objects_bytes(objects)) if cfg.workloads else 0))


def federation_template_bytes(cfg: FederationConfig) -> int:
    """An upper bound of the federation template's bytes, for the environment's engine."""
    if cfg.engine == "karmada":
        return karmada_template_bytes(cfg)
    clusters = [(c.name, c.region) for c in cfg.clusters]
    placed = [len(w.placement.resolve(clusters)) for w in cfg.workloads]
    annotated = sum(n for w, n in zip(cfg.workloads, placed) if w.dns is not None or w.load_balanced)
    folder_waiters = [fw for f in cfg.manifest_folders for fw in folders.waited_workloads(f.objects, clusters)]
    return (BASE_BYTES + BYTES_PER_CLUSTER * len(cfg.clusters)
            + BYTES_PER_NAMESPACE * (len({w.namespace for w in cfg.workloads}) + len(host_namespaces(cfg)))
            + BYTES_PER_WORKLOAD * (len(cfg.workloads) + len(folder_waiters))
            + BYTES_PER_PLACED_CLUSTER * (sum(placed) + sum(len(fw.clusters) for fw in folder_waiters))
            + BYTES_PER_ANNOTATED_CLUSTER * annotated
            + sum(BYTES_PER_FOLDER + 4 * len(f.path) for f in cfg.manifest_folders)
            + sum(embedded_bytes(objects) for objects in manifests(cfg)))


# --- the split: workloads beyond one stack go into workload stacks -------------------------------------------------
# Template bytes of a workload stack besides its workloads (its metadata, the imported service token and kubectl
# provider, the dependencies on the federation stack): measured about 3,000 bytes; with room for long names.
WORKLOAD_STACK_BYTES = 8_000
# Engine karmada: a workload stack's template besides its Custom::KarmadaObjects (its metadata, the Karmada join
# provider's service token and the host's endpoint and CA it reads from other stacks).
KARMADA_WORKLOAD_STACK_BYTES = 8_000


@dataclass(frozen=True)
class NamespaceGroup:
    """The typed workloads of one namespace: they go into one stack together with their namespace's resources."""

    namespace: str
    workloads: tuple[int, ...]
    """Indexes into cfg.workloads."""
    resources: int
    template_bytes: int
    pinned: bool
    """A manifest folder uses the namespace: it stays with the folders, in the federation stack."""


@dataclass(frozen=True)
class WorkloadStackPlan:
    """Stack `index` of the federation's workloads: 0 is the federation stack itself (KubeFed, the joins, the manifest
    folders and the first typed workloads), 1.. the workload stacks `workloads-<index>`."""

    index: int
    namespaces: tuple[str, ...]
    resources: int
    template_bytes: int

    @property
    def fits(self) -> bool:
        return self.resources <= RESOURCE_BUDGET and self.template_bytes <= MAX_TEMPLATE_BYTES


def namespace_groups(cfg: FederationConfig) -> list[NamespaceGroup]:
    """The typed workloads by namespace, in the order the namespaces first appear in the config."""
    clusters = [(c.name, c.region) for c in cfg.clusters]
    hosted = set(host_namespaces(cfg))
    used_by_folders = {ns for f in cfg.manifest_folders
                       for ns in (*folders.federated_namespaces(f.objects), *folders.namespaces_used(f.objects))}
    by_namespace: dict[str, list[int]] = {}
    for i, w in enumerate(cfg.workloads):
        by_namespace.setdefault(w.namespace, []).append(i)
    groups = []
    for ns, indexes in by_namespace.items():
        ws = [cfg.workloads[i] for i in indexes]
        placed = [len(w.placement.resolve(clusters)) for w in ws]
        own_host = ns in hosted and ns not in used_by_folders
        resources = PER_NAMESPACE + PER_HOST_NAMESPACE * own_host + PER_WORKLOAD * len(ws)
        size = (BYTES_PER_NAMESPACE * (1 + own_host) + BYTES_PER_WORKLOAD * len(ws)
                + BYTES_PER_PLACED_CLUSTER * sum(placed)
                + BYTES_PER_ANNOTATED_CLUSTER * sum(n for w, n in zip(ws, placed) if w.dns is not None or w.load_balanced)
                + sum(embedded_bytes([ns_obj]) for ns_obj in kubefed_workload.namespaces(ws, clusters))
                + sum(embedded_bytes(kubefed_workload.workload_objects(w)) for w in ws))
        groups.append(NamespaceGroup(ns, tuple(indexes), resources, size, ns in used_by_folders))
    return groups


def karmada_namespace_groups(cfg: FederationConfig) -> list[NamespaceGroup]:
    """Engine karmada: the workloads by namespace, each group's objects (its Namespace and every workload's objects)
    sized as one Custom::KarmadaObjects carries them. No folder pins a namespace (Karmada takes no folders)."""
    clusters = [(c.name, c.region) for c in cfg.clusters]
    by_namespace: dict[str, list[int]] = {}
    for i, w in enumerate(cfg.workloads):
        by_namespace.setdefault(w.namespace, []).append(i)
    return [NamespaceGroup(ns, tuple(indexes), 0, karmada_objects_bytes(karmada_workload.federation_objects(
        [cfg.workloads[i] for i in indexes], clusters)), False) for ns, indexes in by_namespace.items()]


def _karmada_workload_stacks(cfg: FederationConfig) -> list[WorkloadStackPlan]:
    """Engine karmada: each stack holds one Custom::KarmadaObjects with its namespaces' objects; the federation stack
    takes namespaces while its template fits, then workload stacks `workloads-<n>` (KARMADA_WORKLOAD_STACK_BYTES plus
    their objects), namespaces in config order. The JSON string of several groups is their bytes summed, less the
    brackets and separators between them: the sum is an upper bound."""
    base_bytes = karmada_template_bytes(replace(cfg, workloads=()))
    overhead = KARMADA_OBJECTS_RESOURCE_BYTES
    plans = [WorkloadStackPlan(0, (), federation_resources(replace(cfg, workloads=())), base_bytes)]
    for g in karmada_namespace_groups(cfg):
        last = plans[-1]
        first = not last.namespaces
        grown = WorkloadStackPlan(last.index, last.namespaces + (g.namespace,),
                                  last.resources + (KARMADA_WORKLOAD_OBJECTS if first else 0),
                                  last.template_bytes + g.template_bytes + (overhead if first else 0))
        if grown.fits:
            plans[-1] = grown
        else:
            plans.append(WorkloadStackPlan(last.index + 1, (g.namespace,), KARMADA_WORKLOAD_OBJECTS,
                                           KARMADA_WORKLOAD_STACK_BYTES + overhead + g.template_bytes))
    return plans


def workload_stacks(cfg: FederationConfig) -> list[WorkloadStackPlan]:
    """Which stack holds each namespace's workloads. The federation stack first, then a workload stack each time the
    next namespace does not fit the current one: appending workloads in new namespaces never moves those already
    placed (their stack and logical ids stay), and a config that fits one stack keeps the federation stack alone,
    as before. A namespace that a folder uses stays in the federation stack. With engine karmada, each stack's
    namespaces are one Custom::KarmadaObjects (`_karmada_workload_stacks`)."""
    if cfg.engine == "karmada":
        return _karmada_workload_stacks(cfg)
    groups = namespace_groups(cfg)
    pinned = [g for g in groups if g.pinned]
    base_resources = federation_resources(cfg) - sum(g.resources for g in groups if not g.pinned)
    base_bytes = federation_template_bytes(cfg) - sum(g.template_bytes for g in groups if not g.pinned)
    plans = [WorkloadStackPlan(0, tuple(g.namespace for g in pinned), base_resources, base_bytes)]
    for g in groups:
        if g.pinned:
            continue
        last = plans[-1]
        grown = WorkloadStackPlan(last.index, last.namespaces + (g.namespace,), last.resources + g.resources,
                                  last.template_bytes + g.template_bytes)
        if grown.fits:
            plans[-1] = grown
        else:
            plans.append(WorkloadStackPlan(last.index + 1, (g.namespace,), g.resources,
                                           WORKLOAD_STACK_BYTES + g.template_bytes))
    return plans


def kubernetes_bytes(cfg: FederationConfig, plan: WorkloadStackPlan) -> int:
    """The bytes of the Kubernetes objects stack `plan` carries (the folders' go with the federation stack)."""
    clusters = [(c.name, c.region) for c in cfg.clusters]
    if cfg.engine == "karmada":
        ws = [w for w in cfg.workloads if w.namespace in plan.namespaces]
        return karmada_objects_bytes(karmada_workload.federation_objects(ws, clusters)) if ws else 0
    ws = [w for w in cfg.workloads if w.namespace in plan.namespaces]
    objects = [[ns] for ns in kubefed_workload.namespaces(ws, clusters)]
    objects += [kubefed_workload.workload_objects(w) for w in ws]
    if plan.index == 0:
        objects += [[kubefed_workload.managed(obj) for _, obj in f.objects] for f in cfg.manifest_folders]
    return sum(embedded_bytes(o) for o in objects)
