"""The pure stack plan equals what app.build() synthesizes: names, regions, kinds (tags) and dependencies."""
from __future__ import annotations

import pytest

from fedtest import ENVIRONMENTS, environment, synth
from federated_eks.plan import stack_plan
from federated_eks.config.reader import load_environment
from federated_eks.plan.stack_tags import KIND_TAG

CASES = {
    "dev": ENVIRONMENTS["dev"],
    "prod": ENVIRONMENTS["prod"],
    "hub4": environment(4, "hub"),
    "mesh5": environment(5),
    "tgw6": environment(6, "transitGateway"),  # five regions, us-east-1 with the bastion and two clusters
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_equals_the_cloud_assembly(name):
    _, assembly = synth(CASES[name], name=name)
    synthesized = {a.stack_name: a for a in assembly.stacks}
    planned = stack_plan.plan(load_environment({name: CASES[name]}, name))
    assert sorted(s.name for s in planned) == sorted(synthesized)
    for s in planned:
        artifact = synthesized[s.name]
        assert artifact.environment.region == s.region
        assert artifact.tags[KIND_TAG] == s.kind
        # The manifest's dependencies: explicit ones and those CDK derives from cross-stack references.
        assert tuple(sorted(d.id for d in artifact.dependencies if d.id in synthesized)) == s.depends_on, s.name


def test_levels_are_the_deploy_order():
    cfg = load_environment({"prod": CASES["prod"]}, "prod")
    levels = stack_plan.levels(stack_plan.plan(cfg))
    assert levels == {
        "fedeks-prod-access": 0, "fedeks-prod-bastion": 1, "fedeks-prod-cluster-fed-east": 1,
        "fedeks-prod-cluster-fed-west": 1, "fedeks-prod-cluster-fed-eu": 1,
        "fedeks-prod-peering-us-east-1": 2, "fedeks-prod-peering-us-west-2": 2,
        "fedeks-prod-peer-routes-us-west-2": 3, "fedeks-prod-peer-routes-eu-west-1": 3,
        "fedeks-prod-federation": 4}
