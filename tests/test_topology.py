"""The model and the topology math: the supported Kubernetes versions (against the installed packages), which VPCs
peer, who requests, who may reach whom, names (pure, no CDK)."""
from __future__ import annotations

import importlib
import importlib.metadata
import re

import pytest
from aws_cdk import aws_eks_v2 as eks

from components.eks_cluster import eks_version
from components.kubectl_layer import layer_package
from fedtest import ROOT, environment
from federated_eks.plan import topology
from federated_eks.config.reader import load_environment
from federated_eks.model.federation import KUBERNETES_VERSIONS


def config(clusters: int, topo: str = "mesh", **kw):
    return load_environment({"t": environment(clusters, topo, **kw)}, "t")


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_mesh_peers_every_pair_once(n):
    pairs = topology.peerings(config(n))
    assert len(pairs) == n * (n + 1) // 2
    assert len({frozenset((p.requester.name, p.accepter.name)) for p in pairs}) == len(pairs)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_hub_peers_only_through_bastion_and_host(n):
    cfg = config(n, "hub", hostCluster="fed-2" if n > 1 else "fed-1")
    pairs = topology.peerings(cfg)
    assert len(pairs) == 2 * n - 1
    for p in pairs:
        assert {p.requester.name, p.accepter.name} & {"bastion", cfg.host_cluster}


def test_requester_is_the_earlier_vpc_and_stays_so_when_a_cluster_is_appended():
    before = {p.id: p for p in topology.peerings(config(3))}
    after = {p.id: p for p in topology.peerings(config(4))}
    assert set(before) <= set(after)
    assert before["bastion-fed-1"].requester.name == "bastion"
    assert before["fed-1-fed-3"].requester.name == "fed-1"
    assert all(after[k] == v for k, v in before.items())


def test_cross_region_and_same_region_pairs():
    raw = environment(3)
    raw["clusters"][2]["region"] = "us-east-1"  # shares the bastion's and fed-1's region
    cfg = load_environment({"t": raw}, "t")
    by_id = {p.id: p for p in topology.peerings(cfg)}
    assert not by_id["bastion-fed-1"].cross_region and not by_id["fed-1-fed-3"].cross_region
    assert by_id["bastion-fed-2"].cross_region
    requested = topology.requested_from(topology.peerings(cfg))
    assert {r: [p.id for p in ps] for r, ps in requested.items()} == {
        "us-east-1": ["bastion-fed-1", "bastion-fed-2", "bastion-fed-3", "fed-1-fed-2", "fed-1-fed-3"],
        "us-east-2": ["fed-2-fed-3"]}
    accepted = topology.accepted_in(topology.peerings(cfg))
    assert {r: [p.id for p in ps] for r, ps in accepted.items()} == {
        "us-east-1": ["fed-2-fed-3"], "us-east-2": ["bastion-fed-2", "fed-1-fed-2"]}


def test_peers_of_in_hub_mode():
    cfg = config(4, "hub")
    pairs = topology.peerings(cfg)
    assert [n.name for n in topology.peers_of(pairs, "fed-3")] == ["bastion", "fed-1"]
    assert [n.name for n in topology.peers_of(pairs, "fed-1")] == ["bastion", "fed-2", "fed-3", "fed-4"]
    assert [n.name for n in topology.peers_of(topology.peerings(config(3)), "fed-2")] == ["bastion", "fed-1", "fed-3"]


def test_names_are_derived_from_the_config_names_only():
    cfg = config(2)
    assert topology.stack_name(cfg, "cluster", "fed-2") == "fedeks-t-cluster-fed-2"
    assert topology.eks_cluster_name(cfg, "fed-2") == "fedeks-t-fed-2"
    assert topology.role_arn(cfg, "bastion") == "arn:aws:iam::123456789012:role/fedeks-t-bastion"
    assert topology.eks_cluster_arn(cfg, "fed-2") == \
        "arn:aws:eks:us-east-2:123456789012:cluster/fedeks-t-fed-2"


# --- the supported Kubernetes versions --------------------------------------------------------------------------

def _installed_kubectl_layers() -> dict[str, str]:
    """Kubernetes minor -> version of each installed `aws-cdk.lambda-layer-kubectl-vNN` distribution."""
    found = {}
    for dist in importlib.metadata.distributions():
        m = re.fullmatch(r"aws[-_.]cdk[-_.]lambda[-_.]layer[-_.]kubectl[-_.]v(\d+)", dist.metadata["Name"], re.I)
        if m:
            found[m.group(1)] = dist.version
    return found


def test_kubernetes_versions_match_the_installed_and_pinned_kubectl_layers():
    minors = {v.split(".")[1] for v in KUBERNETES_VERSIONS}
    assert all(v.split(".")[0] == "1" for v in KUBERNETES_VERSIONS)
    installed = _installed_kubectl_layers()
    assert set(installed) == minors  # one package per version, and no package for a version we dropped
    pins = dict(re.findall(r"^aws-cdk\.lambda-layer-kubectl-v(\d+)==(\S+)$",
                           (ROOT / "requirements.txt").read_text(), re.M))
    assert pins == installed  # requirements.txt pins exactly what is installed


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_each_version_has_its_layer_class_and_an_aws_eks_v2_constant(version):
    module, cls = layer_package(version)
    assert isinstance(getattr(importlib.import_module(module), cls), type)
    # aws_eks_v2 has `KubernetesVersion.V1_NN` for it (eks_version raises AttributeError otherwise).
    assert hasattr(eks.KubernetesVersion, "V" + version.replace(".", "_"))
    assert eks_version(version).version == version


def test_an_unsupported_version_has_no_layer():
    with pytest.raises(ValueError, match=r"no kubectl layer for Kubernetes 1.33 \(supported: 1.34, "):
        layer_package("1.33")
