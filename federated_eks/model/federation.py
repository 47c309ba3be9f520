"""The federation model: what every layer imports (typed, frozen dataclasses, the allowed choices, limits).

Each default is stated once, here, as a dataclass field default; `config.py` reads the JSON into these
classes and takes its defaults (and the examples in its messages) from them. Nothing here reads files,
context or the environment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federated_eks.model.field_doc import doc, key_doc, not_config
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
# The federation engines (docs/concepts/karmada.md explains the choice): KubeFed is the default.
ENGINES = ("kubefed", "karmada")
ETCD_STORAGE_TYPES = ("pvc", "hostPath")

# A cluster's name becomes Kubernetes object names: the join's service account and ClusterRole on the member are
# `<member>-<host>`, at most 63 characters (an RFC 1123 label), so two names of 30 and a dash fit. The join
# re-checks the pair it receives against Kubernetes' own limit (components/kubefed_join/runtime/properties.py).
MAX_CLUSTER_NAME = 30


@dataclass(frozen=True)
class ImageRef:
    """A container image: `repository/image:tag` (repository is a registry path, for mirrors)."""

    repository: str = field(metadata=doc(
        "kubefed.controllerImage.repository", "string", "Registry path of the image: point it at a mirror.",
        rule="no spaces", default="`quay.io/kubernetes-multicluster`",
        example='"123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror"'))
    image: str = field(metadata=doc("kubefed.controllerImage.image", "string", "Image name in the repository.",
                                    rule="no spaces", default="`kubefed`", example='"kubefed"'))
    tag: str = field(metadata=doc(
        "kubefed.controllerImage.tag", "string", "Image tag.",
        rule="together with the other two a reference `repository/image:tag` with a tag (not `latest`) of at most "
        "128 letters, digits, `_`, `.`, `-`", default="`v0.10.0`", example='"v0.10.0"'))

    @property
    def uri(self) -> str:
        return f"{self.repository}/{self.image}:{self.tag}"


@dataclass(frozen=True)
class NodeGroupConfig:
    instance_types: tuple[str, ...] = field(default=("m6i.large",), metadata=doc(
        "nodeGroup.instanceTypes", "list of strings", "Instance types of the managed node group.",
        rule="each listed once, known types only ([Instance types](index.md#instance-types)), all of one "
        "architecture: x86_64 (AMI type `AL2023_x86_64_STANDARD`) or Graviton, arm64 (`AL2023_ARM_64_STANDARD`). "
        "Accelerated types (GPU, Inferentia, Trainium, FPGA: `g*`, `p*`, `inf*`, `trn*`, `dl*`, `f*`, `vt*`, `gr*`) "
        "are refused, since they need the NVIDIA or Neuron AMI and device plugins; so are Mac and high-memory `u-*` "
        "types. Your workload images must exist for the architecture you pick. **The host cluster needs x86_64 "
        "types**: KubeFed v0.10.0 publishes amd64 images only, so a Graviton-only host is refused and KubeFed's pods "
        "are pinned to `kubernetes.io/arch: amd64` nodes; the members may be Graviton (set the host's own "
        "`clusters[].nodeGroup`)", example='["m7g.large", "c7g.large"]'))
    min_size: int = field(default=1, metadata=doc(
        "nodeGroup.minSize", "whole number", "The fewest nodes of the node group.",
        rule="`minSize <= desiredSize <= maxSize`", example="1"))
    desired_size: int = field(default=2, metadata=doc(
        "nodeGroup.desiredSize", "whole number", "The nodes the node group starts with.",
        rule="between `minSize` and `maxSize`. `0` is refused on the host and on every cluster that runs workloads "
        "of the config or the Load Balancer Controller: nothing scales a node group up (no cluster autoscaler), so "
        "the deploy would wait for pods that never start. A member that runs none of these may stand by with 0",
        example="2"))
    max_size: int = field(default=3, metadata=doc(
        "nodeGroup.maxSize", "whole number", "The most nodes of the node group.",
        rule="1 to 450 (EKS's nodes per managed node group, eks `L-BD136A63`)", example="3"))
    capacity_type: str = field(default="ON_DEMAND", metadata=doc(
        "nodeGroup.capacityType", "string", "On-demand or Spot instances.", rule="`ON_DEMAND` or `SPOT`",
        example='"SPOT"'))
    disk_size_gib: int = field(default=50, metadata=doc(
        "nodeGroup.diskSizeGiB", "whole number", "Size of the nodes' encrypted gp3 root volume, in GiB.",
        rule="20 to 16384", example="100"))
    # IMDSv2 response hop limit of the nodes: 1 keeps pods (other than hostNetwork ones such as the VPC CNI)
    # away from the node role's credentials; 2 lets every pod read them (only for workloads that need IMDS).
    imds_hop_limit: int = field(default=1, metadata=doc(
        "nodeGroup.imdsHopLimit", "whole number", "IMDSv2 response hop limit of the nodes.",
        rule="`1`: only the node and hostNetwork pods (VPC CNI, kube-proxy) reach instance metadata, so pods cannot "
        "use the node role's credentials (give workloads IRSA or Pod Identity). `2`: every pod can; only for "
        "workloads that need IMDS. The bastion is always `1`", example="2"))

    @property
    def architecture(self) -> str:
        """arm64 or x86_64 (the config refuses a node group that mixes them): picks the AL2023 AMI type."""
        return architecture(self.instance_types[0])


@dataclass(frozen=True)
class EndpointAccessConfig:
    mode: str = field(default="private", metadata=doc(
        "endpointAccess.mode", "string", "Access to the clusters' API endpoints.",
        rule="`private`. `publicAndPrivate` is refused for every cluster: the federation reaches every cluster over "
        "the peering, and with a public endpoint EKS resolves the API name to public IPs outside the cluster's own "
        "VPC ([Why the API endpoints stay private](../security.md#why-the-api-endpoints-stay-private))",
        example='"private"'))
    public_cidrs: tuple[str, ...] = field(default=(), metadata=doc(
        "endpointAccess.publicCidrs", "list of strings", "Allow-list of the public endpoint.",
        rule="CIDR notation (`203.0.113.7/32`, not `203.0.113.7`); `0.0.0.0/0`, and ranges that together cover the "
        "whole internet (`0.0.0.0/1` + `128.0.0.0/1`), are refused; only with mode `publicAndPrivate`",
        example='["203.0.113.0/24"]'))


@dataclass(frozen=True)
class ClusterConfig:
    name: str = field(metadata=doc(
        "clusters[].name", "string", "The cluster's name: it names the KubeFedCluster, the kubeconfig context and "
        "(as `fedeks-<env>-<name>`) the EKS cluster.",
        rule=f"lowercase RFC 1123 label, at most {MAX_CLUSTER_NAME} characters, unique, not `bastion` (the bastion "
        "VPC's name). Peering connections are named `<requester>-<accepter>`, so names whose pairs would give the "
        "same name (`a` with `b-c`, and `a-b` with `c`) are refused", example='"fed-1"'))
    region: str = field(metadata=doc(
        "clusters[].region", "string", "The cluster's region.",
        rule="a region of the `aws` partition; several clusters may share a region", example='"us-east-2"'))
    cidr: str = field(metadata=doc(
        "clusters[].cidr", "string", "The cluster VPC's CIDR.",
        rule="inside `10.0.0.0/8`, `172.16.0.0/12` or `192.168.0.0/16` (RFC 1918), `/16` to `/20`, overlapping no "
        "other VPC (bastion included)", example='"172.22.0.0/16"'))
    node_group: NodeGroupConfig = field(metadata=doc(
        "nodeGroup", "object", "The managed node group of every cluster (the fields below).",
        default="the defaults of its fields", example='{"instanceTypes": ["m6i.large"], "desiredSize": 2}',
        also=(key_doc("clusters[].nodeGroup", "object", "Per-cluster override of any `nodeGroup` field.",
                      default="the environment's `nodeGroup`", same_as="nodeGroup",
                      example='{"instanceTypes": ["m7g.large"]}'),)))
    endpoint_access: EndpointAccessConfig = field(metadata=doc(
        "endpointAccess", "object", "API endpoint access of every cluster (the fields below).",
        default="the defaults of its fields", example='{"mode": "private"}',
        also=(key_doc("clusters[].endpointAccess", "object", "Per-cluster override of `endpointAccess`.",
                      default="the environment's `endpointAccess`", same_as="endpointAccess",
                      example='{"mode": "private"}'),)))


@dataclass(frozen=True)
class KubefedctlConfig:
    """Optional: kubefedctl on the bastion. The joins are automated, so it is only an ops tool."""

    url: str = field(default="", metadata=doc(
        "bastion.kubefedctl.url", "string", "An `https://` URL of a kubefedctl tarball for the bastion.",
        rule="`https://`, no spaces; the bastion installs it only if the checksum matches. Joins are automated, so "
        "kubefedctl is only for manual operations (`kubefedctl enable`, `federate`)", default="not installed",
        example='"https://github.com/kubernetes-sigs/kubefed/releases/download/v0.10.0/'
        'kubefedctl-0.10.0-linux-amd64.tgz"'))
    sha256: str = field(default="", metadata=doc(
        "bastion.kubefedctl.sha256", "string", "The SHA-256 of that tarball.",
        rule="64 lowercase hex digits; required with `url`. Upstream publishes no checksum file: use the `sha256sum` "
        "you computed of it on a trusted machine", default="not installed", example='"<64 hex digits>"'))

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class BastionConfig:
    region: str = field(metadata=doc("bastion.region", "string", "Region of the bastion VPC and instance.",
                                     rule="a region of the `aws` partition", example='"us-east-1"'))
    cidr: str = field(metadata=doc(
        "bastion.cidr", "string", "The bastion VPC's CIDR.",
        rule="inside `10.0.0.0/8`, `172.16.0.0/12` or `192.168.0.0/16` (RFC 1918; loopback, link-local, "
        "`100.64.0.0/10` and `198.18.0.0/15` are refused), `/16` to `/26`, overlapping no other VPC",
        example='"172.20.0.0/16"'))
    instance_type: str = field(default="t3.small", metadata=doc(
        "bastion.instanceType", "string", "EC2 instance type of the bastion.",
        rule="a known type ([Instance types](index.md#instance-types)), **x86_64 only**: the bastion installs "
        "kubectl and helm from the pinned kubectl layer, whose binaries are amd64 (a Graviton type such as "
        "`t4g.small` is refused)", example='"t3a.small"'))
    kubefedctl: KubefedctlConfig = field(default=KubefedctlConfig(), metadata=doc(
        "bastion.kubefedctl", "object", "Optional: kubefedctl on the bastion (`url` and `sha256`, both required).",
        default="not installed", example='{"url": "https://...", "sha256": "..."}'))

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

    admins: tuple[str, ...] = field(default=(), metadata=doc(
        "access.admins", "list of strings", "IAM role or user ARNs that get an access entry with "
        f"`{ADMIN_POLICY}` on every cluster.",
        rule="`arn:aws:iam::<account>:role/<path/><name>` (paths and other accounts allowed). IAM Identity Center "
        "(SSO) roles with their full path: `arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/[<region>/]"
        "AWSReservedSSO_<set>_<suffix>` (`aws iam list-roles --path-prefix /aws-reserved/sso.amazonaws.com/ --query "
        "'Roles[].Arn'` prints it). Session ARNs (`arn:aws:sts::…:assumed-role/…`), wildcards, groups and the "
        "bastion and join roles (which have their entries already) are refused; one entry per principal, so an ARN "
        "appears once across both lists", example='["arn:aws:iam::123456789012:role/platform-admins"]'))
    viewers: tuple[str, ...] = field(default=(), metadata=doc(
        "access.viewers", "list of strings", f"The same, with `{VIEWER_POLICY}`: read most objects, **not Secrets**.",
        rule="as `admins`. (Not `AmazonEKSAdminViewPolicy`, which reads Secrets: the host's KubeFed namespace holds a "
        "token for every member cluster, so reading Secrets there is admin everywhere)",
        example='["arn:aws:iam::123456789012:role/auditors"]'))

    def policies(self) -> dict[str, str]:
        """Principal ARN -> EKS access policy name, admins first, each in config order."""
        return {**{arn: ADMIN_POLICY for arn in self.admins}, **{arn: VIEWER_POLICY for arn in self.viewers}}


@dataclass(frozen=True)
class FederatedType:
    """A Kubernetes API type KubeFed propagates (what `kubefedctl enable` sets up): the target type, and the
    group of its `Federated<Kind>` type. `has_replicas`: the target's `spec.replicas` is an int32, so the
    federated type gets `spec.retainReplicas` (kubefedctl reads that from the target's schema; we cannot at
    synth). `short_names`: the target's short names; the federated type gets them prefixed with `f`."""

    group: str = field(metadata=doc(
        "kubefed.federatedTypes[].group", "string", "API group of the target type.",
        rule="a DNS subdomain, or `\"\"` for the core group", default='`""`', example='"monitoring.coreos.com"'))
    version: str = field(metadata=doc("kubefed.federatedTypes[].version", "string", "API version of the target type.",
                                      rule="a DNS label such as `v1` or `v1beta1`", example='"v1"'))
    kind: str = field(metadata=doc("kubefed.federatedTypes[].kind", "string", "Kind of the target type.",
                                   rule="CamelCase letters and digits", example='"Prometheus"'))
    plural: str = field(metadata=doc(
        "kubefed.federatedTypes[].plural", "string", "The resource name the target's API serves "
        "(`kubectl api-resources`).", rule="lowercase, at most 54 characters", example='"prometheuses"'))
    scope: str = field(metadata=doc("kubefed.federatedTypes[].scope", "string", "Scope of the target type.",
                                    rule="`Cluster` or `Namespaced`", example='"Namespaced"'))
    federated_group: str = field(default="types.kubefed.io", metadata=doc(
        "kubefed.federatedTypes[].federatedGroup", "string", "API group of its `Federated<Kind>` type.",
        rule="a DNS subdomain with a dot; each federated CRD made once", example='"types.kubefed.io"'))
    has_replicas: bool = field(default=False, metadata=doc(
        "kubefed.federatedTypes[].hasReplicas", "true or false", "`true` when the target's `spec.replicas` is an "
        "int32: adds `retainReplicas`, as kubefedctl does.", example="true"))
    short_names: tuple[str, ...] = field(default=(), metadata=doc(
        "kubefed.federatedTypes[].shortNames", "list of strings", "The target's short names; the federated type "
        "gets them prefixed with `f`.", rule="lowercase DNS labels", example='["prom"]'))

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
    namespace: str = field(default="kube-federation-system", metadata=doc(
        "kubefed.namespace", "string", "Namespace of the control plane and of the join objects.",
        rule="a lowercase RFC 1123 label of at most 63 characters", example='"kube-federation-system"'))
    scope: str = field(default="Cluster", metadata=doc(
        "kubefed.scope", "string", "Federation scope: the KubeFedConfig's `scope`, the control plane's RBAC and "
        "webhooks, and the RBAC each member gets.",
        rule="`Cluster` or `Namespaced`. Fixed after the first deploy: KubeFed's webhook refuses to change a "
        "KubeFedConfig's scope, so destroy the federation stack before changing it", example='"Namespaced"'))
    controller_image: ImageRef = field(default=KUBEFED_IMAGE, metadata=doc(
        "kubefed.controllerImage", "object", "`{repository, image, tag}` of the controller manager (the fields "
        "below); point `repository` at a mirror.",
        default="`quay.io/kubernetes-multicluster` / `kubefed` / `v0.10.0`",
        example='{"repository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror"}'))
    # The admission webhook runs the same image by default; it can be mirrored separately.
    webhook_image: ImageRef = field(default=KUBEFED_IMAGE, metadata=doc(
        "kubefed.webhookImage", "object", "`{repository, image, tag}` of the admission webhook (the same image "
        "upstream).", rule="the fields of `controllerImage`", same_as="kubefed.controllerImage",
        default="the `controllerImage`: each field unset follows it", example='{"tag": "v0.10.0"}'))
    # The types the control plane enables: the defaults that `kubefed.disabledTypes` leaves, then those
    # `kubefed.federatedTypes` adds (config.enabled_types).
    federated_types: tuple[FederatedType, ...] = field(default=DEFAULT_FEDERATED_TYPES, metadata=doc(
        "kubefed.federatedTypes", "list of objects", "Kubernetes types KubeFed propagates **in addition to** its "
        f"{len(DEFAULT_FEDERATED_TYPES)} default types, as `kubefedctl enable` adds them (the fields below).",
        rule="the default types (" + ", ".join(f"`{t.name}`" for t in DEFAULT_FEDERATED_TYPES) + ") are enabled "
        "already and refused here. Removing an entry disables the type ([The KubeFed control plane]"
        "(../internals/control-plane.md))", default="`[]`",
        example='[{"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus", "plural": "prometheuses", '
        '"scope": "Namespaced", "hasReplicas": true}]',
        also=(key_doc("kubefed.disabledTypes", "list of strings", "Names of default types to disable, as "
                      "`kubefedctl disable` without `--delete-crd`.",
                      rule="default type names, each once. `namespaces` cannot be disabled while any other type is "
                      "enabled: KubeFed v0.10.0 starts no type's sync controller without it. A workload, or a folder "
                      "object, of a disabled type is refused", default="`[]`",
                      example='["jobs.batch", "ingresses.networking.k8s.io"]'),)))
    join_timeout_minutes: int = field(default=30, metadata=doc(
        "kubefed.joinTimeoutMinutes", "whole number", "How long a join waits for its cluster to become Ready "
        "before it fails.", rule="5 to 50 (CloudFormation waits at most an hour for a custom resource)",
        example="30"))


# Karmada facts the config and the workload plan need (Karmada's own namespaces are no workload's; the node port's
# default and range). The model owns them because federated_eks may not import components; the constructs and the
# join Lambda use components/karmada_join/contract.py, and tests/test_karmada_control_plane.py pins that both agree.
KARMADA_RELEASE_NAMESPACE = "karmada-installer"
"""Not the system namespace: the chart's post-delete Job deletes `systemNamespace` on the host, and a release
stored there would delete its own Job (and Helm 4's uninstall would time out waiting for it)."""
KARMADA_SYSTEM_NAMESPACE = "karmada-system"
KARMADA_CHART_REPOSITORY = "https://raw.githubusercontent.com/karmada-io/karmada/master/charts"
KARMADA_CHART_VERSION = "v1.19.0"
DEFAULT_KARMADA_NODE_PORT = 32443
# The node port range of a Kubernetes API server (its --service-node-port-range default; EKS does not change it).
NODE_PORT_RANGE = (30000, 32767)
# The storage class the control plane makes for etcd when the config names none (gp3, encrypted, EBS CSI driver).
KARMADA_ETCD_STORAGE_CLASS = "federated-eks-etcd"


@dataclass(frozen=True)
class ContainerImage:
    """An image by repository path (no registry: `karmada.imageRegistry`, or the chart's own, supplies it) and tag."""

    repository: str = field(metadata=not_config("`karmada.cfsslImage` and `karmada.kubectlImage`, documented whole"))
    tag: str = field(metadata=not_config("`karmada.cfsslImage` and `karmada.kubectlImage`, documented whole"))


@dataclass(frozen=True)
class EtcdStorageConfig:
    """Where Karmada's etcd keeps its data. `pvc` (default): an EBS volume that survives the node (a node replaced by
    an AMI update or a scale-in takes a hostPath's data with it: Karmada would restart empty, with every Cluster,
    policy and workload gone, while CloudFormation still believes the joins exist)."""

    type: str = field(default="pvc", metadata=doc(
        "karmada.etcdStorage.type", "string", "Where Karmada's etcd keeps its data.",
        rule="`pvc` (an EBS volume that survives the node) or `hostPath` (the node's disk: a replaced node restarts "
        "Karmada empty)", example='"pvc"'))
    size: str = field(default="10Gi", metadata=doc(
        "karmada.etcdStorage.size", "string", "The etcd volume's size (type `pvc`).",
        rule="a size in Gi or Ti; not with type `hostPath`", example='"20Gi"'))
    storage_class: str = field(default=KARMADA_ETCD_STORAGE_CLASS, metadata=doc(
        "karmada.etcdStorage.storageClass", "string", "The etcd volume's StorageClass (type `pvc`).",
        rule=f"`{KARMADA_ETCD_STORAGE_CLASS}` (made by federated-eks: gp3, encrypted, with the EBS CSI driver "
        "add-on) or a class the host cluster has; not with type `hostPath`", example='"gp3"'))
    """The default is made by the control plane (with the EBS CSI driver add-on); another name must exist already."""

    @property
    def managed_class(self) -> bool:
        return self.type == "pvc" and self.storage_class == KARMADA_ETCD_STORAGE_CLASS


@dataclass(frozen=True)
class KarmadaConfig:
    """The Karmada control plane (chart `karmada` of `chart_repository`, pinned at `chart_version`), mirrorable."""

    image_registry: str = field(default="", metadata=doc(
        "karmada.imageRegistry", "string", "One registry for every image of the control plane (Karmada's, "
        "kube-apiserver, kube-controller-manager, etcd, cfssl, kubectl), under the chart's repository paths; "
        "for mirrors.", rule="a host, an optional `:port` and path; no scheme, no tag", default="each image from the "
        "registry the chart names", example='"123456789012.dkr.ecr.us-east-1.amazonaws.com/karmada-mirror"'))
    chart_repository: str = field(default=KARMADA_CHART_REPOSITORY, metadata=doc(
        "karmada.chartRepository", "string", "Karmada's chart repository (chart `karmada`), for mirrors.",
        rule="`https://` or `oci://`", example='"oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/charts"'))
    chart_version: str = field(default=KARMADA_CHART_VERSION, metadata=doc(
        "karmada.chartVersion", "string", "The Karmada chart's version.",
        rule="a v1.19 chart version, with its leading `v` (the values federated-eks sets are checked against v1.19)",
        example=f'"{KARMADA_CHART_VERSION}"'))
    api_server_node_port: int = field(default=DEFAULT_KARMADA_NODE_PORT, metadata=doc(
        "karmada.apiServerNodePort", "whole number", "The karmada-apiserver Service's fixed node port on the host, "
        "where the join Lambda reaches it.", rule=f"{NODE_PORT_RANGE[0]} to {NODE_PORT_RANGE[1]}, used by no other "
        "Service of the host", example=str(DEFAULT_KARMADA_NODE_PORT)))
    # The chart's Jobs: cfssl makes the certificates (its scripts need bash and openssl), kubectl applies the static
    # resources and cleans up (bash). The chart defaults both to `latest`.
    cfssl_image: ContainerImage = field(default=ContainerImage("cfssl/cfssl", "v1.6.5"), metadata=doc(
        "karmada.cfsslImage", "object", "The image of the chart's certificate Job (`repository` path and `tag`).",
        rule="a repository path without registry (that is `imageRegistry`'s) and a tag other than `latest`",
        default='`{"repository": "cfssl/cfssl", "tag": "v1.6.5"}`', example='{"repository": "cfssl/cfssl", '
        '"tag": "v1.6.5"}'))
    kubectl_image: ContainerImage = field(default=ContainerImage("bitnamilegacy/kubectl", "1.33.3"), metadata=doc(
        "karmada.kubectlImage", "object", "The image of the chart's kubectl Jobs (`repository` path and `tag`).",
        rule="a repository path without registry (that is `imageRegistry`'s) and a tag other than `latest`",
        default='`{"repository": "bitnamilegacy/kubectl", "tag": "1.33.3"}`',
        example='{"repository": "bitnamilegacy/kubectl", "tag": "1.33.3"}'))
    etcd_storage: EtcdStorageConfig = field(default=EtcdStorageConfig(), metadata=doc(
        "karmada.etcdStorage", "object", "Where Karmada's etcd keeps its data (the fields below).",
        default="the defaults of its fields", example='{"type": "pvc", "size": "20Gi"}'))
    join_timeout_minutes: int = field(default=30, metadata=doc(
        "karmada.joinTimeoutMinutes", "whole number", "How long a join (Custom::KarmadaJoin) waits for its Cluster "
        "to become Ready before it fails.", rule="5 to 50 (CloudFormation waits at most an hour for a custom "
        "resource)", example="30"))


@dataclass(frozen=True)
class QuotasConfig:
    """The AWS quotas of the account the layout is checked against (federated_eks/config/quotas.py). The defaults are
    AWS's; set a field when the account has a raised quota (Service Quotas shows the applied values)."""

    routes_per_route_table: int = field(default=50, metadata=doc(  # vpc L-93826ACB, adjustable up to 1,000
        "quotas.routesPerRouteTable", "whole number", "Your account's quota of routes per route table "
        "(vpc `L-93826ACB`).", rule="from AWS's default up to 1000", example="100"))
    peerings_per_vpc: int = field(default=50, metadata=doc(  # vpc L-7E9ECCDB (active peering connections per VPC)
        "quotas.peeringsPerVpc", "whole number", "Active VPC peering connections per VPC (vpc `L-7E9ECCDB`).",
        rule="from AWS's default up to 125", example="125"))
    vpcs_per_region: int = field(default=5, metadata=doc(  # vpc L-F678F1CE
        "quotas.vpcsPerRegion", "whole number", "VPCs per region (vpc `L-F678F1CE`).",
        rule="AWS's default or more", example="10"))
    elastic_ips_per_region: int = field(default=5, metadata=doc(  # ec2 L-0263D0A3 (one per NAT gateway)
        "quotas.elasticIpsPerRegion", "whole number", "Elastic IPs per region (ec2 `L-0263D0A3`); each NAT "
        "gateway takes one.", rule="AWS's default or more", example="10"))
    rules_per_security_group: int = field(default=60, metadata=doc(  # vpc L-0EA8095F (inbound, and outbound)
        "quotas.rulesPerSecurityGroup", "whole number", "Inbound (and outbound) rules per security group "
        "(vpc `L-0EA8095F`).", rule="from AWS's default up to 500: AWS keeps rules × security groups per network "
        "interface at most 1,000, and an API server's interfaces carry two groups", example="120"))
    nat_gateways_per_az: int = field(default=5, metadata=doc(  # vpc L-FE5A380F
        "quotas.natGatewaysPerAz", "whole number", "NAT gateways per Availability Zone (vpc `L-FE5A380F`).",
        rule="AWS's default or more", example="10"))
    eks_clusters_per_region: int = field(default=100, metadata=doc(  # eks L-1194D53C
        "quotas.eksClustersPerRegion", "whole number", "EKS clusters per region (eks `L-1194D53C`).",
        rule="AWS's default or more", example="200"))
    peering_attachments_per_transit_gateway: int = field(default=50, metadata=doc(  # ec2 transit gateway quota
        "quotas.peeringAttachmentsPerTransitGateway", "whole number", "Transit gateway peering attachments per "
        "transit gateway (`peeringTopology: \"transitGateway\"`: one per other region of the federation).",
        rule="AWS's default or more", example="60"))


# The quotas' AWS maximums where AWS states one (Amazon VPC User Guide, "Amazon VPC quotas"). Rules per security
# group: AWS allows raising it only while rules x security groups per network interface stays at most 1,000, and
# an EKS API server's network interfaces carry two groups (EKS's cluster security group and the control-plane group
# of components/eks_cluster.py), so 500. VPCs, Elastic IPs and NAT gateways per region or AZ and EKS clusters per
# region have no stated maximum; the join Lambda's environment (quotas.py) bounds the clusters of a federation.
QUOTA_MAXIMUMS = {"routes_per_route_table": 1000, "peerings_per_vpc": 125, "rules_per_security_group": 500}


@dataclass(frozen=True)
class ExternalDnsConfig:
    """ExternalDNS, installed where workloads with DNS run (components/workload_dns.py); mirrorable."""

    image_repository: str = field(default="registry.k8s.io/external-dns/external-dns", metadata=doc(
        "externalDns.imageRepository", "string", "Image repository of ExternalDNS (tag `v0.21.0`), installed where "
        "workloads with DNS run; for mirrors.", rule="a repository without tag or digest",
        example='"123456789012.dkr.ecr.us-east-1.amazonaws.com/external-dns"'))
    chart_repository: str = field(default="https://kubernetes-sigs.github.io/external-dns/", metadata=doc(
        "externalDns.chartRepository", "string", "Its chart repository (chart `external-dns` 1.21.1), for mirrors.",
        rule="`https://` or `oci://`", example='"oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/charts"'))


@dataclass(frozen=True)
class LoadBalancerControllerConfig:
    """The AWS Load Balancer Controller installed on clusters that run LoadBalancer Services (mirrorable)."""

    install: str = field(default="auto", metadata=doc(
        "loadBalancerController.install", "string", "Where the AWS Load Balancer Controller goes.",
        rule="`auto`: on the clusters the config's LoadBalancer workloads (or folders) need it on (the deploy that takes "
        "the last one off a cluster uninstalls it there before the Service goes: set `always` in that deploy, "
        "docs/operations/clusters.md); `always`: on every cluster (also for LoadBalancer workloads added in CDK code)",
        example='"always"'))
    """`auto`: on the clusters the config's workloads need it on; `always`: on every cluster (for LoadBalancer
    workloads added in CDK code)."""
    image_repository: str = field(
        default="602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller", metadata=doc(
            "loadBalancerController.imageRepository", "string", "Image repository of the AWS Load Balancer "
            "Controller (tag `v3.2.2`), for mirrors.", rule="a repository without tag or digest",
            example='"123456789012.dkr.ecr.us-east-1.amazonaws.com/aws-load-balancer-controller"'))
    chart_repository: str = field(default="https://aws.github.io/eks-charts", metadata=doc(
        "loadBalancerController.chartRepository", "string", "Its chart repository, for mirrors.",
        rule="`https://` or `oci://`", example='"oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/charts"'))


@dataclass(frozen=True)
class FederationConfig:
    env_name: str = field(metadata=doc(
        "<name>", "object key", "The environment: its key under `context.environments` in `cdk.json`, picked with "
        "`-c env=<name>` (default `dev`).", rule="1-20 lowercase letters, digits or `-`, starting with a letter, not "
        "ending in `-`, no `--` (it is in stack, role and EKS cluster names; each cluster is also tagged "
        "`fedeks:environment=<name>`, which tells `dev`'s clusters from `dev-a`'s)", default="—",
        example='"prod-eu"'))
    account: str = field(metadata=doc("account", "string", "The AWS account id. Every stack deploys there.",
                                      rule="12 digits", example='"123456789012"'))
    host_cluster: str = field(metadata=doc(
        "hostCluster", "string", "The cluster that runs the KubeFed control plane.",
        rule="one of `clusters[].name`; its node group must be x86_64", example='"fed-1"'))
    kubernetes_version: str = field(metadata=doc(
        "kubernetesVersion", "string", "Kubernetes version of every cluster.",
        rule=" or ".join(f"`{v}`" for v in KUBERNETES_VERSIONS) + ": versions EKS supports with a pinned "
        "`aws-cdk.lambda-layer-kubectl-vNN` package", example=f'"{KUBERNETES_VERSIONS[-1]}"'))
    bastion: BastionConfig = field(metadata=doc(
        "bastion", "object", "The operator bastion and its VPC (the fields below).",
        example='{"region": "us-east-1", "cidr": "172.20.0.0/16"}'))
    clusters: tuple[ClusterConfig, ...] = field(metadata=doc(
        "clusters", "list of objects", "The member clusters, in order (the fields below).",
        rule="at least one. Append new clusters at the end ([Adding a cluster]"
        "(../operations/clusters.md#adding-or-removing-a-cluster-or-a-region))",
        example='[{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"}]'))
    peering_topology: str = field(default="mesh", metadata=doc(
        "peeringTopology", "string", "How the VPCs connect ([Peering topology](../concepts/topology.md), "
        "[Transit Gateway](../concepts/transit-gateway.md)).",
        rule="`mesh` (a VPC peering per pair), `hub` (the bastion and the host peer with every VPC) or "
        "`transitGateway` (a transit gateway per region, an attachment per VPC, a gateway peering per pair of "
        "regions; billed per attachment-hour)", example='"hub"'))
    nat_gateways: int = field(default=1, metadata=doc(
        "natGateways", "whole number", "NAT gateways per cluster VPC.",
        rule="1 (cheapest) to 3 (one per AZ). The bastion VPC always has 1. A region's NAT gateways are dealt "
        "round-robin over its AZs, the bastion's first, then the clusters' in config order, so no AZ passes the NAT "
        "gateways per AZ quota early, and an AZ outage cuts the egress of only some VPCs", example="3"))
    tags: tuple[tuple[str, str], ...] = field(default=(), metadata=doc(
        "tags", "object of strings", "Tags added to every resource.",
        rule="keys of 1-128 and values of 0-256 letters, numbers, spaces and `_.:/=+-@` (IAM's and EKS's pattern); "
        "keys starting with `aws:` in any case (reserved by AWS) or `fedeks:` (federated-eks's own stack tags) are "
        "refused. At most 42: a subnet carries 4 tags of its own and 4 of its stack, and EC2 allows 50 per resource",
        default="`{}`", example='{"project": "federated-eks"}'))
    kubefed: KubefedConfig = field(default=KubefedConfig(), metadata=doc(
        "kubefed", "object", "The KubeFed control plane (the fields below).", default="the defaults of its fields",
        example='{"scope": "Cluster"}', also=tuple(
            key_doc(f"kubefed.{old}", "any", "A field of earlier versions: refused, with a message saying what "
                    "replaced it.", rule="the chart ships in this project (`components/kubefed_chart/`) and installs "
                    "from a local asset; the KubeFedConfig is rendered final, so there is no post-install job; the "
                    "chart's settings are the `kubefed` fields", default="refused", example="(remove it)")
            for old in ("chart", "postInstallImage", "values"))))
    engine: str = field(default="kubefed", metadata=doc(
        "engine", "string", "The federation engine on the host ([Karmada](../concepts/karmada.md)).",
        rule="`kubefed` or `karmada`. The other engine's settings (`kubefed` or `karmada`) are refused; a deployed "
        "federation cannot change its engine in place (its engine guard refuses the update): destroy the federation "
        "stack first", example='"karmada"'))
    karmada: KarmadaConfig = field(default=KarmadaConfig(), metadata=doc(
        "karmada", "object", "The Karmada control plane, with `engine: \"karmada\"` (the fields below).",
        rule="only with engine `karmada`", default="the defaults of its fields", example='{"apiServerNodePort": 32443}'))
    workloads: tuple[Workload, ...] = field(default=(), metadata=doc(
        "workloads", "list of objects", "Federated workloads ([Federated workloads](../workloads/index.md)): each a "
        "description (the `workloads[]` fields below), or a folder of YAML (`workloads[].manifests`): KubeFed objects, or "
        "Karmada objects with `engine: \"karmada\"`.",
        rule="needs `kubefed.scope` `Cluster` (engine kubefed)", default="`[]`",
        example='[{"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80}]'))
    manifest_folders: tuple[ManifestFolder, ...] = field(default=(), metadata=not_config(
        "the `workloads` entries that name a folder (`workloads[].manifests`)"))
    load_balancer_controller: LoadBalancerControllerConfig = field(
        default=LoadBalancerControllerConfig(), metadata=doc(
            "loadBalancerController", "object", "The AWS Load Balancer Controller ([Load balancers and DNS]"
            "(../workloads/dns.md)).", default="the defaults of its fields", example='{"install": "always"}'))
    external_dns: ExternalDnsConfig = field(default=ExternalDnsConfig(), metadata=doc(
        "externalDns", "object", "ExternalDNS, for workloads with `dns` ([DNS across regions]"
        "(../workloads/dns.md#dns-across-regions)).", default="the defaults of its fields",
        example='{"imageRepository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/external-dns"}'))
    access: AccessConfig = field(default=AccessConfig(), metadata=doc(
        "access", "object", "People's access to every cluster ([Reaching the clusters](../operations/access.md)).",
        default="no one but the bastion and the join", example='{"admins": ["arn:aws:iam::123456789012:role/ops"]}'))
    quotas: QuotasConfig = field(default=QuotasConfig(), metadata=doc(
        "quotas", "object", "The account's AWS quotas the layout is checked against ([Scale and AWS quotas]"
        "(../cost-and-quotas.md#scale-and-aws-quotas)).", rule="each from AWS's default up to AWS's maximum",
        default="AWS's defaults", example='{"routesPerRouteTable": 100}'))
    previous_host_cluster: str | None = field(default=None, metadata=doc(
        "previousHostCluster", "string", "Set when moving `hostCluster`: the host before the move ([Moving the "
        "KubeFed host](../operations/clusters.md#moving-the-kubefed-host)). Keep it afterwards.",
        rule="one of `clusters[].name`, not `hostCluster`, in the same region as `hostCluster`", example='"fed-1"'))
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
