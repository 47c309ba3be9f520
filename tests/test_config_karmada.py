"""Config of the Karmada engine (`engine`, `karmada.*`): every rule, with the exact message a user sees."""
from __future__ import annotations

import pytest

from fedtest import environment
from federated_eks.config.reader import load_environment
from federated_eks.model.federation import KARMADA_CHART_REPOSITORY, KarmadaConfig

from test_config import P, only_problem, problems  # the config tests' helpers, shared


def karmada(**settings) -> dict:
    return environment(engine="karmada", karmada=settings)


def test_kubefed_is_the_default_engine_and_karmada_has_pinned_defaults():
    assert load_environment({"t": environment()}, "t").engine == "kubefed"
    cfg = load_environment({"t": environment(engine="karmada")}, "t")
    assert cfg.engine == "karmada"
    assert cfg.karmada == KarmadaConfig()
    assert cfg.karmada.chart_version == "v1.19.0" and cfg.karmada.chart_repository == KARMADA_CHART_REPOSITORY
    assert cfg.karmada.etcd_storage.type == "pvc" and cfg.karmada.etcd_storage.size == "10Gi"
    assert "latest" not in (cfg.karmada.cfssl_image.tag, cfg.karmada.kubectl_image.tag)


def test_every_karmada_setting_is_read():
    cfg = load_environment({"t": karmada(
        imageRegistry="123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror", chartRepository="oci://mirror/charts",
        chartVersion="v1.19.2", apiServerNodePort=30443, cfsslImage={"repository": "cfssl/cfssl", "tag": "v1.6.4"},
        kubectlImage={"repository": "bitnamisecure/kubectl", "tag": "1.35.0"},
        etcdStorage={"size": "20Gi", "storageClass": "gp3-encrypted"})}, "t").karmada
    assert (cfg.image_registry, cfg.chart_repository, cfg.chart_version, cfg.api_server_node_port) == (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror", "oci://mirror/charts", "v1.19.2", 30443)
    assert (cfg.cfssl_image.tag, cfg.kubectl_image.repository) == ("v1.6.4", "bitnamisecure/kubectl")
    assert (cfg.etcd_storage.size, cfg.etcd_storage.storage_class, cfg.etcd_storage.managed_class) == (
        "20Gi", "gp3-encrypted", False)


def test_engine_is_a_choice():
    assert only_problem(environment(engine="swarm")) == (
        f"{P}.engine: 'swarm' is not allowed. Fix: use one of: kubefed, karmada")


def test_the_other_engines_settings_are_refused_not_ignored():
    assert only_problem(environment(karmada={})) == (
        f"{P}.karmada: is set while engine is 'kubefed' (it would be ignored). Fix: remove it, or set engine "
        '"karmada"')
    assert only_problem(environment(engine="karmada", kubefed={"scope": "Cluster"})) == (
        f"{P}.kubefed: is set while engine is 'karmada' (it would be ignored). Fix: remove it, or set engine "
        '"kubefed"')


@pytest.mark.parametrize("registry", ["https://registry.example.com", "registry.example.com/karmada:v1",
                                      "Registry.Example.com", "registry.example.com/", "reg istry"])
def test_image_registry_is_a_registry(registry):
    assert only_problem(karmada(imageRegistry=registry)) == (
        f"{P}.karmada.imageRegistry: {registry!r} is not a registry (a host, an optional :port and path; no scheme, "
        'no tag). Fix: write it like "123456789012.dkr.ecr.us-east-1.amazonaws.com/karmada-mirror" (it must hold '
        "every image of the control plane under the chart's repository paths), or remove it")


@pytest.mark.parametrize("registry", ["docker.io", "localhost:5000/mirror", "a.b.c/d/e_f"])
def test_image_registry_accepts_hosts_ports_and_paths(registry):
    assert load_environment({"t": karmada(imageRegistry=registry)}, "t").karmada.image_registry == registry


def test_chart_repository_and_version():
    assert only_problem(karmada(chartRepository="http://mirror/charts")) == (
        f"{P}.karmada.chartRepository: 'http://mirror/charts' is not an https:// or oci:// URL. Fix: point it at "
        "Karmada's chart repository or a mirror of it")
    for version in ("1.19.0", "v1.18.2", "v1.19", "latest"):
        assert only_problem(karmada(chartVersion=version)) == (
            f"{P}.karmada.chartVersion: {version!r} is not a Karmada v1.19 chart version (the leading 'v' is part of "
            "it); the values federated-eks sets are checked against chart v1.19. Fix: use \"v1.19.0\" (or a v1.19.x "
            "patch release your chart repository holds)")


@pytest.mark.parametrize("port", [29999, 32768, 443])
def test_node_port_is_in_the_node_port_range(port):
    assert only_problem(karmada(apiServerNodePort=port)) == (
        f"{P}.karmada.apiServerNodePort: {port} is outside the Kubernetes node port range 30000-32767. Fix: use a port "
        "from 30000 to 32767 that no other Service of the host uses, e.g. 32443")


@pytest.mark.parametrize("key", ["cfsslImage", "kubectlImage"])
def test_job_images_are_pinned_paths(key):
    example = {"cfsslImage": '{"repository": "cfssl/cfssl", "tag": "v1.6.5"}',
               "kubectlImage": '{"repository": "bitnamilegacy/kubectl", "tag": "1.33.3"}'}[key]
    assert only_problem(karmada(**{key: {"tag": "latest"}})) == (
        f"{P}.karmada.{key}.tag: is 'latest', which pulls whatever was pushed last, so a node replacement can run "
        f"another image than the one deployed. Fix: pin a version tag, e.g. {example}")
    assert only_problem(karmada(**{key: {"repository": "docker.io/cfssl/cfssl"}})).startswith(
        f"{P}.karmada.{key}: 'docker.io/cfssl/cfssl' with tag ")
    assert only_problem(karmada(**{key: {"colour": "red"}})).startswith(f"{P}.karmada.{key}.colour: unknown field")


def test_etcd_storage_rules():
    assert only_problem(karmada(etcdStorage={"size": ""})) == (
        f"{P}.karmada.etcdStorage.size: '' is not a size in Gi or Ti. Fix: write it like \"10Gi\"")
    assert only_problem(karmada(etcdStorage={"size": "10G"})).startswith(f"{P}.karmada.etcdStorage.size: '10G'")
    assert only_problem(karmada(etcdStorage={"storageClass": "GP3"})) == (
        f"{P}.karmada.etcdStorage.storageClass: 'GP3' is not a StorageClass name. Fix: use \"federated-eks-etcd\" "
        "(made by federated-eks: gp3, encrypted) or the name of a class the host cluster has")
    assert only_problem(karmada(etcdStorage={"type": "hostPath", "storageClass": "gp2"})) == (
        f"{P}.karmada.etcdStorage.storageClass: is set while type is hostPath (it would be ignored). Fix: remove it, "
        'or use type "pvc"')
    host_path = load_environment({"t": karmada(etcdStorage={"type": "hostPath"})}, "t").karmada.etcd_storage
    assert (host_path.type, host_path.managed_class) == ("hostPath", False)


def test_a_graviton_host_is_accepted_with_karmada_only():
    graviton = {"instanceTypes": ["m7g.large"]}
    load_environment({"t": environment(engine="karmada", nodeGroup=graviton)}, "t")
    assert "KubeFed v0.10.0 publishes amd64 images only" in only_problem(environment(nodeGroup=graviton))


def test_a_host_move_is_refused_with_karmada():
    raw = environment(clusters=3, engine="karmada", previousHostCluster="fed-3")
    raw["clusters"][2]["region"] = raw["clusters"][0]["region"]
    raw["clusters"][2]["cidr"] = "172.30.0.0/16"
    assert only_problem(raw) == (
        f"{P}.previousHostCluster: moving the host of a Karmada control plane is not supported: its state (etcd) "
        "lives on a volume of the old host. Fix: 1) with hostCluster 'fed-3' (and without previousHostCluster), run "
        "`npx cdk destroy fedeks-t-federation -c env=t` (unjoins every cluster, uninstalls Karmada); 2) set the new "
        "hostCluster and `make deploy ENV=t`")


WEB = {"name": "web", "namespace": "web", "image": "nginx:1.29", "containerPort": 80}


def test_manifest_folders_with_karmada_are_read_as_folders_of_karmada_objects():
    """The reader reads the folder (its objects are checked by the app: tests/test_karmada_folder.py); what cannot be
    read is refused in Karmada's words."""
    cfg = load_environment({"t": environment(engine="karmada", workloads=[
        WEB, {"manifests": "samples/echo-server-karmada"}])}, "t")
    assert [w.name for w in cfg.workloads] == ["web"]
    assert [(f.path, f.source, len(f.objects)) for f in cfg.manifest_folders] == [
        ("samples/echo-server-karmada", f"{P}.workloads[1]", 5)]
    assert only_problem(environment(engine="karmada", workloads=[WEB, {"manifests": "samples/nothing"}])) == (
        f"{P}.workloads[1].manifests: samples/nothing: is not a folder. Fix: point manifests at a folder of Karmada "
        "YAML files, relative to the folder with cdk.json")


@pytest.mark.parametrize("namespace", ["karmada-system", "karmada-installer", "karmada-cluster"])
def test_karmadas_namespaces_hold_no_workload(namespace):
    assert "is a system namespace" in only_problem(
        environment(engine="karmada", workloads=[{**WEB, "namespace": namespace}]))


def test_what_karmada_cannot_express_is_refused():
    spread = {**WEB, "name": "spread", "replicaScheduling": {"totalReplicas": 7, "clusters": {
        "*": {"weight": 1, "minReplicas": 1}, "fed-2": {"weight": 2, "maxReplicas": 0}}}}
    found = problems(environment(engine="karmada", workloads=[WEB, spread, {**WEB, "namespace": "karmada-es-fed-1"}]))
    assert found == [
        f"{P}.workloads[1].replicaScheduling.clusters.*.minReplicas: has no Karmada counterpart (Karmada divides "
        "totalReplicas by static weights, without per-cluster bounds). Fix: remove minReplicas and express the spread "
        'with weights, or set engine "kubefed"',
        f"{P}.workloads[1].replicaScheduling.clusters.fed-2.maxReplicas: has no Karmada counterpart (Karmada divides "
        "totalReplicas by static weights, without per-cluster bounds). Fix: remove maxReplicas and express the spread "
        'with weights, or set engine "kubefed"',
        f"{P}.workloads[2].namespace: 'karmada-es-fed-1' is a Karmada execution space (karmada-es-<cluster>), where "
        "Karmada keeps its Works. Fix: choose another namespace"]
    # The same workloads are fine on KubeFed (bounds are KubeFed's), and weights alone on Karmada.
    load_environment({"t": environment(workloads=[WEB, spread])}, "t")
    weights = {**spread, "replicaScheduling": {"totalReplicas": 7, "clusters": {"*": {"weight": 1}}}}
    assert load_environment({"t": environment(engine="karmada", workloads=[weights])}, "t").workloads[0].name == "spread"


def test_join_timeout_as_kubefeds():
    assert load_environment({"t": karmada(joinTimeoutMinutes=20)}, "t").karmada.join_timeout_minutes == 20
    assert load_environment({"t": karmada()}, "t").karmada.join_timeout_minutes == 30
    assert only_problem(karmada(joinTimeoutMinutes=55)) == (
        f"{P}.karmada.joinTimeoutMinutes: 55 is out of range. Fix: use 5 to 50 (CloudFormation waits at most an hour "
        "for a custom resource)")
