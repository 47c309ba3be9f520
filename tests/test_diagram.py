"""make topology: the Mermaid picture, the deploy levels and the deploy-time estimates."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from fedtest import ENVIRONMENTS, ROOT, environment, write_project
from federated_eks.plan import deploy_time, diagram, topology
from federated_eks.config.reader import load_environment
from federated_eks.plan.stack_plan import plan

CASES = {"prod": ENVIRONMENTS["prod"], "hub5": environment(5, "hub"),
         "mesh5": environment(5)}


def mermaid_block(text: str) -> str:
    match = re.search(r"```mermaid\n.*?\n```", text, re.S)
    assert match, "no mermaid block"
    return match.group(0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_diagram_shows_every_vpc_region_and_peering(name):
    cfg = load_environment({name: CASES[name]}, name)
    text = diagram.mermaid(cfg)
    nodes = dict(re.findall(r'^    (n\d+)\["<b>([^<]+)</b>', text, re.M))
    assert sorted(nodes.values()) == sorted(n.name for n in topology.vpcs(cfg))
    for n in topology.vpcs(cfg):
        assert f"<b>{n.name}</b>" in text and f"VPC {n.cidr}" in text
    for region in {n.region for n in topology.vpcs(cfg)}:
        assert f'["{region}"]' in text
    ids = {v: k for k, v in nodes.items()}
    edges = re.findall(r"^  (n\d+) -->\|[^|]+\| (n\d+)$", text, re.M)
    assert sorted(edges) == sorted((ids[p.requester.name], ids[p.accepter.name]) for p in topology.peerings(cfg))
    assert f"class {ids[cfg.host_cluster]} host" in text
    assert "host: KubeFed control plane" in text and text.count("member<br/>") == len(cfg.clusters) - 1


def test_docs_embed_exactly_what_make_topology_prints_for_dev(tmp_path):
    """The docs (concepts/topology.md) show the sample `dev` (the tests' copy of it: an adopter's own dev does not
    change the docs)."""
    project = write_project(tmp_path, {"dev": ENVIRONMENTS["dev"]})
    run = subprocess.run([sys.executable, "-m", "federated_eks.operations.topology_report", "--env", "dev", "--cdk-json",
                          str(project / "cdk.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert mermaid_block((ROOT / "docs" / "concepts" / "topology.md").read_text()) == mermaid_block(run.stdout)
    assert "### Stacks by deploy level" in run.stdout and "| 40 |" in run.stdout


def test_unknown_environment_is_a_config_error_not_a_traceback(tmp_path):
    project = write_project(tmp_path, ENVIRONMENTS)
    run = subprocess.run([sys.executable, "-m", "federated_eks.operations.topology_report", "--env", "nope", "--cdk-json",
                          str(project / "cdk.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "unknown environment 'nope'" in run.stderr and "Traceback" not in run.stderr


def test_the_level_table_lists_every_stack_once_by_level():
    cfg = load_environment({"prod": CASES["prod"]}, "prod")
    rows = [r for r in diagram.level_table(cfg).splitlines()[2:]]
    assert [r.split("|")[2].strip(" `") for r in rows] == [
        "fedeks-prod-access", "fedeks-prod-bastion", "fedeks-prod-cluster-fed-east", "fedeks-prod-cluster-fed-eu",
        "fedeks-prod-cluster-fed-west", "fedeks-prod-peering-us-east-1", "fedeks-prod-peering-us-west-2",
        "fedeks-prod-peer-routes-eu-west-1", "fedeks-prod-peer-routes-us-west-2", "fedeks-prod-federation"]
    assert [int(r.split("|")[1]) for r in rows] == [0, 1, 1, 1, 1, 2, 2, 3, 3, 4]


def test_estimates_follow_the_schedules():
    cfg = load_environment({"mesh5": CASES["mesh5"]}, "mesh5")
    stacks = plan(cfg)
    m = deploy_time.MINUTES
    path, total = deploy_time.critical_path(stacks)
    # access -> a cluster -> a peering stack -> peer routes -> federation.
    assert [s.split("-")[2] for s in path] == ["access", "cluster", "peering", "peer", "federation"]
    assert total == m["access"] + m["cluster"] + m["peering"] + m["peer-routes"] + m["federation"]
    assert deploy_time.pipeline_minutes(stacks) == total  # every level's slowest stack is on the path
    assert deploy_time.cli_minutes(stacks, concurrency=1) == sum(m[s.kind] for s in stacks)
    assert deploy_time.cli_minutes(stacks) == total  # 6 stacks at level 1 fit in 8 slots


def test_scaling_table_grows_with_cli_waves_and_pipeline_stage_cuts():
    cfg = load_environment({"mesh5": CASES["mesh5"]}, "mesh5")
    rows = deploy_time.scaling_rows(cfg)
    assert [r[0] for r in rows] == list(range(2, 41))
    cli = [r[3] for r in rows]
    assert cli == sorted(cli) and cli[-1] > 3 * deploy_time.MINUTES["cluster"]  # 41 level-1 stacks, 8 at a time
    pipeline = {r[0]: (r[1], r[2]) for r in rows}
    # Up to 50 actions a pipeline stage runs each level at once; beyond, CDK Pipelines cuts the stage and the
    # last level (peer routes) is split over two CodePipeline stages. From 31 clusters on, the regions requesting
    # the most peerings no longer fit one peering stack and are split per VPC (peering_layout), so stacks jump.
    assert pipeline[31] == (51, pipeline[2][1]) == (51, 26.5)  # 50 actions, then 1 in the next stage
    assert pipeline[32] == (53, 27.5)
    assert pipeline[40] == (89, 27.5)
    assert "| 40 | 89 | 27.5 |" in diagram.estimate(cfg)


def test_pipeline_schedule_cuts_levels_at_the_stage_quota():
    cfg = load_environment({"mesh5": CASES["mesh5"]}, "mesh5")
    stacks = plan(cfg)  # levels: 1 access, 6 level-1, 4 peering, 4 peer routes, 1 federation
    m = deploy_time.MINUTES
    assert deploy_time.pipeline_minutes(stacks, chunk=4) == (
        m["access"] + m["cluster"] + m["cluster"]  # 6 level-1 stacks over 3 + 3 slots
        + m["peering"] + m["peering"] + m["peer-routes"] + m["peer-routes"] + m["federation"])


def test_the_estimate_includes_what_workloads_add():
    """Issue 18: the controller's install on the clusters that serve load balancers, and the rollout and NLB on the
    federation stack's path."""
    echo = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
            "containerPort": 8080, "placement": {"clusters": ["fed-2"]}, "service": {"type": "LoadBalancer"}}
    plain = load_environment({"t": environment(3)}, "t")
    cfg = load_environment({"t": environment(3, workloads=[echo])}, "t")
    extra = deploy_time.workload_minutes(cfg)
    assert extra == {"fedeks-t-cluster-fed-2": deploy_time.LOAD_BALANCER_CONTROLLER,
                     "fedeks-t-federation": deploy_time.WORKLOAD_ROLLOUT + deploy_time.LOAD_BALANCER}
    assert deploy_time.workload_minutes(plain) == {}
    _, before = deploy_time.critical_path(plan(plain))
    _, after = deploy_time.critical_path(plan(cfg), extra)
    assert after == before + deploy_time.LOAD_BALANCER_CONTROLLER + deploy_time.WORKLOAD_ROLLOUT + \
        deploy_time.LOAD_BALANCER
    assert f"Critical path ({after:g} min)" in diagram.estimate(cfg)
    assert "| `fedeks-t-cluster-fed-2` | cluster | us-east-2 | 19 |" in diagram.level_table(cfg)


def test_make_topology_prices_every_mode_at_2_16_40_and_100_clusters_from_the_stack_plan(tmp_path, capsys):
    """Each mode the model knows (a mode added later gets its rows with its stack plan), at the docs' sizes over 17
    regions: the stack plan's stacks, levels and widest level, and the config check's verdict with every quota raised
    as far as AWS allows (what is left refused is a limit no quota request lifts)."""
    import json
    from dataclasses import replace

    from federated_eks.model.federation import TOPOLOGIES
    from federated_eks.operations import scale, topology_report
    from federated_eks.plan.stack_plan import levels

    cfg = load_environment({"t": environment(2)}, "t")
    rows = scale.mode_rows(cfg)
    assert [(r.mode, r.clusters) for r in rows] == [(m, n) for m in TOPOLOGIES for n in (2, 16, 40, 100)]
    for r in rows:
        stacks = plan(replace(deploy_time.with_clusters(cfg, r.clusters, deploy_time.SCALE_REGIONS),
                              peering_topology=r.mode))
        lv = levels(stacks)
        assert (r.stacks, r.levels) == (len(stacks), len(set(lv.values())))
        assert r.critical_minutes == deploy_time.critical_path(stacks)[1] and r.refused == ""
    hub100 = next(r for r in rows if (r.mode, r.clusters) == ("hub", 100))
    assert hub100.widest == 101  # every cluster stack and the bastion's deploy together
    assert hub100.cli_minutes > hub100.pipeline_minutes > hub100.critical_minutes  # 8 at a time; 50 per stage
    [mesh130] = scale.mode_rows(cfg, modes=("mesh",), sizes=(130,))
    assert "would have up to 130 active VPC peering connections" in mesh130.refused  # AWS allows 125
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"environments": {"t": environment(2)}}}))
    assert topology_report.main(["--env", "t", "--cdk-json", str(tmp_path / "cdk.json")]) == 0
    printed = capsys.readouterr().out
    assert "### Each connectivity mode at 2, 16, 40, 100 clusters" in printed
    assert scale.mode_table(rows) in printed
