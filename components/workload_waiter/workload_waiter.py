"""The workload waiter: its Lambda (runtime/ beside this file), its Provider (onEvent + isComplete polling), and the
Kubernetes rights it needs on the host. One `Custom::FederatedWorkload` per workload is added by
components/federated_workloads.py (`waiter`), with this Provider's service token.

The functions run in the host VPC's private subnets and reach every API server over the peering; their only egress
is HTTPS to the cluster VPCs (the EKS token is presigned locally). Their role lives in the access stack and is not
the join's: every cluster's access entry gives it AmazonEKSViewPolicy (read: the members' Deployments and Services)
and the Kubernetes group `contract.KUBERNETES_GROUP`, which the ClusterRole of `host_rbac` binds on the host to what
the waiter does with a workload's federated objects (read them, record Ready on the FederatedDeployment, delete
them). Nothing else: no Secrets, no RBAC, no namespaces, nothing cluster-wide.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CustomResource, Duration
from aws_cdk import custom_resources as cr
from constructs import Construct

from components.cluster_functions import (POLL_INTERVAL, SHARED_PACKAGES, JoinTarget, check_named,
                                          KubeProviderProps, acknowledge_provider_framework, deadlines_of,
                                          vpc_functions)
from components.lambda_bundling import LambdaSource
from components.workload_waiter import contract as c

SOURCE = LambdaSource(package="components.workload_waiter.runtime", modules=("components.workload_waiter.contract",),
                      packages=SHARED_PACKAGES)
HANDLERS = {"OnEvent": f"{SOURCE.package}.workload_wait.on_event",
            "IsComplete": f"{SOURCE.package}.workload_wait.is_complete"}
# The time budget is the shared contract's (kube_access/contract.Deadlines), as the join's: the poll interval and the
# functions' timeout (components/cluster_functions.py), and the Provider's total above the longest handler deadline.

# What the waiter does on the host, by API group and resource (workload_wait.py): it reads the workload's federated
# objects, merge-patches the FederatedDeployment (contract.READY_ANNOTATION) and deletes the objects on a delete.
# The members' Deployments and Services it only reads (AmazonEKSViewPolicy, on every cluster's access entry).
HOST_RULES = (
    {"apiGroups": ["types.kubefed.io"], "resources": ["federateddeployments"], "verbs": ["get", "patch", "delete"]},
    {"apiGroups": ["types.kubefed.io"], "resources": ["federatedservices"], "verbs": ["get", "delete"]},
    {"apiGroups": ["scheduling.kubefed.io"], "resources": ["replicaschedulingpreferences"], "verbs": ["get", "delete"]},
)
READ_POLICY = "AmazonEKSViewPolicy"
RBAC_NAME = "federated-eks-workload-waiter"


def host_rbac(labels: dict[str, str]) -> list[dict]:
    """The ClusterRole of HOST_RULES and its binding to the waiter's Kubernetes group (applied on the host)."""
    meta = {"name": RBAC_NAME, "labels": dict(labels)}
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
             "rules": [dict(rule) for rule in HOST_RULES]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta,
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": RBAC_NAME},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": c.KUBERNETES_GROUP}]}]


@dataclass(frozen=True)
class WorkloadWaiterProviderProps(KubeProviderProps):
    """`role`: the waiter's role (read on every cluster, HOST_RULES on the host, through access entries)."""

    left_behind_log_prefix: str = "/federated-eks/workload-waiter/"


class WorkloadWaiterProvider(Construct):
    """Attributes: `security_group`, `provider`, `deadlines` (contract.Deadlines), `left_behind_log_group`. Call
    `allow()` with every cluster a waiter may name."""

    def __init__(self, scope: Construct, id: str, props: WorkloadWaiterProviderProps) -> None:
        super().__init__(scope, id)
        self.deadlines = deadlines_of(props.timeout_minutes)
        made = vpc_functions(self, source=SOURCE, handlers=HANDLERS, role=props.role, vpc=props.vpc,
                             api_cidrs=props.api_cidrs, eks_name_prefix=props.eks_name_prefix,
                             environment=props.environment,
                             left_behind_log_prefix=props.left_behind_log_prefix,
                             security_group="Workload waiter Lambda: HTTPS to the cluster API servers",
                             description="Waits for a federated workload to run where it is placed, and to be gone "
                             "(federated-eks)")
        self.security_group, functions = made.security_group, made.functions
        self.left_behind_log_group = made.left_behind_log_group
        self.eks_name_prefix = props.eks_name_prefix
        self.provider = cr.Provider(
            self, "Provider", on_event_handler=functions["OnEvent"], is_complete_handler=functions["IsComplete"],
            query_interval=POLL_INTERVAL,
            # The waiter's own deadline fails first, with a message naming what never became ready.
            total_timeout=Duration.seconds(self.deadlines.provider_total_seconds),
        )
        acknowledge_provider_framework(self.provider, list(functions.values()), "the waiter functions",
                                       "waiter function")

    def allow(self, *targets: JoinTarget) -> None:
        """Add clusters to those the functions serve (a waiter naming any other is refused)."""
        check_named(self.eks_name_prefix, "workload waiter provider", *targets)


def waiter(scope: Construct, id: str, *, service_token: str, properties: dict) -> CustomResource:
    """One `Custom::FederatedWorkload` (properties: components/federated_workloads.py `waiter_properties`)."""
    return CustomResource(scope, id, service_token=service_token, resource_type=c.WORKLOAD_TYPE,
                          properties=properties)
