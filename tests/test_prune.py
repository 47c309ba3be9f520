"""Prune against an emulated CloudFormation (moto) with stacks of two environments in several regions: matching by
(name, region, account), the reason of each listed stack, a removed environment, a failed delete and its resume,
and stacks still read through Fn::GetStackOutput."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from fedtest import ENVIRONMENTS, scratch_dir, write_project
from federated_eks.operations import prune
from federated_eks.plan.stack_tags import APP, APP_TAG, CLUSTER_TAG, ENVIRONMENT_TAG, HOST_TAG, KIND_TAG

# A template with two real resources, so that the listing shows resources and delete removes them.
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"},
                                     "Queue": {"Type": "AWS::SQS::Queue"}}})


def tags(env: str, kind: str, **extra: str) -> list[dict]:
    t = {APP_TAG: APP, ENVIRONMENT_TAG: env, KIND_TAG: kind, **extra}
    return [{"Key": k, "Value": v} for k, v in t.items()]


def deploy(session, region: str, name: str, tag_list: list[dict] | None, reads: tuple[tuple[str, str], ...] = ()):
    """A stack; `reads`: (stack, region) whose outputs its template reads through Fn::GetStackOutput, as the
    weak cross-stack references of cdk.json write them."""
    template = json.loads(TEMPLATE)
    for i, (stack, where) in enumerate(reads):
        template["Resources"][f"Reader{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {
            "Fn::GetStackOutput": {"StackName": stack, "Region": where, "OutputName": "PublishOutputVpcId"}}}}
    session.client("cloudformation", region_name=region).create_stack(
        StackName=name, TemplateBody=json.dumps(template), **({"Tags": tag_list} if tag_list else {}))


def status(session, region: str, name: str) -> str:
    summaries = session.client("cloudformation", region_name=region).list_stacks()["StackSummaries"]
    return next(s["StackStatus"] for s in summaries if s["StackName"] == name)


# The tests' dev environment now (tests/fixtures); a third cluster fed-3 in eu-west-1 was removed from it, which leaves
# its cluster stack, the peering stack its mesh needed in us-east-2 and the routes in eu-west-1.
CURRENT = [("us-east-1", "fedeks-dev-access", "access", {}), ("us-east-1", "fedeks-dev-bastion", "bastion", {}),
           ("us-east-1", "fedeks-dev-cluster-fed-1", "cluster", {CLUSTER_TAG: "fed-1"}),
           ("us-east-2", "fedeks-dev-cluster-fed-2", "cluster", {CLUSTER_TAG: "fed-2"}),
           ("us-east-1", "fedeks-dev-peering-us-east-1", "peering", {}),
           ("us-east-2", "fedeks-dev-peer-routes-us-east-2", "peer-routes", {})]
LEFT = [("eu-west-1", "fedeks-dev-cluster-fed-3", "cluster", {CLUSTER_TAG: "fed-3"}),
        ("us-east-2", "fedeks-dev-peering-us-east-2", "peering", {}),
        ("eu-west-1", "fedeks-dev-peer-routes-eu-west-1", "peer-routes", {})]


def deploy_dev(session, host: str = "fed-1", federation_reads: tuple[tuple[str, str], ...] = ()) -> None:
    for region, name, kind, extra in CURRENT + LEFT:
        deploy(session, region, name, tags("dev", kind, **extra))
    deploy(session, "us-east-1", "fedeks-dev-federation", tags("dev", "federation", **{HOST_TAG: host}),
           reads=federation_reads)
    # Another environment's stack that dev's app does not have, and a stack of someone else without tags.
    deploy(session, "eu-west-1", "fedeks-prod-cluster-fed-eu", tags("prod", "cluster", **{CLUSTER_TAG: "fed-eu"}))
    deploy(session, "us-east-2", "fedeks-dev-cluster-fed-3-copy", None)


CDK_JSON = write_project(Path(scratch_dir("prune-")), ENVIRONMENTS) / "cdk.json"


def run(session, yes: bool, regions=None):
    lines: list[str] = []
    code = prune.run(session, "dev", prune.expected_stacks("dev", CDK_JSON), regions, yes, out=lines.append,
                     delay=0)
    return code, lines


def listed(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines if line[:1].isdigit()]


def test_the_app_expects_exactly_the_current_dev_stacks_by_name_region_and_account():
    assert prune.expected_stacks("dev", CDK_JSON) == {(n, r, "123456789012") for r, n, _, _ in CURRENT} | {
        ("fedeks-dev-federation", "us-east-1", "123456789012")}
    assert prune.expected_stacks("gone", CDK_JSON) is None


def test_dry_run_lists_the_orphans_with_their_resources_and_deletes_nothing(aws):
    deploy_dev(aws)
    code, lines = run(aws, yes=False)
    assert code == 0
    assert listed(lines) == ["fedeks-dev-peer-routes-eu-west-1", "fedeks-dev-peering-us-east-2",
                             "fedeks-dev-cluster-fed-3"]
    assert "1. fedeks-dev-peer-routes-eu-west-1 (eu-west-1, account 123456789012, peer-routes, CREATE_COMPLETE): " \
           "environment 'dev' no longer has this stack" in lines
    text = "\n".join(lines)
    assert "AWS::SNS::Topic" in text and "AWS::SQS::Queue" in text and "Dry run" in text
    for region, name, _, _ in LEFT:
        assert status(aws, region, name) == "CREATE_COMPLETE"


def test_yes_deletes_in_reverse_dependency_order_and_touches_nothing_else(aws):
    deploy_dev(aws)
    code, lines = run(aws, yes=True)
    assert code == 0
    deleted = [line.split()[1] for line in lines if line.startswith("Deleted ")]
    assert deleted == ["fedeks-dev-peer-routes-eu-west-1.", "fedeks-dev-peering-us-east-2.",
                       "fedeks-dev-cluster-fed-3."]
    for region, name, _, _ in LEFT:
        assert status(aws, region, name) == "DELETE_COMPLETE"
    for region, name, _, _ in CURRENT:
        assert status(aws, region, name) == "CREATE_COMPLETE"
    assert status(aws, "eu-west-1", "fedeks-prod-cluster-fed-eu") == "CREATE_COMPLETE"
    assert status(aws, "us-east-2", "fedeks-dev-cluster-fed-3-copy") == "CREATE_COMPLETE"
    # A second run finds nothing left.
    assert run(aws, yes=True)[1][0].startswith("Nothing to prune")


def test_the_host_clusters_stack_is_refused_while_it_is_the_host(aws):
    # hostCluster moved from fed-3 to fed-1 in the config, but the federation stack was not deployed since.
    deploy_dev(aws, host="fed-3")
    code, lines = run(aws, yes=True)
    assert code == 1
    assert "KEPT fedeks-dev-cluster-fed-3 (eu-west-1, account 123456789012): cluster 'fed-3' is still the host of " \
           "the deployed federation stack (its control plane runs there): set hostCluster to another cluster, " \
           "`make deploy ENV=dev`, then prune" in lines
    assert status(aws, "eu-west-1", "fedeks-dev-cluster-fed-3") == "CREATE_COMPLETE"
    assert status(aws, "us-east-2", "fedeks-dev-peering-us-east-2") == "DELETE_COMPLETE"


def test_regions_narrow_the_scan(aws):
    deploy_dev(aws)
    code, lines = run(aws, yes=False, regions=["us-east-2"])
    assert [line.split()[1] for line in lines if line[:1].isdigit()] == ["fedeks-dev-peering-us-east-2"]


def test_plan_orders_a_whole_environment_teardown():
    def s(name, kind, **extra):
        return prune.DeployedStack(name, "us-east-1", "UPDATE_COMPLETE", {APP_TAG: APP, ENVIRONMENT_TAG: "old",
                                                                          KIND_TAG: kind, **extra})
    stacks = [s("a", "access"), s("c", "cluster", **{CLUSTER_TAG: "h"}), s("b", "bastion"),
              s("f", "federation", **{HOST_TAG: "h"}), s("p", "peering"), s("r", "peer-routes")]
    p = prune.plan(stacks, expected=None, env="old")
    assert [x.name for x, _ in p.delete] == ["f", "r", "p", "c", "b", "a"] and p.refused == []
    assert {why for _, why in p.delete} == {"environment 'old' is no longer in cdk.json (--environment-removed old)"}


def test_a_stack_that_reads_another_is_deleted_before_it_whatever_their_kinds_and_names():
    def s(name, kind, reads=()):
        return prune.DeployedStack(name, "us-east-1", "CREATE_COMPLETE", {APP_TAG: APP, ENVIRONMENT_TAG: "old",
                                                                            KIND_TAG: kind}, "123456789012",
                                   frozenset((r, "us-east-1") for r in reads))
    # Two clusters (one kind), "x" reading "a": x first although "a" sorts first.
    p = prune.plan([s("a", "cluster"), s("x", "cluster", reads=["a"]), s("b", "bastion")], expected=None, env="old")
    assert [x.name for x, _ in p.delete] == ["x", "a", "b"]


def test_a_stack_of_the_environment_in_another_account_is_never_deleted():
    def s(name, account):
        return prune.DeployedStack(name, "us-east-1", "CREATE_COMPLETE", {APP_TAG: APP, ENVIRONMENT_TAG: "dev",
                                                                            KIND_TAG: "cluster"}, account)
    expected = {("fedeks-dev-cluster-fed-1", "us-east-1", "123456789012")}
    p = prune.plan([s("fedeks-dev-cluster-fed-1", "123456789012"), s("fedeks-dev-cluster-fed-1", "999999999999"),
                    s("fedeks-dev-cluster-fed-9", "123456789012")], expected, "dev")
    assert [(x.name, x.account) for x, _ in p.delete] == [("fedeks-dev-cluster-fed-9", "123456789012")]
    ((kept, why),) = p.refused
    assert kept.account == "999999999999" and why.startswith(
        "it is in account 999999999999, but environment 'dev' deploys to 123456789012")


def test_a_cluster_moved_to_another_region_leaves_its_old_stack_which_is_listed_and_deleted(aws):
    """fed-2 was in us-west-2 and is in us-east-2 now: same stack name, two stacks; the old one goes."""
    deploy_dev(aws)
    deploy(aws, "us-west-2", "fedeks-dev-cluster-fed-2", tags("dev", "cluster", **{CLUSTER_TAG: "fed-2"}))
    code, lines = run(aws, yes=False)
    assert code == 0 and "fedeks-dev-cluster-fed-2" in listed(lines)
    (line,) = [line for line in lines if line[:1].isdigit() and "fedeks-dev-cluster-fed-2 " in line]
    assert line.endswith("(us-west-2, account 123456789012, cluster, CREATE_COMPLETE): the app has "
                         "fedeks-dev-cluster-fed-2 in us-east-2 (account 123456789012) now: this copy in us-west-2 "
                         "(account 123456789012) was left behind")
    assert run(aws, yes=True)[0] == 0
    assert status(aws, "us-west-2", "fedeks-dev-cluster-fed-2") == "DELETE_COMPLETE"
    assert status(aws, "us-east-2", "fedeks-dev-cluster-fed-2") == "CREATE_COMPLETE"


def test_a_stack_still_read_through_get_stack_output_by_a_stack_that_stays_is_kept(aws):
    """The federation (which stays) was not deployed since fed-3 left the config: its template still reads the
    cluster stack's outputs, so that stack is kept; what only orphans read goes."""
    deploy_dev(aws, federation_reads=(("fedeks-dev-cluster-fed-3", "eu-west-1"),
                                      ("fedeks-dev-cluster-fed-1", "us-east-1")))
    code, lines = run(aws, yes=True)
    assert code == 1
    assert "KEPT fedeks-dev-cluster-fed-3 (eu-west-1, account 123456789012): still read by fedeks-dev-federation " \
           "(us-east-1) through Fn::GetStackOutput: deploy the app (`make deploy ENV=dev`) so that it reads what " \
           "replaces this stack, then prune" in lines
    assert status(aws, "eu-west-1", "fedeks-dev-cluster-fed-3") == "CREATE_COMPLETE"
    assert status(aws, "us-east-2", "fedeks-dev-peering-us-east-2") == "DELETE_COMPLETE"


def test_a_stack_read_by_a_kept_stack_is_kept_too():
    def s(name, kind, reads=(), **extra):
        return prune.DeployedStack(name, "us-east-1", "CREATE_COMPLETE", {APP_TAG: APP, ENVIRONMENT_TAG: "dev",
                                                                            KIND_TAG: kind, **extra},
                                   "123456789012", frozenset((r, "us-east-1") for r in reads))
    # The federation stays and names cluster h as its host: h is kept, and so is the bastion h reads.
    stacks = [s("fed", "federation", **{HOST_TAG: "h"}), s("h", "cluster", reads=["bast"], **{CLUSTER_TAG: "h"}),
              s("bast", "bastion")]
    p = prune.plan(stacks, {("fed", "us-east-1", "123456789012")}, "dev")
    assert p.delete == [] and [x.name for x, _ in p.refused] == ["h", "bast"]
    assert p.refused[1][1].startswith("still read by h (us-east-1)")


def fail_deletes_of(session, name: str) -> None:
    """CloudFormation accepts the delete of `name` and ends it DELETE_FAILED (as when a resource cannot be deleted):
    moto deletes every stack it is asked to, so the failure is injected on the clients prune makes from `session`:
    DeleteStack of `name` is answered without reaching moto, and DescribeStacks reports it DELETE_FAILED."""
    def delete(params, **_):
        if params["body"].get("StackName") == name:
            return SimpleNamespace(status_code=200, headers={}), {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return None

    def describe(parsed, **_):
        for stack in parsed.get("Stacks", []):
            if stack["StackName"] == name:
                stack.update(StackStatus="DELETE_FAILED", StackStatusReason="The vpc has dependencies")

    session.events.register("before-call.cloudformation.DeleteStack", delete, unique_id="fail-delete")
    session.events.register("after-call.cloudformation.DescribeStacks", describe, unique_id="fail-describe")


def test_a_failed_delete_stops_the_run_reports_it_and_the_next_run_resumes(aws):
    deploy_dev(aws)
    fail_deletes_of(aws, "fedeks-dev-peering-us-east-2")
    code, lines = run(aws, yes=True)
    assert code == 2
    assert [line for line in lines if line.startswith(("Deleted", "FAILED"))][:1] == [
        "Deleted fedeks-dev-peer-routes-eu-west-1."]
    (failed,) = [line for line in lines if line.startswith("FAILED")]
    assert failed.startswith("FAILED to delete fedeks-dev-peering-us-east-2: ") and "DELETE_FAILED" in failed
    assert "Stopped here" in failed and "run prune again" in failed
    assert lines[-1] == failed  # nothing after it was tried
    assert status(aws, "eu-west-1", "fedeks-dev-cluster-fed-3") == "CREATE_COMPLETE"
    # The next run lists what is left, the failed stack first (with its status), and deletes it when it can.
    code, lines = run(aws, yes=False)
    assert listed(lines) == ["fedeks-dev-peering-us-east-2", "fedeks-dev-cluster-fed-3"]
    assert any("fedeks-dev-peering-us-east-2 (us-east-2, account 123456789012, peering, DELETE_FAILED)" in line
               for line in lines)
    aws.events.unregister("before-call.cloudformation.DeleteStack", unique_id="fail-delete")
    aws.events.unregister("after-call.cloudformation.DescribeStacks", unique_id="fail-describe")
    code, lines = run(aws, yes=True)
    assert code == 0 and [line for line in lines if line.startswith("Deleted")] == [
        "Deleted fedeks-dev-peering-us-east-2.", "Deleted fedeks-dev-cluster-fed-3."]


def test_an_environment_missing_from_cdk_json_is_refused_unless_named_again(aws, capsys):
    for region, name, kind, extra in [("us-east-1", "fedeks-old-access", "access", {}),
                                      ("us-west-2", "fedeks-old-cluster-a", "cluster", {CLUSTER_TAG: "a"})]:
        deploy(aws, region, name, tags("old", kind, **extra))
    base = ["--env", "old", "--cdk-json", str(CDK_JSON), "--regions", "us-east-1,us-west-2", "--yes"]
    assert prune.main(base) == 1
    assert capsys.readouterr().err.strip() == (
        "federated-eks prune: environment 'old' is not in cdk.json, so every deployed stack of it would be "
        "deleted. Fix: if it was removed on purpose, name it again: --environment-removed old (make prune ENV=old "
        "GONE=old); otherwise check the name and cdk.json")
    assert prune.main([*base, "--environment-removed", "dev"]) == 1  # another name than the --env
    assert "--environment-removed old (make prune ENV=old GONE=old)" in capsys.readouterr().err
    assert status(aws, "us-west-2", "fedeks-old-cluster-a") == "CREATE_COMPLETE"
    assert prune.main(["--env", "dev", "--cdk-json", str(CDK_JSON), "--environment-removed", "dev"]) == 1
    assert "--environment-removed 'dev' is still in cdk.json" in capsys.readouterr().err
    assert prune.main([*base, "--environment-removed", "old"]) == 0
    out = capsys.readouterr().out
    assert "Deleted fedeks-old-cluster-a.\nDeleting fedeks-old-access" in out
    assert status(aws, "us-east-1", "fedeks-old-access") == "DELETE_COMPLETE"


def test_without_credentials_prune_says_what_it_needs_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    from fedtest import ROOT

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([sys.executable, "-m", "federated_eks.operations.prune", "--env", "dev", "--cdk-json", str(CDK_JSON)],
                         cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Unable to locate credentials" in run.stderr and "Fix: run with credentials" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_cluster_the_deployed_federation_still_joins_is_kept_until_the_deploy_removed_it():
    """Issue 18: only the deploy of the new config takes the cluster's load balancers away (then unjoins it); a
    prune before it would uninstall the load-balancer controller under live Services and strand the NLBs."""
    def s(name, kind, **extra):
        return prune.DeployedStack(name, "us-east-1", "UPDATE_COMPLETE", {APP_TAG: APP, ENVIRONMENT_TAG: "dev",
                                                                          KIND_TAG: kind, **extra})
    resources = [("Custom::KubefedJoin", "kubefed-join/kube-federation-system/fed-1/fed-1"),
                 ("Custom::KubefedJoin", "kubefed-join/kube-federation-system/fed-1/fed-3"),
                 ("Custom::FederatedWorkload", "federated-workload/echo/echo-server"),
                 ("AWS::Lambda::Function", "kubefed-join/not-a-join")]
    assert prune.joined_clusters(resources) == {"fed-1", "fed-3"}
    stacks = [s("fedeks-dev-federation", "federation", **{HOST_TAG: "fed-1"}),
              s("fedeks-dev-cluster-fed-3", "cluster", **{CLUSTER_TAG: "fed-3"})]
    expected = {("fedeks-dev-federation", "us-east-1", "")}
    before = prune.plan(stacks, expected=expected, env="dev", still_joined={"fed-1", "fed-3"})
    assert before.delete == [] and "still joined" in before.refused[0][1]
    assert "`make deploy ENV=dev` the new config first" in before.refused[0][1]
    after = prune.plan(stacks, expected=expected, env="dev", still_joined={"fed-1"})
    assert [x.name for x, _ in after.delete] == ["fedeks-dev-cluster-fed-3"] and after.refused == []


def join_physical_id(engine: str, host: str, member: str) -> str:
    """The physical id the engine's join Lambda gives its join resource (its runtime, as packaged)."""
    import dataclasses

    if engine == "kubefed":
        from components.kubefed_join.runtime.properties import JoinRequest
    else:
        from components.karmada_join.runtime.properties import JoinRequest
    fields = {f.name: None for f in dataclasses.fields(JoinRequest)}
    given = {"member": SimpleNamespace(name=member), "host": SimpleNamespace(name=host),
             "namespace": "kube-federation-system"}
    return JoinRequest(**{**fields, **{k: v for k, v in given.items() if k in fields}}).physical_id


def test_prune_knows_the_join_resources_of_both_engines():
    """stack_tags.ENGINE_JOINS (the operations layer may not import components) is what the joins are."""
    from components.karmada_join import contract as karmada
    from components.kubefed_join import contract as kubefed
    from federated_eks.model.federation import ENGINES
    from federated_eks.plan.stack_tags import ENGINE_JOINS

    assert set(ENGINE_JOINS) == set(ENGINES)
    assert {e: t for e, (t, _) in ENGINE_JOINS.items()} == {"kubefed": kubefed.JOIN_TYPE,
                                                             "karmada": karmada.JOIN_TYPE}
    for engine, (join_type, _) in ENGINE_JOINS.items():
        resources = [(join_type, join_physical_id(engine, "fed-1", "fed-3"))]
        assert prune.joined_clusters(resources) == {"fed-3"} and prune.deployed_engines(resources) == {engine}


def with_resources(session, stack: str, added: list[tuple[str, str]]) -> None:
    """CloudFormation lists `added` (type, physical id) among `stack`'s resources: moto cannot run the custom
    resources themselves (their Lambdas), so they are added to its ListStackResources answers for that stack."""
    def remember(params, context, **_):
        context["stack"] = params["body"].get("StackName")

    def add(parsed, context, **_):
        if context.get("stack") == stack:
            parsed["StackResourceSummaries"] += [
                {"LogicalResourceId": f"Join{i}", "PhysicalResourceId": physical, "ResourceType": kind,
                 "ResourceStatus": "CREATE_COMPLETE"} for i, (kind, physical) in enumerate(added)]

    session.events.register("before-call.cloudformation.ListStackResources", remember, unique_id="remember-stack")
    session.events.register("after-call.cloudformation.ListStackResources", add, unique_id="add-joins")


@pytest.mark.parametrize("engine", ["kubefed", "karmada"])
def test_a_cluster_the_deployed_federation_of_either_engine_still_joins_is_kept(aws, engine):
    """fed-3 left the config, but the federation stack was not deployed since: its join of fed-3 (KubeFed's or
    Karmada's) is still there, so fed-3's cluster stack stays; what only the orphans used goes."""
    from federated_eks.plan.stack_tags import ENGINE_JOINS

    deploy_dev(aws)
    join_type, _ = ENGINE_JOINS[engine]
    with_resources(aws, "fedeks-dev-federation", [(join_type, join_physical_id(engine, "fed-1", m))
                                                  for m in ("fed-1", "fed-2", "fed-3")])
    code, lines = run(aws, yes=True)
    assert code == 1
    assert "KEPT fedeks-dev-cluster-fed-3 (eu-west-1, account 123456789012): cluster 'fed-3' is still joined by the " \
           "deployed federation stack (its workloads and load balancers are still there): `make deploy ENV=dev` " \
           "the new config first (it removes the cluster's workloads and unjoins it), then prune" in lines
    assert status(aws, "eu-west-1", "fedeks-dev-cluster-fed-3") == "CREATE_COMPLETE"
    assert status(aws, "us-east-2", "fedeks-dev-peering-us-east-2") == "DELETE_COMPLETE"
