"""Whole rehearsals (`make rehearse`): environments synthesized, then every stack created and deleted in
CloudFormation's order against the emulated EKS API servers, KubeFed's controller and the packaged Lambdas.

The suite's integration test. The environments are built here (fedtest.environment), never read from cdk.json,
and cover: dev-like (two regions, a typed workload with a LoadBalancer Service, a manifest folder), prod-like
(three regions, three NAT gateways, two instance types) in the Namespaced scope, hub peering with Graviton members
and replica scheduling, a custom federated type, and a Graviton-only host.

Deploy-breakers of issue 15 are in today's templates (the AWS Load Balancer Controller's Helm wait as long as the
kubectl Lambda; workload namespaces never created on the host; the join Lambda's ingress rule deleted before the
unjoins). `known_breakers` finds each in the synthesized templates: while one is there, the rehearsal must stop
at it (that stack, that resource); once the app is fixed, the same test expects a clean create and delete. So
each test asserts something before and after the fixes.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fedtest import environment, scratch_dir, synth
from rehearsing import assert_deleted_clean, create_stops, play, rehearsing
from federated_eks.config.reader import ConfigError
from rehearsal.cloudformation import Player, resource_dependencies
from rehearsal.kubernetes import helm, lambdas
from rehearsal.world import RehearsalFailure

# A whole rehearsal takes 10 to 60 s on a free core (most of it the synth and the emulated waits); a machine
# shared by many runs can take several times that.
pytestmark = pytest.mark.timeout(900)

ECHO = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
        "containerPort": 8080, "service": {"type": "LoadBalancer", "port": 80}}
GRAVITON = {"instanceTypes": ["m7g.large"], "minSize": 1, "desiredSize": 2, "maxSize": 3}
PROMETHEUS = {"group": "monitoring.coreos.com", "version": "v1", "kind": "Prometheus", "plural": "prometheuses",
              "scope": "Namespaced", "hasReplicas": True}


def two_regions(**overrides) -> dict:
    return environment(2, **overrides)


ENVIRONMENTS = {
    "dev-like": lambda: two_regions(workloads=[
        {**ECHO, "clusters": {"fed-1": {"replicas": 2}, "fed-2": {"replicas": 3}}},
        {"manifests": "samples/hello-world"}]),
    # Three regions as prod, in the Namespaced scope (which takes no workloads).
    "prod-like-namespaced": lambda: environment(3, natGateways=3, kubefed={"scope": "Namespaced"}, nodeGroup={
        "instanceTypes": ["m6i.large", "m6a.large"], "minSize": 2, "desiredSize": 3, "maxSize": 6}),
    "hub-graviton-members": lambda: {**environment(3, topology="hub", workloads=[
        {**ECHO, "name": "spread", "namespace": "spread", "service": {"type": "ClusterIP", "port": 80},
         "replicaScheduling": {"totalReplicas": 5}}]),
        "clusters": [{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
                     {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16", "nodeGroup": GRAVITON},
                     {"name": "fed-3", "region": "us-west-2", "cidr": "172.23.0.0/16", "nodeGroup": GRAVITON}]},
    # Karmada (issue 20) on a Graviton-only host: the control plane installed from the chart's model and uninstalled.
    "karmada-graviton-host": lambda: {**environment(3, engine="karmada", nodeGroup=GRAVITON), "clusters": [
        {"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
        {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"},
        {"name": "fed-3", "region": "us-east-1", "cidr": "172.23.0.0/16"}]},
    # Workloads and only a custom type listed: KubeFed's 10 default types must stay (issue 15).
    "custom-federated-type": lambda: two_regions(
        kubefed={"federatedTypes": [PROMETHEUS]},
        workloads=[{**ECHO, "service": {"type": "ClusterIP", "port": 80}}]),
}


@dataclass(frozen=True)
class Breaker:
    """A deploy-breaker of issue 15 still in the synthesized templates: where the rehearsal must stop."""

    what: str
    stack_suffix: str
    logical_ids: frozenset[str]
    """The rehearsal's failure names one of these resources."""
    words: tuple[str, ...] = ()
    """...and its message holds these."""


def _templates(assembly: Path, suffix: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(assembly.glob(f"*{suffix}*.template.json"))]


def _manifests(resource: dict) -> list[dict]:
    manifest = resource.get("Properties", {}).get("Manifest")
    return json.loads(manifest) if isinstance(manifest, str) else []


def _seconds(timeout: str) -> float:
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)([hms])", timeout))


def known_breakers(assembly: Path) -> list[Breaker]:
    """Issue 15's template deploy-breakers the synthesized environment still has, in the order the rehearsal
    meets them: a Helm wait the kubectl Lambda cannot outlast (cluster stacks, created first), a federated kind the
    KubeFed chart installs no CRD for (`federatedTypes` replacing the defaults) and a FederatedNamespace whose
    Namespace nothing creates (the federation's create), the join Lambda's ingress rule nothing depends on (the
    federation's delete). Empty once the app is fixed."""
    found = []
    installed = {doc["spec"]["names"]["kind"] for path in assembly.glob("asset.*/files/*.yaml")
                 for doc in yaml.safe_load_all(path.read_text()) if doc and doc.get("kind") == "CustomResourceDefinition"}
    for suffix in ("-cluster-", "-federation"):
        for template in _templates(assembly, suffix):
            charts = {k for k, r in template["Resources"].items() if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"
                      and _seconds(str(r["Properties"].get("Timeout", "0s"))) + helm.HANDLER_MARGIN > 900}
            if charts:
                found.append(Breaker("Helm wait as long as the kubectl Lambda", suffix, frozenset(charts)))
    for template in _templates(assembly, "-federation"):
        resources = template["Resources"]
        unknown = {k for k, r in resources.items() for o in _manifests(r)
                   if o.get("apiVersion", "").startswith("types.kubefed.io/") and o.get("kind") not in installed}
        if unknown:
            found.append(Breaker("federated kind whose CRD the KubeFed chart does not install", "-federation",
                                 frozenset(unknown)))
        namespaces = {o["metadata"]["name"] for r in resources.values() for o in _manifests(r)
                      if o.get("kind") == "Namespace"}
        for logical_id, resource in sorted(resources.items()):
            missing = [o["metadata"]["name"] for o in _manifests(resource)
                       if o.get("kind") == "FederatedNamespace" and o["metadata"]["name"] not in namespaces]
            if missing:
                found.append(Breaker("workload namespace never created", "-federation", frozenset({logical_id}),
                                     (missing[0],)))
                break
        if "HostApiFromJoinLambda" in resources:
            after = resource_dependencies(resources)

            def needs_rule(name: str) -> bool:
                seen, todo = set(), [name]
                while todo:
                    for d in after[todo.pop()] - seen:
                        seen.add(d)
                        todo.append(d)
                return "HostApiFromJoinLambda" in seen

            users = {k for k, r in resources.items() if r["Type"] in lambdas.RESOURCE_TYPES and not needs_rule(k)}
            if users:
                found.append(Breaker("join Lambda's ingress rule deleted before the unjoins", "-federation",
                                     frozenset(users), ("fed-1",)))
    return found


def assert_stops_at(breaker: Breaker, error: RehearsalFailure | None, report: str) -> None:
    assert error is not None, f"expected to stop at: {breaker.what}\n{report}"
    assert breaker.stack_suffix in error.stack, report
    assert any(f"({k})" in error.resource for k in breaker.logical_ids), report
    assert all(w in str(error) for w in breaker.words), report


def rehearse(name: str, raw: dict, tmp_path: Path) -> tuple[Path, list[str], RehearsalFailure | None, Player]:
    _, assembly = synth(raw, name=name.replace("-", "")[:8], outdir=scratch_dir("rehearsal-"))
    folder = Path(assembly.directory)
    player, lines, error = play(folder, tmp_path)
    return folder, lines, error, player


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_the_environment_rehearses_from_create_to_delete(name, tmp_path):
    started = time.monotonic()
    folder, lines, error, player = rehearse(name, ENVIRONMENTS[name](), tmp_path)
    report = "\n".join(lines[-6:]) + f"\n{error}\n  stack {getattr(error, 'stack', '')}, resource " \
                                      f"{getattr(error, 'resource', '')}, object {getattr(error, 'kubernetes_object', '')}"
    breakers = known_breakers(folder)
    if breakers:
        assert_stops_at(breakers[0], error, report)
    else:
        assert error is None, report
        assert player.summary.created == player.summary.deleted + player.summary.retained
        assert player.aws.clusters == {} and player.aws.vpcs == {}
    print(f"{name}: {time.monotonic() - started:.1f} s here, {player.clock.now:.0f} s virtual")


def test_a_graviton_only_host_is_refused_or_rehearses(tmp_path):
    """KubeFed v0.10.0 publishes amd64 images only: a host whose node groups are all Graviton is refused by the
    config check (naming KubeFed's amd64 images), or gets an x86 node group for KubeFed and rehearses; as
    synthesized today, the rehearsal stops at KubeFed's chart, whose pods cannot run on arm64 nodes."""
    raw = two_regions(nodeGroup=GRAVITON)
    try:
        folder, lines, error, player = rehearse("graviton-host", raw, tmp_path)
    except ConfigError as refused:
        assert "amd64" in str(refused) and "KubeFed" in str(refused)
        return
    host_stack = next(folder.glob("*-cluster-fed-1.template.json"))
    ami_types = {r["Properties"].get("AmiType") for r in json.loads(host_stack.read_text())["Resources"].values()
                 if r["Type"] == "AWS::EKS::Nodegroup"}
    if any("x86_64" in (t or "") for t in ami_types):
        breakers = known_breakers(folder)
        if breakers:
            assert_stops_at(breakers[0], error, str(error))
        else:
            assert error is None, error
    else:
        assert error is not None and "kubefed" in (str(error) + error.kubernetes_object).lower(), error
        assert "arm64" in str(error) or "amd64" in str(error) or "exec format" in str(error), error


def without_namespaces(folder: Path) -> None:
    """Remove every v1 Namespace the federation stack applies (whatever the app's fix adds), and the resources
    that then apply nothing, with the dependencies on them."""
    for path in folder.glob("*-federation.template.json"):
        template = json.loads(path.read_text())
        resources = template["Resources"]
        emptied = set()
        for logical_id, resource in resources.items():
            objects = _manifests(resource)
            kept = [o for o in objects if o.get("kind") != "Namespace"]
            if len(kept) != len(objects):
                resource["Properties"]["Manifest"] = json.dumps(kept)
                if not kept:
                    emptied.add(logical_id)
        for logical_id in emptied:
            del resources[logical_id]
        for resource in resources.values():
            depends = resource.get("DependsOn")
            if depends:
                resource["DependsOn"] = [d for d in ([depends] if isinstance(depends, str) else depends)
                                         if d not in emptied]
        path.write_text(json.dumps(template))


def test_a_federated_namespace_whose_namespace_nothing_creates_stops_the_create(tmp_path):
    """Issue 15's first deploy-breaker: FederatedNamespace `echo` applied into a namespace that does not exist on
    the host. The templates lose every v1 Namespace first, so this keeps testing the rehearsal after the fix."""
    raw = two_regions(workloads=[{**ECHO, "service": {"type": "ClusterIP", "port": 80}}])
    _, assembly = synth(raw, name="nsgone", outdir=scratch_dir("rehearsal-"))
    folder = Path(assembly.directory)
    without_namespaces(folder)
    error, lines = create_stops(folder, tmp_path)
    assert error.stack.endswith("-federation") and "echo" in str(error) and "not found" in str(error), error
    template = json.loads(next(folder.glob("*-federation.template.json")).read_text())
    logical_id = error.resource.rsplit("(", 1)[1].rstrip(")")
    assert any(o.get("kind") == "FederatedNamespace" for o in _manifests(template["Resources"][logical_id])), error
    assert any("KubefedJoin" in line and line.endswith("ok") for line in lines)  # the joins were done


# Karmada (issue 20) with the walkthroughs' workloads: echo-server at fixed counts (2 and 3, none on fed-3: Karmada
# gives a cluster without replicas no Deployment) behind a LoadBalancer; hello-world's 7 replicas spread. (`dns` and
# ExternalDNS, for either engine: tests/test_rehearsal_external_dns.py.)
KARMADA_WORKLOADS = [
    {**ECHO, "clusters": {"fed-1": {"replicas": 2}, "fed-2": {"replicas": 3}, "fed-3": {"replicas": 0}}},
    {"name": "hello-world", "namespace": "hello", "image": "public.ecr.aws/docker/library/nginx:1.29",
     "containerPort": 80, "replicaScheduling": {"totalReplicas": 7, "clusters": {"*": {"weight": 1}}}}]


def _member_deployments(kubernetes, namespace: str, name: str) -> dict[str, int]:
    """Cluster (as the config names it) -> `spec.replicas` of the Deployment Karmada put there."""
    found = {}
    for eks_name, cluster in kubernetes.clusters.items():
        obj = cluster.handle.find("deployments", namespace, name)
        if obj is not None:
            found[next(c for c in ("fed-1", "fed-2", "fed-3") if eks_name.endswith(c))] = obj["spec"]["replicas"]
    return found


def test_a_karmada_federation_joins_propagates_exact_counts_and_deletes_clean(tmp_path):
    """Create: the Karmada chart, a push join per cluster (Ready), the workloads' objects on karmada-apiserver
    propagated with exactly the configured per-cluster counts (and the scheduler's spread of 7 over three); then a
    delete of every stack (objects, unjoins, chart) that finishes and leaves nothing."""
    from rehearsal.kubernetes import karmada_scheduling
    raw = {**environment(3, engine="karmada", nodeGroup=GRAVITON, workloads=KARMADA_WORKLOADS), "clusters": [
        {"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
        {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"},
        {"name": "fed-3", "region": "us-east-1", "cidr": "172.23.0.0/16"}]}
    _, assembly = synth(raw, name="karmadaw", outdir=scratch_dir("rehearsal-"))
    with rehearsing(Path(assembly.directory), tmp_path) as (player, kubernetes, lines):
        player.create_all()
        assert sum("Custom::KarmadaJoin " in line and line.endswith("ok") for line in lines) == 3, lines[-6:]
        assert any("Custom::KarmadaObjects " in line and line.endswith("ok") for line in lines), lines[-6:]
        assert _member_deployments(kubernetes, "echo", "echo-server") == {"fed-1": 2, "fed-2": 3}
        spread = karmada_scheduling.schedule({"replicaScheduling": {
            "replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted",
            "weightPreference": {"staticWeightList": [{"targetCluster": {"clusterNames": [c]}, "weight": 1}
                                                      for c in ("fed-1", "fed-2", "fed-3")]}}},
            7, ["fed-1", "fed-2", "fed-3"])
        hello = _member_deployments(kubernetes, "hello", "hello-world")
        assert hello == spread and sum(hello.values()) == 7 and sorted(hello.values()) == [2, 2, 3]
        (host,) = [c for name, c in kubernetes.clusters.items() if c.karmada is not None and name.endswith("fed-1")]
        clusters = host.karmada.run(lambda: sorted(
            (k[2], [x["status"] for x in (o.get("status") or {}).get("conditions") or [] if x["type"] == "Ready"])
            for k, o in host.karmada.emulator.objects.items() if k[0].plural == "clusters" and not o.deleted))
        assert clusters == [("fed-1", ["True"]), ("fed-2", ["True"]), ("fed-3", ["True"])]
        player.delete_all()
    assert_deleted_clean(player)
    assert not [w for w in kubernetes.warnings if "karmada" in w.lower()], kubernetes.warnings


def _member_objects(kubernetes, plural: str, namespace: str, name: str) -> dict[str, dict]:
    """Cluster (as the config names it) -> the member's copy of an object Karmada propagated."""
    found = {}
    for eks_name, cluster in kubernetes.clusters.items():
        obj = cluster.handle.find(plural, namespace, name)
        if obj is not None:
            found[next(c for c in ("fed-1", "fed-2", "fed-3") if eks_name.endswith(c))] = obj
    return found


def test_a_karmada_manifest_folder_is_propagated_where_its_policies_say_and_deleted_clean(tmp_path):
    """A folder of Karmada objects (samples/echo-server-karmada: the walkthrough's echo server, 2 replicas on fed-1 and
    3 on fed-2 by static weights, a LoadBalancer Service on both) beside a typed workload: its Custom::KarmadaObjects
    is created after the joins and the typed workloads' objects, Karmada puts exactly the weights' counts on the
    members and a load balancer on each (so the load-balancer controller was installed where the policy places the
    Service, and nowhere else); the delete removes every copy from the members before the unjoins."""
    raw = environment(3, engine="karmada", workloads=[KARMADA_WORKLOADS[1],
                                                      {"manifests": "samples/echo-server-karmada"}])
    stacks, assembly = synth(raw, name="karmadaf", outdir=scratch_dir("rehearsal-"))
    charts = {name.split("-cluster-")[1] for name, s in stacks.items()
              if "-cluster-" in name and getattr(s, "load_balancer_controller", None) is not None}
    assert charts == {"fed-1", "fed-2"}, charts
    with rehearsing(Path(assembly.directory), tmp_path) as (player, kubernetes, lines):
        player.create_all()
        assert sum("Custom::KarmadaObjects " in line and line.endswith("ok") for line in lines) == 2, lines[-6:]
        assert _member_deployments(kubernetes, "echo", "echo-server") == {"fed-1": 2, "fed-2": 3}
        services = _member_objects(kubernetes, "services", "echo", "echo-server")
        assert sorted(services) == ["fed-1", "fed-2"]
        assert all((s.get("status") or {}).get("loadBalancer", {}).get("ingress") for s in services.values()), services
        assert all(s["spec"].get("allocateLoadBalancerNodePorts") is False for s in services.values())
        assert sum(_member_deployments(kubernetes, "hello", "hello-world").values()) == 7
        player.delete_all()
        assert _member_objects(kubernetes, "deployments", "echo", "echo-server") == {}
        assert _member_objects(kubernetes, "services", "echo", "echo-server") == {}
    assert_deleted_clean(player)
    assert not [w for w in kubernetes.warnings if "karmada" in w.lower()], kubernetes.warnings
