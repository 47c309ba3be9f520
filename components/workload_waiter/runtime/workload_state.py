"""Is a federated workload running where it was placed, and is it gone after a delete? (pure)

The waiter (`workload_wait.py`) reads the host's FederatedDeployment and, on each placed member, the
Deployment and Service KubeFed propagated there; these functions turn what it saw into a decision and a
message naming everything that is not ready yet (or not gone yet). Nothing here does IO.

A member's Deployment counts as ready when the member has it at the planned replica count and image, its
controller has seen that spec (`status.observedGeneration`), and that many replicas are updated and available.
A LoadBalancer Service counts when its `status.loadBalancer.ingress[0].hostname` is set (the load balancer
exists).
With replica scheduling the plan is what KubeFed's scheduler wrote into the FederatedDeployment: the clusters
of `spec.placement.clusters` and a `/spec/replicas` override for each (pkg/schedulingtypes/plugin.go).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPLICAS_PATH = "/spec/replicas"


@dataclass(frozen=True)
class PlacedCluster:
    name: str
    replicas: int | None
    """The planned replicas; None when a ReplicaSchedulingPreference decides them."""
    image: str | None = None
    """The image planned on this cluster (None: not checked)."""


@dataclass(frozen=True)
class WorkloadPlan:
    namespace: str
    name: str
    clusters: tuple[PlacedCluster, ...]
    load_balanced: bool
    total_replicas: int | None = None
    """Replica scheduling only: the total to expect in the scheduler's overrides (None: do not check, e.g.
    when max-replica bounds can make the total unreachable)."""

    @property
    def scheduled(self) -> bool:
        return any(c.replicas is None for c in self.clusters)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class DeploymentSeen:
    replicas: int
    """spec.replicas on the member (as KubeFed wrote it)."""
    generation: int = 0
    observed_generation: int = 0
    updated: int = 0
    available: int = 0
    image: str | None = None
    """The first container's image."""

    @classmethod
    def of(cls, obj: dict[str, Any]) -> "DeploymentSeen":
        spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
        return cls(replicas=int(spec.get("replicas", 1)), generation=int(meta.get("generation") or 0),
                   observed_generation=int(status.get("observedGeneration") or 0),
                   updated=int(status.get("updatedReplicas") or 0), available=int(status.get("availableReplicas") or 0),
                   image=containers[0].get("image"))


@dataclass(frozen=True)
class ServiceSeen:
    hostname: str | None = None
    deleting: bool = False
    finalizers: tuple[str, ...] = ()

    @classmethod
    def of(cls, obj: dict[str, Any]) -> "ServiceSeen":
        meta = obj.get("metadata") or {}
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        hostname = next((i.get("hostname") for i in ingress if i.get("hostname")), None)
        return cls(hostname=hostname, deleting=bool(meta.get("deletionTimestamp")),
                   finalizers=tuple(meta.get("finalizers") or ()))


@dataclass(frozen=True)
class MemberSeen:
    """One member as the waiter saw it: None = not there (404). `error`: the member could not be asked
    (`unreachable`: its API server could not be talked to at all)."""

    deployment: DeploymentSeen | None = None
    service: ServiceSeen | None = None
    error: str | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class Readiness:
    ready: bool
    waiting: tuple[str, ...] = ()
    hostnames: dict[str, str] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return "; ".join(self.waiting) if self.waiting else "ready"


def scheduled_replicas(federated_deployment: dict[str, Any] | None) -> dict[str, int] | None:
    """What the scheduler decided, from the host's FederatedDeployment: cluster -> replicas, or None if it has
    not placed the workload yet."""
    if not federated_deployment:
        return None
    spec = federated_deployment.get("spec") or {}
    placed = [c.get("name") for c in (spec.get("placement") or {}).get("clusters") or [] if c.get("name")]
    if not placed:
        return None
    out = {}
    for name in placed:
        out[name] = 0
        for o in spec.get("overrides") or []:
            if o.get("clusterName") == name:
                for patch in o.get("clusterOverrides") or []:
                    if patch.get("path") == REPLICAS_PATH and patch.get("op", "replace") != "remove":
                        out[name] = int(patch.get("value") or 0)
    return out


def _deployment_waiting(plan: WorkloadPlan, cluster: PlacedCluster, want: int,
                        seen: DeploymentSeen | None) -> str | None:
    what = f"{cluster.name}: Deployment {plan.key}"
    if seen is None:
        return None if want == 0 else f"{what} not propagated yet"
    if seen.replicas != want:
        return f"{what} has spec.replicas {seen.replicas}, planned {want} (KubeFed has not updated it yet)"
    if cluster.image is not None and seen.image != cluster.image:
        return f"{what} runs image {seen.image}, planned {cluster.image} (KubeFed has not updated it yet)"
    if seen.observed_generation < seen.generation:
        return f"{what}: its controller has not seen the latest spec yet"
    if seen.updated < want or seen.available < want:
        return f"{what} has {seen.available} of {want} replicas available ({seen.updated} updated)"
    return None


def readiness(plan: WorkloadPlan, members: dict[str, MemberSeen],
              scheduled: dict[str, int] | None = None) -> Readiness:
    """Ready when every placed member runs the planned replicas (and has a load-balancer hostname)."""
    waiting: list[str] = []
    hostnames: dict[str, str] = {}
    if plan.scheduled:
        if scheduled is None:
            waiting.append(f"ReplicaSchedulingPreference {plan.key}: KubeFed has not scheduled replicas yet")
        elif plan.total_replicas is not None and sum(scheduled.values()) != plan.total_replicas:
            waiting.append(f"ReplicaSchedulingPreference {plan.key}: {sum(scheduled.values())} of "
                           f"{plan.total_replicas} replicas scheduled so far")
    for cluster in plan.clusters:
        seen = members.get(cluster.name, MemberSeen(error="not observed"))
        if seen.error:
            waiting.append(f"{cluster.name}: {seen.error}")
            continue
        want = cluster.replicas if cluster.replicas is not None else (scheduled or {}).get(cluster.name, 0)
        if cluster.replicas is not None or scheduled is not None:
            problem = _deployment_waiting(plan, cluster, want, seen.deployment)
            if problem:
                waiting.append(problem)
        if plan.load_balanced:
            if seen.service is None:
                waiting.append(f"{cluster.name}: Service {plan.key} not propagated yet")
            elif not seen.service.hostname:
                waiting.append(f"{cluster.name}: Service {plan.key} has no load-balancer hostname yet")
            else:
                hostnames[cluster.name] = seen.service.hostname
    return Readiness(ready=not waiting, waiting=tuple(waiting), hostnames=hostnames)


def leaving(plan: WorkloadPlan, federated: dict[str, dict[str, Any] | None]) -> tuple[str, ...]:
    """Copies KubeFed still keeps on clusters outside the plan, from the host's federated objects (`kind ->
    object`): their `status.clusters` lists every cluster holding a copy, `WaitingForRemoval` while a deleted
    copy is still there (a Service until its load balancer is gone), and drops the cluster once it is gone
    (kubefed v0.10.0 pkg/controller/sync/controller.go, dispatch/managed.go). A cluster that left the config
    left the placement in the same deploy, so this waits for its load balancers before the unjoin (which
    CloudFormation runs later, in the update's cleanup)."""
    placed = {c.name for c in plan.clusters}
    out = []
    for kind, obj in sorted(federated.items()):
        for entry in ((obj or {}).get("status") or {}).get("clusters") or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if name and name not in placed:
                out.append(f"{name}: {kind} {plan.key} still has a copy there, no longer placed "
                           f"({entry.get('status') or 'being removed'})")
    return tuple(out)


def remaining(plan: WorkloadPlan, members: dict[str, MemberSeen]) -> tuple[str, ...]:
    """After a delete: what is still on the members (nothing: the workload is gone, load balancers included)."""
    out = []
    for cluster in plan.clusters:
        seen = members.get(cluster.name, MemberSeen(error="not observed"))
        if seen.error:
            out.append(f"{cluster.name}: {seen.error}")
            continue
        if seen.deployment is not None:
            out.append(f"{cluster.name}: Deployment {plan.key} still there")
        if seen.service is not None:
            if seen.service.deleting and seen.service.finalizers:
                out.append(f"{cluster.name}: Service {plan.key} is waiting for its load balancer to be deleted "
                           f"(finalizers {', '.join(seen.service.finalizers)})")
            else:
                out.append(f"{cluster.name}: Service {plan.key} still there")
    return tuple(out)
