"""The rehearsal's emulated EKS API servers are as strict as EKS where a deploy depends on it, and the kubectl
provider's custom resources (HelmChart, KubernetesResource) are served against them as aws-cdk-lib's kubectl
handler serves them (rehearsal/kubernetes/). Each test talks to the real HTTP/TLS server: with the kubernetes
client, the kubectl layer's own kubectl, or through EmulatedKubernetes.custom_resource as the CloudFormation side
calls it."""
from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from pathlib import Path

import kubernetes
import pytest
import yaml

from components.kubefed_control_plane import RELEASES, assemble_chart, release_values
from federated_eks.model.federation import KubefedConfig
from rehearsal import world
from rehearsal.kubernetes import EmulatedKubernetes
from rehearsal.kubernetes.layer_tools import layer_binary

VERSION = "1.35"
KUBEFED_IMAGE = "quay.io/kubernetes-multicluster/kubefed:v0.10.0"
NS = "kube-federation-system"


class Network:
    def __init__(self) -> None:
        self.closed: set[tuple[str, str]] = set()

    def reachable(self, source: str, cluster: str) -> bool:
        return (source, cluster) not in self.closed


HANDLER = world.LambdaFunction("fedeks-test-cluster", "KubectlHandler", None, "index.handler", {}, 900)
PROVIDER = world.ProviderCall(on_event=HANDLER)


@pytest.fixture(scope="module")
def side(tmp_path_factory):
    emulated = EmulatedKubernetes(tmp_path_factory.mktemp("kubernetes"))
    yield emulated
    emulated.close()


@pytest.fixture
def cluster(side):
    """A fresh cluster of VERSION with two amd64 nodes: its EKS name."""
    name = f"c-{uuid.uuid4().hex[:8]}"
    side.create_cluster(world.EksCluster(name, "eu-west-3", VERSION))
    side.set_node_groups(name, [world.NodeGroup("x86", "amd64", 2)])
    yield name
    side.delete_cluster(name)


@pytest.fixture
def api(side, cluster, tmp_path):
    """The kubernetes client, configured as for an EKS cluster (endpoint, CA, bearer token)."""
    found = side.clusters[cluster]
    (tmp_path / "ca.pem").write_bytes(side.ca.ca_pem)
    config = kubernetes.client.Configuration()
    config.host = found.handle.endpoint
    config.ssl_ca_cert = str(tmp_path / "ca.pem")
    config.api_key = {"authorization": f"Bearer {found.token}"}
    with kubernetes.client.ApiClient(config) as client:
        yield client


def settle(side, rounds: int = 3) -> None:
    clock = side.clock
    for _ in range(rounds):
        clock.advance(2)
        side.controllers_round(clock)


def status_of(exc: kubernetes.client.ApiException) -> tuple[int, str]:
    return exc.status, json.loads(exc.body)["message"]


def deployment(name: str, namespace: str, image: str, **pod) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}], **pod}}}}


def namespace(api, name: str) -> None:
    kubernetes.client.CoreV1Api(api).create_namespace({"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})


# --- the API server ------------------------------------------------------------------------------------------------

def test_a_namespaced_object_needs_its_namespace(api):
    core = kubernetes.client.CoreV1Api(api)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes.client.ApiException) as refused:
        core.create_namespaced_config_map("echo", config_map)
    assert status_of(refused.value) == (404, 'namespaces "echo" not found')
    namespace(api, "echo")
    core.create_namespaced_config_map("echo", config_map)
    assert core.read_namespace("echo").metadata.labels == {"kubernetes.io/metadata.name": "echo"}


def test_a_kind_needs_a_builtin_api_of_the_version_or_an_established_crd(side, cluster, api, tmp_path):
    custom = kubernetes.client.CustomObjectsApi(api)
    namespace(api, "echo")
    federated = {"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
                 "metadata": {"name": "echo", "namespace": "echo"}, "spec": {}}
    with pytest.raises(kubernetes.client.ApiException) as refused:
        custom.create_namespaced_custom_object("types.kubefed.io", "v1beta1", "echo", "federatednamespaces", federated)
    assert refused.value.status == 404
    # A built-in API that Kubernetes 1.35 no longer serves (autoscaling/v2beta2 went in 1.26).
    with pytest.raises(kubernetes.client.ApiException) as removed:
        custom.create_namespaced_custom_object("autoscaling", "v2beta2", "echo", "horizontalpodautoscalers", {})
    assert removed.value.status == 404
    # kubectl of the kubectl layer, mapping the kind through discovery as the handler's kubectl does.
    found = side.clusters[cluster]
    (tmp_path / "ca.pem").write_bytes(side.ca.ca_pem)
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{found.handle.port}",
                                               "tls-server-name": found.handle.hostname.lower(),
                                               "certificate-authority": str(tmp_path / "ca.pem")}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": found.token}}]}))
    (tmp_path / "manifest.yaml").write_text(json.dumps(federated))

    def kubectl_create() -> subprocess.CompletedProcess:
        # --validate=false: the emulator serves no OpenAPI document; it validates on the server side itself.
        return subprocess.run([str(layer_binary(VERSION, "kubectl")), "create", "--validate=false", "--kubeconfig",
                               str(tmp_path / "kubeconfig"), "-f", str(tmp_path / "manifest.yaml")],
                              capture_output=True, text=True, timeout=60)
    run = kubectl_create()
    assert run.returncode == 1
    assert 'no matches for kind "FederatedNamespace" in version "types.kubefed.io/v1beta1"' in run.stderr
    # Served once its CRD exists (the API server establishes it).
    from components.kubefed_crds import federated_type_crd
    crd = federated_type_crd(next(t for t in KubefedConfig().federated_types if t.kind == "Namespace"))
    kubernetes.client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    run = kubectl_create()
    assert run.returncode == 0, run.stderr
    assert custom.get_namespaced_custom_object("types.kubefed.io", "v1beta1", "echo", "federatednamespaces",
                                               "echo")["metadata"]["name"] == "echo"


@pytest.mark.parametrize("change, field", [
    (lambda d: d["spec"].update(replicas="three"), "spec.replicas: Invalid value"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("image"),
     "spec.template.spec.containers[0].image: Required value"),
    (lambda d: d["spec"].update(replica=2), 'unknown field "spec.replica"'),
])
def test_builtin_objects_are_validated_against_the_versions_schema(api, change, field):
    namespace(api, "apps")
    body = deployment("web", "apps", "nginx:1.27")
    change(body)
    with pytest.raises(kubernetes.client.ApiException) as refused:
        kubernetes.client.AppsV1Api(api).create_namespaced_deployment("apps", body)
    code, message = status_of(refused.value)
    assert code == 422 and message.startswith('Deployment.apps "web" is invalid: ') and field in message


def test_custom_resources_are_validated_against_their_crds_schema(api):
    from components.kubefed_crds import core_crds
    extensions = kubernetes.client.ApiextensionsV1Api(api)
    for crd in core_crds():
        extensions.create_custom_resource_definition(crd)
    namespace(api, NS)
    custom = kubernetes.client.CustomObjectsApi(api)
    cluster_object = {"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
                      "metadata": {"name": "m", "namespace": NS}, "spec": {"apiEndpoint": "https://m"}}
    with pytest.raises(kubernetes.client.ApiException) as refused:
        custom.create_namespaced_custom_object("core.kubefed.io", "v1beta1", NS, "kubefedclusters", cluster_object)
    code, message = status_of(refused.value)
    assert code == 422 and "'secretRef' is a required property" in message
    cluster_object["spec"]["secretRef"] = {"name": "m"}
    custom.create_namespaced_custom_object("core.kubefed.io", "v1beta1", NS, "kubefedclusters", cluster_object)


def test_a_webhook_with_failure_policy_fail_refuses_until_its_service_has_a_ready_endpoint(side, cluster, api):
    namespace(api, "hooks")
    namespace(api, "work")
    kubernetes.client.AdmissionregistrationV1Api(api).create_validating_webhook_configuration({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "guard"},
        "webhooks": [{"name": "configmaps.guard.example", "failurePolicy": "Fail", "sideEffects": "None",
                      "admissionReviewVersions": ["v1"],
                      "clientConfig": {"service": {"name": "guard", "namespace": "hooks", "path": "/validate"}},
                      "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                 "resources": ["configmaps"]}]}]})
    core = kubernetes.client.CoreV1Api(api)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes.client.ApiException) as refused:
        core.create_namespaced_config_map("work", config_map)
    assert status_of(refused.value) == (500, 'Internal error occurred: failed calling webhook "configmaps.guard.'
                                        'example": failed to call webhook: Post "https://guard.hooks.svc:443/validate'
                                        '?timeout=10s": service "guard" not found')
    core.create_namespaced_service("hooks", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "guard"},
                                             "spec": {"selector": {"app": "guard"}, "ports": [{"port": 443}]}})
    # Its Deployment runs an amd64-only image on arm64 nodes: never ready, the webhook keeps refusing.
    side.set_node_groups(cluster, [world.NodeGroup("graviton", "arm64", 2)])
    kubernetes.client.AppsV1Api(api).create_namespaced_deployment("hooks", deployment("guard", "hooks",
                                                                                      KUBEFED_IMAGE))
    settle(side)
    with pytest.raises(kubernetes.client.ApiException) as still:
        core.create_namespaced_config_map("work", config_map)
    assert 'no endpoints available for service "guard"' in status_of(still.value)[1]
    side.set_node_groups(cluster, [world.NodeGroup("x86", "amd64", 1)])
    settle(side)
    core.create_namespaced_config_map("work", config_map)


def test_finalizers_hold_deletion_owners_collect_dependents_and_namespaces_cascade(side, api):
    core = kubernetes.client.CoreV1Api(api)
    namespace(api, "gc")
    owner = core.create_namespaced_config_map("gc", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map("gc", {"metadata": {"name": "dependent", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]}})
    core.create_namespaced_config_map("gc", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("owner", "gc")
    settle(side)
    names = {c.metadata.name for c in core.list_namespaced_config_map("gc").items}
    assert names == {"held"}
    core.delete_namespaced_config_map("held", "gc")
    settle(side)
    assert core.read_namespaced_config_map("held", "gc").metadata.deletion_timestamp
    core.delete_namespace("gc")
    settle(side, 5)
    assert core.read_namespace("gc").status.phase == "Terminating"  # held by the finalizer
    core.patch_namespaced_config_map("held", "gc", {"metadata": {"finalizers": None}})
    settle(side, 5)
    assert "gc" not in {n.metadata.name for n in core.list_namespace().items}


@pytest.mark.parametrize("groups, image, pod, ready, reason", [
    ([("arm64", 2)], KUBEFED_IMAGE, {}, False, "exec format error"),
    ([("amd64", 1), ("arm64", 2)], KUBEFED_IMAGE, {}, False, "exec format error"),
    ([("amd64", 1), ("arm64", 2)], KUBEFED_IMAGE, {"nodeSelector": {"kubernetes.io/arch": "amd64"}}, True, ""),
    ([("amd64", 2)], "nginx:1.27", {"nodeSelector": {"kubernetes.io/arch": "arm64"}}, False,
     "didn't match Pod's node affinity/selector"),
    ([("arm64", 2)], "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller:v3.2.2", {},
     True, ""),
    ([("arm64", 2)], "registry.example.com/team/app:1.0", {}, True, ""),
    ([], "nginx:1.27", {}, False, "no nodes available"),
])
def test_a_deployment_is_ready_only_on_nodes_its_images_run_on(side, cluster, api, groups, image, pod, ready,
                                                                reason):
    side.set_node_groups(cluster, [world.NodeGroup(f"g{i}", arch, n) for i, (arch, n) in enumerate(groups)])
    namespace(api, "apps")
    apps = kubernetes.client.AppsV1Api(api)
    apps.create_namespaced_deployment("apps", deployment("web", "apps", image, **pod))
    settle(side)
    status = apps.read_namespaced_deployment("web", "apps").status
    assert (status.ready_replicas == 2) is ready
    assert reason in (status.conditions[0].message or "")


def test_a_daemonset_is_ready_on_every_node_it_selects(side, cluster, api):
    side.set_node_groups(cluster, [world.NodeGroup("x86", "amd64", 1), world.NodeGroup("graviton", "arm64", 3)])
    namespace(api, "ds")
    apps = kubernetes.client.AppsV1Api(api)
    body = deployment("agent", "ds", KUBEFED_IMAGE, nodeSelector={"kubernetes.io/arch": "amd64"})
    body["kind"] = "DaemonSet"
    del body["spec"]["replicas"]
    apps.create_namespaced_daemon_set("ds", body)
    settle(side)
    status = apps.read_namespaced_daemon_set("agent", "ds").status
    assert (status.desired_number_scheduled, status.number_ready) == (1, 1)


def test_jobs_complete_and_their_ttl_deletes_them(side, api):
    namespace(api, "jobs")
    batch = kubernetes.client.BatchV1Api(api)
    batch.create_namespaced_job("jobs", {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
                                         "spec": {"ttlSecondsAfterFinished": 30, "template": {"spec": {
                                             "restartPolicy": "Never",
                                             "containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
    settle(side, 2)
    job = batch.read_namespaced_job("once", "jobs")
    assert job.status.succeeded == 1 and any(c.type == "Complete" for c in job.status.conditions)
    settle(side, 20)  # 40 virtual seconds
    assert batch.list_namespaced_job("jobs").items == []


# --- the kubectl provider's custom resources ---------------------------------------------------------------------

def request(kind: str, properties: dict, request_type: str = "Create", old: dict | None = None,
            assets: dict | None = None, logical_id: str = "Resource") -> world.CustomResourceRequest:
    return world.CustomResourceRequest(request_type, "fedeks-test-federation", logical_id, kind, properties, PROVIDER,
                                       old_properties=old, physical_id=None if request_type == "Create" else "id",
                                       assets=assets or {})


def manifest(cluster: str, objects: list[dict], **extra) -> dict:
    return {"ClusterName": cluster, "Manifest": json.dumps(objects), **extra}


MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
CHART = "Custom::AWSCDK-EKS-HelmChart"


def test_a_manifest_is_created_applied_pruned_and_deleted_as_the_handler_does(side, cluster):
    net, clock = Network(), world.Clock()
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "echo"}}
    one = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "echo"},
           "data": {"v": "1"}}
    two = {**one, "metadata": {"name": "two", "namespace": "echo"}}
    side.custom_resource(request(MANIFEST, manifest(cluster, [ns, one, two])), clock, net)
    # Create without Overwrite is `kubectl create`: an object that exists already fails the resource.
    with pytest.raises(world.RehearsalFailure) as twice:
        side.custom_resource(request(MANIFEST, manifest(cluster, [one])), clock, net)
    assert 'configmaps "one" already exists' in str(twice.value)
    assert twice.value.kubernetes_object == "ConfigMap echo/one" and "one owner" in twice.value.fix
    side.custom_resource(request(MANIFEST, manifest(cluster, [one], Overwrite="true")), clock, net)
    changed = {**one, "data": {"v": "2"}}
    side.custom_resource(request(MANIFEST, manifest(cluster, [ns, changed], PruneLabel="p"), "Update",
                                 old=manifest(cluster, [ns, one, two], PruneLabel="p")), clock, net)
    client = side.client(cluster)
    assert client.get(one)["data"] == {"v": "2"} and client.get(two) is None
    side.custom_resource(request(MANIFEST, manifest(cluster, [ns, changed, two]), "Delete"), clock, net)
    settle(side)
    assert client.get(ns) is None


def test_a_manifest_stops_at_the_first_refusal_with_the_object_and_the_fix(side, cluster):
    net, clock = Network(), world.Clock()
    federated = {"apiVersion": "types.kubefed.io/v1beta1", "kind": "FederatedNamespace",
                 "metadata": {"name": "echo", "namespace": "echo"}}
    with pytest.raises(world.RehearsalFailure) as no_kind:
        side.custom_resource(request(MANIFEST, manifest(cluster, [federated])), clock, net)
    assert 'no matches for kind "FederatedNamespace"' in str(no_kind.value)
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "echo"}}
    with pytest.raises(world.RehearsalFailure) as no_namespace:
        side.custom_resource(request(MANIFEST, manifest(cluster, [config_map])), clock, net)
    assert 'namespaces "echo" not found' in str(no_namespace.value)
    assert no_namespace.value.kubernetes_object == "ConfigMap echo/x" and "Namespace" in no_namespace.value.fix
    assert no_namespace.value.resource == "Resource" and no_namespace.value.stack == "fedeks-test-federation"


def test_the_kubectl_handler_needs_a_network_path_on_create_and_ignores_it_on_delete(side, cluster):
    net, clock = Network(), world.Clock()
    net.closed.add((HANDLER.source, cluster))
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "echo"}}
    with pytest.raises(world.RehearsalFailure) as unreachable:
        side.custom_resource(request(MANIFEST, manifest(cluster, [ns])), clock, net)
    assert "no network path" in str(unreachable.value) and "security group" in unreachable.value.fix
    side.custom_resource(request(MANIFEST, manifest(cluster, [ns]), "Delete"), clock, net)
    assert any("delete skipped" in w for w in side.warnings)


def kubefed_chart(cluster: str, phase: str, release: str, **extra) -> world.CustomResourceRequest:
    cfg = KubefedConfig()
    props = {"ClusterName": cluster, "Release": release, "ChartAssetURL": "s3://assets/chart.zip", "Wait": True,
             "Timeout": "600s", "Values": json.dumps(release_values(cfg, phase)), "Namespace": NS,
             "CreateNamespace": True, "Atomic": True, **extra}
    return request(CHART, props, assets={"chart.zip": assemble_chart(cfg)}, logical_id=f"Chart-{phase}")


def test_the_kubefed_releases_install_in_order_and_uninstall(side, cluster):
    net, clock = Network(), world.Clock()
    for release, phase in RELEASES:
        side.custom_resource(kubefed_chart(cluster, phase, release), clock, net)
    client = side.client(cluster)
    manager = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "kubefed-controller-manager", "namespace": NS}}
    assert client.get(manager)["status"]["readyReplicas"] >= 1
    for release, phase in reversed(RELEASES):
        create = kubefed_chart(cluster, phase, release)
        side.custom_resource(request(CHART, create.properties, "Delete", assets=create.assets), clock, net)
    assert client.get(manager) is None
    webhook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "validations.core.kubefed.io"}}
    assert client.get(webhook) is None


def test_a_release_whose_kinds_come_from_a_later_release_fails_before_creating_anything(side, cluster):
    net, clock = Network(), world.Clock()
    with pytest.raises(world.RehearsalFailure) as failure:
        side.custom_resource(kubefed_chart(cluster, "types", "kubefed-types"), clock, net)
    assert "unable to build kubernetes objects from release manifest" in str(failure.value)
    assert 'no matches for kind "FederatedTypeConfig"' in str(failure.value)
    assert "CustomResourceDefinition of FederatedTypeConfig" in failure.value.fix


def test_kubefed_on_graviton_only_nodes_times_out_and_is_rolled_back(side, cluster):
    side.set_node_groups(cluster, [world.NodeGroup("graviton", "arm64", 3)])
    net, clock = Network(), world.Clock()
    with pytest.raises(world.RehearsalFailure) as failure:
        side.custom_resource(kubefed_chart(cluster, "controlPlane", "kubefed"), clock, net)
    message = str(failure.value)
    assert "kubefed-admission-webhook not ready within the timeout 600 s" in message
    # KubeFed's pods are pinned to amd64 nodes (model.KUBEFED_NODE_ARCHITECTURE): on Graviton-only nodes none matches
    assert "affinity/selector" in message
    assert "uninstalled due to atomic" in message
    assert failure.value.kubernetes_object == f"Deployment {NS}/kubefed-admission-webhook"
    assert "node group the pods can be scheduled on" in failure.value.fix
    assert 600 <= clock.now < 900
    client = side.client(cluster)
    assert client.get({"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "kubefed-admission-webhook", "namespace": NS}}) is None


def test_a_helm_timeout_must_leave_the_handler_lambda_time(side, cluster):
    net, clock = Network(), world.Clock()
    with pytest.raises(world.RehearsalFailure) as failure:
        side.custom_resource(kubefed_chart(cluster, "controlPlane", "kubefed", Timeout="900s"), clock, net)
    assert "leaves less than 120 s of the kubectl handler Lambda's 900 s" in str(failure.value)
    assert "at most 780 s" in failure.value.fix


def load_balancer_controller(cluster: str, timeout: str, **values) -> world.CustomResourceRequest:
    """The HelmChart aws-cdk-lib 2.275's AlbController writes (aws-eks-v2/lib/alb-controller.js)."""
    return request(CHART, {
        "ClusterName": cluster, "Release": "aws-load-balancer-controller", "Chart": "aws-load-balancer-controller",
        "Repository": "https://aws.github.io/eks-charts", "Version": "3.2.2", "Namespace": "kube-system",
        "Wait": True, "Timeout": timeout, "Values": json.dumps({
            "clusterName": cluster, "serviceAccount": {"create": False, "name": "aws-load-balancer-controller"},
            "region": "eu-west-3", "vpcId": "vpc-1", "enableServiceMutatorWebhook": False,
            "image": {"repository": "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller",
                      "tag": "v3.2.2"}, **values})}, logical_id="AlbController")


def test_the_load_balancer_controller_is_modelled_and_its_15_minute_wait_refused(side, cluster):
    net, clock = Network(), world.Clock()
    with pytest.raises(world.RehearsalFailure) as refused:
        side.custom_resource(load_balancer_controller(cluster, "900s"), clock, net)
    assert "'aws-load-balancer-controller' waits up to 900 s" in str(refused.value)
    side.set_node_groups(cluster, [world.NodeGroup("graviton", "arm64", 2)])  # its images are multi-arch
    side.custom_resource(load_balancer_controller(cluster, "600s"), clock, net)
    client = side.client(cluster)
    controller = client.get({"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": "aws-load-balancer-controller", "namespace": "kube-system"}})
    assert controller["status"]["readyReplicas"] == 2
    side.custom_resource(request(CHART, load_balancer_controller(cluster, "600s").properties, "Delete"), clock, net)
    assert client.get(controller) is None


def test_hooks_run_in_helms_order_with_their_delete_policies(side, cluster, tmp_path):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hooked\nversion: 0.1.0\n")
    (chart / "templates" / "objects.yaml").write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: main
        data: {phase: main}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
          annotations:
            helm.sh/hook: pre-install
            helm.sh/hook-delete-policy: hook-succeeded
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: m, image: "busybox:1.36"}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: done
          annotations:
            helm.sh/hook: post-install
        data: {phase: post}
        """))
    net, clock = Network(), world.Clock()
    props = {"ClusterName": cluster, "Release": "hooked", "ChartAssetURL": "s3://assets/hooked.zip", "Wait": True,
             "Timeout": "300s", "Namespace": "apps", "CreateNamespace": True}
    side.custom_resource(request(CHART, props, assets={"hooked.zip": chart}), clock, net)
    client = side.client(cluster)

    def get(kind: str, name: str, api_version: str = "v1") -> dict | None:
        return client.get({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "apps"}})
    assert get("Job", "migrate", "batch/v1") is None  # ran, succeeded, deleted (hook-succeeded)
    assert get("ConfigMap", "main")["metadata"]["annotations"]["meta.helm.sh/release-name"] == "hooked"
    assert get("ConfigMap", "done") is not None
    # Without CreateNamespace the release record has nowhere to go.
    with pytest.raises(world.RehearsalFailure) as no_namespace:
        side.custom_resource(request(CHART, {**props, "Release": "other", "Namespace": "elsewhere",
                                             "CreateNamespace": False}, assets={"hooked.zip": chart}), clock, net)
    assert 'namespaces "elsewhere" not found' in str(no_namespace.value)
    side.custom_resource(request(CHART, props, "Delete"), clock, net)
    assert get("ConfigMap", "main") is None


def test_a_chart_from_a_repository_without_a_model_is_named(side, cluster):
    net, clock = Network(), world.Clock()
    with pytest.raises(world.RehearsalFailure) as failure:
        side.custom_resource(request(CHART, {"ClusterName": cluster, "Release": "x", "Chart": "x",
                                             "Repository": "https://charts.example.com"}), clock, net)
    assert "cannot be fetched offline" in str(failure.value) and "repository_charts.py" in failure.value.fix


def test_the_layer_tools_are_the_rehearsals():
    import layer_tools
    assert layer_tools.layer_binary is layer_binary
    assert Path(layer_binary(VERSION, "helm")).is_file()


def test_load_balancer_services_keep_their_finalizer_once_the_controller_is_gone(side, cluster, api):
    core, apps = kubernetes.client.CoreV1Api(api), kubernetes.client.AppsV1Api(api)
    namespace(api, "echo")
    apps.create_namespaced_deployment("kube-system", deployment(
        "aws-load-balancer-controller", "kube-system",
        "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller:v3.2.2"))

    def service(name: str) -> dict:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"type": "LoadBalancer", "loadBalancerClass": "service.k8s.aws/nlb",
                         "selector": {"app": "echo"}, "ports": [{"port": 80}]}}
    core.create_namespaced_service("echo", service("first"))
    core.create_namespaced_service("echo", service("second"))
    settle(side)
    first = core.read_namespaced_service("first", "echo")
    assert first.metadata.finalizers == ["service.k8s.aws/resources"]
    assert first.status.load_balancer.ingress[0].hostname.endswith(".elb.eu-west-3.amazonaws.com")
    core.delete_namespaced_service("first", "echo")
    settle(side)
    assert [s.metadata.name for s in core.list_namespaced_service("echo").items] == ["second"]
    apps.delete_namespaced_deployment("aws-load-balancer-controller", "kube-system")  # the controller goes first
    core.delete_namespaced_service("second", "echo")
    settle(side, 10)
    assert core.read_namespaced_service("second", "echo").metadata.deletion_timestamp  # stuck


def test_an_update_upgrades_the_release_and_deletes_what_it_dropped(side, cluster, tmp_path):
    def chart(folder: str, maps: dict[str, str]) -> Path:
        path = tmp_path / folder
        (path / "templates").mkdir(parents=True)
        (path / "Chart.yaml").write_text("apiVersion: v2\nname: maps\nversion: 0.1.0\n")
        (path / "templates" / "maps.yaml").write_text("\n---\n".join(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{v: {value!r}}}"
            for name, value in maps.items()))
        return path
    net, clock = Network(), world.Clock()
    props = {"ClusterName": cluster, "Release": "maps", "ChartAssetURL": "s3://assets/maps.zip", "Wait": True,
             "Namespace": "apps", "CreateNamespace": True}
    side.custom_resource(request(CHART, props, assets={"maps.zip": chart("v1", {"a": "1", "b": "1"})}), clock, net)
    side.custom_resource(request(CHART, props, "Update", old=props,
                                 assets={"maps.zip": chart("v2", {"a": "2", "c": "2"})}), clock, net)
    client = side.client(cluster)

    def data(name: str) -> dict | None:
        found = client.get({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}})
        return found and found["data"]
    assert (data("a"), data("b"), data("c")) == ({"v": "2"}, None, {"v": "2"})
    record = client.get({"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "sh.helm.release.v1.maps.v2", "namespace": "apps"}})
    assert record["metadata"]["labels"]["status"] == "deployed"


def test_a_manifest_delete_held_by_a_finalizer_fails_when_the_handler_lambda_times_out(side, cluster):
    net, clock = Network(), world.Clock()
    held = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/never"]}}
    side.custom_resource(request(MANIFEST, manifest(cluster, [held])), clock, net)
    started = clock.now
    with pytest.raises(world.RehearsalFailure) as failure:
        side.custom_resource(request(MANIFEST, manifest(cluster, [held]), "Delete"), clock, net)
    assert "ConfigMap default/held (finalizers: example.com/never)" in str(failure.value)
    assert "Lambda timed out" in str(failure.value)
    assert 900 <= clock.now - started <= 960
