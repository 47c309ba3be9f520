"""KubeFed joins as custom resources: the join Lambda (runtime/ beside this file), its Provider (onEvent +
isComplete polling), and one `Custom::KubefedJoin` resource per cluster.

The Lambda runs in the host VPC's private subnets and reaches every API server over the peering; its
only egress is HTTPS to the cluster VPCs (the EKS token is presigned locally, no AWS call is made).
Its role lives in the access stack and gets Kubernetes access only through EKS access entries; here
it gets just what a VPC Lambda needs to run and log.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CustomResource, Duration
from aws_cdk import custom_resources as cr
from constructs import Construct

from components.cluster_functions import (  # noqa: F401 (JoinTarget: the join's name for it)
    POLL_INTERVAL, SHARED_PACKAGES, JoinTarget, KubeProviderProps, acknowledge_provider_framework, check_named,
    deadlines_of, vpc_functions)
from components.kubefed_join import contract as c
from components.lambda_bundling import LambdaSource

# The runtime, packaged under its own package path, so the handler strings name the modules the tests import.
# From outside runtime/ come the contract, the shared access code (components/kube_access/) and the packages' empty
# __init__.py files; and the workload waiter's runtime and contract, for the deletes of waiters made before the
# waiter had a Provider of its own (contract.LEGACY_WORKLOAD_TYPE; they still name this Provider).
SOURCE = LambdaSource(package="components.kubefed_join.runtime",
                      modules=("components.kubefed_join.contract", "components.workload_waiter.contract"),
                      packages=(*SHARED_PACKAGES, "components.workload_waiter.runtime"))
HANDLERS = {"OnEvent": f"{SOURCE.package}.handler.on_event", "IsComplete": f"{SOURCE.package}.handler.is_complete"}
# The time budget is the shared contract's (contract.Deadlines): components/cluster_functions.py sets the poll
# interval and the functions' timeout, the Provider's total timeout comes from `deadlines` below.


def join_properties(*, member: JoinTarget, host: JoinTarget, namespace: str, scope: str, labels: dict[str, str],
                    timeout_seconds: int) -> dict:
    """The properties of a `Custom::KubefedJoin` (read by runtime/properties.py `parse`)."""
    return {c.MEMBER: member.as_property(), c.HOST: host.as_property(), c.NAMESPACE: namespace, c.SCOPE: scope,
            c.LABELS: dict(sorted(labels.items())), c.TIMEOUT_SECONDS: str(timeout_seconds)}


def teardown_properties(*, host: JoinTarget, namespace: str, timeout_seconds: int, members: list[str]) -> dict:
    """The properties of a `Custom::KubefedTeardown` (read by runtime/properties.py `parse_teardown`)."""
    return {c.HOST: host.as_property(), c.NAMESPACE: namespace, c.TIMEOUT_SECONDS: str(timeout_seconds),
            c.MEMBERS: list(members)}


@dataclass(frozen=True)
class KubefedJoinProviderProps(KubeProviderProps):
    """`role`: the join role; every cluster grants it cluster-admin through an access entry."""

    left_behind_log_prefix: str = "/federated-eks/kubefed-join/"


class KubefedJoinProvider(Construct):
    """Attributes: `security_group`, `provider`, `deadlines` (contract.Deadlines), `left_behind_log_group`. Call
    `join()` once per cluster. The Karmada join (components/karmada_join) is this Provider with its own runtime:
    the class attributes below name what differs."""

    SOURCE = SOURCE
    HANDLERS = HANDLERS
    PURPOSE = "KubeFed join Lambda"
    DESCRIPTION = "Joins a cluster to KubeFed / unjoins it (federated-eks)"

    def __init__(self, scope: Construct, id: str, props: KubefedJoinProviderProps) -> None:
        super().__init__(scope, id)
        self._timeout_minutes = props.timeout_minutes
        self.deadlines = deadlines_of(props.timeout_minutes)
        made = vpc_functions(self, source=self.SOURCE, handlers=self.HANDLERS, role=props.role, vpc=props.vpc,
                             api_cidrs=props.api_cidrs, eks_name_prefix=props.eks_name_prefix,
                             environment=props.environment,
                             left_behind_log_prefix=props.left_behind_log_prefix,
                             security_group=f"{self.PURPOSE}: HTTPS to the cluster API servers",
                             description=self.DESCRIPTION)
        self.security_group, functions = made.security_group, made.functions
        self.left_behind_log_group = made.left_behind_log_group
        self.eks_name_prefix = props.eks_name_prefix

        self.provider = cr.Provider(
            self, "Provider",
            on_event_handler=functions["OnEvent"],
            is_complete_handler=functions["IsComplete"],
            query_interval=POLL_INTERVAL,
            # Our own deadline fails first, with a message naming what never became ready.
            total_timeout=Duration.seconds(self.deadlines.provider_total_seconds),
        )
        acknowledge_provider_framework(self.provider, list(functions.values()), "the join functions",
                                       "join function")

    def join(self, id: str, *, member: JoinTarget, host: JoinTarget, namespace: str, scope: str,
             labels: dict[str, str]) -> CustomResource:
        check_named(self.eks_name_prefix, self.PURPOSE.replace(" Lambda", " provider"), member, host)
        return CustomResource(
            self, id,
            service_token=self.provider.service_token,
            resource_type=c.JOIN_TYPE,
            properties=join_properties(member=member, host=host, namespace=namespace, scope=scope, labels=labels,
                                       timeout_seconds=self._timeout_minutes * 60),
        )

    def teardown(self, id: str, *, host: JoinTarget, namespace: str, members: list[str]) -> CustomResource:
        """The resource that, on delete, releases KubeFed's FederatedTypeConfigs while the controller still
        runs. Make it depend on the chart, and every join depend on it: deletes then run joins first, this
        second, the chart's uninstall last. On create and update it records `members` (every cluster's name) on
        the host, which tells the unjoin of a removed cluster (runtime/membership.py)."""
        check_named(self.eks_name_prefix, self.PURPOSE.replace(" Lambda", " provider"), host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=c.TEARDOWN_TYPE,
                              properties=teardown_properties(host=host, namespace=namespace, members=members,
                                                             timeout_seconds=self.deadlines.timeout_seconds))
