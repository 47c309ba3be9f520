"""A federated workload, described once and independently of the engine that federates it.

These frozen dataclasses say *what* runs *where*: an image and its port, on which clusters and how many
replicas on each, the Service in front of it, and the DNS name that spreads (or fails over) traffic across
regions. They say nothing about KubeFed: `kubefed_workload.py` renders them to KubeFed objects, and another
federation engine could render the same description. `workload_config.py` reads them from the config; CDK
users build them directly (see `components/federated_workload.py`).

Nothing here reads files, context or the environment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ALL_CLUSTERS = "*"
"""In `ReplicaScheduling.clusters`: the preference of every cluster without an entry of its own."""

SERVICE_TYPES = ("ClusterIP", "LoadBalancer")
LOAD_BALANCER_SCHEMES = ("internet-facing", "internal")
DNS_ROUTINGS = ("failover", "latency", "weighted")
HEALTH_CHECK_PROTOCOLS = ("HTTP", "HTTPS")
DEFAULT_REPLICAS = 1


@dataclass(frozen=True)
class Placement:
    """Where a workload runs: every cluster (neither field set), the named clusters, or the clusters in the
    named regions. At most one of `clusters` and `regions` is set."""

    clusters: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def everywhere(self) -> bool:
        return not self.clusters and not self.regions

    def resolve(self, clusters: Iterable[tuple[str, str]]) -> tuple[str, ...]:
        """The placed cluster names, in the order given, out of `(name, region)` pairs."""
        return tuple(name for name, region in clusters
                     if self.everywhere or name in self.clusters or region in self.regions)


@dataclass(frozen=True)
class ClusterOverride:
    """What one cluster runs differently. None (or empty) means: as the workload says."""

    replicas: int | None = None
    image: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    """Variables added to (or replacing those of) the workload's `env`."""


@dataclass(frozen=True)
class ReplicaPreference:
    """How many replicas one cluster (or every cluster, under `ALL_CLUSTERS`) should get."""

    weight: int = 0
    min_replicas: int = 0
    max_replicas: int | None = None
    """None: no upper bound."""


@dataclass(frozen=True)
class ReplicaScheduling:
    """A total number of replicas spread over the placed clusters by weight, within each one's min/max,
    instead of a fixed count per cluster. `clusters` empty: an even spread."""

    total_replicas: int
    rebalance: bool = False
    """Move running replicas when the preferences (or the clusters' health) change, not only new ones."""
    clusters: tuple[tuple[str, ReplicaPreference], ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    type: str = "ClusterIP"
    port: int = 80
    target_port: int | None = None
    """None: the workload's container port."""
    scheme: str = "internet-facing"
    """LoadBalancer only: an internet-facing or an internal load balancer."""


@dataclass(frozen=True)
class DnsSpec:
    """One DNS name in a Route 53 hosted zone, answered with the placed clusters' load balancers, each behind
    a health check."""

    hosted_zone_id: str
    record_name: str
    routing: str
    primary: str | None = None
    """failover only: the cluster that serves while healthy."""
    health_check_path: str = "/"
    protocol: str = "HTTP"
    ttl_seconds: int = 60
    weights: tuple[tuple[str, int], ...] = ()
    """weighted only: per-cluster weight (0-255); clusters not listed get 1."""

    def weight(self, cluster: str) -> int:
        return dict(self.weights).get(cluster, 1)


@dataclass(frozen=True)
class Workload:
    name: str
    namespace: str
    image: str
    container_port: int
    replicas: int = DEFAULT_REPLICAS
    """Per placed cluster, unless overridden or replica scheduling is set."""
    placement: Placement = Placement()
    overrides: tuple[tuple[str, ClusterOverride], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    replica_scheduling: ReplicaScheduling | None = None
    service: ServiceSpec | None = None
    dns: DnsSpec | None = None

    def override(self, cluster: str) -> ClusterOverride:
        return dict(self.overrides).get(cluster, ClusterOverride())

    def replicas_on(self, cluster: str) -> int | None:
        """The fixed replica count on `cluster`; None when replica scheduling decides it at run time."""
        if self.replica_scheduling is not None:
            return None
        own = self.override(cluster).replicas
        return self.replicas if own is None else own

    @property
    def load_balanced(self) -> bool:
        return self.service is not None and self.service.type == "LoadBalancer"


@dataclass(frozen=True)
class ManifestFolder:
    """KubeFed YAML applied as it is, after validation: the other way to describe workloads."""

    path: str
    """As written in the config (relative to the project root)."""
    source: str = field(default="", compare=False)
    """Where the config names it (e.g. `environments.dev.workloads[2]`), for messages."""
    objects: tuple[tuple[str, dict], ...] = field(default=(), hash=False, compare=False)
    """(file relative to the project root, object) for every object in the folder, in file order."""
    hosted_zone_id: str | None = None
    """The Route 53 hosted zone its LoadBalancer Services' ExternalDNS annotations write to (None: no DNS)."""


def load_balanced_clusters(workloads: Iterable[Workload], clusters: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The clusters (in the given `(name, region)` order) that run a LoadBalancer Service of `workloads`."""
    clusters = tuple(clusters)
    names = {n for w in workloads if w.load_balanced for n in w.placement.resolve(clusters)}
    return tuple(n for n, _ in clusters if n in names)
