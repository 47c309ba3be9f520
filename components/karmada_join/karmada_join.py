"""Karmada joins and objects as custom resources: the Karmada join Lambda (runtime/ beside this file) behind a
Provider that is the KubeFed join's (components/kubefed_join/kubefed_join.py KubefedJoinProvider: the same functions,
log groups (the retained left-behind one), permissions, DescribeCluster policy, poll interval, one time budget and
EKS name prefix: components/cluster_functions.py vpc_functions), with its own runtime and resources:
- `join(id, member=, host=)`: one `Custom::KarmadaJoin` per cluster (push mode, the host joins itself too);
- `objects(id, host=, owner=, objects=)`: one `Custom::KarmadaObjects` per set of objects on karmada-apiserver;
- `members(id, host=, members=)`: one `Custom::KarmadaMembers`, the federation's clusters recorded on the host, which
  every join depends on (an unjoin of a cluster removed from the config then knows it: kube_access/membership.py).

The functions run in the host VPC. Besides HTTPS to every cluster's API server (the KubeFed join's egress), they
reach karmada-apiserver through the host nodes' fixed nodePort (contract.DEFAULT_APISERVER_NODE_PORT or the
`api_server_node_port` prop): egress to the host VPC on that port, and `allow_node_port(node_security_group)` adds
the matching ingress on the host nodes' security group (the EKS cluster security group).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import CustomResource
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from components.karmada_join import contract as c
from components.cluster_functions import SHARED_PACKAGES, JoinTarget, check_named
from components.kubefed_join.kubefed_join import KubefedJoinProvider, KubefedJoinProviderProps
from components.lambda_bundling import LambdaSource

# The runtime, with what it reuses at their package paths: the shared Kubernetes access code (components/kube_access/:
# budget, error classification, allowed clusters, left-behind records), the KubeFed join's cluster API and the
# contracts it names.
SOURCE = LambdaSource(package="components.karmada_join.runtime", modules=(
    "components.karmada_join.contract", "components.kubefed_join.contract", "components.workload_waiter.contract",
    *(f"components.kubefed_join.runtime.{m}" for m in ("cluster_api", "properties", "manifests"))),
    packages=SHARED_PACKAGES)
HANDLERS = {"OnEvent": f"{SOURCE.package}.handler.on_event", "IsComplete": f"{SOURCE.package}.handler.is_complete"}


def join_properties(*, member: JoinTarget, host: JoinTarget, api_server_node_port: int, timeout_seconds: int) -> dict:
    """The properties of a `Custom::KarmadaJoin` (read by runtime/properties.py `parse_join`)."""
    return {c.MEMBER: member.as_property(), c.HOST: host.as_property(),
            c.API_SERVER_NODE_PORT: str(api_server_node_port), c.TIMEOUT_SECONDS: str(timeout_seconds)}


def objects_properties(*, host: JoinTarget, owner: str, objects: list[dict], api_server_node_port: int,
                       timeout_seconds: int) -> dict:
    """The properties of a `Custom::KarmadaObjects` (read by runtime/properties.py `parse_objects`): the objects as
    one JSON string, so that CloudFormation keeps their numbers and booleans."""
    return {c.HOST: host.as_property(), c.OWNER: owner, c.OBJECTS: json.dumps(objects, sort_keys=True),
            c.API_SERVER_NODE_PORT: str(api_server_node_port), c.TIMEOUT_SECONDS: str(timeout_seconds)}


def members_properties(*, host: JoinTarget, members: list[str], timeout_seconds: int) -> dict:
    """The properties of a `Custom::KarmadaMembers` (read by runtime/properties.py `parse_members_record`)."""
    return {c.HOST: host.as_property(), c.MEMBERS: list(members), c.TIMEOUT_SECONDS: str(timeout_seconds)}


@dataclass(frozen=True)
class KarmadaJoinProviderProps(KubefedJoinProviderProps):
    host_vpc_cidr: str = ""
    """The host cluster's VPC CIDR: where the nodes' nodePort is (required)."""
    api_server_node_port: int = c.DEFAULT_APISERVER_NODE_PORT
    """The karmada-apiserver Service's fixed nodePort (config karmada.apiServerNodePort)."""
    left_behind_log_prefix: str = "/federated-eks/karmada-join/"


class KarmadaJoinProvider(KubefedJoinProvider):
    """Attributes as KubefedJoinProvider's (`security_group`, `provider`, `deadlines`, `left_behind_log_group`).
    Call `join()` once per cluster, `objects()` per set of objects, `allow_node_port()` once with the host nodes'
    security group."""

    SOURCE = SOURCE
    HANDLERS = HANDLERS
    PURPOSE = "Karmada join Lambda"
    DESCRIPTION = "Joins a cluster to Karmada / unjoins it; applies objects to karmada-apiserver (federated-eks)"

    def __init__(self, scope: Construct, id: str, props: KarmadaJoinProviderProps) -> None:
        if not props.host_vpc_cidr:
            raise ValueError("KarmadaJoinProviderProps.host_vpc_cidr is required (the host nodes' nodePort)")
        if c.parse_node_port(props.api_server_node_port) is None:
            raise ValueError(f"api_server_node_port {props.api_server_node_port!r} is not a node port "
                             f"({c.MIN_NODE_PORT}..{c.MAX_NODE_PORT})")
        super().__init__(scope, id, props)
        self.node_port = props.api_server_node_port
        self.security_group.add_egress_rule(ec2.Peer.ipv4(props.host_vpc_cidr), ec2.Port.tcp(self.node_port),
                                            "karmada-apiserver's nodePort on the host nodes")

    def allow_node_port(self, node_security_group: ec2.ISecurityGroup) -> ec2.CfnSecurityGroupIngress:
        """Let the functions reach the nodePort on the host's nodes (an ingress rule in this construct's stack).
        Returned so that every custom resource talking to karmada-apiserver can depend on it (it outlives them)."""
        return ec2.CfnSecurityGroupIngress(self, "NodePortIngress", group_id=node_security_group.security_group_id,
                                    ip_protocol="tcp", from_port=self.node_port, to_port=self.node_port,
                                    source_security_group_id=self.security_group.security_group_id,
                                    description="Karmada join Lambda to karmada-apiserver's nodePort")

    def join(self, id: str, *, member: JoinTarget, host: JoinTarget) -> CustomResource:  # type: ignore[override]
        check_named(self.eks_name_prefix, "Karmada join provider", member, host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=c.JOIN_TYPE,
                              properties=join_properties(member=member, host=host,
                                                         api_server_node_port=self.node_port,
                                                         timeout_seconds=self.deadlines.timeout_seconds))

    def objects(self, id: str, *, host: JoinTarget, owner: str, objects: list[dict],
                scope: Construct | None = None) -> CustomResource:
        """Objects on karmada-apiserver, owned by `owner` (unique per stack: a delete removes only its own). `scope`:
        where the resource goes (default: this construct; a workload stack's, which then reads the service token)."""
        check_named(self.eks_name_prefix, "Karmada join provider", host)
        return CustomResource(scope or self, id, service_token=self.provider.service_token,
                              resource_type=c.OBJECTS_TYPE,
                              properties=objects_properties(host=host, owner=owner, objects=objects,
                                                            api_server_node_port=self.node_port,
                                                            timeout_seconds=self.deadlines.timeout_seconds))

    def members(self, id: str, *, host: JoinTarget, members: list[str]) -> CustomResource:
        """The federation's clusters (every cluster's name), recorded on the host on create and update, removed on
        delete. Make every join depend on it (and it on the chart and the network paths): an update that removes a
        cluster then updates the record before its cleanup phase deletes that cluster's join, whose unjoin finds it
        no longer listed and completes without waiting for a member the function can no longer reach."""
        check_named(self.eks_name_prefix, "Karmada join provider", host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=c.MEMBERS_TYPE,
                              properties=members_properties(host=host, members=members,
                                                            timeout_seconds=self.deadlines.timeout_seconds))

    def teardown(self, *args, **kwargs):  # noqa: D102
        raise TypeError("the Karmada join has no teardown resource (KubeFed's FederatedTypeConfigs only)")
