"""The federation model: what every layer imports (typed, frozen dataclasses, the allowed choices, limits).

Each default is stated once, here, as a dataclass field default; `config.py` reads the JSON into these
classes and takes its defaults (and the examples in its messages) from them. Nothing here reads files,
context or the environment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Workloads are described in their own module (engine-neutral); the federation holds them.
from federated_eks.workload import ManifestFolder, Workload

# Kubernetes versions we can build: EKS supports them today, aws-cdk-lib's aws_eks_v2 has a
# `KubernetesVersion.V1_NN` for each, and a pinned `aws-cdk.lambda-layer-kubectl-vNN` package
# (requirements.txt) matches each. The config check, the cluster construct and the kubectl layer all derive
# from this list; tests/test_topology.py checks it against the installed packages.
KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")

TOPOLOGIES = ("mesh", "hub")
SCOPES = ("Cluster", "Namespaced")
ENDPOINT_MODES = ("private", "publicAndPrivate")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")

# `<member>-<host>` becomes a Kubernetes object name (max 63): two names of 30 and a dash fit.
MAX_CLUSTER_NAME = 30


@dataclass(frozen=True)
class ImageRef:
    """A container image: `repository/image:tag` (repository is a registry path, for mirrors)."""

    repository: str
    image: str
    tag: str

    @property
    def uri(self) -> str:
        return f"{self.repository}/{self.image}:{self.tag}"


@dataclass(frozen=True)
class NodeGroupConfig:
    instance_types: tuple[str, ...] = ("m6i.large",)
    min_size: int = 1
    desired_size: int = 2
    max_size: int = 3
    capacity_type: str = "ON_DEMAND"
    disk_size_gib: int = 50


@dataclass(frozen=True)
class EndpointAccessConfig:
    mode: str = "private"
    public_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    region: str
    cidr: str
    node_group: NodeGroupConfig
    endpoint_access: EndpointAccessConfig


@dataclass(frozen=True)
class KubefedctlConfig:
    """Optional: kubefedctl on the bastion. The joins are automated, so it is only an ops tool."""

    url: str = ""
    sha256: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class BastionConfig:
    region: str
    cidr: str
    instance_type: str = "t3.small"
    kubefedctl: KubefedctlConfig = KubefedctlConfig()


@dataclass(frozen=True)
class ChartConfig:
    repository: str = "https://raw.githubusercontent.com/kubernetes-sigs/kubefed/master/charts"
    name: str = "kubefed"
    version: str = "0.10.0"


@dataclass(frozen=True)
class KubefedConfig:
    namespace: str = "kube-federation-system"
    scope: str = "Cluster"
    chart: ChartConfig = ChartConfig()
    controller_image: ImageRef = ImageRef("quay.io/kubernetes-multicluster", "kubefed", "v0.10.0")
    # The admission webhook runs the same image by default; it can be mirrored separately.
    webhook_image: ImageRef = ImageRef("quay.io/kubernetes-multicluster", "kubefed", "v0.10.0")
    # The chart's default, bitnami/kubectl:1.17.16, no longer exists; this one has bash and kubectl.
    post_install_image: ImageRef = ImageRef("docker.io/bitnamilegacy", "kubectl", "1.33.4")
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    join_timeout_minutes: int = 30


@dataclass(frozen=True)
class LoadBalancerControllerConfig:
    """The AWS Load Balancer Controller installed on clusters that run LoadBalancer Services (mirrorable)."""

    image_repository: str = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller"
    chart_repository: str = "https://aws.github.io/eks-charts"


@dataclass(frozen=True)
class FederationConfig:
    env_name: str
    account: str
    host_cluster: str
    kubernetes_version: str
    bastion: BastionConfig
    clusters: tuple[ClusterConfig, ...]
    peering_topology: str = "mesh"
    nat_gateways: int = 1
    tags: tuple[tuple[str, str], ...] = ()
    kubefed: KubefedConfig = KubefedConfig()
    workloads: tuple[Workload, ...] = ()
    manifest_folders: tuple[ManifestFolder, ...] = ()
    load_balancer_controller: LoadBalancerControllerConfig = LoadBalancerControllerConfig()

    @property
    def host(self) -> ClusterConfig:
        return next(c for c in self.clusters if c.name == self.host_cluster)

    def cluster(self, name: str) -> ClusterConfig:
        return next(c for c in self.clusters if c.name == name)


def default(cls: type, name: str) -> Any:
    """The default of dataclass field `name` of `cls` (for a class whose other fields are required)."""
    return cls.__dataclass_fields__[name].default
