"""Bastion stack: its own VPC and the operator instance (SSM only, pinned tools, a context per cluster)."""
from __future__ import annotations

from aws_cdk import CfnOutput, Stack, aws_iam as iam
from constructs import Construct

from components.bastion_host import BastionHost, BastionHostProps, KubeconfigContext
from components.kubectl_layer import kubectl_layer
from components.network import Network, NetworkProps
from federated_eks.plan import nat_layout, topology
from federated_eks.model.federation import FederationConfig
from federated_eks.plan.subnet_layout import BASTION_VPC
from stacks.access import BASTION_ROLE


class BastionStack(Stack):
    """Attributes: `network`, `host`."""

    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.network = Network(self, "Network", NetworkProps(
            cidr=config.bastion.cidr, max_azs=BASTION_VPC.azs, nat_gateways=nat_layout.BASTION_NAT_GATEWAYS,
            nat_azs=nat_layout.nat_gateway_azs(config)[topology.BASTION]))
        # Imported by name: the role lives in the access stack, the policies added here stay here.
        role = iam.Role.from_role_name(self, "Role", topology.role_name(config, BASTION_ROLE))
        contexts = tuple(KubeconfigContext(alias=c.name, eks_cluster_name=topology.eks_cluster_name(config, c.name),
                                           region=c.region) for c in config.clusters)
        self.host = BastionHost(self, "Bastion", BastionHostProps(
            vpc=self.network.vpc, role=role, instance_type=config.bastion.instance_type,
            tools_layer=kubectl_layer(self, "Tools", config.kubernetes_version),
            contexts=contexts,
            contexts_parameter_name=f"/{topology.stack_name(config, topology.BASTION_STACK)}/kubeconfig-contexts",
            kubefedctl=config.bastion.kubefedctl))
        CfnOutput(self, "InstanceId", value=self.host.instance.ref, description="The bastion instance")
        CfnOutput(self, "SessionCommand", description="Open a shell on the bastion",
                  value=f"aws ssm start-session --region {self.region} --target {self.host.instance.ref}")
