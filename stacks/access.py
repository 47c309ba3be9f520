"""Access stack: the IAM principals that every cluster trusts, created before any cluster.

EKS access entries need their principal to exist, and every cluster stack grants the same two roles.
Keeping the roles here (fixed names, so cluster stacks name them without a cross-stack reference)
lets every cluster stack deploy in parallel right after this small stack.
"""
from __future__ import annotations

from aws_cdk import Stack, aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge, managed_policy
from federated_eks.plan import topology
from federated_eks.model.federation import FederationConfig

BASTION_ROLE = topology.BASTION_ROLE
JOIN_ROLE = topology.JOIN_ROLE
WAITER_ROLE = topology.WAITER_ROLE


class AccessStack(Stack):
    """Attributes: `bastion_role`, `join_role`, `waiter_role`."""

    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        cluster_arns = [topology.eks_cluster_arn(config, c.name) for c in config.clusters]
        self.bastion_role = iam.Role(
            self, "BastionRole",
            role_name=topology.role_name(config, BASTION_ROLE),
            description="federated-eks bastion: SSM sessions; cluster-admin on every cluster via access entries",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
            inline_policies={"DescribeClusters": iam.PolicyDocument(statements=[iam.PolicyStatement(
                actions=["eks:DescribeCluster"], resources=cluster_arns)])},
        )
        acknowledge(self.bastion_role, "AmazonSSMManagedInstanceCore is the AWS-maintained minimum for SSM "
                    "Session Manager, the bastion's only way in.", managed_policy("AmazonSSMManagedInstanceCore"))
        self.join_role = iam.Role(
            self, "JoinRole",
            role_name=topology.role_name(config, JOIN_ROLE),
            description="federated-eks KubeFed join Lambda: Kubernetes access only, through access entries",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        # The workload waiter's own role: read on every cluster, and on the host only what it does with a workload's
        # federated objects (components/workload_waiter/workload_waiter.py), not the join's cluster-admin.
        self.waiter_role = iam.Role(
            self, "WorkloadWaiterRole",
            role_name=topology.role_name(config, WAITER_ROLE),
            description="federated-eks workload waiter Lambda: Kubernetes read (and a workload's federated objects on "
                        "the host) through access entries",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
