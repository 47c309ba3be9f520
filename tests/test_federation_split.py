"""Stacks that split as they grow: typed workloads beyond the federation stack go into `workloads-<n>` stacks
(federated_eks/plan/federation_layout.py `workload_stacks`), every stack stays within CloudFormation's 500 resources
and 1 MB, and what was there keeps its stack and logical ids when more is added. Each test synthesizes its configs
once (tens of seconds each)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

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


# --- the federation template's size estimate, for both engines (federation_layout.federation_template_bytes) --------
# Stated margins: the estimate is never below the synthesized template, and above it by at most SLACK bytes plus
# SLACK_SHARE of the template. Karmada's objects are counted exactly (only room for the longest names is added);
# KubeFed's per-workload and per-annotated-cluster parts are coarse upper bounds (measured: 52 % over for 20 DNS
# workloads on 3 clusters, so its split comes early, never late).
SLACK = {"karmada": 20_000, "kubefed": 20_000}
SLACK_SHARE = {"karmada": 0.02, "kubefed": 0.60}
GRAVITON = {"instanceTypes": ["m7g.large"], "minSize": 1, "desiredSize": 2, "maxSize": 3}


def dns_workloads(n: int, routing: str = "weighted") -> list[dict]:
    """`n` load-balanced workloads with DNS (ExternalDNS's annotations per placed member), in 7 namespaces."""
    return [{"name": f"web-{i}", "namespace": f"web-{i % 7}", "image": IMAGE, "containerPort": 8080, "replicas": 1,
             "service": {"type": "LoadBalancer", "port": 80},
             "dns": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": f"web-{i}.example.com",
                     "routing": routing}} for i in range(n)]


def long_names(raw: dict) -> dict:
    raw["clusters"] = [{**c, "name": f"cluster-{i}-" + "x" * 20} for i, c in enumerate(raw["clusters"])]
    raw["hostCluster"] = raw["clusters"][0]["name"]
    for w in raw.get("workloads", []):
        w.pop("clusters", None)
    return raw


SIZES = {
    "kubefed-2-bare": ("f", lambda: environment(2)),
    "kubefed-3-dns-20": ("f", lambda: environment(3, workloads=dns_workloads(20))),
    "karmada-2-bare": ("k", lambda: environment(2, engine="karmada", nodeGroup=GRAVITON)),
    "karmada-3-one": ("k", lambda: environment(3, engine="karmada", nodeGroup=GRAVITON, workloads=dns_workloads(1))),
    "karmada-6-dns-40": ("k", lambda: environment(6, engine="karmada", nodeGroup=GRAVITON,
                                                  workloads=dns_workloads(40))),
    "karmada-6-long-names": ("abcdefghijklmnopqrst", lambda: long_names(
        environment(6, engine="karmada", nodeGroup=GRAVITON, workloads=dns_workloads(3)))),
}


def federation_bytes(raw: dict, name: str) -> tuple[int, int]:
    """(the estimate, the synthesized federation template's bytes as written for upload)."""
    from federated_eks.plan import federation_layout

    config = load_environment({name: raw}, name)
    _, assembly = synth(raw, name=name)
    sizes = template_sizes(assembly)
    return federation_layout.federation_template_bytes(config), sizes[f"fedeks-{name}-federation"][1]


@pytest.mark.parametrize("case", sorted(SIZES))
def test_the_size_estimate_bounds_the_synthesized_federation_template_of_either_engine(case):
    name, make = SIZES[case]
    engine = case.split("-")[0]
    estimate, real = federation_bytes(make(), name)
    assert real <= estimate <= real + SLACK[engine] + SLACK_SHARE[engine] * real, (case, estimate, real)


def test_a_large_karmada_federation_is_sized_as_karmada_and_splits_before_a_megabyte():
    """Karmada carries every workload's objects in one Custom::KarmadaObjects per stack (no KubeFed type configs,
    waiters or per-workload resources): sized as KubeFed, 100 DNS workloads on 6 clusters were refused although their
    template is far under 1 MB. Sized as Karmada they synthesize into the federation stack alone, within the estimate;
    180 split into a workload stack before the federation template reaches 1 MB, each stack within its estimate and
    the limit, the first 100's objects staying where they were."""
    from federated_eks.plan import federation_layout

    fits = environment(6, engine="karmada", nodeGroup=GRAVITON, workloads=dns_workloads(100))
    estimate, real = federation_bytes(fits, "k")
    assert real <= estimate <= MAX_TEMPLATE_BYTES, (estimate, real)
    big = environment(6, engine="karmada", nodeGroup=GRAVITON, workloads=dns_workloads(180))
    config = load_environment({"k": big}, "k")
    plans = federation_layout.workload_stacks(config)
    _, assembly = synth(big, name="k")
    sizes = template_sizes(assembly)
    assert [s for s in sizes if "-workloads-" in s] == ["fedeks-k-workloads-1"] == [
        f"fedeks-k-workloads-{p.index}" for p in plans[1:]]
    for plan in plans:
        stack = "fedeks-k-federation" if plan.index == 0 else f"fedeks-k-workloads-{plan.index}"
        resources, size = sizes[stack]
        assert size <= plan.template_bytes <= MAX_TEMPLATE_BYTES, (stack, size, plan.template_bytes)
        objects = [r for r in assembly.get_stack_by_name(stack).template["Resources"].values()
                   if r["Type"] == "Custom::KarmadaObjects"]
        assert len(objects) == 1
        carried = {o["metadata"]["name"] for o in json.loads(objects[0]["Properties"]["Objects"])
                   if o["kind"] == "Namespace"}
        assert carried == set(plan.namespaces), (stack, carried)
    # The namespaces in config order: the federation stack keeps the first ones.
    assert plans[0].namespaces == tuple(f"web-{i}" for i in range(len(plans[0].namespaces)))
    # The plan (pruning, the pipeline, make topology) equals the assembly: workloads-1 reads the federation stack (the
    # Karmada join provider) and the host's cluster stack (its endpoint and CA), no member's.
    planned = {s.name: s for s in stack_plan.plan(config)}
    artifact = assembly.get_stack_by_name("fedeks-k-workloads-1")
    assert planned["fedeks-k-workloads-1"].depends_on == tuple(sorted(
        d.id for d in artifact.dependencies if d.id in planned)) == ("fedeks-k-cluster-fed-1", "fedeks-k-federation")
    assert sorted(planned) == sorted(s.stack_name for s in assembly.stacks)


def test_the_estimate_renders_the_karmada_objects_the_federation_stack_carries():
    """The estimate counts plan/karmada_workload.federation_objects; the stack carries stacks/federation.py
    `karmada_objects`: the same objects, DNS annotations included, for every routing."""
    from federated_eks.plan import karmada_workload
    from stacks.federation import karmada_objects

    raw = environment(3, engine="karmada", nodeGroup=GRAVITON, workloads=[
        *dns_workloads(2, "weighted"), *[{**w, "name": f"f-{i}", "placement": {"clusters": ["fed-1", "fed-2"]},
                                          "dns": {**w["dns"], "recordName": f"f-{i}.example.com", "routing": "failover",
                                                  "primary": "fed-2"}}
                                         for i, w in enumerate(dns_workloads(1))],
        {"name": "plain", "namespace": "plain", "image": IMAGE, "containerPort": 80}])
    config = load_environment({"k": raw}, "k")
    clusters = [(c.name, c.region) for c in config.clusters]
    rendered = karmada_workload.federation_objects(config.workloads, clusters)
    assert rendered == karmada_objects(config.workloads, clusters)
    assert sum(o["kind"] == "OverridePolicy" for o in rendered) == 3


def test_a_split_karmada_federation_rehearses_from_create_to_delete(tmp_path, monkeypatch):
    """The Karmada split played (rehearsal/): with the stack limit lowered so that the second namespace does not fit
    the federation stack, workloads-1's Custom::KarmadaObjects is served by the federation stack's Karmada join
    provider after every join, its workload propagated (and published in DNS by ExternalDNS), and deleted before any
    unjoin."""
    from federated_eks.plan import federation_layout
    from fedtest import scratch_dir
    from rehearsing import assert_deleted_clean, rehearsing

    first = {"name": "hello", "namespace": "hello", "image": "public.ecr.aws/docker/library/nginx:1.29",
             "containerPort": 80, "replicas": 1}
    second = {**dns_workloads(1)[0], "name": "echo", "namespace": "echo", "placement": {"clusters": ["fed-1", "fed-2"]},
              "dns": {"hostedZoneId": "Z0123456789ABCDEFGHIJ", "recordName": "echo.example.com",
                      "routing": "weighted"}}
    raw = environment(2, engine="karmada", nodeGroup=GRAVITON, workloads=[first, second])
    alone = load_environment({"k": environment(2, engine="karmada", nodeGroup=GRAVITON, workloads=[first])}, "k")
    monkeypatch.setattr(federation_layout, "MAX_TEMPLATE_BYTES", federation_layout.federation_template_bytes(alone))
    assert [p.namespaces for p in federation_layout.workload_stacks(load_environment({"k": raw}, "k"))] == [
        ("hello",), ("echo",)]
    _, assembly = synth(raw, name="k", outdir=scratch_dir("rehearsal-split-"))
    with rehearsing(Path(assembly.directory), tmp_path) as (player, kubernetes, lines):
        player.create_all()
        objects = [line for line in lines if "Custom::KarmadaObjects" in line and line.endswith("ok")]
        assert [line.split()[3] for line in objects] == ["fedeks-k-federation", "fedeks-k-workloads-1"], objects
        on_members = {(name.rsplit("-", 1)[-1], ns): c.handle.find("deployments", ns, n) is not None
                      for name, c in kubernetes.clusters.items() for ns, n in (("hello", "hello"), ("echo", "echo"))}
        assert all(on_members.values()), on_members
        zone = player.aws.hosted_zones.zones["Z0123456789ABCDEFGHIJ"]
        assert {k[2] for k in zone.records if k[1] == "A"} == {"fed-1", "fed-2"}
        player.delete_all()
        player.check_left_in_route53()
    assert_deleted_clean(player)
