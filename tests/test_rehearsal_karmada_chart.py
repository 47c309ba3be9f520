"""The rehearsal's model of Karmada's chart (rehearsal/kubernetes/karmada_chart.py), installed and uninstalled by the
emulated kubectl handler with the values components/karmada_control_plane.py writes: hooks in Helm's order, the
kubeconfig Secret the pre-install Job makes (from the Karmada emulation's hook), the NodePort Service, multi-arch
images on Graviton nodes, Helm 4's wait on the static-resource Job, and the post-delete Job's effects, including the
trap of a release living in the system namespace."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from components import karmada_control_plane as kcp
from federated_eks.model.federation import KARMADA_RELEASE_NAMESPACE, KarmadaConfig
from components.karmada_join.contract import RELEASE_NAME as KARMADA_RELEASE
from rehearsal import world
from rehearsal.kubernetes import EmulatedKubernetes, karmada_chart
from rehearsal.kubernetes.helm import not_ready

HANDLER = world.LambdaFunction("fedeks-test-cluster", "KubectlHandler", None, "index.handler", {}, 900)
PROVIDER = world.ProviderCall(on_event=HANDLER)
CHART = "Custom::AWSCDK-EKS-HelmChart"
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"


class Network:
    def reachable(self, source: str, cluster: str) -> bool:
        return True


@pytest.fixture(scope="module")
def side(tmp_path_factory):
    # The chart model on its own (the Karmada emulation's kubeconfig source is registered by each test that wants one).
    emulated = EmulatedKubernetes(tmp_path_factory.mktemp("kubernetes"), serve_karmada=False)
    yield emulated
    emulated.close()


@pytest.fixture
def cluster(side):
    """A fresh Graviton-only host: Karmada's images are multi-arch."""
    name = f"c-{uuid.uuid4().hex[:8]}"
    side.create_cluster(world.EksCluster(name, "eu-west-3", "1.35"))
    side.set_node_groups(name, [world.NodeGroup("graviton", "arm64", 2)])
    yield name
    side.delete_cluster(name)


def request(kind: str, properties: dict, request_type: str = "Create") -> world.CustomResourceRequest:
    return world.CustomResourceRequest(request_type, "fedeks-test-federation", "KarmadaChart", kind, properties,
                                       PROVIDER, physical_id=None if request_type == "Create" else "id")


def chart(cluster: str, cfg: KarmadaConfig = KarmadaConfig(), namespace: str = KARMADA_RELEASE_NAMESPACE) -> dict:
    """The HelmChart properties the control plane synthesizes (as aws-cdk-lib's HelmChart writes them)."""
    return {"ClusterName": cluster, "Release": KARMADA_RELEASE, "Chart": "karmada", "Version": cfg.chart_version,
            "Repository": cfg.chart_repository, "Namespace": namespace, "Wait": True, "Atomic": True,
            "Timeout": f"{int(kcp.HELM_TIMEOUT.to_seconds())}s", "Values": json.dumps(kcp.chart_values(cfg))}


def install(side, cluster: str, props: dict, clock: world.Clock) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": props["Namespace"]}}
    side.custom_resource(request(MANIFEST, {"ClusterName": cluster, "Manifest": json.dumps([namespace]),
                                            "Overwrite": True}), clock, Network())
    side.custom_resource(request(CHART, props), clock, Network())


def get(client, kind: str, name: str, namespace: str | None = KARMADA_RELEASE_NAMESPACE, api: str = "v1"):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return client.get({"apiVersion": api, "kind": kind, "metadata": meta})


def test_install_makes_the_kubeconfig_and_a_ready_control_plane_then_uninstall_cleans_up(side, cluster):
    served = []

    def karmada_apiserver(client, release, namespace):
        served.append((release, namespace))
        return "apiVersion: v1\nkind: Config\n# the emulated karmada-apiserver's admin kubeconfig\n"
    unregister = karmada_chart.serve_karmada_apiserver(karmada_apiserver)
    try:
        clock = world.Clock()
        install(side, cluster, chart(cluster), clock)
    finally:
        unregister()
    client = side.client(cluster)
    assert served == [(KARMADA_RELEASE, KARMADA_RELEASE_NAMESPACE)]
    secret = get(client, "Secret", "karmada-kubeconfig")
    assert "the emulated karmada-apiserver" in json.dumps(secret)
    service = get(client, "Service", "karmada-apiserver")
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["nodePort"] == 32443
    for name in ("karmada-apiserver", "karmada-controller-manager", "karmada-scheduler", "karmada-webhook",
                 "karmada-aggregated-apiserver", "karmada-kube-controller-manager"):
        assert not_ready(get(client, "Deployment", name, api="apps/v1")) is None, name
    etcd = get(client, "StatefulSet", "etcd", api="apps/v1")
    assert etcd["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert get(client, "Job", "karmada-pre-install", api="batch/v1") is None  # hook-succeeded
    # Helm 4 waited for the static-resource Job, which outlives the wait (TTL above the timeout).
    static = get(client, "Job", "karmada-static-resource", api="batch/v1")
    assert static is not None and not_ready(static) is None
    images = {c["image"] for o in karmada_chart.render(KARMADA_RELEASE, KARMADA_RELEASE_NAMESPACE,
                                                       kcp.chart_values(KarmadaConfig()))
              for c in karmada_chart._pod_containers(o)}
    assert not any(i.endswith(":latest") for i in images), images
    side.custom_resource(request(CHART, chart(cluster), "Delete"), clock, Network())
    assert get(client, "Secret", "karmada-kubeconfig") is None  # the post-delete Job deletes what Helm does not own
    assert get(client, "Deployment", "karmada-apiserver", api="apps/v1") is None
    assert get(client, "Namespace", "karmada-system", namespace=None) is None
    assert not [w for w in side.warnings if cluster in w or "karmada" in w]


def test_a_mirror_serves_every_image():
    cfg = KarmadaConfig(image_registry="123456789012.dkr.ecr.eu-west-3.amazonaws.com/mirror")
    objs = karmada_chart.render(KARMADA_RELEASE, KARMADA_RELEASE_NAMESPACE, kcp.chart_values(cfg))
    images = {c["image"] for o in objs for c in karmada_chart._pod_containers(o)}
    assert len(images) == 9 and all(i.startswith(cfg.image_registry + "/") for i in images), images


def test_without_the_karmada_emulation_the_kubeconfig_has_the_chart_server_and_no_credentials(side, cluster):
    install(side, cluster, chart(cluster), world.Clock())
    secret = get(side.client(cluster), "Secret", "karmada-kubeconfig")
    config = json.loads(json.dumps(secret))
    assert "https://karmada-apiserver.karmada-installer.svc.cluster.local:5443" in json.dumps(config)


def test_a_release_in_the_system_namespace_deletes_its_own_post_delete_job(side, cluster):
    clock = world.Clock()
    props = chart(cluster, namespace="karmada-system")
    install(side, cluster, props, clock)
    before = len(side.warnings)
    side.custom_resource(request(CHART, props, "Delete"), clock, Network())  # the handler logs and ignores it
    warning = " ".join(side.warnings[before:])
    assert "post-delete hook" in warning and "which holds the Job itself" in warning


def test_a_short_ttl_static_job_that_vanishes_before_the_wait_ends_fails_the_wait():
    """helm#31851, as Helm 4's kstatus watcher sees it: a Job is ready when complete, and NotFound once deleted."""
    done = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert not_ready(done) is None
    assert not_ready(None) == "not found"
    assert not_ready({**done, "status": {"active": 1}}) == "not complete"
    values = kcp.chart_values(replace(KarmadaConfig()))
    static = next(o for o in karmada_chart.render("karmada", "ns", values) if o["metadata"]["name"].endswith("static-resource"))
    assert static["spec"]["ttlSecondsAfterFinished"] > kcp.HELM_TIMEOUT.to_seconds()
