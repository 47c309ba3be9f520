"""Cluster stack: one per configured cluster, in its region: VPC, EKS cluster, nodes, access entries."""
from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from components.eks_cluster import FederatedCluster, FederatedClusterProps
from components.workload_waiter import contract as waiter_contract
from components.workload_waiter.workload_waiter import READ_POLICY as WAITER_POLICY
from components.load_balancer_controller import LoadBalancerController, LoadBalancerControllerProps
from components.workload_dns import ExternalDns, ExternalDnsProps
from components.network import Network, NetworkProps
from federated_eks.plan import nat_layout, topology
from federated_eks.plan.stack_tags import ENVIRONMENT_TAG
from federated_eks.model.federation import FederationConfig, LoadBalancerControllerConfig
from federated_eks.plan.subnet_layout import CLUSTER_VPC
from stacks.access import BASTION_ROLE, JOIN_ROLE, WAITER_ROLE


class ClusterStack(Stack):
    """Attributes: `name` (the config name), `network`, `eks` (FederatedCluster).

    `peers`: the VPCs whose CIDRs may reach the API server (`topology.api_clients_of`: with VPC peering, the VPCs that
    peer with this cluster's; with a transit gateway, the bastion's and the host's).
    `load_balancer_controller`: install the AWS Load Balancer Controller (this cluster runs LoadBalancer
    Services, `topology.load_balancer_clusters`); attribute `load_balancer_controller` then.
    `dns_zones`: install ExternalDNS for these hosted zones (workloads with `dns` run here,
    `topology.dns_zones`); attribute `external_dns` then.
    """

    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, cluster_name: str,
                 peers: Sequence[topology.FederatedVpc],
                 load_balancer_controller: LoadBalancerControllerConfig | None = None,
                 dns_zones: Sequence[str] = (), **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        cluster = config.cluster(cluster_name)
        self.name = cluster_name
        self.network = Network(self, "Network", NetworkProps(cidr=cluster.cidr, max_azs=CLUSTER_VPC.azs,
                                                             nat_gateways=config.nat_gateways,
                                                             nat_azs=nat_layout.nat_gateway_azs(config)[cluster_name]))
        eks_name = topology.eks_cluster_name(config, cluster_name)
        self.eks = FederatedCluster(self, "Eks", FederatedClusterProps(
            cluster_name=eks_name,
            kubernetes_version=config.kubernetes_version,
            vpc=self.network.vpc,
            node_group=cluster.node_group,
            endpoint_access=cluster.endpoint_access,
            admin_principal_arns={"BastionAccess": topology.role_arn(config, BASTION_ROLE),
                                  "KubefedJoinAccess": topology.role_arn(config, JOIN_ROLE)},
            principals={topology.access_entry_id(arn): (arn, policy)
                        for arn, policy in config.access.policies().items()},
            api_clients={n.name: n.cidr for n in peers},
            # The host's handler installs KubeFed; a member's the load-balancer controller. During a host move the
            # previous host keeps its handler: the old KubeFed releases are uninstalled through it.
            with_kubectl=(cluster_name in (config.host_cluster, config.previous_host_cluster)
                          or load_balancer_controller is not None),
            tags={ENVIRONMENT_TAG: config.env_name},
        ))
        # The workload waiter reads (its members' Deployments and Services) with the view policy; its Kubernetes group
        # is bound on the host to the federated objects it waits on and deletes (the federation stack's ClusterRole).
        self.eks.grant("WorkloadWaiterAccess", topology.role_arn(config, WAITER_ROLE), WAITER_POLICY,
                       groups=(waiter_contract.KUBERNETES_GROUP,))
        self.load_balancer_controller = None
        if load_balancer_controller is not None:
            self.load_balancer_controller = LoadBalancerController(
                self, "LoadBalancerController", LoadBalancerControllerProps(cluster=self.eks.cluster,
                                                                            config=load_balancer_controller))
            # Its chart waits for the controller's pods: install it once there are nodes to run them.
            self.load_balancer_controller.node.add_dependency(self.eks.nodes)
        self.external_dns = None
        if dns_zones:  # workloads with `dns` run here (topology.dns_zones)
            self.external_dns = ExternalDns(self, "ExternalDns", ExternalDnsProps(
                cluster=self.eks.cluster, hosted_zone_ids=tuple(dns_zones), region=cluster.region,
                owner_id=f"{config.env_name}-{cluster_name}",
                image_repository=config.external_dns.image_repository,
                chart_repository=config.external_dns.chart_repository))
            self.external_dns.node.add_dependency(self.eks.nodes)
        CfnOutput(self, "ClusterName", value=eks_name, description="EKS cluster name")
        CfnOutput(self, "ClusterEndpoint", value=self.eks.cluster.cluster_endpoint,
                  description="Kubernetes API endpoint (private unless endpointAccess says otherwise)")
        CfnOutput(self, "UpdateKubeconfigCommand", description="Add this cluster to your kubeconfig",
                  value=f"aws eks update-kubeconfig --region {cluster.region} --name {eks_name} --alias {cluster_name}")
