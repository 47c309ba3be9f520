"""The rehearsal's Kubernetes side for KubeFed: the packaged join Lambda served through the Provider framework in
virtual time (rehearsal/kubernetes/lambdas.py), and the emulated KubeFed controller's propagation and scheduling
(rehearsal/kubernetes/kubefed_controller.py), against emulated API servers."""
from __future__ import annotations

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
from rehearsal.kubernetes import kubefed_controller, lambdas
from rehearsal.kubernetes.apiserver import EmulatorLoop, make_test_ca

NS = "kube-federation-system"
PREFIX = "fedeks-test-"
JOIN_TIMEOUT_MINUTES = 5


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("tls"))


class Clusters:
    """lambdas.Servers over an EmulatorLoop: each emulated cluster named by its EKS name."""

    def __init__(self, loop: EmulatorLoop) -> None:
        self.loop = loop
        self.rounds = 0

    def resolve(self, hostname: str):
        for handle in self.loop.handles:
            if handle.hostname.lower() == hostname.lower():
                return handle.name, ("127.0.0.1", handle.port)
        return None

    def controllers_round(self, clock: world.Clock) -> None:
        self.rounds += 1
        self.loop.settle()
        for handle in self.loop.handles:
            if handle.kubefed is not None:
                kubefed_controller.run_round(handle, lambdas.wall_seconds(clock))


class Network:
    """The network as the CloudFormation side reports it: which (function, cluster) pairs are open now."""

    def __init__(self) -> None:
        self.blocked: set[str] = set()
        self.asked: list[tuple[str, str]] = []

    def reachable(self, source: str, cluster: str) -> bool:
        self.asked.append((source, cluster))
        return cluster not in self.blocked


@pytest.fixture
def loop(ca, monkeypatch):
    emulators = EmulatorLoop(ca)
    monkeypatch.setattr(socket, "getaddrinfo", emulators.dns.resolver(socket.getaddrinfo))
    yield emulators
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
    host = loop.start(PREFIX + "fed-1", "us-east-1", kubefed_controller=True)
    host.kubefed.paused = True
    install_kubefed(host)
    member = loop.start(PREFIX + "fed-2", "us-east-2")
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
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=JOIN_TIMEOUT_MINUTES))
    h, m = (JoinTarget(name=n, eks_cluster_name=PREFIX + n, region=REGIONS[n], ca_data=ca.ca_data,
                       endpoint=f"https://{PLACEHOLDER_IDS[n]}.gr7.{REGIONS[n]}.eks.amazonaws.com")
            for n in ("fed-1", "fed-2"))
    provider.join("JoinFed2", member=m, host=h, namespace=NS, scope="Cluster", labels={"region": m.region})
    provider.teardown("Teardown", host=h, namespace=NS)
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
    """A cluster missing from the function's environment is refused by the packaged code, whatever this process's
    environment says (the allowed clusters come from the function's own variables)."""
    monkeypatch.setenv(contract.CLUSTERS_ENV, "us-east-1=anything:0")
    call = deployed["provider"]
    narrowed = world.LambdaFunction(**{**call.on_event.__dict__, "environment": {
        **call.on_event.environment, contract.CLUSTERS_ENV: call.on_event.environment[contract.CLUSTERS_ENV]
        .replace("fed-2:", "fed-9:")}})
    provider = world.ProviderCall(narrowed, call.is_complete, call.query_interval_seconds, call.total_timeout_seconds)
    with pytest.raises(world.RehearsalFailure, match=r"Custom::KubefedJoin \w*JoinFed2\w* Create FAILED: member 'fed-2' is not a cluster "):
        lambdas.serve(request(deployed, contract.JOIN_TYPE, "Create", provider=provider), world.Clock(), Network(),
                      Clusters(loop))
    assert lambdas.packaged_handler(call.on_event).__module__ == "components.kubefed_join.runtime.handler"
    assert Path(lambdas.packaged_handler(call.on_event).__code__.co_filename).is_relative_to(call.on_event.asset_dir)


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
