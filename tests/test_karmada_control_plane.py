"""The Karmada control plane (components/karmada_control_plane.py) and the engine guard (components/engine_guard.py):
the chart's values against the keys the chart documents, pinned images, mirror, storage, the static-resource Job's TTL
against Helm's timeout, the release namespace, the node port and its security-group rule, the order of install and
uninstall; the guard's admission policy evaluated with a CEL interpreter."""
from __future__ import annotations

import json
from dataclasses import replace

import celpy
import kubernetes_validate
import pytest

from components import engine_guard, karmada_control_plane as kcp
from fedtest import environment, resources, synth, templates
from federated_eks.model.federation import (KARMADA_RELEASE_NAMESPACE, KARMADA_SYSTEM_NAMESPACE, KUBERNETES_VERSIONS,
                                 ContainerImage, EtcdStorageConfig, KarmadaConfig)

# The value paths of charts/karmada/values.yaml (karmada-io/karmada, tag v1.19.0-rc.0) that federated-eks sets, with
# their chart defaults: a value at any other path would be silently ignored by the chart.
CHART_KEYS = {
    "installMode": "host", "systemNamespace": "karmada-system", "karmadaImageVersion": "latest",
    "global.imageRegistry": "",
    "cfssl.image.registry": "docker.io", "cfssl.image.repository": "cfssl/cfssl", "cfssl.image.tag": "latest",
    "kubectl.image.registry": "docker.io", "kubectl.image.repository": "bitnamisecure/kubectl",
    "kubectl.image.tag": "latest",
    "staticResourceJob.ttlSecondsAfterFinished": 10,
    "apiServer.serviceType": "ClusterIP", "apiServer.nodePort": 0,
    "etcd.mode": "internal", "etcd.internal.storageType": "hostPath", "etcd.internal.pvc.size": "",
    "etcd.internal.pvc.storageClass": "",
    **{f"{c}.image.tag": "latest" for c in ("scheduler", "webhook", "controllerManager", "aggregatedApiServer")},
}


def leaves(values: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        out.update(leaves(value, f"{path}.") if isinstance(value, dict) else {path: value})
    return out


MIRROR = KarmadaConfig(image_registry="123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror")


@pytest.mark.parametrize("cfg", [KarmadaConfig(), MIRROR,
                                 replace(KarmadaConfig(), etcd_storage=EtcdStorageConfig("hostPath", "", ""))])
def test_every_value_is_a_key_the_chart_documents(cfg):
    unknown = set(leaves(kcp.chart_values(cfg))) - set(CHART_KEYS)
    assert not unknown


def test_the_values_table():
    values = leaves(kcp.chart_values(KarmadaConfig()))
    assert values == {
        "installMode": "host", "systemNamespace": KARMADA_SYSTEM_NAMESPACE, "karmadaImageVersion": "v1.19.0",
        "cfssl.image.registry": "docker.io", "cfssl.image.repository": "cfssl/cfssl", "cfssl.image.tag": "v1.6.5",
        "kubectl.image.registry": "docker.io", "kubectl.image.repository": "bitnamilegacy/kubectl",
        "kubectl.image.tag": "1.33.3",
        "staticResourceJob.ttlSecondsAfterFinished": 900,
        "apiServer.serviceType": "NodePort", "apiServer.nodePort": 32443,
        "etcd.mode": "internal", "etcd.internal.storageType": "pvc", "etcd.internal.pvc.size": "10Gi",
        "etcd.internal.pvc.storageClass": "federated-eks-etcd",
        **{f"{c}.image.tag": "v1.19.0" for c in ("scheduler", "webhook", "controllerManager", "aggregatedApiServer")},
    }


def test_every_image_the_chart_defaults_to_latest_is_pinned():
    values = leaves(kcp.chart_values(KarmadaConfig()))
    for path, default in CHART_KEYS.items():
        if path.endswith(".tag") or path == "karmadaImageVersion":
            assert default == "latest" and values[path] not in ("", "latest"), path


def test_the_mirror_replaces_every_registry():
    assert kcp.chart_values(MIRROR)["global"] == {"imageRegistry": MIRROR.image_registry}
    assert "global" not in kcp.chart_values(KarmadaConfig())  # unset: the registries the chart names


def test_static_resource_job_outlives_helms_wait():
    """helm#31851: the Job must exist until Helm 4's --wait ends, and be gone before a later upgrade changes it."""
    timeout = kcp.HELM_TIMEOUT.to_seconds()
    assert timeout < kcp.STATIC_RESOURCE_JOB_TTL <= timeout + 600
    # The kubectl handler Lambda (15 minutes) keeps its margin (rehearsal/kubernetes/helm.py HANDLER_MARGIN).
    assert timeout + 120 <= 15 * 60


def test_the_release_does_not_live_in_the_namespace_its_post_delete_job_deletes():
    assert KARMADA_RELEASE_NAMESPACE != KARMADA_SYSTEM_NAMESPACE
    assert kcp.chart_values(KarmadaConfig())["systemNamespace"] == KARMADA_SYSTEM_NAMESPACE


def test_custom_job_images_and_host_path_storage():
    cfg = KarmadaConfig(cfssl_image=ContainerImage("mirror/cfssl", "v1.6.4"),
                        etcd_storage=EtcdStorageConfig("hostPath", "", ""))
    values = kcp.chart_values(cfg)
    assert values["cfssl"]["image"]["repository"] == "mirror/cfssl"
    assert values["etcd"]["internal"] == {"storageType": "hostPath"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate(version):
    for obj in [kcp.storage_class("federated-eks-etcd"), kcp.release_namespace(), *kcp.hook_rbac(),
                *engine_guard.guard_manifest("karmada", "dev", "fedeks-dev-federation")]:
        kubernetes_validate.validate(obj, version, strict=True)


# --- the engine guard's admission policy, evaluated -----------------------------------------------------------

def _evaluate(expression: str, obj: dict, old: dict):
    env = celpy.Environment()
    program = env.program(env.compile(expression))
    return program.evaluate({"object": celpy.json_to_cel(obj), "oldObject": celpy.json_to_cel(old)})


def _configmap(engine: str | None, name: str = engine_guard.NAME, namespace: str = "kube-system") -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, **({"data": {"engine": engine}} if engine else {})}


POLICY = engine_guard.guard_manifest("kubefed", "dev", "fedeks-dev-federation")[0]["spec"]


def test_the_guard_refuses_an_engine_switch_with_the_steps():
    validation = POLICY["validations"][0]
    old, new = _configmap("kubefed"), _configmap("karmada")
    assert bool(_evaluate(validation["expression"], new, old)) is False
    message = str(_evaluate(validation["messageExpression"], new, old))
    assert message == (
        "federated-eks: environment dev runs engine kubefed; a deployed federation cannot change its engine in place "
        "(the two would run side by side). Fix: 1) set engine back to kubefed and run `npx cdk destroy "
        "fedeks-dev-federation -c env=dev` (unjoins every cluster, removes the control plane and the workloads); "
        "2) set engine karmada and `make deploy ENV=dev`")


@pytest.mark.parametrize("old,new", [("kubefed", "kubefed"), ("karmada", "karmada"), (None, "karmada")])
def test_the_guard_admits_the_same_engine_and_a_first_write(old, new):
    assert bool(_evaluate(POLICY["validations"][0]["expression"], _configmap(new), _configmap(old))) is True


def test_the_guard_matches_its_own_configmap_only():
    condition = POLICY["matchConditions"][0]["expression"]
    assert bool(_evaluate(condition, _configmap("x"), _configmap("y"))) is True
    assert bool(_evaluate(condition, _configmap("x", name="other"), _configmap("y", name="other"))) is False
    assert bool(_evaluate(condition, _configmap("x", namespace="default"), _configmap("y"))) is False
    assert POLICY["matchConstraints"]["resourceRules"][0]["operations"] == ["UPDATE"]


# --- synthesized -----------------------------------------------------------------------------------------------

WORKLOADS = [{"name": "echo", "namespace": "echo", "image": "ealen/echo-server:0.9.2", "containerPort": 80,
              "replicas": 2, "clusters": {"fed-2": {"replicas": 3}}, "placement": {"clusters": ["fed-1", "fed-2"]}}]


@pytest.fixture(scope="module")
def karmada_env():
    raw = environment(clusters=3, engine="karmada", nodeGroup={"instanceTypes": ["m7g.large"]}, workloads=WORKLOADS)
    raw["clusters"][2]["region"] = "us-east-1"
    stacks, _ = synth(raw)
    return templates(stacks)


def _federation(tpls):
    return next(t for n, t in tpls.items() if n.endswith("-federation"))


def test_the_chart_is_installed_pinned_from_the_repository(karmada_env):
    fed = _federation(karmada_env)
    (chart,) = resources(fed, "Custom::AWSCDK-EKS-HelmChart").values()
    props = chart["Properties"]
    assert (props["Chart"], props["Version"], props["Repository"], props["Release"], props["Namespace"]) == (
        "karmada", "v1.19.0", "https://raw.githubusercontent.com/karmada-io/karmada/master/charts", "karmada",
        KARMADA_RELEASE_NAMESPACE)
    assert props["Wait"] is True and props["Timeout"] == "720s" and not props.get("CreateNamespace")
    assert json.loads(props["Values"]) == kcp.chart_values(KarmadaConfig())
    assert not resources(fed, "Custom::KubefedJoin") and not any("Kubefed" in k for k in fed.to_json()["Resources"])


def test_install_order_guard_storage_namespace_chart(karmada_env):
    fed = _federation(karmada_env).to_json()["Resources"]
    guard = next(k for k in fed if k.startswith("EngineGuard"))
    chart = next(k for k, v in fed.items() if v["Type"] == "Custom::AWSCDK-EKS-HelmChart")
    namespace = next(k for k in fed if k.startswith("KarmadaControlPlaneNamespace"))
    klass = next(k for k in fed if k.startswith("KarmadaControlPlaneEtcdStorageClass"))
    driver = next(k for k in fed if k.startswith("KarmadaControlPlaneEbsCsiDriver"))
    hook_rbac = next(k for k in fed if k.startswith("KarmadaControlPlaneHookRbac"))
    # Created before the chart, so deleted after its uninstall (the post-delete Job runs with the hook binding).
    assert {guard, namespace, hook_rbac} <= set(fed[chart]["DependsOn"])
    assert [(o["kind"], o["metadata"]["name"]) for o in json.loads(fed[hook_rbac]["Properties"]["Manifest"])] == [
        ("ClusterRole", "karmada-hook-job"), ("ClusterRoleBinding", "karmada-hook-job")]
    assert klass in fed[namespace]["DependsOn"] and driver in fed[klass]["DependsOn"]
    addon = fed[driver]["Properties"]
    assert addon["AddonName"] == "aws-ebs-csi-driver"
    assert addon["PodIdentityAssociations"][0]["ServiceAccount"] == "ebs-csi-controller-sa"
    manifest = json.loads(fed[klass]["Properties"]["Manifest"])
    assert manifest[0]["parameters"] == {"type": "gp3", "encrypted": "true"}


def test_the_lambdas_reach_karmada_apiserver_on_the_node_port_only(karmada_env):
    """One node-port rule (the Karmada join's `allow_node_port`) and one security group (the join Lambda's)."""
    fed = _federation(karmada_env)
    rules = {k: v["Properties"] for k, v in resources(fed, "AWS::EC2::SecurityGroupIngress").items()}
    (node_port,) = [r for r in rules.values() if r["FromPort"] != 443]
    assert (node_port["FromPort"], node_port["ToPort"], node_port["IpProtocol"]) == (32443, 32443, "tcp")
    assert "ClusterSecurityGroupId" in json.dumps(node_port["GroupId"])  # the group EKS puts on every managed node
    (group,) = resources(fed, "AWS::EC2::SecurityGroup").values()
    egress = group["Properties"]["SecurityGroupEgress"]
    # The API servers, the node port, and the regional EKS APIs (DescribeCluster through the NAT gateway).
    assert sorted((e["CidrIp"], e["FromPort"]) for e in egress) == [
        ("0.0.0.0/0", 443), ("172.21.0.0/16", 443), ("172.21.0.0/16", 32443), ("172.22.0.0/16", 443),
        ("172.23.0.0/16", 443)]


def _closure(fed: dict, name: str) -> set[str]:
    """Everything `name` depends on, directly or not (DependsOn and Ref/GetAtt)."""
    seen, todo = set(), [name]
    while todo:
        resource = fed[todo.pop()]
        depends = resource.get("DependsOn") or []
        found = set([depends] if isinstance(depends, str) else depends)
        text = json.dumps(resource.get("Properties") or {})
        found |= {k for k in fed if f'"Ref": "{k}"' in text or f'"Fn::GetAtt": ["{k}"' in text}
        for d in found - seen:
            seen.add(d)
            todo.append(d)
    return seen


def test_one_join_per_cluster_and_the_workloads_after_every_join(karmada_env):
    """Create order chart -> joins -> objects (deletes in reverse: objects, unjoins, chart), each after both
    network paths; the host joins itself; the objects are the workloads' Karmada objects."""
    fed = _federation(karmada_env).to_json()["Resources"]
    chart = next(k for k, v in fed.items() if v["Type"] == "Custom::AWSCDK-EKS-HelmChart")
    rules = {k for k, v in fed.items() if v["Type"] == "AWS::EC2::SecurityGroupIngress"}
    joins = {json.loads(json.dumps(v["Properties"]["Member"]))["Name"]: k for k, v in fed.items()
             if v["Type"] == "Custom::KarmadaJoin"}
    assert sorted(joins) == ["fed-1", "fed-2", "fed-3"]
    for join in joins.values():
        assert fed[join]["Properties"]["Host"]["Name"] == "fed-1"
        assert {chart, *rules} <= _closure(fed, join)
    (objects,) = [k for k, v in fed.items() if v["Type"] == "Custom::KarmadaObjects"]
    assert {chart, *rules, *joins.values()} <= _closure(fed, objects)
    # The members record: every cluster, after the chart and both paths, and before every join (so an update that
    # removes a cluster records it before its cleanup phase deletes that join; a delete removes the record last).
    (members,) = [k for k, v in fed.items() if v["Type"] == "Custom::KarmadaMembers"]
    assert fed[members]["Properties"]["Members"] == ["fed-1", "fed-2", "fed-3"]
    assert fed[members]["Properties"]["Host"]["Name"] == "fed-1"
    assert {chart, *rules} <= _closure(fed, members)
    assert all(members in fed[join]["DependsOn"] for join in joins.values())
    kinds = [(o["kind"], o["metadata"]["name"]) for o in json.loads(fed[objects]["Properties"]["Objects"])]
    assert kinds == [("Namespace", "echo"), ("PropagationPolicy", "echo-deployment"), ("Deployment", "echo")]
    policy = json.loads(fed[objects]["Properties"]["Objects"])[1]
    assert policy["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"] == [
        {"targetCluster": {"clusterNames": ["fed-1"]}, "weight": 2},
        {"targetCluster": {"clusterNames": ["fed-2"]}, "weight": 3}]


@pytest.fixture(scope="module")
def kubefed_env():
    stacks, _ = synth(environment(clusters=2, workloads=WORKLOADS[:1]))
    return templates(stacks)


def test_the_guard_keeps_its_logical_id_across_engines(karmada_env, kubefed_env):
    kubefed = _federation(kubefed_env).to_json()["Resources"]
    karmada = _federation(karmada_env).to_json()["Resources"]
    guard = next(k for k in karmada if k.startswith("EngineGuard"))
    assert guard in kubefed  # same logical id: a switch is an update of the guard, which the host refuses
    engines = [json.loads(t[guard]["Properties"]["Manifest"])[2]["data"]["engine"] for t in (kubefed, karmada)]
    assert engines == ["kubefed", "karmada"]
    control_plane = next(k for k, v in kubefed.items() if v["Type"] == "Custom::AWSCDK-EKS-HelmChart"
                         and "Controller" not in k and "Types" not in k)
    assert guard in kubefed[control_plane]["DependsOn"]


def test_the_rehearsals_api_server_applies_the_guard_as_the_api_server_does():
    """rehearsal/kubernetes/admission.policy_refusal, with the guard's own policy and binding."""
    from rehearsal.kubernetes import admission
    policy, binding, _ = engine_guard.guard_manifest("kubefed", "dev", "fedeks-dev-federation")

    def call(operation: str, engine: str, name: str = engine_guard.NAME) -> admission.Call:
        return admission.Call(operation, "", "v1", "configmaps", "kube-system", _configmap(engine, name=name))
    status, message = admission.policy_refusal(call("UPDATE", "karmada"), _configmap("kubefed"), [policy], [binding])
    assert status == 403 and message.startswith(
        "ValidatingAdmissionPolicy 'federated-eks-engine' with binding 'federated-eks-engine' denied request: "
        "federated-eks: environment dev runs engine kubefed;")
    assert admission.policy_refusal(call("UPDATE", "kubefed"), _configmap("kubefed"), [policy], [binding]) is None
    assert admission.policy_refusal(call("CREATE", "karmada"), None, [policy], [binding]) is None
    assert admission.policy_refusal(call("UPDATE", "karmada", "other"), _configmap("kubefed", name="other"),
                                    [policy], [binding]) is None
    assert admission.policy_refusal(call("UPDATE", "karmada"), _configmap("kubefed"), [policy], []) is None


def test_the_federation_layout_counts_the_karmada_stack(karmada_env):
    """federated_eks/plan/federation_layout.py predicts the stack the config check measures against CloudFormation's
    limits; with engine karmada it counts what stacks/federation.py builds."""
    from federated_eks.plan import federation_layout
    from federated_eks.config.reader import load_environment
    raw = environment(clusters=3, engine="karmada", nodeGroup={"instanceTypes": ["m7g.large"]}, workloads=WORKLOADS)
    raw["clusters"][2]["region"] = "us-east-1"
    fed = _federation(karmada_env).to_json()["Resources"]
    built = sum(1 for r in fed.values() if r["Type"] != "AWS::CDK::Metadata")
    assert built == federation_layout.federation_resources(load_environment({"test": raw}, "test"))


def test_the_model_and_the_join_contract_state_the_same_karmada_facts():
    """The model owns what the config and the workload plan need (federated_eks may not import components); the
    control plane and the join Lambda use components/karmada_join/contract.py. Both sides of the deploy boundary must
    name the same namespaces and node ports, and the control plane installs the release the Lambda looks for."""
    from components.karmada_join import contract
    from federated_eks.model import federation as model
    assert (model.KARMADA_RELEASE_NAMESPACE, model.KARMADA_SYSTEM_NAMESPACE) == (
        contract.RELEASE_NAMESPACE, contract.SYSTEM_NAMESPACE)
    assert model.DEFAULT_KARMADA_NODE_PORT == contract.DEFAULT_APISERVER_NODE_PORT
    assert model.NODE_PORT_RANGE == (contract.MIN_NODE_PORT, contract.MAX_NODE_PORT)
    assert (kcp.RELEASE, kcp.RELEASE_NAMESPACE) == (contract.RELEASE_NAME, contract.KUBECONFIG_NAMESPACE)
    assert contract.KUBECONFIG_SECRET == f"{kcp.RELEASE}-kubeconfig"
    assert contract.APISERVER_TLS_NAME.startswith(f"{kcp.RELEASE}-apiserver.{kcp.RELEASE_NAMESPACE}.svc.")


@pytest.mark.parametrize("engine", ["kubefed", "karmada"])
def test_every_resource_of_the_federation_stack_waits_for_the_engine_guard(engine, karmada_env, kubefed_env):
    """A refused engine switch fails the guard's update before anything else of the stack is created or changed:
    every other resource (the join provider's functions, its security group and ingress rules included) has the
    guard among what it depends on, directly or not."""
    fed = _federation({"kubefed": kubefed_env, "karmada": karmada_env}[engine]).to_json()["Resources"]
    (guard,) = [k for k in fed if k.startswith("EngineGuard")]
    assert guard not in _closure(fed, guard)  # no cycle through the guard
    types = {v["Type"] for v in fed.values()}
    assert {"AWS::Lambda::Function", "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"} <= types
    waiting = {k for k in fed if k != guard and fed[k]["Type"] != "AWS::CDK::Metadata"}
    assert {k for k in waiting if guard not in _closure(fed, k)} == set()
