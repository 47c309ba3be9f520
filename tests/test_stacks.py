"""The federation stack (KubeFed control plane and joins), and what no synthesized file may contain."""
from __future__ import annotations

import json

from components.kubefed_join import contract as c
from components.kubefed_join.kubefed_join import HANDLERS, SOURCE
from fedtest import ACCOUNT, cluster_stacks, environment, resources, synth, templates


def test_one_join_per_cluster_after_the_chart_peering_and_access_entries(three):
    stacks, tpl = three
    t = tpl["fedeks-test-federation"]
    joins = resources(t, c.JOIN_TYPE)
    assert len(joins) == 3
    controller = next(k for k, v in resources(t, "Custom::AWSCDK-EKS-HelmChart").items()
                      if v["Properties"]["Release"] == "kubefed-controller")
    teardowns = resources(t, c.TEARDOWN_TYPE)
    assert len(teardowns) == 1
    teardown_id, teardown = next(iter(teardowns.items()))
    # Deleted before the controller is uninstalled (the controller releases the FederatedTypeConfigs).
    assert controller in teardown["DependsOn"]
    assert set(teardown["Properties"]) == {"ServiceToken", c.HOST, c.NAMESPACE, c.TIMEOUT_SECONDS, c.MEMBERS}
    assert teardown["Properties"][c.MEMBERS] == ["fed-1", "fed-2", "fed-3"]  # recorded on the host (kube_access/membership.py)
    for join in joins.values():
        assert teardown_id in join["DependsOn"]  # created after the chart, deleted before the teardown
        props = join["Properties"]
        assert set(props) == {"ServiceToken", c.MEMBER, c.HOST, c.NAMESPACE, c.SCOPE, c.LABELS, c.TIMEOUT_SECONDS}
        assert set(props[c.MEMBER]) == set(c.CLUSTER_KEYS)
        assert props[c.HOST][c.NAME] == "fed-1"
        assert props[c.NAMESPACE] == "kube-federation-system" and props[c.SCOPE] == "Cluster"
        assert props[c.LABELS] == {"topology.kubernetes.io/region": props[c.MEMBER][c.REGION]}
    assert {j["Properties"][c.MEMBER][c.NAME] for j in joins.values()} == {"fed-1", "fed-2", "fed-3"}
    deps = {d.stack_name for d in stacks["fedeks-test-federation"].dependencies}
    peering = {n for n in stacks if "-peering-" in n or "-peer-routes-" in n}
    assert peering and peering <= deps
    assert set(cluster_stacks(stacks)) <= deps  # access entries live in the cluster stacks


def test_join_lambda_runs_in_the_host_vpc_with_https_egress_to_clusters_and_the_eks_api_only(three):
    _, tpl = three
    t = tpl["fedeks-test-federation"]
    functions = [f for f in resources(t, "AWS::Lambda::Function").values()
                 if f["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]
    assert sorted(f["Properties"]["Handler"] for f in functions) == sorted(HANDLERS.values())
    for f in functions:
        assert f["Properties"]["Runtime"] == "python3.14"
        assert f["Properties"]["Role"] == f"arn:aws:iam::{ACCOUNT}:role/fedeks-test-kubefed-join"
        assert "VpcConfig" in f["Properties"]
    sg = next(s for s in resources(t, "AWS::EC2::SecurityGroup").values()
              if "join" in s["Properties"]["GroupDescription"].lower())
    egress = sg["Properties"]["SecurityGroupEgress"]
    # The clusters' VPCs, and public addresses for the regional EKS APIs (DescribeCluster, through the NAT gateway).
    assert {(e["CidrIp"], e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress} == {
        ("172.21.0.0/16", "tcp", 443, 443), ("172.22.0.0/16", "tcp", 443, 443), ("172.23.0.0/16", "tcp", 443, 443),
        ("0.0.0.0/0", "tcp", 443, 443)}
    ingress = resources(t, "AWS::EC2::SecurityGroupIngress")  # the join Lambda's and the workload waiter's
    assert sorted(ingress) == ["HostApiFromJoinLambda", "HostApiFromWaiterLambda"]
    assert all(r["Properties"]["FromPort"] == 443 for r in ingress.values())


def test_no_token_or_kubeconfig_in_any_synthesized_file():
    stacks, assembly = synth(environment(2))
    import pathlib
    for path in pathlib.Path(assembly.directory).glob("*.json"):
        text = path.read_text()
        assert "k8s-aws-v1" not in text
        assert "service-account-token" not in text
        assert "client-certificate-data" not in text and "\"token\"" not in text.lower()


def _references(value) -> set[str]:
    """Logical ids `value` refers to (Ref, Fn::GetAtt, and the ${...} of Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def _needs(template: dict, logical_id: str) -> set[str]:
    """Everything CloudFormation creates before `logical_id` and deletes after it (DependsOn, Ref, GetAtt),
    transitively."""
    resources = template["Resources"]
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        resource = resources[todo.pop()]
        depends = resource.get("DependsOn", [])
        for other in ({depends} if isinstance(depends, str) else set(depends)) | _references(resource):
            if other in resources and other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_every_join_lambda_resource_keeps_its_network_path_until_it_is_deleted():
    # Issue 15: nothing depended on the host API rule, so a destroy could delete it first and every unjoin,
    # the teardown and each waiter's delete then timed out against the host.
    workloads = [{"name": "web", "namespace": "web", "image": "nginx:1.29.3", "containerPort": 80},
                 {"manifests": "samples/hello-world"}]
    stacks, _ = synth(environment(2, workloads=workloads))
    federation = stacks["fedeks-test-federation"]
    template = templates({"f": federation})["f"].to_json()
    from components.workload_waiter.contract import WORKLOAD_TYPE
    rule = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                and "HostApiFromJoinLambda" in r["Metadata"]["aws:cdk:path"])
    served = {k for k, r in template["Resources"].items() if r["Type"] in (c.JOIN_TYPE, c.TEARDOWN_TYPE)}
    assert {template["Resources"][k]["Type"] for k in served} == {c.JOIN_TYPE, c.TEARDOWN_TYPE}
    assert {k for k in served if rule not in _needs(template, k)} == set()
    # The waiters: their own Lambda's rule (and the join's, through the joins they follow).
    waiter_rule = "HostApiFromWaiterLambda"
    waiters = {k for k, r in template["Resources"].items() if r["Type"] == WORKLOAD_TYPE}
    assert waiters and {k for k in waiters if waiter_rule not in _needs(template, k)} == set()
    # The members' side of the path (their API rule for the host VPC, the peering routes) is in stacks the
    # federation stack depends on, so it is created before and deleted after every one of these resources.
    deps = {d.stack_name for d in federation.dependencies}
    for name, stack in cluster_stacks(stacks).items():
        assert name in deps
        if name.endswith("-fed-1"):
            continue  # the host: its own VPC reaches it through the rule above
        rules = templates({name: stack})[name].find_resources("AWS::EC2::SecurityGroupIngress")
        assert any(r["Properties"].get("CidrIp") == "172.21.0.0/16" for r in rules.values()), name
    assert {n for n in stacks if "-peering-" in n or "-peer-routes-" in n} <= deps
