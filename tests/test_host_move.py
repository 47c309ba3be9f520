"""Moving `hostCluster`: within a region in one deploy, across regions refused with the steps.

CloudFormation refuses to change a custom resource's ServiceToken under the same logical id ("Modifying service
token is not allowed"), so every custom resource of the federation stack either keeps its ServiceToken across a
move or gets a new logical id. The synths here compare the templates of the same environment before and after.
"""
from __future__ import annotations

import json

import pytest

import fedtest
from federated_eks.config.reader import ConfigError, load_environment

HELLO = {"name": "hello-world", "namespace": "federate-me", "image": "docker.io/particule/helloworld:v1",
         "containerPort": 80, "replicaScheduling": {"totalReplicas": 3, "clusters": {"*": {"weight": 1}}},
         "service": {"type": "ClusterIP", "port": 80}}


def same_region_environment(**changes) -> dict:
    """Three clusters, fed-1 and fed-2 in one region, with a workload (its manifests are served by the host)."""
    env = fedtest.environment(clusters=3, workloads=[HELLO])
    env["clusters"][1]["region"] = env["clusters"][0]["region"]
    env.update(changes)
    return env


def custom_resources(raw: dict) -> dict[str, str]:
    """Logical id -> ServiceToken (as JSON) of every custom resource of the federation stack."""
    stacks, _ = fedtest.synth(raw)
    template = fedtest.templates({"f": stacks["fedeks-test-federation"]})["f"].to_json()
    return {lid: json.dumps(r["Properties"]["ServiceToken"], sort_keys=True)
            for lid, r in template["Resources"].items()
            if r["Type"].startswith("Custom::") or r["Type"] == "AWS::CloudFormation::CustomResource"}


@pytest.mark.parametrize("before, after", [
    ({}, {"hostCluster": "fed-2", "previousHostCluster": "fed-1"}),                        # the first move
    ({"hostCluster": "fed-2", "previousHostCluster": "fed-1"},
     {"hostCluster": "fed-1", "previousHostCluster": "fed-2"}),                            # and back again
])
def test_a_host_move_within_a_region_changes_no_service_token_under_a_kept_logical_id(before, after):
    old, new = custom_resources(same_region_environment(**before)), custom_resources(same_region_environment(**after))
    changed = sorted(lid for lid in old.keys() & new.keys() if old[lid] != new[lid])
    assert changed == []
    # The host's releases and manifests are created anew (and the old ones deleted after the update).
    assert len(old.keys() - new.keys()) >= 5 and len(new.keys() - old.keys()) == len(old.keys() - new.keys())


def test_a_move_without_previous_host_would_change_service_tokens():
    """What the acknowledgement is for: without it the ids of a federation that never moved are kept (no reinstall
    on upgrade), so a move changes their ServiceToken, which CloudFormation refuses."""
    old = custom_resources(same_region_environment())
    new = custom_resources(same_region_environment(hostCluster="fed-2"))
    assert [lid for lid in old.keys() & new.keys() if old[lid] != new[lid]]


def test_the_previous_host_keeps_its_kubectl_handler_for_the_old_releases():
    stacks, _ = fedtest.synth(same_region_environment(hostCluster="fed-2", previousHostCluster="fed-1"))
    for name in ("fedeks-test-cluster-fed-1", "fedeks-test-cluster-fed-2"):
        template = fedtest.templates({"s": stacks[name]})["s"].to_json()
        handlers = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                    and "KubectlProvider" in r.get("Metadata", {}).get("aws:cdk:path", "")]
        assert handlers, name


def problems(**changes) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_environment({"t": same_region_environment(**changes)}, "t")
    return err.value.problems


def test_a_move_across_regions_is_refused_naming_the_steps():
    (problem,) = problems(hostCluster="fed-3", previousHostCluster="fed-1")
    assert problem.startswith("environments.t.previousHostCluster: moving the KubeFed host from 'fed-1' (us-east-1) "
                              "to 'fed-3' (us-west-2) crosses regions")
    assert "npx cdk destroy fedeks-t-federation -c env=t" in problem and "make deploy" in problem


@pytest.mark.parametrize("previous, expected", [
    ("fed-9", "'fed-9' is not among the clusters (fed-1, fed-2, fed-3)"),
    ("fed-2", "'fed-2' is hostCluster itself"),
])
def test_previous_host_must_be_another_configured_cluster(previous, expected):
    (problem,) = problems(hostCluster="fed-2", previousHostCluster=previous)
    assert problem.startswith(f"environments.t.previousHostCluster: {expected}. Fix: ")


def test_prune_finds_the_old_federation_stack_by_its_region():
    """After a move across regions (by the steps, or by hand) a federation stack of the same name may remain in the
    old region: prune compares the region too."""
    from federated_eks.operations import prune
    from federated_eks.plan.stack_tags import APP, APP_TAG, ENVIRONMENT_TAG, HOST_TAG, KIND_TAG

    def deployed(region: str, host: str):
        return prune.DeployedStack("fedeks-t-federation", region, "UPDATE_COMPLETE", {
            APP_TAG: APP, ENVIRONMENT_TAG: "t", KIND_TAG: "federation", HOST_TAG: host})
    stacks = [deployed("us-east-1", "fed-1"), deployed("us-west-2", "fed-3")]
    p = prune.plan(stacks, {("fedeks-t-federation", "us-west-2", "")}, "t")
    assert [(s.name, s.region) for s, _ in p.delete] == [("fedeks-t-federation", "us-east-1")]
    assert "left behind" in p.delete[0][1]
