"""Federation stack, in the host cluster's region: the federation engine's control plane on the host cluster (KubeFed,
or Karmada with `engine: "karmada"`), one join per cluster (the host joins itself), and the federated workloads.
Deploys after the clusters and the peering mesh. The engine guard (components/engine_guard.py) comes first: a
deployed federation refuses to switch engines in place."""
from __future__ import annotations

import hashlib
from typing import Sequence

from aws_cdk import CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks, aws_iam as iam
from constructs import Construct

from components.engine_guard import EngineGuard, EngineGuardProps
from components.federated_workloads import FederatedWorkloads, FederatedWorkloadsProps, FederationTarget
from components.karmada_control_plane import KarmadaControlPlane, KarmadaControlPlaneProps
from components.karmada_join.karmada_join import KarmadaJoinProvider, KarmadaJoinProviderProps
from components.kubefed_control_plane import KubefedControlPlane, KubefedControlPlaneProps
from components.kubefed_join.kubefed_join import JoinTarget, KubefedJoinProvider, KubefedJoinProviderProps
from components.workload_dns import member_annotations
from components.workload_waiter.workload_waiter import WorkloadWaiterProvider, WorkloadWaiterProviderProps, host_rbac
from federated_eks.plan import federation_layout, karmada_folder, karmada_workload, topology
from federated_eks.plan.kubefed_workload import MANAGED_BY, REGION_LABEL
from federated_eks.model.federation import FederationConfig
from federated_eks.model.workload import Workload
from stacks.access import JOIN_ROLE, WAITER_ROLE
from stacks.cluster import ClusterStack


def host_scoped_id(base: str, config: FederationConfig) -> str:
    """The construct id of something served by the host's kubectl handler (its ServiceToken depends on the host).

    A federation that never moved keeps the ids of earlier versions (an id change on the same host would install
    the releases again and then uninstall them with the old resource's delete); once `previousHostCluster` is set,
    ids carry the host, so every later move gets new ids as well."""
    return base if config.previous_host_cluster is None else f"{base}-{config.host_cluster}"


def karmada_objects(workloads: Sequence[Workload], clusters: Sequence[tuple[str, str]]) -> list[dict]:
    """The workloads' objects on karmada-apiserver (federated_eks.plan.karmada_workload), with each DNS workload's
    Service annotated per placed member as for KubeFed (components/workload_dns.member_annotations)."""
    out = karmada_workload.namespaces(workloads)
    for w in workloads:
        annotations = None
        if w.dns is not None and w.service is not None:
            template = karmada_workload.service(w)["metadata"].get("annotations") or {}
            regions = dict(clusters)
            annotations = {c: member_annotations(template, w.dns, c, regions[c])
                           for c in w.placement.resolve(clusters)}
        out += karmada_workload.workload_objects(w, clusters, service_annotations=annotations)
    return out


def folder_ident(path: str) -> str:
    """A manifest folder's part of construct ids: its path with '/' as '-' (the config reader refuses two folders
    named the same way)."""
    return path.strip("/").replace("/", "-")


def folder_owner(env_name: str, path: str) -> str:
    """The owner annotation of a Karmada folder's objects (a label value of at most 63 characters, unique per
    environment and folder, stable across deploys): `<env>-manifests-<hash of the path>`."""
    return f"{env_name}-manifests-{hashlib.sha256(folder_ident(path).encode()).hexdigest()[:10]}"


class FederationStack(Stack):
    """Attributes: `guard` (components.engine_guard), `control_plane`, `teardown`, `joins` (cluster name ->
    Custom::KubefedJoin), `workload_target` (what `components.federated_workloads.FederatedWorkloads` needs, for
    workloads added in CDK code) and `workloads` (the config's, or None). With engine karmada, `control_plane` is the
    KarmadaControlPlane, `joins` are Custom::KarmadaJoin, `workloads` the Custom::KarmadaObjects of the config's
    workloads (or None), `folders` the Custom::KarmadaObjects of each manifest folder (by path),
    `karmada_lambdas` the join Lambda's security group, `host_api_path` and `karmada_api_path` its
    ingress rules to the host's API server and to karmada-apiserver's node port; `workload_target` is None (workloads
    in CDK code are KubeFed's)."""

    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, clusters: dict[str, ClusterStack],
                 **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        host_stack = clusters[config.host_cluster]
        host_cluster = host_stack.eks.cluster
        # The same construct id for both engines: a switch is an update of the guard, which the host refuses.
        self.guard = EngineGuard(self, host_scoped_id("EngineGuard", config), EngineGuardProps(
            cluster=host_cluster, engine=config.engine, env_name=config.env_name,
            federation_stack=topology.stack_name(config, topology.FEDERATION_STACK)))
        for c in config.clusters:  # access entries (and the clusters) exist before any join talks to them
            self.add_stack_dependency(clusters[c.name])
        if config.engine == "karmada":
            self._build_karmada(config, clusters)
        else:
            self._build_kubefed(config, clusters)
        # Every other resource of the stack depends on the guard (a construct dependency covers every resource
        # below it: providers, functions, security groups and their rules, charts, joins, workloads): an engine
        # switch refused by the guard's update has created or changed nothing of either engine.
        for child in self.node.children:
            if child is not self.guard:
                child.node.add_dependency(self.guard)

    def _build_kubefed(self, config: FederationConfig, clusters: dict[str, ClusterStack]) -> None:
        host_stack = clusters[config.host_cluster]
        host_cluster = host_stack.eks.cluster
        kubefed = config.kubefed

        # Resources served by the host's kubectl handler carry the host in their logical ids: CloudFormation cannot
        # change a custom resource's ServiceToken, so a host move creates them anew on the new host and deletes the
        # old ones (through the old host's handler) once the update is done.
        self.control_plane = KubefedControlPlane(self, host_scoped_id("KubefedControlPlane", config),
                                                 KubefedControlPlaneProps(cluster=host_cluster, config=kubefed))
        self.control_plane.node.add_dependency(self.guard.manifest)

        role = iam.Role.from_role_arn(self, "JoinRole", topology.role_arn(config, JOIN_ROLE))
        joiner = KubefedJoinProvider(self, "KubefedJoin", KubefedJoinProviderProps(
            vpc=host_stack.network.vpc, role=role, api_cidrs={c.name: c.cidr for c in config.clusters},
            eks_name_prefix=topology.eks_name_prefix(config), environment=config.env_name,
            timeout_minutes=kubefed.join_timeout_minutes,
            left_behind_log_prefix=f"/{topology.PREFIX}/{config.env_name}/kubefed-join/"))
        # The host's API server (its control-plane security group) admits the join Lambda; members admit the whole
        # host VPC CIDR (their cluster stacks' `ApiFrom-<host>` rules, with the peering routes in the peering
        # stacks: this stack depends on both at stack level, so they are created before and deleted after it).
        # Every custom resource served by the join Lambda depends on this rule (the teardown and the joins here,
        # the workload waiters through `workload_target.ready`): CloudFormation deletes a resource only after
        # everything that depends on it, so the path stays open until every unjoin, teardown and waiter is done.
        self.host_api_path = ec2.CfnSecurityGroupIngress(
            self, "HostApiFromJoinLambda", group_id=host_stack.eks.control_plane_security_group.security_group_id,
            ip_protocol="tcp", from_port=443, to_port=443,
            source_security_group_id=joiner.security_group.security_group_id,
            description="Kubernetes API from the KubeFed join Lambda")

        def target(name: str) -> JoinTarget:
            stack = clusters[name]
            return JoinTarget(name=name, eks_cluster_name=topology.eks_cluster_name(config, name),
                              region=stack.region, endpoint=stack.eks.cluster.cluster_endpoint,
                              ca_data=stack.eks.cluster.cluster_certificate_authority_data)

        host = target(config.host_cluster)
        # Delete order: every unjoin, then the teardown (FederatedTypeConfigs, while the controller runs), then
        # the three KubeFed releases in reverse (controller, types, control plane). `chart` is the controller's.
        self.teardown = joiner.teardown("Teardown", host=host, namespace=kubefed.namespace,
                                        members=[c.name for c in config.clusters])
        self.teardown.node.add_dependency(self.control_plane.chart, self.host_api_path)
        self.joins = {}
        for c in config.clusters:
            join = joiner.join(f"Join-{c.name}", member=target(c.name), host=host, namespace=kubefed.namespace,
                               scope=kubefed.scope, labels={REGION_LABEL: c.region})
            join.node.add_dependency(self.teardown, self.host_api_path)
            self.joins[c.name] = join
        CfnOutput(self, "KubefedClusters", description="Clusters joined to KubeFed",
                  value=",".join(c.name for c in config.clusters))

        # The workload waiter: a Provider and a role of its own (components/workload_waiter/), the same network path
        # as the join's (egress to the API CIDRs, a rule on the host's API server; members admit the host VPC), and
        # on the host the ClusterRole its role's Kubernetes group is bound to (the access entries are the cluster
        # stacks'). Every waiter depends on the rule and the ClusterRole, so both outlast the waiters' deletes.
        waiter = WorkloadWaiterProvider(self, "WorkloadWaiter", WorkloadWaiterProviderProps(
            vpc=host_stack.network.vpc, role=iam.Role.from_role_arn(self, "WaiterRole",
                                                                     topology.role_arn(config, WAITER_ROLE)),
            api_cidrs={c.name: c.cidr for c in config.clusters}, eks_name_prefix=topology.eks_name_prefix(config),
            environment=config.env_name, timeout_minutes=kubefed.join_timeout_minutes,
            left_behind_log_prefix=f"/{topology.PREFIX}/{config.env_name}/workload-waiter/"))
        waiter.allow(*(target(c.name) for c in config.clusters))
        waiter_path = ec2.CfnSecurityGroupIngress(
            self, "HostApiFromWaiterLambda", group_id=host_stack.eks.control_plane_security_group.security_group_id,
            ip_protocol="tcp", from_port=443, to_port=443,
            source_security_group_id=waiter.security_group.security_group_id,
            description="Kubernetes API from the workload waiter Lambda")
        waiter_rbac = eks.KubernetesManifest(self, host_scoped_id("WorkloadWaiterRbac", config), cluster=host_cluster,
                                             manifest=host_rbac(MANAGED_BY), overwrite=True)

        # Workloads go on after every join (each join follows the control plane and its federated types), and
        # on destroy before any unjoin.
        self.workload_target = FederationTarget(
            host_cluster=host_cluster, host=host, members=tuple((target(c.name), c.region) for c in config.clusters),
            service_token=waiter.provider.service_token,
            ready=(self.host_api_path, waiter_path, waiter_rbac, *self.joins.values()),
            load_balancer_clusters=topology.load_balancer_clusters(config), federated_types=kubefed.federated_types,
            host_moved=config.previous_host_cluster is not None, timeout_seconds=waiter.deadlines.join)
        # The typed workloads that fit here (federation_layout.workload_stacks; the others go into WorkloadsStacks)
        # and every manifest folder.
        self.workloads = None
        here = federation_layout.workload_stacks(config)[0].namespaces
        workloads = tuple(w for w in config.workloads if w.namespace in here)
        if workloads or config.manifest_folders:
            self.workloads = FederatedWorkloads(self, "Workloads", FederatedWorkloadsProps(
                target=self.workload_target, workloads=workloads, folders=config.manifest_folders,
                reserved_namespaces=(kubefed.namespace,)))

    def _build_karmada(self, config: FederationConfig, clusters: dict[str, ClusterStack]) -> None:
        """Karmada's control plane on the host, one Custom::KarmadaJoin per cluster (the host included) and the
        workloads' objects on karmada-apiserver (one Custom::KarmadaObjects), all served by the Karmada join Lambda
        (components/karmada_join) in the host VPC. Create order: control plane, the network paths, the joins, the
        objects; deletes run in reverse (objects, then the unjoins, then the chart)."""
        host_stack = clusters[config.host_cluster]
        host_cluster = host_stack.eks.cluster
        karmada = config.karmada
        self.control_plane = KarmadaControlPlane(self, "KarmadaControlPlane", KarmadaControlPlaneProps(
            cluster=host_cluster, config=karmada))
        self.control_plane.node.add_dependency(self.guard.manifest)

        role = iam.Role.from_role_arn(self, "JoinRole", topology.role_arn(config, JOIN_ROLE))
        joiner = KarmadaJoinProvider(self, "KarmadaJoin", KarmadaJoinProviderProps(
            vpc=host_stack.network.vpc, role=role, api_cidrs={c.name: c.cidr for c in config.clusters},
            eks_name_prefix=topology.eks_name_prefix(config), environment=config.env_name,
            timeout_minutes=karmada.join_timeout_minutes, host_vpc_cidr=config.host.cidr,
            api_server_node_port=karmada.api_server_node_port,
            left_behind_log_prefix=f"/{topology.PREFIX}/{config.env_name}/karmada-join/"))
        self.karmada_lambdas = joiner.security_group
        # The host's API server (the kubeconfig Secret, the nodes' addresses, the host's own join) and
        # karmada-apiserver's node port on the host's nodes (the EKS cluster security group, on every managed node)
        # admit the Lambda; members admit the host VPC CIDR (their cluster stacks' `ApiFrom-<host>` rules). Every
        # custom resource of the Lambda depends on both rules, so they outlive every unjoin and object delete.
        self.host_api_path = ec2.CfnSecurityGroupIngress(
            self, "HostApiFromKarmadaLambdas", group_id=host_stack.eks.control_plane_security_group.security_group_id,
            ip_protocol="tcp", from_port=443, to_port=443,
            source_security_group_id=joiner.security_group.security_group_id,
            description="Kubernetes API from the Karmada join Lambda")
        self.karmada_api_path = joiner.allow_node_port(ec2.SecurityGroup.from_security_group_id(
            self, "HostNodes", host_cluster.cluster_security_group_id, mutable=False))

        def target(name: str) -> JoinTarget:
            stack = clusters[name]
            return JoinTarget(name=name, eks_cluster_name=topology.eks_cluster_name(config, name),
                              region=stack.region, endpoint=stack.eks.cluster.cluster_endpoint,
                              ca_data=stack.eks.cluster.cluster_certificate_authority_data)

        host = target(config.host_cluster)
        paths = (self.control_plane.chart, self.host_api_path, self.karmada_api_path)
        self.teardown = None
        # The clusters recorded on the host, updated before a removed cluster's unjoin (every join depends on it).
        self.members = joiner.members("Members", host=host, members=[c.name for c in config.clusters])
        self.members.node.add_dependency(*paths)
        self.joins = {}
        for c in config.clusters:
            join = joiner.join(f"Join-{c.name}", member=target(c.name), host=host)
            join.node.add_dependency(*paths, self.members)
            self.joins[c.name] = join
        CfnOutput(self, "KarmadaClusters", description="Clusters of the Karmada federation",
                  value=",".join(c.name for c in config.clusters))

        self.workload_target = None
        self.workloads = None
        # What workload stacks need for their Custom::KarmadaObjects (created after every join, deleted before any).
        self.karmada_joiner, self.karmada_host = joiner, host
        # The workloads of the namespaces that fit here (federation_layout.workload_stacks; the others go into
        # WorkloadsStacks).
        here = federation_layout.workload_stacks(config)[0].namespaces
        workloads = tuple(w for w in config.workloads if w.namespace in here)
        if workloads:
            placed = tuple((c.name, c.region) for c in config.clusters)
            self.workloads = joiner.objects("Workloads", host=host, owner=f"{config.env_name}-workloads",
                                            objects=karmada_objects(workloads, placed))
            self.workloads.node.add_dependency(*paths, *self.joins.values())
        # Each manifest folder's objects: one Custom::KarmadaObjects of their own (named by the folder's path, so that
        # reordering the config's workloads replaces nothing), namespaces first, then the policies, then the resource
        # templates they select (karmada_folder.apply_order; the delete goes in reverse). After the typed workloads'
        # objects (a folder may use their namespaces), deleted before them.
        self.folders = {}
        for folder in config.manifest_folders:
            ident = folder_ident(folder.path)
            objects = joiner.objects(f"Manifests-{ident}", host=host, owner=folder_owner(config.env_name, folder.path),
                                     objects=karmada_folder.apply_order(obj for _, obj in folder.objects))
            objects.node.add_dependency(*paths, *self.joins.values(), *([self.workloads] if self.workloads else []))
            self.folders[folder.path] = objects


class WorkloadsStack(Stack):
    """Typed workloads beyond what the federation stack holds (`workloads-<n>`, in the host's region): the namespaces
    of federation_layout.workload_stacks(config)[n], through the federation stack's `workload_target` (its Provider,
    the host's kubectl handler; created after every join, deleted before any unjoin). The construct's id is the
    federation stack's, "Workloads", so a workload has the same logical id in either stack. Attribute: `workloads`.
    With engine karmada: one Custom::KarmadaObjects of those namespaces' objects, served by the federation stack's
    Karmada join provider, owned by `<env>-workloads-<n>`."""

    def __init__(self, scope: Construct, id: str, *, config: FederationConfig, federation: FederationStack,
                 index: int, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        here = federation_layout.workload_stacks(config)[index].namespaces
        if config.engine == "karmada":
            placed = tuple((c.name, c.region) for c in config.clusters)
            self.workloads = federation.karmada_joiner.objects(
                "Workloads", host=federation.karmada_host, owner=f"{config.env_name}-workloads-{index}",
                objects=karmada_objects([w for w in config.workloads if w.namespace in here], placed), scope=self)
            self.add_stack_dependency(federation)
            return
        self.workloads = FederatedWorkloads(self, "Workloads", FederatedWorkloadsProps(
            target=federation.workload_target, workloads=tuple(w for w in config.workloads if w.namespace in here),
            folders=(), reserved_namespaces=(config.kubefed.namespace,)))
        self.add_stack_dependency(federation)
