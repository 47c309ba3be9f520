"""Stacks that split as they grow: typed workloads beyond the federation stack go into `workloads-<n>` stacks
(federated_eks/plan/federation_layout.py `workload_stacks`), every stack stays within CloudFormation's 500 resources
and 1 MB, and what was there keeps its stack and logical ids when more is added. Each test synthesizes its configs
once (tens of seconds each)."""
from __future__ import annotations

import json
from pathlib import Path

from components.kubefed_join import contract
from components.workload_waiter import contract as waiter_contract
from fedtest import environment, synth
from federated_eks.config.reader import load_environment
from federated_eks.plan import stack_plan
from federated_eks.plan.cloudformation_limits import MAX_TEMPLATE_BYTES, RESOURCE_BUDGET

IMAGE = "registry.k8s.io/echoserver:1.10"


def workloads(n: int, subset_from: int) -> list[dict]:
    """`n` workloads, each in its own namespace; from `subset_from` on, placed on fed-2 alone."""
    return [{"name": f"web-{i}", "namespace": f"web-{i}", "image": IMAGE, "containerPort": 8080,
             "replicas": 1, **({"placement": {"clusters": ["fed-2"]}} if i >= subset_from else {})} for i in range(n)]


def template_sizes(assembly) -> dict[str, tuple[int, int]]:
    """Stack -> (resources, template bytes as written for upload)."""
    return {s.stack_name: (len(s.template["Resources"]),
                           len(Path(assembly.directory, s.template_file).read_bytes())) for s in assembly.stacks}


def ids(assembly, stack: str) -> dict[str, str]:
    return {k: r["Type"] for k, r in assembly.get_stack_by_name(stack).template["Resources"].items()}


def test_a_growing_federation_splits_its_workloads_keeping_every_id_that_was_there():
    small, big = environment(3, workloads=workloads(80, 80)), environment(3, workloads=workloads(150, 80))
    _, before = synth(small, name="t")
    _, after = synth(big, name="t")
    assert not [s for s in template_sizes(before) if "-workloads-" in s]
    sizes = template_sizes(after)
    assert [s for s in sizes if "-workloads-" in s] == ["fedeks-t-workloads-1"]
    for stack, (resources, size) in sizes.items():
        assert resources <= RESOURCE_BUDGET and size <= MAX_TEMPLATE_BYTES, (stack, resources, size)
    # Everything of the smaller federation (the clusters' joins, its 80 workloads) is still in the federation stack,
    # under the same logical ids: the update adds, it moves and replaces nothing.
    federation_before, federation_after = ids(before, "fedeks-t-federation"), ids(after, "fedeks-t-federation")
    assert {k: v for k, v in federation_after.items() if k in federation_before} == federation_before
    joins = [k for k, v in federation_before.items() if v == contract.JOIN_TYPE]
    assert len(joins) == 3 and set(joins) <= set(federation_after)
    # The workloads beyond it are in workloads-1, under the ids the federation stack gives its own ("Workloads/...").
    moved = ids(after, "fedeks-t-workloads-1")
    waiters = sorted(k for k, v in moved.items() if v == waiter_contract.WORKLOAD_TYPE)
    assert len(waiters) == 150 - sum(v == waiter_contract.WORKLOAD_TYPE for v in federation_after.values())
    assert all(k.startswith("WorkloadsWaiterweb") for k in waiters)
    assert not set(moved) & set(federation_after) - {"CDKMetadata"}
    # The plan (pruning, the pipeline, make topology) equals the assembly: workloads-1 after the federation stack,
    # reading the host's and fed-2's cluster stacks (its workloads are placed on fed-2 alone), not fed-3's.
    planned = {s.name: s for s in stack_plan.plan(load_environment({"t": big}, "t"))}
    artifact = after.get_stack_by_name("fedeks-t-workloads-1")
    assert planned["fedeks-t-workloads-1"].depends_on == tuple(sorted(
        d.id for d in artifact.dependencies if d.id in planned)) == (
        "fedeks-t-cluster-fed-1", "fedeks-t-cluster-fed-2", "fedeks-t-federation")
    assert sorted(planned) == sorted(s.stack_name for s in after.stacks)


def test_a_hundred_cluster_hub_with_many_workloads_fits_every_stack():
    raw = environment(0, "hub", workloads=workloads(120, 120),
                      quotas={"vpcsPerRegion": 11, "elasticIpsPerRegion": 11, "routesPerRouteTable": 1000,
                              "peeringsPerVpc": 125, "rulesPerSecurityGroup": 200})
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
               "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1"]
    raw["clusters"] = [{"name": f"fed-{i + 1}", "region": regions[i // 10], "cidr": f"10.{i}.0.0/16"}
                       for i in range(100)]
    _, assembly = synth(raw, name="t")
    sizes = template_sizes(assembly)
    assert len([s for s in sizes if "-cluster-" in s]) == 100 and "fedeks-t-workloads-1" in sizes
    over = {s: v for s, v in sizes.items() if v[0] > RESOURCE_BUDGET or v[1] > MAX_TEMPLATE_BYTES}
    assert not over, over
    # The join functions carry the same environment as for 2 clusters.
    functions = [r["Properties"] for r in assembly.get_stack_by_name("fedeks-t-federation").template["Resources"]
                 .values() if r["Type"] == "AWS::Lambda::Function" and "kubefed_join" in r["Properties"]["Handler"]]
    assert {json.dumps(f["Environment"]) for f in functions} == {
        json.dumps({"Variables": {contract.EKS_NAME_PREFIX_ENV: "fedeks-t-", contract.ENVIRONMENT_ENV: "t"}})}
