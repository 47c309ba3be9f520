"""The typed construct: what it applies on the host, in which order, what its waiters are told, and DNS from the
waiters' hostnames; typed workloads meet the config's rules."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import CfnWaitConditionHandle, aws_eks_v2 as eks

from components.eks_cluster import FederatedCluster, FederatedClusterProps
from components.federated_workloads import FederatedWorkloads, FederatedWorkloadsProps, FederationTarget
from components.kubefed_join.kubefed_join import JoinTarget
from components.network import Network, NetworkProps
from federated_eks.model import image_reference
from federated_eks.plan.subnet_layout import CLUSTER_VPC
from fedtest import CONTEXT, ROOT, scratch_dir
from federated_eks.model.federation import EndpointAccessConfig, NodeGroupConfig
from federated_eks.model.workload import (ClusterOverride, DnsSpec, ManifestFolder, Placement, ReplicaPreference,
                                    ReplicaScheduling, ServiceSpec, Workload)

ECHO = Workload(name="echo-server", namespace="echo", image="registry.k8s.io/echoserver:1.10", container_port=8080,
                overrides=(("fed-1", ClusterOverride(replicas=2)), ("fed-2", ClusterOverride(replicas=3))),
                service=ServiceSpec(type="LoadBalancer", port=80),
                dns=DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="latency"))
HELLO = Workload(name="hello-world", namespace="federate-me", image="docker.io/particule/helloworld:v1",
                 container_port=80, replica_scheduling=ReplicaScheduling(
                     total_replicas=7, rebalance=True, clusters=(("*", ReplicaPreference(weight=1)),)),
                 service=ServiceSpec(port=80))
FOLDER = ManifestFolder(path="samples/x", objects=(("samples/x/a.yaml", {
    "apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
    "metadata": {"name": "x", "namespace": "x"}, "spec": {"placement": {"clusterSelector": {}}}}),))


def build(workloads, folders=()):
    app, stack, target = host_stack()
    construct = FederatedWorkloads(stack, "Workloads", FederatedWorkloadsProps(
        target=target, workloads=workloads, folders=folders, reserved_namespaces=("kube-federation-system",)))
    template = app.synth().get_stack_by_name("Federation").template
    return construct, template


def host_stack():
    """(app, stack, FederationTarget) of a host cluster with three members."""
    app = cdk.App(outdir=scratch_dir(prefix="fedeks-wl-"), context=CONTEXT)
    stack = cdk.Stack(app, "Federation", env=cdk.Environment(account="123456789012", region="us-east-1"))
    network = Network(stack, "Network", NetworkProps(max_azs=CLUSTER_VPC.azs, cidr="172.21.0.0/16", nat_gateways=1))
    host = FederatedCluster(stack, "Eks", FederatedClusterProps(
        cluster_name="fedeks-t-fed-1", kubernetes_version="1.35", vpc=network.vpc, node_group=NodeGroupConfig(),
        endpoint_access=EndpointAccessConfig(), with_kubectl=True))
    ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"
    members = tuple((JoinTarget(name=n, eks_cluster_name=f"fedeks-t-{n}", region=r,
                                endpoint=f"https://{n}.example.com", ca_data=ca), r)
                    for n, r in (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "eu-west-1")))
    joins = CfnWaitConditionHandle(stack, "Joins")
    target = FederationTarget(host_cluster=host.cluster, host=members[0][0], members=members,
                              service_token="arn:aws:lambda:us-east-1:123456789012:function:waiter", ready=(joins,),
                              load_balancer_clusters=("fed-1", "fed-2", "fed-3"))
    return app, stack, target


def logical(template: dict, path_part: str, cfn_type: str) -> str:
    found = [k for k, r in template["Resources"].items()
             if r["Type"] == cfn_type and path_part in r.get("Metadata", {}).get("aws:cdk:path", k)]
    assert len(found) == 1, (path_part, found)
    return found[0]


@pytest.fixture(scope="module")
def built():
    return build([ECHO, HELLO], [FOLDER])


def test_objects_applied_on_the_host_in_order(built):
    _, template = built
    res = template["Resources"]
    manifests = {k: r for k, r in res.items() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
                 and "Workloads" in k}
    objects = {k: json.loads(_joined(r["Properties"]["Manifest"])) for k, r in manifests.items()}
    kinds = {k: [o["kind"] for o in objs] for k, objs in objects.items()}
    assert sorted(map(tuple, kinds.values())) == sorted([
        ("Namespace",), ("Namespace",), ("Namespace",),  # echo, federate-me, and the folder's x
        ("FederatedNamespace",), ("FederatedNamespace",), ("FederatedNamespace",),
        ("FederatedDeployment", "FederatedService"),
        ("FederatedDeployment", "ReplicaSchedulingPreference", "FederatedService")])
    joins = next(k for k, r in res.items() if r["Type"] == "AWS::CloudFormation::WaitConditionHandle")
    host_namespaces = {objs[0]["metadata"]["name"]: k for k, objs in objects.items() if kinds[k] == ["Namespace"]}
    assert set(host_namespaces) == {"echo", "federate-me", "x"}
    for k, r in manifests.items():
        assert r["Properties"]["Overwrite"] is True
        assert joins in _needs(res, k)
        # Issue 15: every object after the host's v1 Namespace of its namespace, so deleted before it.
        for obj in objects[k]:
            namespace = obj["metadata"].get("namespace")
            if namespace:
                assert host_namespaces[namespace] in _needs(res, k), (kinds[k], namespace)
    waiters = {k: r for k, r in res.items() if r["Type"] == "Custom::FederatedWorkload"}
    assert len(waiters) == 2
    for k, r in waiters.items():
        assert any(d in manifests and kinds[d][0] == "FederatedDeployment" for d in r["DependsOn"])


def _needs(resources: dict, logical_id: str) -> set[str]:
    """What CloudFormation creates before `logical_id` and deletes after it (DependsOn), transitively."""
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        for other in resources[todo.pop()].get("DependsOn", []):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _joined(value) -> str:
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "null" for p in value["Fn::Join"][1])


def test_waiter_properties_name_the_placed_clusters_and_their_plan(built):
    _, template = built
    waiters = {r["Properties"]["Workload"]["Name"]: r["Properties"] for r in template["Resources"].values()
               if r["Type"] == "Custom::FederatedWorkload"}
    echo, hello = waiters["echo-server"], waiters["hello-world"]
    assert [(c["Name"], c["Replicas"]) for c in echo["Clusters"]] == [("fed-1", "2"), ("fed-2", "3"), ("fed-3", "1")]
    assert echo["Workload"]["LoadBalanced"] == "true" and echo["Workload"]["TotalReplicas"] == ""
    assert echo["Workload"]["Objects"] == [{"ApiVersion": "types.kubefed.io/v1beta1", "Kind": "FederatedDeployment"},
                                           {"ApiVersion": "types.kubefed.io/v1beta1", "Kind": "FederatedService"}]
    assert [(c["Name"], c["Replicas"]) for c in hello["Clusters"]] == [("fed-1", ""), ("fed-2", ""), ("fed-3", "")]
    assert hello["Workload"]["TotalReplicas"] == "7" and hello["Workload"]["LoadBalanced"] == "false"
    assert echo["Host"]["Name"] == "fed-1" and echo["TimeoutSeconds"] == "900"
    assert [c["Image"] for c in echo["Clusters"]] == ["registry.k8s.io/echoserver:1.10"] * 3
    assert len(echo["Workload"]["Revision"]) == 16 and echo["Workload"]["Revision"] != hello["Workload"]["Revision"]
    assert echo["Clusters"][1]["Endpoint"] == "https://fed-2.example.com"


def test_dns_is_rendered_as_member_annotations_for_externaldns_not_as_records_on_a_hostname():
    """Issue 18: records written once from the waiter's hostnames followed no recreated load balancer; the
    federation now renders what ExternalDNS on each member reads, and holds no Route 53 resource."""
    failover = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="failover",
                       primary="fed-1")
    two = Workload(**{**ECHO.__dict__, "placement": Placement(clusters=("fed-1", "fed-2")), "dns": failover})
    _, template = build([two])
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Route53::")]
    manifest = next(r for r in template["Resources"].values() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
                    and "FederatedService" in _joined(r["Properties"]["Manifest"]))
    [fs] = [o for o in json.loads(_joined(manifest["Properties"]["Manifest"])) if o["kind"] == "FederatedService"]
    by_cluster = {o["clusterName"]: o["clusterOverrides"][0]["value"] for o in fs["spec"]["overrides"]}
    assert {c: a["external-dns.alpha.kubernetes.io/aws-failover"] for c, a in by_cluster.items()} == {
        "fed-1": "PRIMARY", "fed-2": "SECONDARY"}


def test_typed_workloads_meet_the_config_rules():
    bad = Workload(name="echo", namespace="kube-system", image="nginx", container_port=80,
                   overrides=(("fed-9", ClusterOverride(replicas=1)),))
    stack = cdk.Stack(cdk.App(), "Federation")
    host = eks.Cluster.from_cluster_attributes(stack, "Host", cluster_name="fedeks-t-fed-1")
    members = tuple((JoinTarget(name=n, eks_cluster_name=f"fedeks-t-{n}", region=r, endpoint="https://x",
                                ca_data="x"), r) for n, r in (("fed-1", "us-east-1"), ("fed-2", "us-east-2"),
                                                              ("fed-3", "eu-west-1")))
    target = FederationTarget(host_cluster=host, host=members[0][0], members=members, service_token="arn")
    with pytest.raises(ValueError) as err:
        FederatedWorkloads(stack, "Workloads", FederatedWorkloadsProps(target=target, workloads=[bad]))
    assert str(err.value).splitlines() == [
        "invalid federated workloads:",
        "  - workloads[0].namespace: 'kube-system' is a system namespace; a workload's namespace is federated and "
        "deleted with it. Fix: give the workload a namespace of its own",
        "  - workloads[0].image: 'nginx' is not pinned (no tag, or 'latest', follows whatever is pushed next). Fix: "
        + image_reference.PIN_FIX,
        "  - workloads[0].clusters.fed-9: 'fed-9' is not a cluster of this federation. Fix: use one of: fed-1, fed-2, "
        "fed-3",
    ]


def test_dev_applies_its_samples_after_every_join_so_deletes_them_before_any_unjoin(dev):
    _, tpl = dev
    res = tpl["fedeks-dev-federation"].to_json()["Resources"]
    joins = {k for k, r in res.items() if r["Type"] == "Custom::KubefedJoin"}
    assert len(joins) == 2
    manifests = {k: r for k, r in res.items() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"}
    kinds = {k: [o["kind"] for o in json.loads(_joined(r["Properties"]["Manifest"]))] for k, r in manifests.items()}
    first = {k for k, r in manifests.items() if joins <= set(r.get("DependsOn", [])) and "Workloads" in k}
    # The host's Namespaces of the echo-server and of the hello-world folder come first, after the joins ...
    namespaces = {k for k in first if kinds[k] == ["Namespace"]}
    assert len(namespaces) == 2
    # ... then the echo-server's FederatedNamespace and the folder (its four objects in one manifest) ...
    later = sorted(len(kinds[k]) for k in first - namespaces if set(manifests[k]["DependsOn"]) & namespaces)
    assert later == [1, 4]
    # ... the workload after its namespace, its waiter after the workload: CloudFormation deletes in reverse.
    [workload] = [k for k, v in kinds.items() if v == ["FederatedDeployment", "FederatedService"]]
    assert set(manifests[workload]["DependsOn"]) & first
    waiters = {r["Properties"]["Workload"]["Name"]: k for k, r in res.items() if r["Type"] == "Custom::FederatedWorkload"}
    assert sorted(waiters) == ["echo-server", "test-hello-world"]  # the folder's deployment has its waiter too
    waiter = waiters["echo-server"]
    assert workload in res[waiter]["DependsOn"]
    [folder] = [k for k in first if len(kinds[k]) == 4]
    assert folder in res[waiters["test-hello-world"]]["DependsOn"]
    # Served by the waiter's own Provider, not the join's (components/workload_waiter/).
    join_token = next(iter(res[j]["Properties"]["ServiceToken"] for j in joins))
    assert res[waiter]["Properties"]["ServiceToken"] == {"Fn::GetAtt": [next(
        k for k in res if k.startswith("WorkloadWaiterProviderframeworkonEvent") and res[k]["Type"] ==
        "AWS::Lambda::Function"), "Arn"]} != join_token
    clusters = res[waiter]["Properties"]["Clusters"]
    assert [(c["Name"], c["Replicas"]) for c in clusters] == [("fed-1", "2"), ("fed-2", "3")]
    assert not [r for r in res.values() if r["Type"].startswith("AWS::Route53::")]  # no hosted zone in dev


WEB = Workload(name="web", namespace="shop", image="nginx:1.29.3", container_port=80,
               placement=Placement(regions=("us-east-2", "us-west-2")),
               overrides=(("fed-2", ClusterOverride(replicas=3)),), service=ServiceSpec(type="LoadBalancer", port=80))


def built_federation(**changes):
    import app as federation_app
    from fedtest import environment
    from federated_eks.plan import topology
    from federated_eks.config.reader import load_environment

    config = load_environment({"t": environment(3, **changes)}, "t")
    cdk_app = cdk.App(outdir=scratch_dir(prefix="fedeks-wl-"), context=CONTEXT)
    stacks = federation_app.build(cdk_app, config)
    return cdk_app, stacks, stacks[topology.stack_name(config, topology.FEDERATION_STACK)]


def test_cdk_code_adds_workloads_to_a_built_federation_as_the_readme_shows():
    cdk_app, stacks, federation = built_federation(loadBalancerController={"install": "always"})
    FederatedWorkloads(federation, "Shop", FederatedWorkloadsProps(target=federation.workload_target,
                                                                   workloads=[WEB]))
    assembly = cdk_app.synth()
    res = assembly.get_stack_by_name(federation.stack_name).template["Resources"]
    [waiter] = [r for r in res.values() if r["Type"] == "Custom::FederatedWorkload"]
    assert [(c["Name"], c["Replicas"]) for c in waiter["Properties"]["Clusters"]] == [("fed-2", "3"), ("fed-3", "1")]
    for cluster in ("fed-1", "fed-2", "fed-3"):  # install: always
        tpl = assembly.get_stack_by_name(f"fedeks-t-cluster-{cluster}").template["Resources"]
        assert [r for r in tpl.values() if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"
                and r["Properties"]["Chart"] == "aws-load-balancer-controller"]


def test_a_load_balancer_where_no_controller_runs_is_refused():
    _, _, federation = built_federation()
    with pytest.raises(ValueError) as err:
        FederatedWorkloads(federation, "Shop", FederatedWorkloadsProps(target=federation.workload_target,
                                                                       workloads=[WEB]))
    assert str(err.value).splitlines()[1:] == [
        "  - workloads[0].service: a LoadBalancer on fed-2, fed-3, which run no load-balancer controller. Fix: set "
        "loadBalancerController.install to \"always\" in the config (or place the workload where the config's "
        "workloads run one)"]


def test_any_change_of_what_is_applied_changes_the_waiters_revision():
    from components.federated_workloads import waiter_properties
    members = tuple((JoinTarget(name=n, eks_cluster_name=f"fedeks-t-{n}", region=r, endpoint="https://x", ca_data="x"),
                     r) for n, r in (("fed-1", "us-east-1"), ("fed-2", "us-east-2")))
    target = FederationTarget(host_cluster=None, host=members[0][0], members=members, service_token="arn")
    base = Workload(name="web", namespace="shop", image="nginx:1.29.3", container_port=80)
    revisions = {waiter_properties(w, target, 900)["Workload"]["Revision"] for w in (
        base, Workload(**{**base.__dict__, "env": (("A", "1"),)}),
        Workload(**{**base.__dict__, "container_port": 8080}), Workload(**{**base.__dict__, "replicas": 2}))}
    assert len(revisions) == 4
    assert waiter_properties(base, target, 900) == waiter_properties(base, target, 900)


def test_a_federation_with_dns_across_three_regions_is_cfn_lint_and_cdk_nag_clean():
    import app as federation_app
    from fedtest import environment
    from federated_eks.config.reader import load_environment
    from test_compliance import nag_findings

    echo = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
            "containerPort": 8080, "service": {"type": "LoadBalancer", "port": 80},
            "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "echo.example.com", "routing": "latency"}}
    mirror = {"imageRepository": "123456789012.dkr.ecr.us-east-1.amazonaws.com/external-dns",
              "chartRepository": "oci://123456789012.dkr.ecr.us-east-1.amazonaws.com/charts"}
    config = load_environment({"t": environment(3, workloads=[echo, {"manifests": "samples/hello-world"}],
                                                externalDns=mirror)}, "t")
    outdir = scratch_dir(prefix="fedeks-nag-")
    cdk_app = cdk.App(outdir=outdir, context=CONTEXT)
    federation_app.build(cdk_app, config)
    assert nag_findings(cdk_app, outdir) == []
    templates = sorted(str(p) for p in Path(outdir).glob("*.template.json"))
    federation = json.loads(Path(outdir, "fedeks-t-federation.template.json").read_text())["Resources"]
    assert not [r for r in federation.values() if r["Type"].startswith("AWS::Route53::")]
    for cluster in ("fed-1", "fed-2", "fed-3"):  # ExternalDNS where the DNS workload runs
        stack = json.loads(Path(outdir, f"fedeks-t-cluster-{cluster}.template.json").read_text())["Resources"]
        [chart] = [r["Properties"] for r in stack.values()
                   if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" and r["Properties"]["Chart"] == "external-dns"]
        assert chart["Repository"] == mirror["chartRepository"] and mirror["imageRepository"] in chart["Values"]
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable", *templates],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr


def test_regions_with_replica_scheduling_schedules_beside_a_workload_placed_by_name():
    """Issue 18: KubeFed evaluates the namespace by its own placement; a `regions` selector with replica scheduling
    found no cluster once another workload made the namespace's placement a cluster list. Rendered placements are
    cluster lists now: the RSP names clusters the namespace is placed on."""
    from components.federated_workloads import as_placed
    from federated_eks.plan import kubefed_workload
    clusters = (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "eu-west-1"), ("fed-4", "us-east-1"))
    scheduled = Workload(name="a", namespace="shop", image="nginx:1.29.3", container_port=80,
                         placement=Placement(regions=("us-east-1",)),
                         replica_scheduling=ReplicaScheduling(total_replicas=4))
    named = Workload(name="b", namespace="shop", image="nginx:1.29.3", container_port=80,
                     placement=Placement(clusters=("fed-2",)))
    placed = [as_placed(w, clusters) for w in (scheduled, named)]
    [ns] = kubefed_workload.namespaces(placed, clusters)
    ns_clusters = [c["name"] for c in ns["spec"]["placement"]["clusters"]]
    rsp = kubefed_workload.replica_scheduling(placed[0])
    assert ns_clusters == ["fed-1", "fed-2", "fed-4"]
    assert sorted(rsp["spec"]["clusters"]) == ["fed-1", "fed-4"]
    assert set(rsp["spec"]["clusters"]) <= set(ns_clusters)
    assert "intersectWithClusterSelector" not in rsp["spec"]
    assert "placement" not in kubefed_workload.deployment(placed[0])["spec"]  # the scheduler writes it


def test_a_cluster_leaving_the_config_leaves_the_rendered_placement():
    """Placed on "all", the Service names its clusters: removing one from the config removes it from the placement in
    the same deploy, so KubeFed deletes that copy (and its load balancer) while the cluster is still joined."""
    from components.federated_workloads import as_placed
    from federated_eks.plan import kubefed_workload
    before = (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "eu-west-1"))
    for clusters in (before, before[:2]):
        svc = kubefed_workload.service(as_placed(ECHO, clusters))
        assert svc["spec"]["placement"] == {"clusters": [{"name": n} for n, _ in clusters]}


def test_a_folders_deployments_get_the_waiter_the_runtime_accepts():
    from components.workload_waiter.runtime import workload_wait
    from federated_eks.config import manifest_folder
    objects, problems = manifest_folder.load(ROOT, "samples/hello-world")
    assert problems == []
    _, template = build([], [ManifestFolder(path="samples/hello-world", objects=objects)])
    [(key, waiter)] = [(k, r) for k, r in template["Resources"].items() if r["Type"] == "Custom::FederatedWorkload"]
    folder = next(k for k, r in template["Resources"].items() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
                  and "Folder" in k)
    assert folder in waiter["DependsOn"]
    props = {k: v for k, v in waiter["Properties"].items() if k != "ServiceToken"}
    req = workload_wait.parse(props)
    assert req.physical_id == "workload-waiter/federate-me/test-hello-world"
    assert [c.name for c in req.plan.clusters] == ["fed-1", "fed-2", "fed-3"] and req.plan.total_replicas == 7
    assert req.objects == (("types.kubefed.io/v1beta1", "FederatedDeployment"),
                           ("scheduling.kubefed.io/v1alpha1", "ReplicaSchedulingPreference"))


def test_one_owner_per_object_across_the_stacks_workload_constructs():
    # A FederatedNamespace (or any object) applied by two resources is deleted for both when either goes.
    _, stack, target = host_stack()
    FederatedWorkloads(stack, "Workloads", FederatedWorkloadsProps(target=target, workloads=[ECHO]))
    shop = Workload(name="shop", namespace="echo", image="nginx:1.29.3", container_port=80)
    with pytest.raises(ValueError) as err:
        FederatedWorkloads(stack, "Shop", FederatedWorkloadsProps(target=target, workloads=[shop]))
    assert str(err.value) == (
        "invalid federated workloads:\n  - Federation/Shop: workloads[0]: FederatedNamespace echo/echo is applied also "
        "by Federation/Workloads: workloads[0]; with two owners, deleting either deletes it for both. Fix: keep the "
        "object in one place (a folder may use a typed workload's namespace without a FederatedNamespace of its "
        "own; otherwise give each its own namespace)")
    copy = ManifestFolder(path="samples/y", objects=(("samples/y/a.yaml", FOLDER.objects[0][1]),))
    with pytest.raises(ValueError, match="Federation/Again: samples/y/a.yaml: FederatedNamespace x/x is applied also "
                                         "by Federation/Folder: samples/x/a.yaml"):
        FederatedWorkloads(stack, "Folder", FederatedWorkloadsProps(target=target, folders=[FOLDER]))
        FederatedWorkloads(stack, "Again", FederatedWorkloadsProps(target=target, folders=[copy]))


def test_namespaces_the_project_does_not_own_are_never_created_or_deleted():
    system = ManifestFolder(path="samples/s", objects=tuple(
        ("samples/s/a.yaml", {"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
                              "metadata": {"name": n, "namespace": n}, "spec": {"placement": {"clusterSelector": {}}}})
        for n in ("default", "kube-system", "kube-federation-system")))
    _, template = build([ECHO], [system, FOLDER])
    created = [json.loads(_joined(r["Properties"]["Manifest"]))[0]["metadata"]["name"]
               for r in template["Resources"].values() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
               and json.loads(_joined(r["Properties"]["Manifest"]))[0]["kind"] == "Namespace"]
    assert sorted(created) == ["echo", "x"]


def test_every_object_a_waiter_deletes_names_that_waiter_as_its_owner():
    """The hand-off between waiters (a new logical id for a new service token): the manifest renders the owner
    annotation the waiter's delete checks (contract.owner), naming exactly the physical id the waiter's runtime
    gives itself, on every object of its Objects, for typed workloads and folders alike; other objects carry none."""
    from components.workload_waiter import contract as waiter_contract
    from components.workload_waiter.runtime import workload_wait
    from federated_eks.config import manifest_folder
    objects, problems = manifest_folder.load(ROOT, "samples/hello-world")
    assert problems == []
    _, template = build([ECHO], [ManifestFolder(path="samples/hello-world", objects=objects)])
    resources = template["Resources"]
    applied = [o for r in resources.values() if r["Type"] == "Custom::AWSCDK-EKS-KubernetesResource"
               for o in json.loads(_joined(r["Properties"]["Manifest"]))]
    owners = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]):
              (o["metadata"].get("annotations") or {}).get(waiter_contract.OWNER_ANNOTATION) for o in applied}
    expected = {}
    for waiter in (r for r in resources.values() if r["Type"] == "Custom::FederatedWorkload"):
        req = workload_wait.parse({k: v for k, v in waiter["Properties"].items() if k != "ServiceToken"})
        for _, kind in req.objects:
            expected[(kind, req.plan.namespace, req.plan.name)] = req.physical_id
    assert len(expected) == 4  # echo-server's FederatedDeployment and Service, the folder's deployment and RSP
    assert {k: owners[k] for k in expected} == expected
    assert all(owner is None for k, owner in owners.items() if k not in expected), owners
