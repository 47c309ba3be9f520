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

from federated_eks.model.field_doc import doc, not_config

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

    clusters: tuple[str, ...] = field(default=(), metadata=doc(
        "workloads[].placement.clusters", "list of strings", "Place the workload on these clusters.",
        rule="names of the federation's clusters, at least one", example='["fed-1", "fed-3"]'))
    regions: tuple[str, ...] = field(default=(), metadata=doc(
        "workloads[].placement.regions", "list of strings", "Place the workload on the clusters in these regions.",
        rule="regions of the federation's clusters, at least one", example='["us-east-1"]'))

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

    replicas: int | None = field(default=None, metadata=doc(
        "workloads[].clusters.<cluster>.replicas", "whole number", "Replicas on this cluster.",
        rule="0 or more; not with `replicaScheduling`", default="the workload's `replicas`", example="3"))
    image: str | None = field(default=None, metadata=doc(
        "workloads[].clusters.<cluster>.image", "string", "The image this cluster runs.", rule="pinned, as `image`",
        default="the workload's `image`", example='"registry.k8s.io/echoserver:1.10"'))
    env: tuple[tuple[str, str], ...] = field(default=(), metadata=doc(
        "workloads[].clusters.<cluster>.env", "object of strings", "Environment variables added to (or replacing those "
        "of) the workload's `env` on this cluster.", rule="as `env`", default="`{}`", example='{"REGION": "east"}'))
    """Variables added to (or replacing those of) the workload's `env`."""


@dataclass(frozen=True)
class ReplicaPreference:
    """How many replicas one cluster (or every cluster, under `ALL_CLUSTERS`) should get."""

    weight: int = field(default=0, metadata=doc(
        "workloads[].replicaScheduling.clusters.<cluster>.weight", "whole number", "Relative share of `totalReplicas`.",
        rule="0 or more; at least one cluster (or `*`) needs a weight or `minReplicas`", example="1"))
    min_replicas: int = field(default=0, metadata=doc(
        "workloads[].replicaScheduling.clusters.<cluster>.minReplicas", "whole number", "Replicas this cluster gets at "
        "least.", rule="0 or more", example="1"))
    max_replicas: int | None = field(default=None, metadata=doc(
        "workloads[].replicaScheduling.clusters.<cluster>.maxReplicas", "whole number", "Replicas this cluster gets at "
        "most.", rule="at least `minReplicas`", default="no limit", example="5"))
    """None: no upper bound."""


@dataclass(frozen=True)
class ReplicaScheduling:
    """A total number of replicas spread over the placed clusters by weight, within each one's min/max,
    instead of a fixed count per cluster. `clusters` empty: an even spread."""

    total_replicas: int = field(metadata=doc(
        "workloads[].replicaScheduling.totalReplicas", "whole number", "Replicas in total, spread over the placed "
        "clusters.", rule="0 or more", example="7"))
    rebalance: bool = field(default=False, metadata=doc(
        "workloads[].replicaScheduling.rebalance", "true or false", "Move running replicas too when the "
        "preferences (or the clusters' health) change, not only new ones.", example="true"))
    """Move running replicas when the preferences (or the clusters' health) change, not only new ones."""
    clusters: tuple[tuple[str, ReplicaPreference], ...] = field(default=(), metadata=doc(
        "workloads[].replicaScheduling.clusters", "object of objects", "Per placed cluster (its name, or `\"*\"` "
        "for every cluster without an entry): `weight`, `minReplicas`, `maxReplicas` (below).",
        rule="placed clusters only", default="an even spread", example='{"*": {"weight": 1}, "fed-1": '
        '{"minReplicas": 2}}'))


@dataclass(frozen=True)
class ServiceSpec:
    type: str = field(default="ClusterIP", metadata=doc(
        "workloads[].service.type", "string", "Type of the Service in front of the workload.",
        rule="`ClusterIP` or `LoadBalancer` (a network load balancer by the AWS Load Balancer Controller)",
        example='"LoadBalancer"'))
    port: int = field(default=80, metadata=doc("workloads[].service.port", "whole number", "The Service's port.",
                                               rule="1 to 65535", example="443"))
    target_port: int | None = field(default=None, metadata=doc(
        "workloads[].service.targetPort", "whole number", "The port the Service sends to.", rule="1 to 65535",
        default="the `containerPort`", example="8443"))
    """None: the workload's container port."""
    scheme: str = field(default="internet-facing", metadata=doc(
        "workloads[].service.scheme", "string", "An internet-facing or an internal load balancer.",
        rule="`internet-facing` or `internal`; LoadBalancer only", example='"internal"'))
    """LoadBalancer only: an internet-facing or an internal load balancer."""


@dataclass(frozen=True)
class DnsSpec:
    """One DNS name in a Route 53 hosted zone, answered with the placed clusters' load balancers, each behind
    a health check."""

    hosted_zone_id: str = field(metadata=doc(
        "workloads[].dns.hostedZoneId", "string", "The Route 53 hosted zone of the records.",
        rule="a zone id: `Z` followed by capitals and digits", example='"Z0123456789ABCDEFGHIJ"'))
    record_name: str = field(metadata=doc(
        "workloads[].dns.recordName", "string", "The name answered with the placed clusters' load balancers (alias "
        "records kept by ExternalDNS).",
        rule="a fully qualified name below the zone's apex (not the apex itself: ExternalDNS's TXT ownership record "
        "for it, `cname-<apex>`, falls outside the zone, so ExternalDNS would never update or delete the records; "
        "`python -m rehearsal --env <env> --hosted-zone ID=DOMAIN` stops on it), no wildcard; each workload needs "
        "its own in a zone", example='"echo.example.com"'))
    routing: str = field(metadata=doc(
        "workloads[].dns.routing", "string", "How Route 53 picks a cluster.",
        rule="`failover`: exactly two placed clusters and `primary`; `latency`: one placed cluster per region, as "
        "Route 53 allows one latency record per region for a name; `weighted`, with `weights`",
        example='"failover"'))
    primary: str | None = field(default=None, metadata=doc(
        "workloads[].dns.primary", "string", "`failover` only: the cluster that serves while healthy.",
        rule="a placed cluster; required with `failover`", default="none", example='"fed-1"'))
    """failover only: the cluster that serves while healthy."""
    health_check_path: str = field(default="/", metadata=doc(
        "workloads[].dns.healthCheckPath", "string", "Path of the load balancer's target health check.",
        rule="starts with `/`, at most 255 characters, no spaces", example='"/healthz"'))
    protocol: str = field(default="HTTP", metadata=doc(
        "workloads[].dns.protocol", "string", "Protocol of that health check.",
        rule="`HTTP`, or `HTTPS` (not on port 80 or 8080: the container must serve TLS)", example='"HTTPS"'))
    ttl_seconds: int = field(default=60, metadata=doc(
        "workloads[].dns.ttl", "whole number", "TTL of ExternalDNS's TXT ownership records, in seconds (alias answers "
        "carry the load balancer's own 60 s).", rule="0 to 86400", example="60"))
    weights: tuple[tuple[str, int], ...] = field(default=(), metadata=doc(
        "workloads[].dns.weights", "object of numbers", "`weighted` only: each placed cluster's weight.",
        rule="placed clusters, 0 to 255 each, not all 0", default="1 for every cluster",
        example='{"fed-1": 3, "fed-2": 1}'))
    """weighted only: per-cluster weight (0-255); clusters not listed get 1."""

    def weight(self, cluster: str) -> int:
        return dict(self.weights).get(cluster, 1)


@dataclass(frozen=True)
class Workload:
    name: str = field(metadata=doc(
        "workloads[].name", "string", "Names the Deployment, the Service and every federated object of the "
        "workload.",
        rule="a DNS-1035 label (at most 63); unique per namespace", example='"echo-server"'))
    namespace: str = field(metadata=doc(
        "workloads[].namespace", "string", "Namespace of the workload, federated with it.",
        rule="an RFC 1123 label; not `default`, `kube-*` or `kubefed.namespace`", example='"echo"'))
    image: str = field(metadata=doc(
        "workloads[].image", "string", "The container image.",
        rule="pinned: `registry/repository:tag` or `@sha256:…` (no tag, or `latest`, is refused)",
        example='"registry.k8s.io/echoserver:1.10"'))
    container_port: int = field(metadata=doc("workloads[].containerPort", "whole number",
                                             "The port the container serves.", rule="1 to 65535", example="8080"))
    replicas: int = field(default=DEFAULT_REPLICAS, metadata=doc(
        "workloads[].replicas", "whole number", "Replicas per placed cluster.",
        rule="0 or more; not with `replicaScheduling`", example="2"))
    """Per placed cluster, unless overridden or replica scheduling is set."""
    placement: Placement = field(default=Placement(), metadata=doc(
        "workloads[].placement", "string or object", "Where the workload runs: `\"all\"` (every cluster), or an object "
        "with `clusters` or `regions` (below).", rule="one of `clusters` and `regions`", default='`"all"`',
        example='{"regions": ["us-east-1"]}'))
    overrides: tuple[tuple[str, ClusterOverride], ...] = field(default=(), metadata=doc(
        "workloads[].clusters", "object of objects", "Per placed cluster: `replicas`, `image`, `env` (below).",
        rule="placed clusters only", default="none", example='{"fed-1": {"replicas": 2}}'))
    env: tuple[tuple[str, str], ...] = field(default=(), metadata=doc(
        "workloads[].env", "object of strings", "Environment variables of the container.",
        rule="names of letters, digits, `_`, `-` and `.`, not starting with a digit; string values", default="`{}`",
        example='{"LOG_LEVEL": "info"}'))
    replica_scheduling: ReplicaScheduling | None = field(default=None, metadata=doc(
        "workloads[].replicaScheduling", "object", "A total number of replicas that the federation spreads over the "
        "placed clusters by weight, within each one's min and max (below).", rule="not with `replicas`", default="none",
        example='{"totalReplicas": 7, "rebalance": true}'))
    service: ServiceSpec | None = field(default=None, metadata=doc(
        "workloads[].service", "object", "A Service in front of the workload (below).", default="none",
        example='{"type": "LoadBalancer", "port": 80}'))
    dns: DnsSpec | None = field(default=None, metadata=doc(
        "workloads[].dns", "object", "Route 53 alias records kept by ExternalDNS ([DNS across regions]"
        "(../workloads/dns.md#dns-across-regions)).", rule="needs an internet-facing LoadBalancer `service`",
        default="none", example='{"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "echo.example.com", '
        '"routing": "latency"}'))

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
    """KubeFed YAML (or, with engine karmada, Karmada objects) applied as it is, after validation: the other way to
    describe workloads."""

    path: str = field(metadata=doc(
        "workloads[].manifests", "string", "A folder of KubeFed YAML ([Federated workloads](../workloads/index.md)), "
        "or with `engine: \"karmada\"` of Karmada objects ([Karmada manifest folders](../workloads/karmada-folders.md)), "
        "applied as it is after the checks at synth.", rule="relative to the folder with `cdk.json`; each "
        "folder once; with Karmada at most 200 objects", example='"samples/hello-world"'))
    """As written in the config (relative to the project root)."""
    source: str = field(default="", compare=False, metadata=not_config("where the config names the folder, "
                                                                       "for messages"))
    """Where the config names it (e.g. `environments.dev.workloads[2]`), for messages."""
    objects: tuple[tuple[str, dict], ...] = field(default=(), hash=False, compare=False,
                                                  metadata=not_config("read from the folder's files"))
    """(file relative to the project root, object) for every object in the folder, in file order."""
    hosted_zone_id: str | None = field(default=None, metadata=doc(
        "workloads[].hostedZoneId", "string", "Beside `manifests`: the Route 53 zone of its ExternalDNS-annotated "
        "Services.", rule="a zone id; needed exactly when a LoadBalancer Service of the folder (a FederatedService with "
        "KubeFed) carries ExternalDNS's hostname annotation", default="none", example='"Z0123456789ABCDEFGHIJ"'))
    """The Route 53 hosted zone its LoadBalancer Services' ExternalDNS annotations write to (None: no DNS)."""


def load_balanced_clusters(workloads: Iterable[Workload], clusters: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The clusters (in the given `(name, region)` order) that run a LoadBalancer Service of `workloads`."""
    clusters = tuple(clusters)
    names = {n for w in workloads if w.load_balanced for n in w.placement.resolve(clusters)}
    return tuple(n for n, _ in clusters if n in names)
