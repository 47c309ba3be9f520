"""The federation model: what every layer imports (typed, frozen dataclasses, the allowed choices, limits).

Each default is stated once, here, as a dataclass field default; `config.py` reads the JSON into these
classes and takes its defaults (and the examples in its messages) from them. Nothing here reads files,
context or the environment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.kubefed_join.contract import MAX_NAME_LENGTH
from federated_eks.model.instance_types import architecture
# Workloads are described in their own module (engine-neutral); the federation holds them.
from federated_eks.model.workload import ManifestFolder, Workload

# Kubernetes versions we can build: EKS supports them today, aws-cdk-lib's aws_eks_v2 has a
# `KubernetesVersion.V1_NN` for each, and a pinned `aws-cdk.lambda-layer-kubectl-vNN` package
# (requirements.txt) matches each. The config check, the cluster construct and the kubectl layer all derive
# from this list; tests/test_topology.py checks it against the installed packages.
KUBERNETES_VERSIONS = ("1.34", "1.35", "1.36")

TOPOLOGIES = ("mesh", "hub", "transitGateway")
SCOPES = ("Cluster", "Namespaced")
ENDPOINT_MODES = ("private", "publicAndPrivate")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
LOAD_BALANCER_CONTROLLER_INSTALLS = ("auto", "always")

# The join's contract (a leaf module, standard library only) states it for both sides of the deploy boundary.
MAX_CLUSTER_NAME = MAX_NAME_LENGTH


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
    # IMDSv2 response hop limit of the nodes: 1 keeps pods (other than hostNetwork ones such as the VPC CNI)
    # away from the node role's credentials; 2 lets every pod read them (only for workloads that need IMDS).
    imds_hop_limit: int = 1

    @property
    def architecture(self) -> str:
        """arm64 or x86_64 (the config refuses a node group that mixes them): picks the AL2023 AMI type."""
        return architecture(self.instance_types[0])


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

    @property
    def architecture(self) -> str:
        return architecture(self.instance_type)


# EKS access policies of the people listed in `access` (the bastion and join roles are admins too).
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# Not AmazonEKSAdminViewPolicy: that one reads Secrets, and the host cluster's KubeFed namespace keeps a token
# of every member cluster's KubeFed service account, so reading Secrets there is admin on every member.
VIEWER_POLICY = "AmazonEKSViewPolicy"


@dataclass(frozen=True)
class AccessConfig:
    """IAM role or user ARNs granted access to every cluster through EKS access entries."""

    admins: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()

    def policies(self) -> dict[str, str]:
        """Principal ARN -> EKS access policy name, admins first, each in config order."""
        return {**{arn: ADMIN_POLICY for arn in self.admins}, **{arn: VIEWER_POLICY for arn in self.viewers}}


@dataclass(frozen=True)
class FederatedType:
    """A Kubernetes API type KubeFed propagates (what `kubefedctl enable` sets up): the target type, and the
    group of its `Federated<Kind>` type. `has_replicas`: the target's `spec.replicas` is an int32, so the
    federated type gets `spec.retainReplicas` (kubefedctl reads that from the target's schema; we cannot at
    synth). `short_names`: the target's short names; the federated type gets them prefixed with `f`."""

    group: str
    version: str
    kind: str
    plural: str
    scope: str
    federated_group: str = "types.kubefed.io"
    has_replicas: bool = False
    short_names: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The FederatedTypeConfig's name: `<plural>` for the core group, else `<plural>.<group>`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def federated_kind(self) -> str:
        return f"Federated{self.kind}"


# The types the KubeFed v0.10.0 chart enables (its FederatedTypeConfigs), from the same code path as users' types.
DEFAULT_FEDERATED_TYPES = (
    FederatedType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "Cluster"),
    FederatedType("", "v1", "ConfigMap", "configmaps", "Namespaced", short_names=("cm",)),
    FederatedType("apps", "v1", "Deployment", "deployments", "Namespaced", has_replicas=True,
                  short_names=("deploy",)),
    FederatedType("networking.k8s.io", "v1", "Ingress", "ingresses", "Namespaced", short_names=("ing",)),
    FederatedType("batch", "v1", "Job", "jobs", "Namespaced"),
    FederatedType("", "v1", "Namespace", "namespaces", "Cluster", short_names=("ns",)),
    FederatedType("apps", "v1", "ReplicaSet", "replicasets", "Namespaced", has_replicas=True, short_names=("rs",)),
    FederatedType("", "v1", "Secret", "secrets", "Namespaced"),
    FederatedType("", "v1", "ServiceAccount", "serviceaccounts", "Namespaced", short_names=("sa",)),
    FederatedType("", "v1", "Service", "services", "Namespaced", short_names=("svc",)),
)

KUBEFED_IMAGE = ImageRef("quay.io/kubernetes-multicluster", "kubefed", "v0.10.0")
# KubeFed v0.10.0 publishes its image for linux/amd64 only (its Makefile builds the build machine's architecture;
# the request for arm64 images, kubernetes-retired/kubefed#1449, was closed unfixed). The chart pins KubeFed's pods
# to nodes of this architecture (the `kubernetes.io/arch` label), and the config refuses a host without such nodes.
KUBEFED_NODE_ARCHITECTURE = "amd64"


@dataclass(frozen=True)
class KubefedConfig:
    namespace: str = "kube-federation-system"
    scope: str = "Cluster"
    controller_image: ImageRef = KUBEFED_IMAGE
    # The admission webhook runs the same image by default; it can be mirrored separately.
    webhook_image: ImageRef = KUBEFED_IMAGE
    # The types the control plane enables: the defaults that `kubefed.disabledTypes` leaves, then those
    # `kubefed.federatedTypes` adds (config.enabled_types).
    federated_types: tuple[FederatedType, ...] = DEFAULT_FEDERATED_TYPES
    join_timeout_minutes: int = 30


@dataclass(frozen=True)
class QuotasConfig:
    """The AWS quotas of the account the layout is checked against (federated_eks/config/quotas.py). The defaults are
    AWS's; set a field when the account has a raised quota (Service Quotas shows the applied values)."""

    routes_per_route_table: int = 50      # vpc L-93826ACB, adjustable up to 1,000
    peerings_per_vpc: int = 50            # vpc L-7E9ECCDB (active peering connections per VPC), up to 125
    vpcs_per_region: int = 5              # vpc L-F678F1CE
    elastic_ips_per_region: int = 5       # ec2 L-0263D0A3 (one per NAT gateway)
    rules_per_security_group: int = 60    # vpc L-0EA8095F (inbound, and outbound, rules per security group)
    nat_gateways_per_az: int = 5          # vpc L-FE5A380F
    eks_clusters_per_region: int = 100    # eks L-1194D53C
    peering_attachments_per_transit_gateway: int = 50  # transitGateway mode: peering attachments per gateway


# The quotas' AWS maximums where AWS states one (Amazon VPC User Guide, "Amazon VPC quotas"). Rules per security
# group: AWS allows raising it only while rules x security groups per network interface stays at most 1,000, and
# an EKS API server's network interfaces carry two groups (EKS's cluster security group and the control-plane group
# of components/eks_cluster.py), so 500. VPCs, Elastic IPs and NAT gateways per region or AZ and EKS clusters per
# region have no stated maximum; the join Lambda's environment (quotas.py) bounds the clusters of a federation.
QUOTA_MAXIMUMS = {"routes_per_route_table": 1000, "peerings_per_vpc": 125, "rules_per_security_group": 500}


@dataclass(frozen=True)
class ExternalDnsConfig:
    """ExternalDNS, installed where workloads with DNS run (components/workload_dns.py); mirrorable."""

    image_repository: str = "registry.k8s.io/external-dns/external-dns"
    chart_repository: str = "https://kubernetes-sigs.github.io/external-dns/"


@dataclass(frozen=True)
class LoadBalancerControllerConfig:
    """The AWS Load Balancer Controller installed on clusters that run LoadBalancer Services (mirrorable)."""

    install: str = "auto"
    """`auto`: on the clusters the config's workloads need it on; `always`: on every cluster (for LoadBalancer
    workloads added in CDK code)."""
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
    external_dns: ExternalDnsConfig = ExternalDnsConfig()
    access: AccessConfig = AccessConfig()
    quotas: QuotasConfig = QuotasConfig()
    previous_host_cluster: str | None = None
    """While `host_cluster` moves: the host the deployed federation stack runs on (same region only). It keeps its
    kubectl handler for that deploy, so the old KubeFed releases and workload manifests can be uninstalled."""

    @property
    def host(self) -> ClusterConfig:
        return next(c for c in self.clusters if c.name == self.host_cluster)

    def cluster(self, name: str) -> ClusterConfig:
        return next(c for c in self.clusters if c.name == name)


def default(cls: type, name: str) -> Any:
    """The default of dataclass field `name` of `cls` (for a class whose other fields are required)."""
    return cls.__dataclass_fields__[name].default
