"""Update rehearsals (`python -m rehearsal --env A --then B`): the day-2 paths played whole, as CloudFormation
updates each stack (creates and updates, then the cleanup phase deletes what the new template no longer has).

Each test builds a pair of configs with fedtest.environment, synthesizes both, creates the first, deploys the
second over it, checks the emulated clusters, then deletes everything (the second's stacks, then what the update
left running, in `make prune`'s order)."""
from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from fedtest import environment, scratch_dir, synth
from rehearsing import assert_deleted_clean, rehearsing
from rehearsal.__main__ import emulated_kubernetes
from rehearsal.cloudformation import Player, read_assembly
from rehearsal.kubernetes.controllers import LB_FINALIZER
from rehearsal.world import RehearsalFailure

WORKLOAD = {"name": "hello-world", "namespace": "federate-me", "image": "docker.io/particule/helloworld:v1",
            "containerPort": 80, "clusters": {f"fed-{i}": {"replicas": 1} for i in (1, 2, 3)},
            "service": {"type": "ClusterIP", "port": 80}}


def assembly(raw: dict) -> Path:
    _, cloud = synth(raw, name="upd", outdir=scratch_dir("rehearsal-update-"))
    return Path(cloud.directory)


class Update:
    """A player that created `before` and deployed `after` over it (or stopped with `error`)."""

    def __init__(self, before: dict, after: dict, tmp_path: Path, karmada_work_delete_seconds: float | None = None,
                 after_create=lambda run: None) -> None:
        self.started = time.monotonic()
        self.kubernetes = emulated_kubernetes(tmp_path / "kubernetes")
        if karmada_work_delete_seconds is not None:
            self.kubernetes.karmada_work_delete_seconds = karmada_work_delete_seconds
        self.lines: list[str] = []
        self.player = Player(read_assembly(assembly(before)), self.kubernetes, self.lines.append)
        self.then = read_assembly(assembly(after))
        self.error: RehearsalFailure | None = None
        self.left: list[str] = []
        try:
            self.player.create_all()
            after_create(self)
            self.left = self.player.deploy(self.then)
        except RehearsalFailure as failure:
            self.error = failure

    def report(self) -> str:
        e = self.error
        return "\n".join(self.lines[-8:]) + (f"\n{e}\n  stack {e.stack}, resource {e.resource}" if e else "")

    def objects(self, cluster: str, kind: str) -> list[dict]:
        """The objects of `kind` on the emulated cluster of config name `cluster` (its EKS name ends with it)."""
        (name,) = [n for n in self.kubernetes.clusters if n.endswith(cluster)]
        handle = self.kubernetes.clusters[name].handle
        return handle.run(lambda: [dict(o.raw) for o in handle.emulator.objects.values()
                                   if not o.deleted and o.raw.get("kind") == kind])

    def delete_everything(self) -> None:
        self.player.delete_after_update(self.then, self.left)
        assert self.player.aws.clusters == {} and self.player.aws.vpcs == {}, "\n".join(self.lines[-5:])
        summary = self.player.summary
        assert summary.created == summary.deleted + summary.retained
        print(f"{time.monotonic() - self.started:.1f} s here, {self.player.clock.now:.0f} s virtual")

    def close(self) -> None:
        self.kubernetes.close()


@pytest.fixture
def update(tmp_path):
    made: list[Update] = []

    def make(before: dict, after: dict, **options) -> Update:
        made.append(Update(before, after, tmp_path / str(len(made)), **options))
        return made[-1]
    yield make
    for u in made:
        u.close()


def same_region(**changes) -> dict:
    """Three clusters, fed-1 and fed-2 in one region, with a workload on every cluster."""
    env = environment(clusters=3, workloads=[WORKLOAD])
    env["clusters"][1]["region"] = env["clusters"][0]["region"]
    env.update(changes)
    return env


def releases(run: Update, cluster: str) -> set[str]:
    """The Helm releases on `cluster` (Helm 3 keeps each in a Secret of type helm.sh/release.v1)."""
    return {(s["metadata"].get("labels") or {}).get("name", "") for s in run.objects(cluster, "Secret")
            if s.get("type") == "helm.sh/release.v1"}


def kubefed_clusters(run: Update, cluster: str) -> set[str]:
    return {c["metadata"]["name"] for c in run.objects(cluster, "KubeFedCluster")}


def test_a_host_move_within_a_region_moves_kubefed_and_every_join(update):
    run = update(same_region(), same_region(hostCluster="fed-2", previousHostCluster="fed-1"))
    assert run.error is None, run.report()
    assert any("KubefedJoin/Join-fed-3  Custom::KubefedJoin  replaced" in line for line in run.lines)
    # KubeFed runs on the new host, with every cluster joined there; the old host's releases went in cleanup.
    assert kubefed_clusters(run, "fed-2") == {"fed-1", "fed-2", "fed-3"}, run.report()
    assert kubefed_clusters(run, "fed-1") == set(), run.report()
    assert not {r for r in releases(run, "fed-1") if "kubefed" in r}, releases(run, "fed-1")
    assert {r for r in releases(run, "fed-2") if "kubefed" in r}, releases(run, "fed-2")
    cleanup = run.lines.index(next(line for line in run.lines if "federation  (stack)" in line
                                   and "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in line))
    uninstalled = [line for line in run.lines[cleanup:] if "HelmChart" in line and "delete" in line]
    assert len(uninstalled) == 3 and all(" ok" in line for line in uninstalled), run.lines[cleanup:]
    run.delete_everything()


def test_a_host_move_without_previous_host_is_refused_by_cloudformation(update):
    """Without previousHostCluster the config check has nothing to check (a new hostCluster looks like a new
    federation), and the federation's custom resources keep their logical ids with the new host's provider: the
    rehearsal refuses the update as CloudFormation does, and the move deploys nothing."""
    run = update(same_region(), same_region(hostCluster="fed-2"))
    assert run.error is not None and "Modifying service token is not allowed" in str(run.error), run.report()
    assert run.error.stack.endswith("-federation"), run.report()
    assert kubefed_clusters(run, "fed-2") == set()


def removal(engine: str) -> tuple[dict, dict, dict]:
    """A LoadBalancer workload on every cluster of three; the same placed on fed-1 and fed-2 (step 1 of the removal);
    then without fed-3 (step 2)."""
    web = {**WORKLOAD, "service": {"type": "LoadBalancer", "port": 80}}
    before = environment(clusters=3, workloads=[web], **({"engine": engine} if engine != "kubefed" else {}))
    off = copy.deepcopy(before)
    # `install: always` keeps fed-3's load-balancer controller: in `auto` the deploy that takes the last
    # LoadBalancer workload off fed-3 would uninstall it (cluster stacks update first) before the copy goes.
    off["loadBalancerController"] = {"install": "always"}
    off["workloads"][0]["placement"] = {"clusters": ["fed-1", "fed-2"]}
    off["workloads"][0]["clusters"] = {"fed-1": {"replicas": 1}, "fed-2": {"replicas": 1}}
    gone = copy.deepcopy(off)
    gone["clusters"] = gone["clusters"][:2]
    return before, off, gone


def load_balanced(run: Update, cluster: str) -> list[str]:
    """The Services on `cluster` whose load balancer the NLB controller still holds (it has not deleted it)."""
    return [s["metadata"]["name"] for s in run.objects(cluster, "Service")
            if LB_FINALIZER in (s["metadata"].get("finalizers") or [])]


@pytest.mark.parametrize("engine", ["kubefed", "karmada"])
def test_removing_a_cluster_in_two_deploys_removes_its_load_balancer_first(update, engine):
    """The documented removal (docs/operations/clusters.md), on both engines, with a Karmada member that takes a
    minute to delete what Karmada asks: the first deploy takes the workload off fed-3 while every network path
    stays, and ends once its copies left fed-3 (KubeFed's waiter: fed-3 gone from the status; Karmada's objects:
    no Work of theirs left in karmada-es-fed-3), its Service's load balancer being deleted by fed-3's controller;
    the second removes fed-3 (its peerings first, then its unjoin in the federation's cleanup); fed-3's stacks, left
    running, then delete cleanly: no load balancer is left in its VPC."""
    before, off, gone = removal(engine)
    balanced: list[str] = []
    run = update(before, off, karmada_work_delete_seconds=60.0,
                 after_create=lambda created: balanced.extend(load_balanced(created, "fed-3")))
    assert run.error is None, run.report()
    assert balanced == ["hello-world"] and run.left == [], (balanced, run.left)
    left = [s for s in run.objects("fed-3", "Service") if s["metadata"]["name"] == "hello-world"]
    assert all(s["metadata"].get("deletionTimestamp") for s in left), left
    assert not [d for d in run.objects("fed-3", "Deployment") if d["metadata"]["namespace"] == "federate-me"]

    run.then = read_assembly(assembly(gone))
    run.left = run.player.deploy(run.then)
    assert [n for n in run.left if "fed-3" in n], run.left
    (unjoin,) = [line for line in run.lines if "Join-fed-3" in line and line.split("]", 1)[1].split()[0] == "delete"]
    assert unjoin.endswith(" ok"), run.lines[-10:]
    run.delete_everything()
    assert any("prune" in line and "fed-3" in line for line in run.lines)


@pytest.mark.parametrize("engine", ["kubefed", "karmada"])
def test_removing_a_cluster_with_its_workloads_in_one_deploy_leaves_its_load_balancer(update, engine):
    """Why the removal takes two deploys: `cdk deploy --all` updates the peering stacks (level 2-3) before the
    federation stack (the last level), so fed-3's peering with the host is gone when the federation's update takes
    the workload off fed-3. The engine's controllers on the host can no longer reach fed-3 (KubeFed's health check
    and Karmada's cluster status turn it not Ready, and neither deletes anything on a cluster that is not Ready), so
    its copy and its load balancer stay, and deleting fed-3's VPC then fails on that load balancer."""
    before, _, gone = removal(engine)
    run = update(before, gone)
    assert run.error is None, run.report()
    assert load_balanced(run, "fed-3") == ["hello-world"]
    with pytest.raises(RehearsalFailure, match="DependencyViolation.*load balancer"):
        run.delete_everything()


# ---- CloudFormation's update semantics, on small hand-written assemblies (fast) ----------------------------------

def _function(name: str = "Fn") -> dict:
    return {name: {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}, "Handler": "i.h",
                                                                    "Role": "arn:aws:iam::123456789012:role/r"}}}


def _custom(token: str = "Fn", **props) -> dict:
    return {"Type": "Custom::KubeThing", "Properties": {"ServiceToken": {"Fn::GetAtt": [token, "Arn"]}, **props}}


def _vpc_and_group(description: str) -> dict:
    return {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Group": {"Type": "AWS::EC2::SecurityGroup",
                      "Properties": {"GroupDescription": description, "VpcId": {"Ref": "Vpc"}}}}


def _small_update(tmp_path: Path, before: dict[str, dict], after: dict[str, dict]):
    from test_rehearsal_player import Recorder, write_assembly

    def assembly_of(name: str, stacks: dict[str, dict]) -> list:
        folder = tmp_path / name
        folder.mkdir()
        return read_assembly(write_assembly(folder, {s: {"region": "us-east-1", "template": {"Resources": r}}
                                                     for s, r in stacks.items()}))
    recorder = Recorder(seconds=5)
    lines: list[str] = []
    player = Player(assembly_of("a", before), recorder, lines.append)
    player.create_all()
    return player, recorder, lines, assembly_of("b", after)


def test_an_update_creates_and_updates_then_deletes_in_cleanup(tmp_path):
    before = {"s": {**_function(), **_vpc_and_group("one"), "Old": _custom(Value="1"), "Kept": _custom(Value="a")}}
    after = {"s": {**_function(), **_vpc_and_group("two"), "New": _custom(Value="n"),
                   "Kept": _custom(Value="b", Group={"Ref": "Group"})}}
    player, recorder, lines, then = _small_update(tmp_path, before, after)
    old_group = player.scopes["s"].live["Group"].physical_id
    player.deploy(then)
    steps = [line.split("] ", 1)[1] for line in lines if "--- " not in line]
    update = steps[steps.index(next(s for s in steps if s.startswith("create  s  (stack)"))) + 1:]
    cleanup = next(i for i, s in enumerate(update) if "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in s)
    # The group is replaced (GroupDescription requires it): the new one first, the old one in cleanup, with the
    # resources that referenced it updated in between; the dropped custom resource goes in cleanup too.
    assert any(s.startswith("create  s  Group") and "replacement (GroupDescription" in s for s in update[:cleanup])
    assert sorted(s.split()[2] for s in update[cleanup + 1:] if s.startswith("delete")) == ["Group", "Old"]
    new_group = player.scopes["s"].live["Group"].physical_id
    assert new_group != old_group and old_group not in player.aws.security_groups
    kept = [r for r in recorder.requests if r.logical_id == "Kept" and r.request_type == "Update"]
    assert len(kept) == 1 and kept[0].old_properties["Value"] == "a" and kept[0].properties["Group"] == new_group
    assert [r.request_type for r in recorder.requests if r.logical_id == "Old"] == ["Create", "Delete"]
    # Unchanged resources are not touched.
    assert not any(s.startswith("update  s  Fn") for s in update)


def test_a_changed_service_token_is_refused(tmp_path):
    before = {"s": {**_function("A"), **_function("B"), "Thing": _custom("A", Value="1")}}
    after = {"s": {**_function("A"), **_function("B"), "Thing": _custom("B", Value="1")}}
    player, _, _, then = _small_update(tmp_path, before, after)
    with pytest.raises(RehearsalFailure, match="Modifying service token is not allowed") as failure:
        player.deploy(then)
    assert "(Thing)" in failure.value.resource


def test_stacks_the_new_assembly_dropped_are_left_running_then_pruned_last(tmp_path):
    before = {"keep": _function(), "gone": _function()}
    player, _, lines, then = _small_update(tmp_path, before, {"keep": _function()})
    left = player.deploy(then)
    assert left == ["gone"] and "gone" in player.outputs
    player.delete_after_update(then, left)
    deletes = [line for line in lines if "(stack)" in line and "DELETE_COMPLETE" in line]
    assert [d.split("] ", 1)[1].split()[1] for d in deletes] == ["keep", "gone"]
    assert player.outputs == {}


def test_an_export_another_stack_imports_cannot_be_dropped(tmp_path):
    exporter = {"Resources": _function(), "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]},
                                                               "Export": {"Name": "the-arn"}}}}
    from test_rehearsal_player import Recorder, write_assembly
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    folder_a.mkdir()
    folder_b.mkdir()
    importer = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": {"Fn::ImportValue": "the-arn"}}}}}
    a = read_assembly(write_assembly(folder_a, {"x": {"region": "us-east-1", "template": exporter},
                                                "y": {"region": "us-east-1", "template": importer, "depends": ["x"]}}))
    plain = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}}}
    b = read_assembly(write_assembly(folder_b, {"x": {"region": "us-east-1", "template": {"Resources": _function()}},
                                                "y": {"region": "us-east-1", "template": plain, "depends": ["x"]}}))
    player = Player(a, Recorder(), lambda line: None)
    player.create_all()
    with pytest.raises(RehearsalFailure, match="Cannot delete export the-arn as it is in use by y"):
        player.deploy(b)


def test_the_command_line_plays_an_update_of_two_assemblies(tmp_path, capsys):
    from rehearsal.__main__ import main
    from test_rehearsal_player import Recorder, write_assembly

    folders = []
    for name, description in (("a", "one"), ("b", "two")):
        folder = tmp_path / name
        folder.mkdir()
        folders.append(write_assembly(folder, {"s": {"region": "us-east-1", "template": {
            "Resources": {**_function(), **_vpc_and_group(description)}}}}))
    code = main(["--assembly", str(folders[0]), "--then-assembly", str(folders[1])],
                kubernetes_side=lambda _: Recorder())
    out = capsys.readouterr().out
    assert code == 0, out
    assert "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in out, out
    # Fn, Vpc, Group, then Group's replacement: four created, four deleted (the old Group in cleanup).
    assert "rehearsal passed: 4 resources created, 4 deleted" in out, out


def test_switching_the_engine_of_a_deployed_federation_is_refused_with_the_steps(update):
    """Issue 20: KubeFed deployed, then the same environment with engine karmada. The federation stack's engine guard
    (the same logical id for both engines) is updated first; the host's admission policy refuses the new engine with
    the steps, and nothing of Karmada is installed."""
    run = update(environment(clusters=2), environment(clusters=2, engine="karmada"))
    assert run.error is not None, run.report()
    assert run.error.stack.endswith("-federation") and "EngineGuard" in run.error.resource, run.report()
    assert "runs engine kubefed; a deployed federation cannot change its engine in place" in str(run.error)
    assert "npx cdk destroy fedeks-upd-federation -c env=upd" in str(run.error)
    assert "karmada" not in releases(run, "fed-1")
    assert {c["data"]["engine"] for c in run.objects("fed-1", "ConfigMap")
            if c["metadata"]["name"] == "federated-eks-engine"} == {"kubefed"}
    # Every other resource of the federation stack waits for the guard: the refused update created nothing of
    # Karmada (not its join Lambda, its security group or its ingress rules) before the guard's update failed.
    start = next(i for i, line in enumerate(run.lines) if line.startswith("--- update level")
                 and "fedeks-upd-federation" in line)
    steps = [line.split("]", 1)[1].split()[:3] for line in run.lines[start + 1:]
             if "fedeks-upd-federation" in line]
    assert steps == [["update", "fedeks-upd-federation", "EngineGuard/Manifest"]], run.report()


def _as_before_the_waiter_had_its_own_provider(folder: Path) -> Path:
    """The federation template as the app wrote it before components/workload_waiter/: every waiter under its old
    logical id (`Ready-*`) with the join's Provider as its service token, and the manifests without the owner
    annotation. (The rest, the waiter's Provider included, stays: unused, it changes nothing of the hand-off.)"""
    import json
    import shutil

    from components.workload_waiter import contract as waiter_contract
    old = folder.parent / (folder.name + "-before")
    shutil.copytree(folder, old)
    (path,) = old.glob("*-federation.template.json")
    template = json.loads(path.read_text())
    resources = template["Resources"]
    join_token = {"Fn::GetAtt": [next(k for k, r in resources.items() if k.startswith(
        "KubefedJoinProviderframeworkonEvent") and r["Type"] == "AWS::Lambda::Function"), "Arn"]}
    renamed = {}
    for key, resource in resources.items():
        if resource["Type"] == waiter_contract.WORKLOAD_TYPE:
            resource["Properties"]["ServiceToken"] = join_token
            renamed[key] = key.replace("WorkloadsWaiter", "WorkloadsReady", 1)
        manifest = (resource.get("Properties") or {}).get("Manifest")
        if isinstance(manifest, str) and waiter_contract.OWNER_ANNOTATION in manifest:
            objects = json.loads(manifest)
            for obj in objects:
                annotations = obj["metadata"].get("annotations") or {}
                annotations.pop(waiter_contract.OWNER_ANNOTATION, None)
                if not annotations:
                    obj["metadata"].pop("annotations", None)
            resource["Properties"]["Manifest"] = json.dumps(objects)
    assert renamed, "no waiter in the template"
    text = json.dumps(template)
    for new, legacy in renamed.items():
        text = text.replace(f'"{new}"', f'"{legacy}"')
    text = text.replace("/Workloads/Waiter-", "/Workloads/Ready-")  # the construct paths (aws:cdk:path)
    path.write_text(text)
    return old


def test_new_waiters_take_over_from_the_joins_and_the_old_ones_delete_nothing(tmp_path):
    """Issue 16/22: the waiter's own Provider changes every waiter's service token, which CloudFormation refuses on
    an existing logical id; so the waiters get new ids (`Waiter-*`): the update creates them after updating the
    manifests (now naming them as the objects' owner), and its cleanup phase deletes the old ones through the join's
    Provider, which leave the workload running and return at once. The deletes at the end still finish."""
    from components.workload_waiter import contract as waiter_contract
    raw = environment(clusters=2, workloads=[{**WORKLOAD, "clusters": {"fed-1": {"replicas": 1},
                                                                      "fed-2": {"replicas": 1}}}])
    after = assembly(raw)
    kubernetes = emulated_kubernetes(tmp_path / "kubernetes")
    run = Update.__new__(Update)
    run.started, run.kubernetes, run.lines, run.error, run.left = time.monotonic(), kubernetes, [], None, []
    run.player = Player(read_assembly(_as_before_the_waiter_had_its_own_provider(after)), kubernetes, run.lines.append)
    run.then = read_assembly(after)
    try:
        run.player.create_all()
        assert any("Workloads/Ready-federate-me-hello-world  Custom::FederatedWorkload  ok" in line
                   for line in run.lines), run.report()
        run.left = run.player.deploy(run.then)
        cleanup = run.lines.index(next(line for line in run.lines if "federation  (stack)" in line
                                       and "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in line))
        created = [line for line in run.lines[:cleanup] if "create" in line and "Waiter-federate-me" in line]
        deleted = [line for line in run.lines[cleanup:] if "delete" in line and "Ready-federate-me" in line]
        assert created and created[0].endswith(" ok") and deleted and deleted[0].endswith(" ok"), run.lines[-20:]
        # The old waiter's delete took nothing with it: after the controllers have had 5 minutes to act on any delete,
        # the workload runs on both members, owned by the new waiter.
        for _ in range(15):
            run.player.clock.advance(20)
            kubernetes.controllers_round(run.player.clock)
        (fd,) = [o for o in run.objects("fed-1", "FederatedDeployment") if o["metadata"]["name"] == "hello-world"]
        assert "deletionTimestamp" not in fd["metadata"]
        assert fd["metadata"]["annotations"][waiter_contract.OWNER_ANNOTATION] == \
            waiter_contract.physical_id("federate-me", "hello-world")
        for cluster in ("fed-1", "fed-2"):
            assert [d for d in run.objects(cluster, "Deployment") if d["metadata"]["name"] == "hello-world"], cluster
        run.delete_everything()
    finally:
        run.close()


def _virtual_seconds(line: str) -> int:
    """The virtual time a rehearsal line was written at (`[ mm:ss] ...`)."""
    minutes, seconds = line.split("]", 1)[0].strip("[ ").split(":")
    return int(minutes) * 60 + int(seconds)


def test_removing_a_cluster_from_a_karmada_federation_unjoins_it_promptly_and_it_joins_again(update):
    """A Karmada federation of three, then the same config without fed-3, then with it again. The update records the
    two remaining clusters on the host (Custom::KarmadaMembers) before its cleanup phase deletes fed-3's join; that
    unjoin, which can no longer reach fed-3 (the update took the function's egress to it away), finds fed-3 no longer
    recorded and completes within two polls: fed-3's Cluster, Secrets and execution namespace gone from
    karmada-apiserver, nothing recorded as left behind, fed-3's own side of the join left on it (it goes with the
    cluster). Deploying the three again joins fed-3 anew (Ready), and everything then deletes."""
    from components.karmada_join import contract as kc
    before = environment(clusters=3, engine="karmada")
    after = copy.deepcopy(before)
    after["clusters"] = after["clusters"][:2]
    run = update(before, after)
    assert run.error is None, run.report()
    assert [n for n in run.left if "fed-3" in n], run.left
    (record,) = [m for m in run.objects("fed-1", "ConfigMap") if m["metadata"]["name"] == kc.MEMBERS_CONFIGMAP]
    assert record["metadata"]["namespace"] == kc.MEMBERS_NAMESPACE and record["data"] == {"clusters": "fed-1,fed-2"}
    cleanup = next(line for line in run.lines if "federation  (stack)" in line
                   and "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" in line)
    (unjoin,) = [line for line in run.lines if "Join-fed-3" in line and line.split("]", 1)[1].split()[0] == "delete"]
    assert unjoin.endswith(" ok"), run.lines[-10:]
    assert _virtual_seconds(unjoin) - _virtual_seconds(cleanup) <= 90, (cleanup, unjoin)
    (host,) = [c for name, c in run.kubernetes.clusters.items() if name.endswith("fed-1")]
    assert host.karmada.find("clusters", None, "fed-3") is None
    assert host.karmada.find("secrets", kc.MEMBER_NAMESPACE, "fed-3") is None
    assert host.karmada.find("secrets", kc.MEMBER_NAMESPACE, kc.impersonator_secret("fed-3")) is None
    # Deleted (karmada-apiserver's kube-controller-manager removes it once empty; the emulation has no such controller).
    space = host.karmada.find("namespaces", None, kc.execution_namespace("fed-3"))
    assert space is None or space["metadata"].get("deletionTimestamp"), space
    assert host.karmada.find("clusters", None, "fed-2") is not None
    assert [s for s in run.objects("fed-3", "ServiceAccount") if s["metadata"]["name"] == "karmada-fed-3"]

    run.then = read_assembly(assembly(before))
    run.left = run.player.deploy(run.then)
    joined = host.karmada.find("clusters", None, "fed-3")
    assert joined is not None and [x["status"] for x in joined["status"]["conditions"] if x["type"] == "Ready"] == [
        "True"], run.lines[-10:]
    (record,) = [m for m in run.objects("fed-1", "ConfigMap") if m["metadata"]["name"] == kc.MEMBERS_CONFIGMAP]
    assert record["data"] == {"clusters": "fed-1,fed-2,fed-3"}
    destroyed = len(run.lines)
    run.delete_everything()
    deletes = [line for line in run.lines[destroyed:] if " delete " in line and "KarmadaJoin/" in line]
    record_delete = next(i for i, line in enumerate(deletes) if "KarmadaJoin/Members " in line)
    assert deletes[record_delete].endswith(" ok") and sum("Join-fed-" in d for d in deletes[:record_delete]) == 3


def test_a_karmada_folder_update_reweights_and_its_dropped_objects_leave_the_members(tmp_path):
    """A folder of Karmada objects (the echo-server sample and a ConfigMap a ClusterPropagationPolicy puts on every
    cluster), then the same folder with other weights and without the ConfigMap and its policy: the folder's Custom::KarmadaObjects is updated in
    place (same path, same logical id and owner), Karmada moves the replicas to the new counts, and the dropped
    objects go from karmada-apiserver and from every member; the delete then leaves nothing."""
    import shutil

    import yaml

    from fedtest import ROOT
    folder = Path(scratch_dir("karmada-folder-")) / "echo"
    shutil.copytree(ROOT / "samples/echo-server-karmada", folder)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "greeting", "namespace": "echo"},
              "data": {"text": "hello"}}
    # Cluster-scoped, without clusterAffinity: every cluster, for objects of any namespace it names.
    policy = {"apiVersion": "policy.karmada.io/v1alpha1", "kind": "ClusterPropagationPolicy",
              "metadata": {"name": "greeting"},
              "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "echo",
                                              "name": "greeting"}]}}
    (folder / "30-config.yaml").write_text(yaml.safe_dump_all([config, policy]))
    raw = environment(clusters=3, engine="karmada", workloads=[{"manifests": str(folder)}])
    before = assembly(raw)
    (folder / "30-config.yaml").unlink()
    deployment = folder / "10-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("weight: 2}", "weight: 4}").replace("weight: 3}", "weight: 1}"))
    after = assembly(raw)
    with rehearsing(before, tmp_path) as (player, kubernetes, lines):
        def on(cluster: str, kind: str, name: str) -> list[dict]:
            (eks_name,) = [n for n in kubernetes.clusters if n.endswith(cluster)]
            handle = kubernetes.clusters[eks_name].handle
            return handle.run(lambda: [dict(o.raw) for o in handle.emulator.objects.values() if not o.deleted
                                       and o.raw.get("kind") == kind and o.raw["metadata"].get("name") == name])

        player.create_all()
        assert [len(on(c, "ConfigMap", "greeting")) for c in ("fed-1", "fed-2", "fed-3")] == [1, 1, 1]
        assert [on(c, "Deployment", "echo-server")[0]["spec"]["replicas"] for c in ("fed-1", "fed-2")] == [2, 3]
        left = player.deploy(read_assembly(after))
        assert left == []
        assert any("Custom::KarmadaObjects" in line and "update" in line for line in lines), lines[-8:]
        # The Deployment is unchanged (the same total): the update waits for its binding to take the policy's new
        # placement, so the members run the new counts when the deploy ends.
        assert [on(c, "Deployment", "echo-server")[0]["spec"]["replicas"] for c in ("fed-1", "fed-2")] == [4, 1]
        assert [on(c, "ConfigMap", "greeting") for c in ("fed-1", "fed-2", "fed-3")] == [[], [], []]
        (host,) = [c for c in kubernetes.clusters.values() if c.karmada is not None]
        assert host.karmada.run(lambda: [k for k, o in host.karmada.emulator.objects.items() if not o.deleted
                                         and o.raw.get("kind") in ("ConfigMap", "ClusterPropagationPolicy")
                                         and o.raw["metadata"].get("name") == "greeting"]) == []
        player.delete_after_update(read_assembly(after), left)
    assert_deleted_clean(player)
