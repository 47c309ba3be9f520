"""The federation stack (KubeFed control plane and joins), and what no synthesized file may contain."""
from __future__ import annotations

import json

from fedtest import ACCOUNT, cluster_stacks, environment, resources, synth, templates


def test_one_join_per_cluster_after_the_chart_peering_and_access_entries(three):
    stacks, tpl = three
    t = tpl["fedeks-test-federation"]
    joins = resources(t, "Custom::KubefedJoin")
    assert len(joins) == 3
    chart = next(iter(resources(t, "Custom::AWSCDK-EKS-HelmChart")))
    teardowns = resources(t, "Custom::KubefedTeardown")
    assert len(teardowns) == 1
    teardown_id, teardown = next(iter(teardowns.items()))
    assert chart in teardown["DependsOn"]  # deleted before the chart is uninstalled
    assert set(teardown["Properties"]) == {"ServiceToken", "Host", "Namespace"}
    for join in joins.values():
        assert teardown_id in join["DependsOn"]  # created after the chart, deleted before the teardown
        props = join["Properties"]
        assert set(props) == {"ServiceToken", "Member", "Host", "Namespace", "Scope", "Labels", "TimeoutSeconds"}
        assert set(props["Member"]) == {"Name", "EksClusterName", "Region", "Endpoint", "CaData"}
        assert props["Host"]["Name"] == "fed-1"
        assert props["Namespace"] == "kube-federation-system" and props["Scope"] == "Cluster"
        assert props["Labels"] == {"topology.kubernetes.io/region": props["Member"]["Region"]}
    assert {j["Properties"]["Member"]["Name"] for j in joins.values()} == {"fed-1", "fed-2", "fed-3"}
    deps = {d.stack_name for d in stacks["fedeks-test-federation"].dependencies}
    peering = {n for n in stacks if "-peering-" in n or "-peer-routes-" in n}
    assert peering and peering <= deps
    assert set(cluster_stacks(stacks)) <= deps  # access entries live in the cluster stacks


def test_kubefed_chart_with_mirrorable_images(dev):
    _, tpl = dev
    chart = next(iter(resources(tpl["fedeks-dev-federation"], "Custom::AWSCDK-EKS-HelmChart").values()))["Properties"]
    assert chart["Chart"] == "kubefed" and chart["Version"] == "0.10.0" and chart["Release"] == "kubefed"
    assert chart["Namespace"] == "kube-federation-system"
    assert chart["Repository"] == "https://raw.githubusercontent.com/kubernetes-sigs/kubefed/master/charts"
    values = json.loads(chart["Values"]) if isinstance(chart["Values"], str) else chart["Values"]
    cm = values["controllermanager"]
    assert cm["postInstallJob"] == {"repository": "docker.io/bitnamilegacy", "image": "kubectl", "tag": "1.33.4"}
    assert cm["controller"]["tag"] == cm["webhook"]["tag"] == "v0.10.0"
    assert values["global"]["scope"] == "Cluster"


def test_user_values_and_scope_reach_the_chart():
    raw = environment(kubefed={"scope": "Namespaced", "values": {"controllermanager": {"controller": {
        "replicaCount": 3}}}, "postInstallImage": {"repository": "mirror.example/x"},
        "controllerImage": {"repository": "mirror.example/kf"}, "webhookImage": {"tag": "v0.10.0-patched"}})
    stacks, _ = synth(raw)
    t = templates(stacks)["fedeks-test-federation"]
    chart = next(iter(resources(t, "Custom::AWSCDK-EKS-HelmChart").values()))["Properties"]
    values = json.loads(chart["Values"]) if isinstance(chart["Values"], str) else chart["Values"]
    assert values["global"]["scope"] == "Namespaced"
    assert values["controllermanager"]["controller"]["replicaCount"] == 3
    assert values["controllermanager"]["controller"]["image"] == "kubefed"  # merged, not replaced
    assert values["controllermanager"]["postInstallJob"]["repository"] == "mirror.example/x"
    assert values["controllermanager"]["controller"]["repository"] == "mirror.example/kf"
    # The webhook follows the controller's mirror unless set, field by field.
    assert values["controllermanager"]["webhook"] == {"repository": "mirror.example/kf", "image": "kubefed",
                                                      "tag": "v0.10.0-patched"}
    for join in resources(t, "Custom::KubefedJoin").values():
        assert join["Properties"]["Scope"] == "Namespaced"


def test_join_lambda_runs_in_the_host_vpc_with_https_egress_to_clusters_only(three):
    _, tpl = three
    t = tpl["fedeks-test-federation"]
    functions = [f for f in resources(t, "AWS::Lambda::Function").values()
                 if f["Properties"].get("Handler", "").startswith("handler.")]
    assert sorted(f["Properties"]["Handler"] for f in functions) == ["handler.is_complete", "handler.on_event"]
    for f in functions:
        assert f["Properties"]["Runtime"] == "python3.14"
        assert f["Properties"]["Role"] == f"arn:aws:iam::{ACCOUNT}:role/fedeks-test-kubefed-join"
        assert "VpcConfig" in f["Properties"]
    sg = next(s for s in resources(t, "AWS::EC2::SecurityGroup").values()
              if "join" in s["Properties"]["GroupDescription"].lower())
    egress = sg["Properties"]["SecurityGroupEgress"]
    assert {(e["CidrIp"], e["FromPort"], e["ToPort"]) for e in egress} == {
        ("172.21.0.0/16", 443, 443), ("172.22.0.0/16", 443, 443), ("172.23.0.0/16", 443, 443)}
    ingress = resources(t, "AWS::EC2::SecurityGroupIngress")
    assert len(ingress) == 1 and next(iter(ingress.values()))["Properties"]["FromPort"] == 443


def test_no_token_or_kubeconfig_in_any_synthesized_file():
    stacks, assembly = synth(environment(2))
    import pathlib
    for path in pathlib.Path(assembly.directory).glob("*.json"):
        text = path.read_text()
        assert "k8s-aws-v1" not in text
        assert "service-account-token" not in text
        assert "client-certificate-data" not in text and "\"token\"" not in text.lower()
