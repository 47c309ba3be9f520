"""Prune against an emulated CloudFormation (moto) with stacks of two environments in several regions."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from federated_eks import prune
from federated_eks.stack_tags import APP, APP_TAG, CLUSTER_TAG, ENVIRONMENT_TAG, HOST_TAG, KIND_TAG

# A template with two real resources, so that the listing shows resources and delete removes them.
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"},
                                     "Queue": {"Type": "AWS::SQS::Queue"}}})


def tags(env: str, kind: str, **extra: str) -> list[dict]:
    t = {APP_TAG: APP, ENVIRONMENT_TAG: env, KIND_TAG: kind, **extra}
    return [{"Key": k, "Value": v} for k, v in t.items()]


@pytest.fixture
def aws(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def deploy(session, region: str, name: str, tag_list: list[dict] | None) -> None:
    session.client("cloudformation", region_name=region).create_stack(
        StackName=name, TemplateBody=TEMPLATE, **({"Tags": tag_list} if tag_list else {}))


def status(session, region: str, name: str) -> str:
    summaries = session.client("cloudformation", region_name=region).list_stacks()["StackSummaries"]
    return next(s["StackStatus"] for s in summaries if s["StackName"] == name)


# The dev environment of cdk.json now; a third cluster fed-3 in eu-west-1 was removed from it, which leaves
# its cluster stack, the peering stack its mesh needed in us-east-2 and the routes in eu-west-1.
CURRENT = [("us-east-1", "fedeks-dev-access", "access", {}), ("us-east-1", "fedeks-dev-bastion", "bastion", {}),
           ("us-east-1", "fedeks-dev-cluster-fed-1", "cluster", {CLUSTER_TAG: "fed-1"}),
           ("us-east-2", "fedeks-dev-cluster-fed-2", "cluster", {CLUSTER_TAG: "fed-2"}),
           ("us-east-1", "fedeks-dev-peering-us-east-1", "peering", {}),
           ("us-east-2", "fedeks-dev-peer-routes-us-east-2", "peer-routes", {})]
LEFT = [("eu-west-1", "fedeks-dev-cluster-fed-3", "cluster", {CLUSTER_TAG: "fed-3"}),
        ("us-east-2", "fedeks-dev-peering-us-east-2", "peering", {}),
        ("eu-west-1", "fedeks-dev-peer-routes-eu-west-1", "peer-routes", {})]


def deploy_dev(session, host: str = "fed-1") -> None:
    for region, name, kind, extra in CURRENT + LEFT:
        deploy(session, region, name, tags("dev", kind, **extra))
    deploy(session, "us-east-1", "fedeks-dev-federation", tags("dev", "federation", **{HOST_TAG: host}))
    # Another environment's stack that dev's app does not have, and a stack of someone else without tags.
    deploy(session, "eu-west-1", "fedeks-prod-cluster-fed-eu", tags("prod", "cluster", **{CLUSTER_TAG: "fed-eu"}))
    deploy(session, "us-east-2", "fedeks-dev-cluster-fed-3-copy", None)


def run(session, yes: bool, regions=None):
    lines: list[str] = []
    code = prune.run(session, "dev", prune.expected_stacks("dev"), regions, yes, out=lines.append, delay=0)
    return code, lines


def test_the_app_expects_exactly_the_current_dev_stacks():
    assert prune.expected_stacks("dev") == {n for _, n, _, _ in CURRENT} | {"fedeks-dev-federation"}


def test_dry_run_lists_the_orphans_with_their_resources_and_deletes_nothing(aws):
    deploy_dev(aws)
    code, lines = run(aws, yes=False)
    assert code == 0
    listed = [line.split()[1] for line in lines if line[:1].isdigit()]
    assert listed == ["fedeks-dev-peer-routes-eu-west-1", "fedeks-dev-peering-us-east-2", "fedeks-dev-cluster-fed-3"]
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
    assert any(line.startswith("KEPT fedeks-dev-cluster-fed-3") and "KubeFed host" in line for line in lines)
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
    p = prune.plan(stacks, expected=set(), env="old")
    assert [x.name for x in p.delete] == ["f", "r", "p", "c", "b", "a"] and p.refused == []


def test_without_credentials_prune_says_what_it_needs_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    from fedtest import ROOT

    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([sys.executable, "-m", "federated_eks.prune", "--env", "dev"], cwd=ROOT, env=env,
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
    before = prune.plan(stacks, expected={"fedeks-dev-federation"}, env="dev", still_joined={"fed-1", "fed-3"})
    assert before.delete == [] and "still joined" in before.refused[0][1] and "`make deploy`" in before.refused[0][1]
    after = prune.plan(stacks, expected={"fedeks-dev-federation"}, env="dev", still_joined={"fed-1"})
    assert [x.name for x in after.delete] == ["fedeks-dev-cluster-fed-3"] and after.refused == []
