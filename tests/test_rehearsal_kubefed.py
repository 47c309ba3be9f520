"""The rehearsal's Kubernetes side for KubeFed: the packaged join Lambda served through the Provider framework in
virtual time (rehearsal/kubernetes/lambdas.py), and the emulated KubeFed controller's propagation and scheduling
(rehearsal/kubernetes/kubefed_controller.py), against emulated API servers."""
from __future__ import annotations

import base64
import json
import re
import socket
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2, aws_iam as iam

from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import (HANDLERS, KubefedJoinProvider, KubefedJoinProviderProps,
                                                  JoinTarget)
from fedtest import CONTEXT, scratch_dir
from rehearsal import world
from rehearsal.eks_api import EksCluster
from rehearsal.kubernetes import kubefed_controller, lambdas
from rehearsal.kubernetes.apiserver import EmulatorLoop, make_test_ca

NS = "kube-federation-system"
PREFIX = "fedeks-test-"
ENVIRONMENT = "test"
JOIN_TIMEOUT_MINUTES = 5


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("tls"))


class Clusters:
    """lambdas.Servers over an EmulatorLoop whose clusters (started without background controllers) are named by
    their EKS names."""

    def __init__(self, loop: EmulatorLoop) -> None:
        self.loop = loop
        self.rounds = 0

    def resolve(self, hostname: str):
        for handle in self.loop.handles:
            if handle.hostname.lower() == hostname.lower():
                return handle.name, ("127.0.0.1", handle.port)
        return None

    def controllers_round(self, clock: world.Clock) -> None:
        """Each cluster's own controllers, then each host's KubeFed controller, one round in virtual time."""
        self.rounds += 1
        for handle in self.loop.handles:
            self.loop.round(handle, clock.now)
        for handle in self.loop.handles:
            if handle.kubefed is not None:
                kubefed_controller.run_round(handle, lambdas.wall_seconds(clock))


class Network:
    """The network as the CloudFormation side reports it: which (function, cluster) pairs are open now; and EKS's
    DescribeCluster of the emulated clusters (their EKS names, endpoints and the test CA)."""

    def __init__(self) -> None:
        self.blocked: set[str] = set()
        self.asked: list[tuple[str, str]] = []
        self.eks_api_blocked: str | None = None

    def reachable(self, source: str, cluster: str) -> bool:
        self.asked.append((source, cluster))
        return cluster not in self.blocked

    def eks_api_why_not(self, source: str) -> str | None:
        return self.eks_api_blocked

    def describe_cluster(self, region: str, name: str) -> EksCluster | None:
        handle = next((h for h in _LOOPS[-1].handles if h.name == name and h.region == region), None) if _LOOPS else None
        return None if handle is None else EksCluster(name, region, handle.endpoint, _LOOPS[-1].ca.ca_data,
                                                      tags={contract.ENVIRONMENT_TAG: ENVIRONMENT})


_LOOPS: list[EmulatorLoop] = []  # the test's emulated clusters, which Network describes


@pytest.fixture
def loop(ca, monkeypatch):
    emulators = EmulatorLoop(ca)
    monkeypatch.setattr(socket, "getaddrinfo", emulators.dns.resolver(socket.getaddrinfo))
    _LOOPS.append(emulators)
    yield emulators
    _LOOPS.remove(emulators)
    emulators.close()


def install_kubefed(host) -> None:
    host.put("namespaces", "", "v1", None, NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    host.put("kubefedconfigs", "core.kubefed.io", "v1beta1", NS, "kubefed",
             {"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
              "metadata": {"name": "kubefed", "namespace": NS}, "spec": {"scope": "Cluster"}})


@pytest.fixture
def fleet(loop):
    """The host (KubeFed's control plane, its controller paused: only controllers_round runs it, in virtual time)
    and one member, each named by its EKS name."""
    host = loop.start(PREFIX + "fed-1", "us-east-1", kubefed_controller=True, background=False)
    host.kubefed.paused = True
    install_kubefed(host)
    member = loop.start(PREFIX + "fed-2", "us-east-2", background=False)
    return host, member


# Where the clusters are at synth time; CloudFormation fills in the deployed endpoints' ids (`deployed`).
PLACEHOLDER_IDS = {"fed-1": "1" * 32, "fed-2": "2" * 32}
REGIONS = {"fed-1": "us-east-1", "fed-2": "us-east-2"}


@pytest.fixture(scope="module")
def template(ca) -> tuple[dict, Path]:
    """The join construct synthesized once for the host fed-1 and the member fed-2."""
    app = cdk.App(outdir=scratch_dir("rehearsal-kubefed-"), context=CONTEXT)
    stack = cdk.Stack(app, "Federation", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join")
    provider = KubefedJoinProvider(stack, "KubefedJoin", KubefedJoinProviderProps(
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=JOIN_TIMEOUT_MINUTES,
        eks_name_prefix=PREFIX, environment=ENVIRONMENT))
    h, m = (JoinTarget(name=n, eks_cluster_name=PREFIX + n, region=REGIONS[n], ca_data=ca.ca_data,
                       endpoint=f"https://{PLACEHOLDER_IDS[n]}.gr7.{REGIONS[n]}.eks.amazonaws.com")
            for n in ("fed-1", "fed-2"))
    provider.join("JoinFed2", member=m, host=h, namespace=NS, scope="Cluster", labels={"region": m.region})
    provider.teardown("Teardown", host=h, namespace=NS, members=["fed-1", "fed-2"])
    assembly = app.synth()
    return json.loads(Path(assembly.directory, "Federation.template.json").read_text()), Path(assembly.directory)


def synthesized(template: tuple[dict, Path], servers: dict) -> dict:
    """The template as deployed for `servers` (name -> emulated cluster): the functions as AWS runs them, the
    Provider's polling, and the custom resources' properties."""
    text = json.dumps(template[0])
    for name, server in servers.items():
        text = text.replace(PLACEHOLDER_IDS[name], server.hostname.split(".")[0])
    resources_, assembly = json.loads(text)["Resources"], template[1]
    functions = {}
    for logical_id, res in resources_.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Lambda::Function" and props.get("Handler") in HANDLERS.values():
            asset = assembly / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
            functions[props["Handler"]] = world.LambdaFunction(
                stack="Federation", logical_id=logical_id, asset_dir=asset, handler=props["Handler"],
                environment=props["Environment"]["Variables"], timeout_seconds=props["Timeout"])
    machine = next(r for r in resources_.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    interval = int(re.search(r'IntervalSeconds\\":(\d+)', definition)[1])
    attempts = int(re.search(r'MaxAttempts\\":(\d+)', definition)[1])
    call = world.ProviderCall(on_event=functions[HANDLERS["OnEvent"]], is_complete=functions[HANDLERS["IsComplete"]],
                              query_interval_seconds=interval, total_timeout_seconds=interval * attempts)
    token = "arn:aws:lambda:us-east-1:123456789012:function:Federation-framework-onEvent"
    customs = {logical_id: {**res["Properties"], "ServiceToken": token}
               for logical_id, res in resources_.items() if res["Type"].startswith("Custom::")}
    return {"provider": call, "resources": customs, "types": {k: resources_[k]["Type"] for k in customs}}


def request(deployed: dict, kind: str, request_type: str, physical_id: str | None = None,
            provider: world.ProviderCall | None = None) -> world.CustomResourceRequest:
    logical_id = next(k for k, t in deployed["types"].items() if t == kind)
    return world.CustomResourceRequest(request_type=request_type, stack="Federation", logical_id=logical_id,
                                       resource_type=kind, properties=deployed["resources"][logical_id],
                                       provider=provider or deployed["provider"], physical_id=physical_id)


@pytest.fixture
def deployed(fleet, template):
    host, member = fleet
    return synthesized(template, {"fed-1": host, "fed-2": member})


def test_the_packaged_join_lambda_joins_and_unjoins_a_member_in_virtual_time(fleet, deployed, loop):
    host, member = fleet
    clock, network, clusters = world.Clock(), Network(), Clusters(loop)
    created = lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create"), clock, network, clusters)
    assert created.physical_id == f"kubefed-join/{NS}/fed-1/fed-2"
    assert created.data[contract.KUBEFED_CLUSTER_ATTRIBUTE] == "fed-2"
    cluster = host.find("kubefedclusters", NS, "fed-2")
    assert cluster["spec"]["apiEndpoint"] == member.endpoint.lower()
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in cluster["status"]["conditions"])
    assert member.find("serviceaccounts", NS, "fed-2-fed-1") is not None
    # Virtual time: polls every Provider interval, each one a controllers' round; no wall-clock wait.
    interval = deployed["provider"].query_interval_seconds
    assert clusters.rounds >= 1 and clock.now == pytest.approx(clusters.rounds * interval, abs=interval)
    # Every connection asked the network, for the function that made it.
    assert {(deployed["provider"].is_complete.source, host.name),
            (deployed["provider"].is_complete.source, member.name)} <= set(network.asked)

    lambdas.serve(request(deployed, contract.JOIN_TYPE, "Delete", physical_id=created.physical_id), clock, network,
                  clusters)
    assert host.names("kubefedclusters") == [] and host.names("secrets") == []
    assert member.find("serviceaccounts", NS, "fed-2-fed-1") is None
    assert member.find("clusterrolebindings", None, "kubefed-controller-manager:fed-2-fed-1") is None


def test_the_lambda_runs_the_asset_with_exactly_the_functions_environment(fleet, deployed, loop, monkeypatch):
    """The packaged code (imported from the asset, not this repository) sees the function's variables and nothing
    of this process's: a variable missing from the function is missing, even when this process has it."""
    call = deployed["provider"]
    monkeypatch.setenv(contract.EKS_NAME_PREFIX_ENV, call.on_event.environment[contract.EKS_NAME_PREFIX_ENV])

    def provider_with(environment: dict) -> world.ProviderCall:
        function = world.LambdaFunction(**{**call.on_event.__dict__, "environment": environment})
        return world.ProviderCall(function, call.is_complete, call.query_interval_seconds, call.total_timeout_seconds)

    other = {**call.on_event.environment, contract.EKS_NAME_PREFIX_ENV: "fedeks-prod-"}
    with pytest.raises(world.RehearsalFailure, match=r"Custom::KubefedJoin \w*JoinFed2\w* Create FAILED: member "
                       r"'fed-2': EksClusterName 'fedeks-test-fed-2' is not 'fedeks-prod-fed-2'"):
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create", provider=provider_with(other)),
                      world.Clock(), Network(), Clusters(loop))
    without_prefix = {k: v for k, v in call.on_event.environment.items() if k != contract.EKS_NAME_PREFIX_ENV}
    with pytest.raises(world.RehearsalFailure, match=f"{contract.EKS_NAME_PREFIX_ENV} environment variable is "
                       "missing"):
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create", provider=provider_with(without_prefix)),
                      world.Clock(), Network(), Clusters(loop))
    handler = lambdas.packaged_handler(call.on_event)
    assert handler.__module__ == "components.kubefed_join.runtime.handler"
    assert Path(handler.__code__.co_filename).is_relative_to(call.on_event.asset_dir)


def test_an_unreachable_member_fails_the_join_in_virtual_time_with_a_connect_timeout(fleet, deployed, loop):
    host, member = fleet
    clock, network = world.Clock(), Network()
    network.blocked.add(member.name)
    with pytest.raises(world.RehearsalFailure) as failure:
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create"), clock, network, Clusters(loop))
    message = str(failure.value)
    assert "did not join KubeFed within" in message and "ConnectTimeoutError" in message, message
    assert clock.now >= JOIN_TIMEOUT_MINUTES * 60  # the handler's own deadline, passed in virtual time
    assert member.emulator.eks_token_requests == 0  # nothing reached the member
    assert "k8s-aws-v1." not in message and "Bearer" not in message


def test_a_function_without_a_path_to_the_eks_api_fails_the_join_naming_it_and_signs_no_token(fleet, deployed, loop):
    """The function asks EKS (DescribeCluster, through botocore, to the rehearsal's EKS API) before it presigns a
    token: with no path there (no NAT route, no egress rule) it waits until its deadline and says why."""
    host, member = fleet
    clock, network = world.Clock(), Network()
    network.eks_api_blocked = "no route to a NAT gateway"
    with pytest.raises(world.RehearsalFailure) as failure:
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create"), clock, network, Clusters(loop))
    message = str(failure.value)
    assert "did not join KubeFed within" in message and "EKS API not reachable" in message, message
    assert "the EKS API (no route to a NAT gateway)" in message, message
    assert member.emulator.eks_token_requests == 0 and host.emulator.eks_token_requests == 0


def test_a_cluster_eks_describes_differently_is_refused_in_the_rehearsal(fleet, deployed, loop):
    host, member = fleet
    network = Network()
    network.describe_cluster = lambda region, name: EksCluster(name, region, "https://elsewhere.example", "x",
                                                               tags={contract.ENVIRONMENT_TAG: ENVIRONMENT})
    with pytest.raises(world.RehearsalFailure, match=r"refused: member 'fed-2': Endpoint and CaData differ from what "
                       r"EKS describes for fedeks-test-fed-2 in us-east-2"):
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create"), world.Clock(), network, Clusters(loop))
    assert member.emulator.eks_token_requests == 0


def test_the_providers_total_timeout_fails_with_operation_timed_out(fleet, deployed, loop):
    """A Provider whose total timeout ends before the handler's deadline: its waiter gives up first."""
    host, member = fleet
    clock, network = world.Clock(), Network()
    network.blocked.add(member.name)
    call = deployed["provider"]
    short = world.ProviderCall(call.on_event, call.is_complete, query_interval_seconds=20, total_timeout_seconds=60)
    with pytest.raises(world.RehearsalFailure, match="FAILED: Operation timed out") as failure:
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create", provider=short), clock, network,
                      Clusters(loop))
    assert 60 <= clock.now < 60 + 4 * call.is_complete.timeout_seconds
    assert "not reachable" in str(failure.value)  # the function's last log lines say what it waited for


# --- the KubeFed controller: type configs, propagation, scheduling -------------------------------------------------

from components.kubefed_crds import type_config  # noqa: E402
from components.workload_waiter.runtime.workload_state import scheduled_replicas  # noqa: E402
from federated_eks.model.federation import DEFAULT_FEDERATED_TYPES  # noqa: E402

TYPES = {t.name: t for t in DEFAULT_FEDERATED_TYPES}
FED = ("types.kubefed.io", "v1beta1")


def enable(host, *names: str) -> None:
    """Type configs as the control plane's Helm release makes them (the teardown releases only those)."""
    for name in names:
        config = type_config(TYPES[name], NS)
        config["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
        config["metadata"].setdefault("annotations", {})["meta.helm.sh/release-namespace"] = NS
        host.put("federatedtypeconfigs", "core.kubefed.io", "v1beta1", NS, name, config)


def join_directly(host, member, ca, labels: dict | None = None, token: str | None = None) -> str:
    """What a join leaves on the host: the KubeFedCluster and the secret with a token the member issued."""
    name = member.name.removeprefix(PREFIX)
    issued = token or f"sa-{name}-token"
    if token is None:
        member.run(lambda: member.emulator.issued_tokens.add(issued))
    host.put("secrets", "", "v1", NS, f"{name}-secret", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-secret", "namespace": NS},
        "data": {"token": base64.b64encode(issued.encode()).decode()}})
    host.put("kubefedclusters", "core.kubefed.io", "v1beta1", NS, name, {
        "apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "spec": {"apiEndpoint": member.endpoint.lower(), "caBundle": ca.ca_data,
                 "secretRef": {"name": f"{name}-secret"}}})
    return name


def federated(host, kind: str, plural: str, namespace: str, name: str, spec: dict) -> None:
    host.put(plural, *FED, namespace, name, {"apiVersion": "/".join(FED), "kind": kind,
                                            "metadata": {"name": name, "namespace": namespace, "generation": 1},
                                            "spec": spec})


def deployment_template(replicas=1, image="public.ecr.aws/nginx/nginx:1.27") -> dict:
    return {"metadata": {"labels": {"app": "echo"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "echo"}},
                     "template": {"metadata": {"labels": {"app": "echo"}},
                                  "spec": {"containers": [{"name": "echo", "image": image}]}}}}


def make_federation(loop, ca, kubernetes_version: str | None = "1.35"):
    """A host with KubeFed installed (its controller run by `rounds`) and two members (strict, as EKS 1.35's API
    servers are, unless `kubernetes_version` is None), joined."""
    host = loop.start(PREFIX + "fed-1", "us-east-1", kubefed_controller=True, background=False)
    host.kubefed.paused = True
    install_kubefed(host)
    host.put("namespaces", "", "v1", None, "echo", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "echo"}})
    members = [loop.start(PREFIX + name, region, kubernetes_version=kubernetes_version, background=False)
               for name, region in (("fed-2", "us-east-2"), ("fed-3", "us-west-2"))]
    for member in members:
        join_directly(host, member, ca, labels={"region": member.region})
    return host, members


@pytest.fixture
def federation(loop, ca):
    return make_federation(loop, ca)


def rounds(host, count: int = 3, clock: world.Clock | None = None) -> None:
    clock = clock or world.Clock()
    for _ in range(count):
        clock.advance(20)
        kubefed_controller.run_round(host, lambdas.wall_seconds(clock))


def status_of(host, plural: str, namespace: str, name: str) -> dict:
    return (host.find(plural, namespace, name) or {}).get("status") or {}


def test_propagation_applies_template_placement_and_overrides_and_reports_a_refused_template(federation):
    host, (fed2, fed3) = federation
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusters": [{"name": "fed-2"}, {"name": "fed-3"}]}})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "good", {
        "template": deployment_template(), "placement": {"clusterSelector": {"matchLabels": {}}},
        "overrides": [{"clusterName": "fed-3", "clusterOverrides": [{"path": "/spec/replicas", "value": 3}]}]})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "bad", {
        "template": deployment_template(replicas="three"), "placement": {"clusters": [{"name": "fed-2"}]}})
    rounds(host)

    assert fed2.find("namespaces", None, "echo")["metadata"]["labels"]["kubefed.io/managed"] == "true"
    good2, good3 = fed2.find("deployments", "echo", "good"), fed3.find("deployments", "echo", "good")
    assert good2["spec"]["replicas"] == 1 and good3["spec"]["replicas"] == 3
    assert good2["metadata"]["labels"]["kubefed.io/managed"] == "true"
    good = status_of(host, "federateddeployments", "echo", "good")
    assert good["clusters"] == [{"name": "fed-2"}, {"name": "fed-3"}]
    assert [(c["type"], c["status"]) for c in good["conditions"]] == [("Propagation", "True")]

    # The member refuses the invalid template; KubeFed says so in the status and in a Warning Event.
    assert fed2.find("deployments", "echo", "bad") is None
    bad = status_of(host, "federateddeployments", "echo", "bad")
    assert bad["clusters"] == [{"name": "fed-2", "status": "CreationFailed"}]
    assert [(c["type"], c["status"], c.get("reason")) for c in bad["conditions"]] == [
        ("Propagation", "False", "CheckClusters")]
    events = [host.find("events", "echo", n) for _, n in host.names("events")]
    refused = [e for e in events if e["reason"] == "CreateInClusterFailed" and e["involvedObject"]["name"] == "bad"]
    assert refused and 'Failed to create Deployment "echo/bad" in cluster "fed-2"' in refused[0]["message"]
    assert "replicas" in refused[0]["message"], refused[0]["message"]

    # A changed override updates the member's copy; the others stay as they are.
    override = {"clusterName": "fed-3", "clusterOverrides": [{"path": "/spec/replicas", "value": 4}]}
    host.run(lambda: next(o for k, o in host.emulator.objects.items() if k[2] == "good" and not o.deleted).patch(
        {"spec": {"overrides": [override]}, "metadata": {"generation": 2}}))
    rounds(host, 1)
    assert fed3.find("deployments", "echo", "good")["spec"]["replicas"] == 4
    assert fed2.find("deployments", "echo", "good")["spec"]["replicas"] == 1
    assert status_of(host, "federateddeployments", "echo", "good")["observedGeneration"] == 2


def test_no_sync_controller_for_namespaced_types_without_the_namespaces_type(federation):
    host, (fed2, _) = federation
    enable(host, "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusters": [{"name": "fed-2"}]}})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "good", {
        "template": deployment_template(), "placement": {"clusters": [{"name": "fed-2"}]}})
    rounds(host)
    ftc = host.find("federatedtypeconfigs", NS, "deployments.apps")
    assert ftc["status"]["propagationController"] == "NotRunning"
    assert kubefed_controller.FTC_FINALIZER in ftc["metadata"]["finalizers"]
    assert fed2.find("namespaces", None, "echo") is None and fed2.find("deployments", "echo", "good") is None
    assert status_of(host, "federateddeployments", "echo", "good") == {}

    enable(host, "namespaces")  # kubefedctl enable namespaces: the deployments' sync controller starts
    rounds(host)
    assert host.find("federatedtypeconfigs", NS, "deployments.apps")["status"]["propagationController"] == "Running"
    assert fed2.find("deployments", "echo", "good") is not None


def test_a_namespaced_object_goes_only_where_its_namespace_is_placed(federation):
    host, (fed2, fed3) = federation
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "good", {
        "template": deployment_template(), "placement": {"clusters": [{"name": "fed-2"}, {"name": "fed-3"}]}})
    rounds(host)
    assert fed2.find("deployments", "echo", "good") is None
    reason = status_of(host, "federateddeployments", "echo", "good")["conditions"][0]["reason"]
    assert reason == "NamespaceNotFederated"
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusters": [{"name": "fed-3"}]}})
    rounds(host)
    assert fed2.find("deployments", "echo", "good") is None and fed3.find("deployments", "echo", "good") is not None


def test_deleting_a_federated_object_removes_its_member_copies_behind_the_sync_finalizer(federation):
    host, (fed2, fed3) = federation
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusterSelector": {}}})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "good", {
        "template": deployment_template(), "placement": {"clusterSelector": {}}})
    rounds(host)
    fed = host.find("federateddeployments", "echo", "good")
    assert fed["metadata"]["finalizers"] == ["kubefed.io/sync-controller"]
    assert fed2.find("deployments", "echo", "good") is not None and fed3.find("deployments", "echo", "good")
    # A delete of an object with a finalizer: the API server only marks it.
    host.run(lambda: next(o for k, o in host.emulator.objects.items() if k[0].plural == "federateddeployments")
             .patch({"metadata": {"deletionTimestamp": "2026-01-01T00:10:00Z"}}))
    rounds(host)
    assert fed2.find("deployments", "echo", "good") is None and fed3.find("deployments", "echo", "good") is None
    assert host.find("federateddeployments", "echo", "good") is None


def test_replica_scheduling_over_ready_clusters_by_weight_and_bounds(loop, ca, federation):
    host, (fed2, fed3) = federation
    offline = loop.start(PREFIX + "fed-4", "eu-west-1", background=False)
    join_directly(host, offline, ca, token="never-issued")  # its token is refused: not Ready
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusterSelector": {}}})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "web", {
        "template": deployment_template(), "placement": {"clusterSelector": {}}})
    host.put("replicaschedulingpreferences", "scheduling.kubefed.io", "v1alpha1", "echo", "web", {
        "apiVersion": "scheduling.kubefed.io/v1alpha1", "kind": "ReplicaSchedulingPreference",
        "metadata": {"name": "web", "namespace": "echo"},
        "spec": {"targetKind": "FederatedDeployment", "totalReplicas": 5,
                 "clusters": {"fed-2": {"weight": 2, "maxReplicas": 2}, "*": {"weight": 1}}}})
    rounds(host)
    fed = host.find("federateddeployments", "echo", "web")
    # What the waiter reads (workload_state.scheduled_replicas): fed-2 capped at 2, the rest on fed-3, none on
    # the cluster that is not Ready.
    assert scheduled_replicas(fed) == {"fed-2": 2, "fed-3": 3}
    assert fed2.find("deployments", "echo", "web")["spec"]["replicas"] == 2
    assert fed3.find("deployments", "echo", "web")["spec"]["replicas"] == 3
    assert offline.find("deployments", "echo", "web") is None
    rounds(host, 2)  # a plan that holds is not written again
    assert host.find("federateddeployments", "echo", "web")["metadata"]["generation"] == fed["metadata"]["generation"]


def test_the_planner_follows_kubefed_weights_minimums_and_current_replicas():
    plan = kubefed_controller.plan_replicas
    assert plan({"totalReplicas": 5, "clusters": {"a": {"weight": 2}, "b": {"weight": 1}}}, ["a", "b"], {},
                "ns/x") == {"a": 4, "b": 1}
    assert plan({"totalReplicas": 6}, ["a", "b", "c"], {}, "ns/x") == {"a": 2, "b": 2, "c": 2}
    assert plan({"totalReplicas": 4, "clusters": {"a": {"weight": 2, "minReplicas": 3}, "b": {"weight": 1}}},
                ["a", "b"], {}, "ns/x") == {"a": 4, "b": 0}
    assert plan({"totalReplicas": 4, "clusters": {"a": {"weight": 1}, "b": {"weight": 9, "maxReplicas": 1}}},
                ["a", "b"], {}, "ns/x") == {"a": 3, "b": 1}
    assert plan({"totalReplicas": 3, "clusters": {"a": {"weight": 1}}}, ["a", "b"], {}, "ns/x") == {"a": 3, "b": 0}
    # Without rebalance, what a cluster already runs stays there (up to the total).
    assert plan({"totalReplicas": 4, "clusters": {"*": {"weight": 1}}}, ["a", "b"], {"a": 4}, "ns/x") == {
        "a": 4, "b": 0}
    assert plan({"totalReplicas": 4, "rebalance": True, "clusters": {"*": {"weight": 1}}}, ["a", "b"], {"a": 4},
                "ns/x") == {"a": 2, "b": 2}


class Federation(Clusters):
    """Clusters, plus what KubeFed reports (the optional lambdas.Servers.diagnosis)."""

    def diagnosis(self) -> list[str]:
        return [line for h in self.loop.handles if h.kubefed is not None
                for line in h.run(lambda h=h: kubefed_controller.propagation_problems(h))]


def test_a_workload_whose_template_the_member_refuses_fails_the_waiter_naming_kubefeds_report(loop, ca, template):
    host = loop.start(PREFIX + "fed-1", "us-east-1", kubefed_controller=True, background=False)
    host.kubefed.paused = True
    install_kubefed(host)
    host.put("namespaces", "", "v1", None, "echo", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": "echo"}})
    member = loop.start(PREFIX + "fed-2", "us-east-2", kubernetes_version="1.35", background=False)
    join_directly(host, member, ca)
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo",
              {"placement": {"clusters": [{"name": "fed-2"}]}})
    broken = deployment_template()
    del broken["spec"]["template"]["spec"]["containers"][0]["image"]  # a container without an image
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "web",
              {"template": broken, "placement": {"clusters": [{"name": "fed-2"}]}})
    deployed = synthesized(template, {"fed-1": host, "fed-2": member})
    join = next(p for k, p in deployed["resources"].items() if deployed["types"][k] == contract.JOIN_TYPE)
    properties = {"ServiceToken": join["ServiceToken"], "Host": join[contract.HOST], "TimeoutSeconds": "60",
                  "Workload": {"Namespace": "echo", "Name": "web", "LoadBalanced": "false", "TotalReplicas": "",
                               "Objects": [{"ApiVersion": "types.kubefed.io/v1beta1", "Kind": "FederatedDeployment"}]},
                  "Clusters": [{**join[contract.MEMBER], "Replicas": "1"}]}
    from components.workload_waiter.contract import WORKLOAD_TYPE
    # (served by the join's Provider here: it passes a waiter's request to the waiter's code, packaged with it)
    waiter = world.CustomResourceRequest("Create", "Federation", "ReadyWeb", WORKLOAD_TYPE, properties,
                                         deployed["provider"])
    clock = world.Clock()
    with pytest.raises(world.RehearsalFailure) as failure:
        lambdas.serve(waiter, clock, Network(), Federation(loop))
    message = str(failure.value)
    assert "Deployment echo/web not propagated yet" in message, message
    assert "KubeFed reports:" in message and "FederatedDeployment echo/web: not propagated (CheckClusters: fed-2 " \
        "CreationFailed)" in message, message
    assert 'Failed to create Deployment "echo/web" in cluster "fed-2"' in message and "image" in message, message
    assert 60 <= clock.now < 60 + 3 * deployed["provider"].query_interval_seconds


def test_an_unjoin_whose_network_path_is_gone_stops_the_rehearsal_naming_what_is_left_and_why(fleet, deployed, loop):
    """The destroy of issue 15: the ingress rule to the host's API deleted before the join. The handler gives up
    after its unjoin deadline (CloudFormation records DELETE_COMPLETE), leaving the KubeFedCluster on the host."""
    host, member = fleet
    clock, network, clusters = world.Clock(), Network(), Clusters(loop)
    created = lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create"), clock, network, clusters)
    network.blocked.add(host.name)
    started = clock.now
    with pytest.raises(world.RehearsalFailure) as failure:
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Delete", physical_id=created.physical_id), clock,
                      network, clusters)
    message = str(failure.value)
    assert "Delete COMPLETE for CloudFormation, but not done: left behind: " in message, message
    assert "KubeFedCluster fed-2: API server not reachable (ConnectTimeoutError)" in message, message
    assert f"No network path from {deployed['provider'].is_complete.source} to the API server of: {host.name}" \
        in message, message
    assert "depend on the security-group rule" in failure.value.fix
    # the handler's unjoin deadline (contract.Deadlines, from the resource's TimeoutSeconds), in virtual time
    props = request(deployed, contract.JOIN_TYPE, "Delete").properties
    deadline = contract.Deadlines(int(props.get(contract.TIMEOUT_SECONDS, contract.DEFAULT_TIMEOUT_SECONDS))).unjoin
    assert clock.now - started >= deadline
    assert host.find("kubefedclusters", NS, "fed-2") is not None


def test_a_namespace_scoped_control_plane_propagates_its_own_namespace_only_and_no_cluster_scoped_type(federation):
    host, (fed2, _) = federation
    host.put("kubefedconfigs", "core.kubefed.io", "v1beta1", NS, "kubefed",
             {"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedConfig",
              "metadata": {"name": "kubefed", "namespace": NS}, "spec": {"scope": "Namespaced"}})
    enable(host, "namespaces", "deployments.apps", "clusterroles.rbac.authorization.k8s.io")
    fed2.put("namespaces", "", "v1", None, NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for namespace in (NS, "echo"):  # no FederatedNamespace: the KubeFed namespace is implicitly federated
        federated(host, "FederatedDeployment", "federateddeployments", namespace, "web", {
            "template": deployment_template(), "placement": {"clusters": [{"name": "fed-2"}]}})
    rounds(host)
    status = {n: host.find("federatedtypeconfigs", NS, n)["status"]["propagationController"]
              for n in ("namespaces", "deployments.apps", "clusterroles.rbac.authorization.k8s.io")}
    assert status == {"namespaces": "NotRunning", "deployments.apps": "Running",
                      "clusterroles.rbac.authorization.k8s.io": "NotRunning"}
    assert fed2.find("deployments", NS, "web") is not None
    assert fed2.find("deployments", "echo", "web") is None


def test_the_teardown_releases_every_type_config_through_the_running_controller(fleet, deployed, loop):
    host, _ = fleet
    enable(host, "namespaces", "deployments.apps")
    clock, clusters = world.Clock(), Clusters(loop)
    clusters.controllers_round(clock)  # the controller puts its finalizer on each type config
    assert all(kubefed_controller.FTC_FINALIZER in host.find("federatedtypeconfigs", NS, n)["metadata"]["finalizers"]
               for n in ("namespaces", "deployments.apps"))
    created = lambdas.serve(request(deployed, contract.TEARDOWN_TYPE, "Create"), clock, Network(), clusters)
    lambdas.serve(request(deployed, contract.TEARDOWN_TYPE, "Delete", physical_id=created.physical_id), clock,
                  Network(), clusters)
    assert host.names("federatedtypeconfigs") == []
    # Released by the controller within a poll or two, not forced after the handler's release deadline.
    assert clock.now < 5 * deployed["provider"].query_interval_seconds


def test_overrides_are_json_patch_operations_and_a_bad_one_is_reported_for_its_cluster(federation):
    apply = kubefed_controller.apply_overrides
    obj = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a"}]}}}}
    assert apply(obj, [{"path": "/spec/replicas", "value": 3},
                       {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"image": "b"}},
                       {"op": "remove", "path": "/spec/template/spec/containers/0"}]) == {
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"image": "b"}]}}}}
    host, (fed2, fed3) = federation
    enable(host, "namespaces", "deployments.apps")
    federated(host, "FederatedNamespace", "federatednamespaces", "echo", "echo", {"placement": {"clusterSelector": {}}})
    federated(host, "FederatedDeployment", "federateddeployments", "echo", "web", {
        "template": deployment_template(), "placement": {"clusterSelector": {}},
        "overrides": [{"clusterName": "fed-3", "clusterOverrides": [{"path": "/spec/nothing/here", "value": 1}]}]})
    rounds(host)
    assert fed2.find("deployments", "echo", "web") is not None and fed3.find("deployments", "echo", "web") is None
    status = status_of(host, "federateddeployments", "echo", "web")
    assert status["clusters"] == [{"name": "fed-2"}, {"name": "fed-3", "status": "ApplyOverridesFailed"}]


# --- the Provider framework's rules, with a small packaged handler --------------------------------------------------

FAKE_HANDLER = '''
import time


def on_event(event, context=None):
    if event["ResourceProperties"].get("FailOnEvent"):
        raise ValueError("refused by onEvent")
    return {"PhysicalResourceId": "fake-1"} if event["RequestType"] == "Create" else {}


def is_complete(event, context=None):
    props = event["ResourceProperties"]
    if props.get("Sleep"):
        time.sleep(float(props["Sleep"]))
    if props.get("DataWhileWaiting"):
        return {"IsComplete": False, "Data": {"x": "y"}}
    return {"IsComplete": True, "Data": {"Big": "x" * int(props.get("DataBytes", 0))}}
'''


@pytest.fixture(scope="module")
def fake_provider(tmp_path_factory) -> world.ProviderCall:
    asset = tmp_path_factory.mktemp("asset.fake")
    (asset / "fakefn").mkdir()
    (asset / "fakefn" / "__init__.py").write_text("")
    (asset / "fakefn" / "handler.py").write_text(FAKE_HANDLER)

    def function(name: str) -> world.LambdaFunction:
        return world.LambdaFunction("Fake", name, asset, f"fakefn.handler.{name}", {}, timeout_seconds=120)
    return world.ProviderCall(function("on_event"), function("is_complete"), 10, 60)


class NoServers:
    def resolve(self, hostname: str):
        return None

    def controllers_round(self, clock: world.Clock) -> None:
        pass


def fake(provider: world.ProviderCall, request_type: str = "Create", physical_id: str | None = None, **props):
    return world.CustomResourceRequest(request_type, "Fake", "Thing", "Custom::Thing",
                                       {"ServiceToken": "arn:aws:lambda:eu-west-1:1:function:f", **props}, provider,
                                       physical_id=physical_id)


def test_the_provider_framework_rules(fake_provider):
    serve = lambda request, clock=None: lambdas.serve(request, clock or world.Clock(), Network(), NoServers())  # noqa
    assert serve(fake(fake_provider)).physical_id == "fake-1"
    with pytest.raises(world.RehearsalFailure, match=r"Create FAILED: refused by onEvent"):
        serve(fake(fake_provider, FailOnEvent=True))
    # The Delete CloudFormation sends after a failed Create is answered without calling the handler.
    assert serve(fake(fake_provider, "Delete", lambdas.CREATE_FAILED_MARKER, FailOnEvent=True)).physical_id == \
        lambdas.CREATE_FAILED_MARKER
    with pytest.raises(world.RehearsalFailure, match='"Data" is not allowed if "IsComplete" is "False"'):
        serve(fake(fake_provider, DataWhileWaiting=True))
    with pytest.raises(world.RehearsalFailure, match=r"Response object is too long\. \(\d+ bytes"):
        serve(fake(fake_provider, DataBytes=4000))
    assert serve(fake(fake_provider, DataBytes=3000)).data["Big"] == "x" * 3000
    clock = world.Clock()
    with pytest.raises(world.RehearsalFailure, match=r"Task timed out after 120\.00 seconds"):
        serve(fake(fake_provider, Sleep=121), clock)  # time.sleep in the packaged code passes in virtual time
    assert clock.now == 120  # Lambda stops it at its timeout
