"""What the two halves of the rehearsal agree on (`make rehearse`).

The CloudFormation side (`rehearsal/cloudformation.py`, `rehearsal/aws.py`, `rehearsal/network.py`,
`rehearsal/__main__.py`) reads a synthesized cloud assembly, plays every stack in CloudFormation's order (create,
then delete in reverse; with a second assembly, CloudFormation's update of each stack in between), models the AWS
resources (VPCs, route tables, routes, peerings, security groups, EKS clusters and node groups, Lambda functions)
and the network between them at each moment.

The Kubernetes side (`rehearsal/kubernetes/`) runs one strict emulated API server per EKS cluster, the emulated
KubeFed controller, and serves the custom resources that talk to Kubernetes: the kubectl provider's
`Custom::AWSCDK-EKS-HelmChart` and `Custom::AWSCDK-EKS-KubernetesResource`, and the packaged join Lambda's
`Custom::KubefedJoin`, `Custom::KubefedTeardown` and `Custom::FederatedWorkload` (invoked as packaged, from the
asset folder of the cloud assembly, through the Provider framework's onEvent / isComplete protocol).

Time is virtual: waits (Helm --wait, the Provider's polling and total timeout) advance `Clock`, and the emulated
controllers run a round between polls, so a rehearsal is fast and the same on any machine.

This module is the seam: dataclasses and protocols only, no behaviour.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

RequestType = Literal["Create", "Update", "Delete"]


@dataclass
class Clock:
    """Virtual seconds since the rehearsal started."""

    now: float = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class LambdaFunction:
    """A deployed `AWS::Lambda::Function`, as the CloudFormation side resolved it."""

    stack: str
    logical_id: str
    asset_dir: Path | None
    """The unzipped code in the cloud assembly (`cdk.out/asset.<hash>`), None for inline code."""
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    security_groups: tuple[str, ...] = ()
    """Physical ids of its VPC security groups (empty: not in a VPC)."""
    subnets: tuple[str, ...] = ()
    layers: tuple[Path, ...] = ()
    """Its Lambda layers in the cloud assembly, in order: a folder, or the `.zip` of a layer asset packaged as a
    file (the kubectl provider's AWS CLI layer, then the kubectl layer with helm and kubectl)."""
    role: str = ""
    """Its execution role's ARN (the `Role` property): whose policies decide its AWS API calls (rehearsal/iam.py)."""

    @property
    def source(self) -> str:
        """The identity `Network.reachable` takes."""
        return f"{self.stack}/{self.logical_id}"


@dataclass(frozen=True)
class ProviderCall:
    """What a custom resource's ServiceToken leads to: the handler functions behind the Provider framework
    (aws-cdk-lib custom-resources Provider: onEvent, then isComplete every `query_interval_seconds` until
    `total_timeout_seconds`), or a single function for a plain Lambda-backed resource."""

    on_event: LambdaFunction
    is_complete: LambdaFunction | None = None
    query_interval_seconds: int = 5
    total_timeout_seconds: int = 1800


@dataclass(frozen=True)
class CustomResourceRequest:
    request_type: RequestType
    stack: str
    logical_id: str
    resource_type: str
    properties: dict[str, Any]
    """Resolved (no intrinsics left), ServiceToken included."""
    provider: ProviderCall
    old_properties: dict[str, Any] | None = None
    physical_id: str | None = None
    assets: dict[str, Path] = field(default_factory=dict)
    """The stack's file assets: S3 object key -> the asset's folder or file in the cloud assembly (what a
    `ChartAssetURL` s3://<bucket>/<key> of a HelmChart names)."""


@dataclass(frozen=True)
class CustomResourceResult:
    physical_id: str
    data: dict[str, Any] = field(default_factory=dict)


class RehearsalFailure(Exception):
    """The first failure, said the way a user needs it: where, what, and the fix."""

    def __init__(self, message: str, *, stack: str = "", resource: str = "", kubernetes_object: str = "",
                 fix: str = "") -> None:
        super().__init__(message)
        self.stack, self.resource, self.kubernetes_object, self.fix = stack, resource, kubernetes_object, fix


@dataclass(frozen=True)
class EksCluster:
    """An `AWS::EKS::Cluster` being created."""

    name: str
    """The EKS cluster name (the resource's `Name`)."""
    region: str
    version: str
    """Kubernetes minor version, e.g. "1.35"."""


@dataclass(frozen=True)
class EksEndpoint:
    """What EKS returns for a cluster: the attributes `Endpoint` and `CertificateAuthorityData`."""

    endpoint: str
    """https://<32 hex>.<label>.<region>.eks.amazonaws.com, as EKS makes it."""
    ca_data: str
    """base64 of the PEM CA."""


@dataclass(frozen=True)
class NodeGroup:
    name: str
    arch: Literal["amd64", "arm64"]
    """From the node group's AmiType (AL2023_ARM_64_STANDARD, BOTTLEROCKET_ARM_64 -> arm64)."""
    desired: int


class Network(Protocol):
    """Implemented by the CloudFormation side."""

    def reachable(self, source: str, cluster: str) -> bool:
        """Whether Lambda `source` (LambdaFunction.source) reaches the API server of EKS cluster `cluster` (its EKS
        name) now: same VPC or an active peering with routes both ways, and an ingress rule on 443 of the
        cluster's API security groups that admits the function's security group or its CIDR."""
        ...

    def cluster_reaches(self, source: str, cluster: str) -> bool:
        """Whether pods on EKS cluster `source`'s nodes (its private subnets, the EKS cluster security group) reach
        the API server of EKS cluster `cluster` now: the path a federation controller on the host takes to a
        member (KubeFed's health checks and sync, Karmada's execution and cluster status controllers)."""
        ...

    # Optional (rehearsal/network.py has them all; without them the EKS API is reachable, knows no cluster and IAM
    # allows every DescribeCluster):
    # `eks_api_why_not(source) -> str | None`: why Lambda `source` cannot reach the regional EKS APIs now (None: it
    # can); `describe_cluster(region, name) -> rehearsal.eks_api.EksCluster | None`: what EKS's DescribeCluster answers;
    # `describe_why_not(source, region, name) -> str | None`: why IAM refuses Lambda `source` that DescribeCluster.


class CloudError(Exception):
    """An AWS API's refusal, as its SDK reports it: `code` (AccessDenied, InvalidChangeBatch, ...) and the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Cloud(Protocol):
    """Implemented by the CloudFormation side (rehearsal/aws.py `Aws`): the AWS APIs that controllers on a cluster
    call with their IRSA role (ExternalDNS: rehearsal/kubernetes/external_dns.py). Raise CloudError."""

    def assume_role_with_web_identity(self, role_arn: str, cluster: str, subject: str) -> str:
        """STS for a pod of EKS cluster `cluster` whose service account `subject`
        (system:serviceaccount:<ns>:<name>) is annotated with `role_arn`: a session (the role's name)."""
        ...

    def allowed(self, session: str, action: str, resource: str) -> bool:
        """Whether the session's role may call `action` on `resource` (iam:SimulatePrincipalPolicy)."""
        ...

    def route53(self, session: str, action: str, **params: Any) -> Any:
        """A Route 53 call (ListHostedZones, ListResourceRecordSets, ChangeResourceRecordSets, ListTagsForResources)
        with the session's permissions. `names_asked`: the record names the caller is about to write (how the
        rehearsal names a configured zone it was not told about: rehearsal/route53.py)."""
        ...


class Kubernetes(Protocol):
    """Implemented by the Kubernetes side (rehearsal/kubernetes/)."""

    def create_cluster(self, cluster: EksCluster) -> EksEndpoint: ...

    def set_node_groups(self, cluster: str, groups: list[NodeGroup]) -> None:
        """The cluster's node groups now (called on every node group create, update and delete)."""

    def load_balancers(self, cluster: str) -> list[str]:
        """The AWS load balancers its controllers provisioned and have not deleted (DNS names): deleting the
        cluster leaves them, with their network interfaces, in the cluster's VPC."""

    def delete_cluster(self, cluster: str) -> None: ...

    # Optional: `attach_cloud(cloud: Cloud)` (the player gives the Kubernetes side the AWS APIs its controllers call);
    # `after_stack(clock, stack)`: what controllers do once a stack is done (ExternalDNS's sync), raising
    # RehearsalFailure for what they could not do.

    def handles(self, resource_type: str) -> bool: ...

    def custom_resource(self, request: CustomResourceRequest, clock: Clock, network: Network) -> CustomResourceResult:
        """Serve one custom resource request to completion (polling in virtual time); raise RehearsalFailure."""
