"""The rehearsal's Kubernetes side for Karmada: a host on which the Karmada release is deployed runs an emulated
karmada-apiserver (rehearsal/kubernetes/karmada.py), reached by the packaged Karmada join Lambda at a host node's
address and the nodePort, served through the Provider framework in virtual time (lambdas.serve) by
EmulatedKubernetes, as `make rehearse` plays a synthesized environment."""
from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2, aws_iam as iam

from components.karmada_join import contract as c
from components.karmada_join.karmada_join import HANDLERS, KarmadaJoinProvider, KarmadaJoinProviderProps
from components.cluster_functions import JoinTarget
from fedtest import CONTEXT, scratch_dir
from rehearsal import world
from components.kube_access import contract as kube_contract
from rehearsal.eks_api import EksCluster
from rehearsal.kubernetes import EmulatedKubernetes, lambdas

PREFIX = "fedeks-test-"
VERSION = "1.35"
REGIONS = {"fed-1": "us-east-1", "fed-2": "us-east-2"}
PLACEHOLDER_IDS = {"fed-1": "1" * 32, "fed-2": "2" * 32}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hello", "namespace": "hello"},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello"}},
                       "template": {"metadata": {"labels": {"app": "hello"}},
                                    "spec": {"containers": [{"name": "hello", "image": "nginx:1.27"}]}}}}
POLICY = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy",
          "metadata": {"name": "hello", "namespace": "hello"},
          "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "hello"}],
                   "placement": {"clusterAffinity": {"fieldSelector": {"matchExpressions": [
                       {"key": "region", "operator": "In", "values": ["us-east-1", "us-east-2"]}]}},
                       "replicaScheduling": {"replicaSchedulingType": "Divided",
                                             "replicaDivisionPreference": "Weighted",
                                             "weightPreference": {"staticWeightList": [
                                                 {"targetCluster": {"clusterNames": ["fed-1"]}, "weight": 1},
                                                 {"targetCluster": {"clusterNames": ["fed-2"]}, "weight": 2}]}}}}}
OBJECTS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hello"}}, DEPLOYMENT, POLICY]


class Network:
    """Which clusters the functions reach now; and EKS's DescribeCluster of the emulated clusters (what the join asks
    before any token: components/kube_access/allowed_clusters)."""

    def __init__(self, side: EmulatedKubernetes) -> None:
        self.blocked: set[str] = set()
        self.side = side

    def reachable(self, source: str, cluster: str) -> bool:
        return cluster not in self.blocked

    def describe_cluster(self, region: str, name: str) -> EksCluster | None:
        cluster = self.side.clusters.get(name)
        if cluster is None or cluster.handle.region != region:
            return None
        return EksCluster(name, region, cluster.handle.endpoint, self.side.ca.ca_data,
                          tags={kube_contract.ENVIRONMENT_TAG: "test"})


@pytest.fixture(scope="module")
def template() -> tuple[dict, Path]:
    app = cdk.App(outdir=scratch_dir("rehearsal-karmada-"), context=CONTEXT)
    stack = cdk.Stack(app, "Federation", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join")
    provider = KarmadaJoinProvider(stack, "KarmadaJoin", KarmadaJoinProviderProps(
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, eks_name_prefix=PREFIX, environment="test",
        timeout_minutes=5,
        host_vpc_cidr="10.0.0.0/16"))
    ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="  # replaced below
    host, member = (JoinTarget(name=n, eks_cluster_name=PREFIX + n, region=REGIONS[n], ca_data=ca,
                               endpoint=f"https://{PLACEHOLDER_IDS[n]}.gr7.{REGIONS[n]}.eks.amazonaws.com")
                    for n in ("fed-1", "fed-2"))
    provider.join("JoinFed1", member=host, host=host)
    provider.join("JoinFed2", member=member, host=host)
    provider.objects("Hello", host=host, owner="hello", objects=OBJECTS)
    assembly = app.synth()
    return json.loads(Path(assembly.directory, "Federation.template.json").read_text()), Path(assembly.directory)


def deploy(template: tuple[dict, Path], side: EmulatedKubernetes) -> dict:
    """The template as deployed on `side`'s clusters: the functions as AWS runs them, the Provider's polling, and the
    custom resources' properties (endpoint ids and CA as CloudFormation fills them in)."""
    text = json.dumps(template[0])
    for name in REGIONS:
        text = text.replace(PLACEHOLDER_IDS[name], side.clusters[PREFIX + name].handle.hostname.split(".")[0])
    text = text.replace("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
                        side.ca.ca_data)
    resources, assembly = json.loads(text)["Resources"], template[1]
    functions = {}
    for logical_id, res in resources.items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Lambda::Function" and props.get("Handler") in HANDLERS.values():
            functions[props["Handler"]] = world.LambdaFunction(
                stack="Federation", logical_id=logical_id,
                asset_dir=assembly / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}", handler=props["Handler"],
                environment=props["Environment"]["Variables"], timeout_seconds=props["Timeout"])
    machine = next(r for r in resources.values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    interval = int(re.search(r'IntervalSeconds\\":(\d+)', definition)[1])
    attempts = int(re.search(r'MaxAttempts\\":(\d+)', definition)[1])
    call = world.ProviderCall(on_event=functions[HANDLERS["OnEvent"]], is_complete=functions[HANDLERS["IsComplete"]],
                              query_interval_seconds=interval, total_timeout_seconds=interval * attempts)
    token = "arn:aws:lambda:us-east-1:123456789012:function:Federation-framework-onEvent"
    return {logical_id: (res["Type"], {**res["Properties"], "ServiceToken": token}, call)
            for logical_id, res in resources.items() if res["Type"].startswith("Custom::")}


def request(deployed: dict, logical_id: str, request_type: str, physical_id: str | None = None):
    kind, props, call = deployed[logical_id]
    return world.CustomResourceRequest(request_type=request_type, stack="Federation", logical_id=logical_id,
                                       resource_type=kind, properties=props, provider=call, physical_id=physical_id)


def deploy_release(host) -> None:
    """What `helm install karmada` leaves that the rehearsal keys on: the release record."""
    host.put("namespaces", "", "v1", None, c.RELEASE_NAMESPACE, {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": c.RELEASE_NAMESPACE, "uid": str(uuid.uuid4())}})
    host.put("secrets", "", "v1", c.RELEASE_NAMESPACE, "sh.helm.release.v1.karmada.v1", {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.karmada.v1", "namespace": c.RELEASE_NAMESPACE,
                     "labels": {"owner": "helm", "name": "karmada", "status": "deployed", "version": "1"}}})


def test_a_deployed_karmada_release_serves_the_packaged_join_and_objects_in_virtual_time(template, tmp_path):
    side = EmulatedKubernetes(tmp_path / "kubernetes")
    try:
        for name, region in REGIONS.items():
            side.create_cluster(world.EksCluster(PREFIX + name, region, VERSION))
            side.set_node_groups(PREFIX + name, [world.NodeGroup("x86", "amd64", 2)])
        host = side.clusters[PREFIX + "fed-1"]
        member = side.clusters[PREFIX + "fed-2"].handle
        clock, network = world.Clock(), Network(side)
        deploy_release(host.handle)
        side.controllers_round(clock)
        assert host.karmada is not None  # started with the release
        deployed = deploy(template, side)
        for logical_id, cluster in (("JoinFed1", "fed-1"), ("JoinFed2", "fed-2")):
            (resource,) = [k for k in deployed if logical_id in k]
            done = lambdas.serve(request(deployed, resource, "Create"), clock, network, side)
            assert done.data[c.CLUSTER_ATTRIBUTE] == cluster
        (objects,) = [k for k in deployed if "Hello" in k]
        done = lambdas.serve(request(deployed, objects, "Create"), clock, network, side)
        assert done.data[c.READY_CLUSTERS_ATTRIBUTE] == "fed-1,fed-2"
        # Divided by static weights 1:2 of 3 replicas: exact counts on each member, running there.
        assert host.handle.find("deployments", "hello", "hello")["spec"]["replicas"] == 1
        assert member.find("deployments", "hello", "hello")["spec"]["replicas"] == 2

        # The member's network path closes (its stack is going): the unjoin is forced and recorded, never stuck.
        network.blocked.add(PREFIX + "fed-2")
        (join2,) = [k for k in deployed if "JoinFed2" in k]
        with pytest.raises(world.RehearsalFailure, match="left behind: .*member fed-2"):
            lambdas.serve(request(deployed, join2, "Delete", physical_id="karmada-join/fed-1/fed-2"), clock,
                          network, side)
        assert host.karmada.find("clusters", None, "fed-2") is None

        # The release goes: so does karmada-apiserver, and a delete of the objects completes, recording them.
        host.handle.run(lambda: [o.delete() for k, o in list(host.handle.emulator.objects.items())
                                 if k[2] == "sh.helm.release.v1.karmada.v1"])
        side.controllers_round(clock)
        assert host.karmada is None
    finally:
        side.close()


def test_the_chart_models_pre_install_job_gets_the_kubeconfig_of_a_karmada_apiserver_started_for_it(tmp_path):
    """What the chart model's pre-install effect asks (karmada_chart.serve_karmada_apiserver's source): the admin
    kubeconfig of the release's karmada-apiserver on that host, which starts with it; the emulation serves nothing
    for another release or namespace."""
    from components.karmada_join.runtime.karmada_api import parse_kubeconfig
    side = EmulatedKubernetes(tmp_path / "kubernetes")
    try:
        side.create_cluster(world.EksCluster(PREFIX + "fed-1", "us-east-1", VERSION))
        client = side.client(PREFIX + "fed-1")
        assert side.karmada_kubeconfig(client, "karmada", "karmada-system") is None
        assert side.clusters[PREFIX + "fed-1"].karmada is None
        kubeconfig = side.karmada_kubeconfig(client, c.RELEASE_NAME, c.RELEASE_NAMESPACE)
        assert parse_kubeconfig(kubeconfig).server_name == c.APISERVER_TLS_NAME
        assert side.clusters[PREFIX + "fed-1"].karmada is not None
        assert side.resolve_node_port("10.0.0.10", c.DEFAULT_APISERVER_NODE_PORT)[0] == PREFIX + "fed-1"
        side.controllers_round(world.Clock())  # no release record (the install failed, or was removed): it stops
        assert side.clusters[PREFIX + "fed-1"].karmada is None
    finally:
        side.close()


def test_karmada_apiserver_validates_karmada_objects_against_the_projects_crds(tmp_path):
    """The emulated karmada-apiserver is strict as the host's API server: it serves the CRDs of
    components/karmada_crds.py and refuses an object they do not allow (an unknown field, a weight below 1), as
    the KubeFed side validates against components/kubefed_crds.py; a valid policy is accepted."""
    from kubernetes import client as k8s
    from components.karmada_join.runtime.karmada_api import api_client, parse_kubeconfig
    side = EmulatedKubernetes(tmp_path / "kubernetes")
    try:
        side.create_cluster(world.EksCluster(PREFIX + "fed-1", "us-east-1", VERSION))
        kubeconfig = side.karmada_kubeconfig(side.client(PREFIX + "fed-1"), c.RELEASE_NAME, c.RELEASE_NAMESPACE)
        api = api_client("10.0.0.10", c.DEFAULT_APISERVER_NODE_PORT, parse_kubeconfig(kubeconfig))
        k8s.CoreV1Api(api).create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hello"}})
        custom = k8s.CustomObjectsApi(api)

        def create(body: dict) -> None:
            custom.create_namespaced_custom_object("policy.karmada.io", "v1alpha1", "hello", "propagationpolicies",
                                                   body)
        misspelt = json.loads(json.dumps(POLICY))
        misspelt["spec"]["placement"]["clusterAfinity"] = misspelt["spec"]["placement"].pop("clusterAffinity")
        with pytest.raises(k8s.ApiException) as refused:
            create(misspelt)
        assert refused.value.status == 422 and "clusterAfinity" in refused.value.body
        zero = json.loads(json.dumps(POLICY))
        zero["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"][0]["weight"] = 0
        with pytest.raises(k8s.ApiException) as refused:
            create(zero)
        assert refused.value.status == 422 and "weight" in refused.value.body
        create(POLICY)
        assert side.clusters[PREFIX + "fed-1"].karmada.find("propagationpolicies", "hello", "hello") is not None
    finally:
        side.close()


def _karmada_on(side: EmulatedKubernetes, cluster: str) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every object on the emulated cluster `cluster` that names Karmada."""
    handle = side.clusters[next(n for n in side.clusters if n.endswith(cluster))].handle
    return handle.run(lambda: sorted(
        (o.raw.get("kind"), o.raw["metadata"].get("namespace", ""), o.raw["metadata"]["name"])
        for o in handle.emulator.objects.values() if not o.deleted and "karmada" in json.dumps(o.raw["metadata"])))


def test_deleting_the_federation_stack_leaves_nothing_of_karmada_on_the_host(tmp_path):
    """The chart's pre-install hooks have no delete policy (Helm's default, before-hook-creation, never deletes at
    uninstall): its ClusterRole and ClusterRoleBinding `karmada-hook-job` (every verb on every resource) would outlive
    the federation. Played: the environment created, its federation stack deleted, the host checked, the rest
    deleted."""
    from fedtest import environment, synth
    from rehearsal.__main__ import emulated_kubernetes
    from rehearsal.cloudformation import Player, read_assembly

    _, assembly = synth(environment(2, engine="karmada"), name="karmadad", outdir=scratch_dir("rehearsal-"))
    side = emulated_kubernetes(tmp_path / "kubernetes")
    lines: list[str] = []
    player = Player(read_assembly(Path(assembly.directory)), side, lines.append)
    try:
        player.create_all()
        deployed = _karmada_on(side, "fed-1")
        assert {("ClusterRole", "karmada-hook-job"), ("ClusterRoleBinding", "karmada-hook-job")} <= {
            (kind, name) for kind, _, name in deployed}, deployed
        federation = "fedeks-karmadad-federation"
        player.delete_stack(player.stacks[federation])
        assert _karmada_on(side, "fed-1") == [] and _karmada_on(side, "fed-2") == []
        for level in reversed(player.stack_levels()):
            for name in reversed(level):
                if name != federation:
                    player.delete_stack(player.stacks[name])
    except world.RehearsalFailure as failure:
        pytest.fail(f"{failure}\n  stack {failure.stack}, resource {failure.resource}\n" + "\n".join(lines[-8:]))
    finally:
        side.close()
    assert player.summary.created == player.summary.deleted + player.summary.retained
