"""An EKS cluster of the federation: aws_eks_v2, API authentication, private endpoint, KMS-encrypted
secrets, control-plane logs, one managed node group with IMDSv2 and encrypted disks, access entries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy, Stack, aws_ec2 as ec2, aws_eks_v2 as eks, aws_kms as kms
from constructs import Construct

from components.compliance import acknowledge, conditional_managed_policy, function_versions, managed_policy
from components.kubectl_layer import kubectl_layer
from federated_eks.model.federation import ADMIN_POLICY, EndpointAccessConfig, NodeGroupConfig

# The AMI type follows the node group's architecture, stated explicitly: left out, aws_eks_v2 infers it from the
# instance types and puts AL2 first unless the feature flag @aws-cdk/aws-eks:defaultToAL2023 is set
# (aws-cdk-lib 2.275.0 aws-eks-v2/lib/managed-nodegroup.js, getPossibleAmiTypes).
AMI_TYPES = {"x86_64": eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
             "arm64": eks.NodegroupAmiType.AL2023_ARM_64_STANDARD}


def eks_version(version: str) -> eks.KubernetesVersion:
    """aws_eks_v2's constant for `version` (one of model.KUBERNETES_VERSIONS): `KubernetesVersion.V1_35` for 1.35.
    The constant, not `KubernetesVersion.of`, so that a version aws-cdk-lib does not know fails here."""
    return getattr(eks.KubernetesVersion, "V" + version.replace(".", "_"))


@dataclass(frozen=True)
class FederatedClusterProps:
    cluster_name: str
    """The EKS cluster name."""
    kubernetes_version: str
    """One of model.KUBERNETES_VERSIONS."""
    vpc: ec2.IVpc
    node_group: NodeGroupConfig
    endpoint_access: EndpointAccessConfig
    admin_principal_arns: dict[str, str] = field(default_factory=dict)
    """Access entries with cluster-admin: construct id -> IAM principal ARN."""
    principals: dict[str, tuple[str, str]] = field(default_factory=dict)
    """More access entries: construct id -> (IAM principal ARN, EKS access policy name), cluster scope."""
    api_clients: dict[str, str] = field(default_factory=dict)
    """Peer VPCs allowed to reach the API server on 443: name -> CIDR, as rules on the control-plane security
    group (`control_plane_security_group`), which the nodes do not carry. (Members of the cluster security group,
    i.e. the nodes and the kubectl handler, are always allowed.)"""
    with_kubectl: bool = False
    """Create the kubectl handler (only the host needs one: it installs the KubeFed chart)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags on the EKS cluster resource itself (`AWS::EKS::Cluster` `Tags`, next to the app-wide tags `Tags.of(app)`
    adds): the environment's, which the functions' IAM policy and checks require (components/cluster_functions.py).
    Stack tags are not in the template: what IAM and the functions rely on is set here, on the resource. Tags of
    AWS::EKS::Cluster update with no interruption (CloudFormation User Guide, AWS::EKS::Cluster, `Tags`: "Update
    requires: No interruption", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-eks-cluster.html),
    so adding one to a deployed cluster does not replace it."""


class FederatedCluster(Construct):
    """Attributes: `cluster` (eks_v2.Cluster), `secrets_key`, `control_plane_security_group`, `nodes` (the managed
    node group)."""

    def __init__(self, scope: Construct, id: str, props: FederatedClusterProps) -> None:
        super().__init__(scope, id)
        self.secrets_key = kms.Key(self, "SecretsKey", enable_key_rotation=True,
                                   description=f"Envelope encryption of Kubernetes secrets in {props.cluster_name}",
                                   removal_policy=RemovalPolicy.DESTROY, pending_window=Duration.days(7))
        endpoint = eks.EndpointAccess.PRIVATE
        if props.endpoint_access.mode == "publicAndPrivate":
            endpoint = eks.EndpointAccess.PUBLIC_AND_PRIVATE.only_from(*props.endpoint_access.public_cidrs)
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        kubectl = None
        if props.with_kubectl:
            kubectl = eks.KubectlProviderOptions(
                kubectl_layer=kubectl_layer(self, "KubectlLayer", props.kubernetes_version),
                private_subnets=props.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnets,
            )
        self.cluster = eks.Cluster(
            self, "Cluster",
            cluster_name=props.cluster_name,
            version=eks_version(props.kubernetes_version),
            vpc=props.vpc,
            vpc_subnets=[private],
            endpoint_access=endpoint,
            secrets_encryption_key=self.secrets_key,
            cluster_logging=[eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT,
                             eks.ClusterLoggingTypes.AUTHENTICATOR, eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
                             eks.ClusterLoggingTypes.SCHEDULER],
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            # The deploying identity keeps no standing admin entry; access is explicit, below.
            bootstrap_cluster_creator_admin_permissions=False,
            kubectl_provider_options=kubectl,
            output_config_command=False,
            tags=dict(props.tags) or None,
        )
        self.nodes = self._add_nodes(props)
        self._acknowledge_findings()
        for entry_id, arn in sorted(props.admin_principal_arns.items()):
            self.grant_admin(entry_id, arn)
        for entry_id, (arn, policy) in props.principals.items():
            self.grant(entry_id, arn, policy)
        # Two security groups sit on the API server's ENIs (aws-eks-v2/lib/cluster.js, aws-cdk-lib 2.275): the
        # cluster security group EKS creates, which EKS also puts on every managed node, and the one passed as the
        # Cluster's `security_group` (by default the library's own `ControlPlaneSecurityGroup`), which EKS puts on
        # the control-plane ENIs only (EKS User Guide, "View Amazon EKS security group requirements for
        # clusters": "it doesn't associate them to any node groups"). Peer CIDRs get 443 on the latter only, so
        # no node port 443 opens to peer VPCs. The library's group is kept (same logical id, no cluster update).
        self.control_plane_security_group: ec2.ISecurityGroup = self.cluster.node.find_child(
            "ControlPlaneSecurityGroup")
        for name, cidr in props.api_clients.items():
            ec2.CfnSecurityGroupIngress(
                self, f"ApiFrom-{name}", group_id=self.control_plane_security_group.security_group_id,
                ip_protocol="tcp", from_port=443, to_port=443, cidr_ip=cidr,
                description=f"Kubernetes API from {name} ({cidr})")

    def _acknowledge_findings(self) -> None:
        acknowledge(self.cluster, "EKS requires its service role to carry the AWS-managed AmazonEKSClusterPolicy.",
                    managed_policy("AmazonEKSClusterPolicy"))
        acknowledge(self.cluster, "Managed node groups require these AWS-managed policies on the node role (kubelet, "
                    "VPC CNI, image pulls); IRSA or Pod Identity is the place for workload permissions.",
                    *(managed_policy(p) for p in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                                                  "AmazonEC2ContainerRegistryReadOnly")))
        provider = self.cluster.kubectl_provider
        if provider is None:
            return
        handler = provider.node.find_child("Handler")
        condition = handler.node.find_child("HasEcrPublic")
        acknowledge(provider, "aws-cdk-lib's kubectl handler (which installs the KubeFed chart) runs in the VPC with "
                    "the AWS-managed Lambda basic/VPC policies and pulls its image layers from ECR.",
                    managed_policy("service-role/AWSLambdaBasicExecutionRole"),
                    managed_policy("service-role/AWSLambdaVPCAccessExecutionRole"),
                    managed_policy("AmazonEC2ContainerRegistryReadOnly"),
                    conditional_managed_policy(Stack.of(self).get_logical_id(condition),
                                               "AmazonElasticContainerRegistryPublicReadOnly"))
        acknowledge(provider, "aws-cdk-lib pins the kubectl handler's Python runtime; it moves with aws-cdk-lib.",
                    "AwsSolutions-L1")
        acknowledge(provider, "The Provider framework invokes the kubectl handler by ARN with any version qualifier.",
                    function_versions(handler))

    def grant_admin(self, entry_id: str, principal_arn: str) -> eks.AccessEntry:
        """cluster-admin for an IAM principal through an access entry (authentication mode API).

        This is what `eks.Cluster.grant_cluster_admin(id, principal)` builds (aws-cdk-lib 2.275,
        aws-eks-v2/lib/cluster.js: the same AccessEntry with AmazonEKSClusterAdminPolicy, cluster scope), but the
        library puts the entry under the Cluster construct, which renames its logical id (EksBastionAccess… becomes
        EksClusterBastionAccess…; the properties are identical). CloudFormation would create the renamed entry
        before deleting the old one, and EKS allows one entry per principal and cluster: the create fails with
        ResourceInUseException (handler error AlreadyExists) and the update of every deployed cluster stack rolls
        back. So the entry stays here, under this construct, built from the library's AccessEntry and AccessPolicy.
        """
        return self.grant(entry_id, principal_arn, ADMIN_POLICY)

    def grant(self, entry_id: str, principal_arn: str, policy: str, groups: tuple[str, ...] = ()) -> eks.AccessEntry:
        """An access entry for an IAM principal with one EKS access policy, cluster scope (see grant_admin), and the
        Kubernetes `groups` its identity carries (for RBAC bindings; aws_eks_v2's AccessEntry has no property for
        them, its CfnAccessEntry does: KubernetesGroups, updatable in place)."""
        entry = eks.AccessEntry(
            self, entry_id, cluster=self.cluster, principal=principal_arn,
            access_policies=[eks.AccessPolicy.from_access_policy_name(
                policy, access_scope_type=eks.AccessScopeType.CLUSTER)],
        )
        if groups:
            entry.node.default_child.kubernetes_groups = list(groups)
        return entry

    def _add_nodes(self, props: FederatedClusterProps) -> eks.Nodegroup:
        ng = props.node_group
        template = ec2.LaunchTemplate(
            self, "NodeTemplate",
            require_imdsv2=True,
            # 1 (the default): pods in their own network namespace cannot get an IMDSv2 token, so they cannot
            # read the node role's credentials; hostNetwork pods (VPC CNI, kube-proxy) still reach IMDS (EKS best
            # practices, "Restrict access to the instance profile assigned to the worker node").
            http_put_response_hop_limit=ng.imds_hop_limit,
            block_devices=[ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(
                ng.disk_size_gib, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3))],
        )
        return self.cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(t) for t in ng.instance_types],
            min_size=ng.min_size,
            desired_size=ng.desired_size,
            max_size=ng.max_size,
            capacity_type=eks.CapacityType[ng.capacity_type],
            ami_type=AMI_TYPES[ng.architecture],
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            launch_template_spec=eks.LaunchTemplateSpec(id=template.launch_template_id,
                                                        version=template.latest_version_number),
        )
