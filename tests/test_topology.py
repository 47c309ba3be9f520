"""Topology math: which VPCs peer, who requests, who may reach whom (pure, no CDK)."""
from __future__ import annotations

import pytest

from fedtest import environment
from federated_eks import topology
from federated_eks.config import load_environment


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
