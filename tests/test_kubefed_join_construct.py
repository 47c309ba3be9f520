"""The join functions as synthesized: their timeout, and the clusters they serve (the environment's EKS name prefix in
their environment, read back by the Lambda's own allowed_clusters module, and DescribeCluster on exactly those: their
prefix and their tag)."""
from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2, aws_iam as iam
from aws_cdk.assertions import Template

from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import (HANDLERS, SOURCE, JoinTarget, KubefedJoinProvider,
                                                  KubefedJoinProviderProps)
from components.kube_access import allowed_clusters
from federated_eks.model.federation import MAX_CLUSTER_NAME
from fedtest import REGIONS, environment, resources, synth, templates


@pytest.fixture(scope="module")
def federation():
    stacks, _ = synth(environment(2))
    return templates(stacks)["fedeks-test-federation"]


def _functions(t):
    return [f["Properties"] for f in resources(t, "AWS::Lambda::Function").values()
            if f["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]


def test_functions_time_out_after_two_minutes(federation):
    assert [f["Timeout"] for f in _functions(federation)] == [120, 120]


def _describe_policies(template, role: str = "join") -> list[dict]:
    """The DescribeCluster policies on `role` (the join's; the workload waiter has its own, on its own role)."""
    return [p["Properties"]["PolicyDocument"] for p in resources(template, "AWS::IAM::Policy").values()
            if role in json.dumps(p["Properties"]["Roles"])
            and any("eks:DescribeCluster" in json.dumps(st["Action"]) for st in p["Properties"]["PolicyDocument"]
                    ["Statement"])]


def _arn_pattern(resource) -> str:
    """The policy's resource with the partition and account CloudFormation fills in (aws, the stack's account)."""
    filled = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
    return "".join(filled[p["Ref"]] if isinstance(p, dict) else p for p in resource["Fn::Join"][1])


def test_the_functions_serve_exactly_this_environments_clusters(federation):
    """Their environment is the environment's EKS name prefix and name; their role may describe exactly the EKS
    clusters named with the prefix, in any region (IAM's `*`, matched here as IAM matches: any characters), and tagged
    with the environment's name (environment `test-a`'s clusters match the prefix: the tag condition refuses them)."""
    import fnmatch

    from rehearsal import iam as iam_decision
    envs = [f["Environment"]["Variables"] for f in _functions(federation)]
    assert envs == [{contract.EKS_NAME_PREFIX_ENV: "fedeks-test-", contract.ENVIRONMENT_ENV: "test"}] * 2
    assert allowed_clusters.load(envs[0]) == allowed_clusters.Environment("fedeks-test-", "test")
    [policy] = _describe_policies(federation)
    [statement] = policy["Statement"]
    assert statement["Action"] == "eks:DescribeCluster" and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/fedeks:environment": "test"}}
    pattern = _arn_pattern(statement["Resource"])
    assert pattern == "arn:aws:eks:*:123456789012:cluster/fedeks-test-*"
    ours = [f"arn:aws:eks:{r}:123456789012:cluster/fedeks-test-fed-{i}" for i, r in enumerate(REGIONS)]
    others = ["arn:aws:eks:us-east-1:123456789012:cluster/fedeks-test2-fed-1",  # environment test2
              "arn:aws:eks:us-east-1:123456789012:cluster/fedeks-prod-fed-1",
              "arn:aws:eks:us-east-1:210987654321:cluster/fedeks-test-fed-1",   # another account
              "arn:aws:eks:us-east-1:123456789012:cluster/someone-elses"]
    assert all(fnmatch.fnmatchcase(a, pattern) for a in ours)
    assert not any(fnmatch.fnmatchcase(a, pattern) for a in others)
    filled = {**statement, "Resource": pattern}
    tagged = {contract.ENVIRONMENT_TAG: "test"}
    assert all(iam_decision.decide([{"Statement": [filled]}], "eks:DescribeCluster", a, tagged) is None for a in ours)
    test_a = "arn:aws:eks:us-east-1:123456789012:cluster/fedeks-test-a-fed-1"  # environment test-a's cluster fed-1
    assert fnmatch.fnmatchcase(test_a, pattern)
    assert iam_decision.decide([{"Statement": [filled]}], "eks:DescribeCluster", test_a,
                               {contract.ENVIRONMENT_TAG: "test-a"}) is not None


def _joins_only(clusters: int, name_length: int) -> tuple[Template, list[JoinTarget]]:
    """A stack with just the join construct and `clusters` joins of `name_length`-character names, spread over
    five regions, their endpoints deploy-time values (imports)."""
    app = cdk.App()
    stack = cdk.Stack(app, "Joins", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join")
    names = [f"c{i:03d}-" + "x" * (name_length - 5) for i in range(clusters)]
    targets = [JoinTarget(name=n, eks_cluster_name=f"fedeks-prod-{n}", region=REGIONS[i % len(REGIONS)],
                          endpoint=cdk.Fn.import_value(f"{REGIONS[i % len(REGIONS)]}/{n}"), ca_data="ca")
               for i, n in enumerate(names)]
    provider = KubefedJoinProvider(stack, "KubefedJoin", KubefedJoinProviderProps(
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=30, eks_name_prefix="fedeks-prod-",
        environment="prod"))
    for t in targets:
        provider.join(f"Join-{t.name}", member=t, host=targets[0], namespace="kube-federation-system",
                      scope="Cluster", labels={})
    return Template.from_stack(stack), targets


def test_the_environment_and_the_iam_policy_are_the_same_for_2_and_100_clusters():
    """Nothing the functions carry grows with the federation: 100 clusters with 30-character names over the regions
    get the environment and the DescribeCluster policy 2 clusters get, byte for byte."""
    small, _ = _joins_only(2, MAX_CLUSTER_NAME)
    big, targets = _joins_only(100, MAX_CLUSTER_NAME)
    assert len(resources(big, contract.JOIN_TYPE)) == 100
    assert [f["Environment"] for f in _functions(big)] == [f["Environment"] for f in _functions(small)]
    assert json.dumps(_describe_policies(big)) == json.dumps(_describe_policies(small))
    assert len(_describe_policies(big)) == 1
    # one statement: the environment's ARN pattern and its tag (environment names may hold dashes: the prefix
    # `fedeks-prod-` also starts env `prod-eu`'s clusters, the tag condition refuses them)
    (statement,) = _describe_policies(big)[0]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/fedeks:environment": "prod"}}


def test_a_cluster_the_functions_would_refuse_is_refused_at_synth():
    """A join whose EKS name is not the environment's prefix and its name (CDK code passing its own targets) fails
    the synth, not the deploy."""
    app = cdk.App()
    stack = cdk.Stack(app, "Joins", env=cdk.Environment(account="123456789012", region="us-east-1"))
    provider = KubefedJoinProvider(stack, "KubefedJoin", KubefedJoinProviderProps(
        vpc=ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1),
        role=iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join"),
        api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=30, eks_name_prefix="fedeks-prod-",
        environment="prod"))
    ours = JoinTarget("fed-1", "fedeks-prod-fed-1", "us-east-1", "https://a", "ca")
    theirs = JoinTarget("fed-2", "fedeks-dev-fed-2", "us-east-1", "https://b", "ca")
    with pytest.raises(ValueError, match="cluster 'fed-2': its EKS name 'fedeks-dev-fed-2' is not 'fedeks-prod-fed-2'"):
        provider.join("Join", member=theirs, host=ours, namespace="kube-federation-system", scope="Cluster", labels={})


def _asset_dir(assembly, template) -> Path:
    """The synthesized code asset of the join functions (the directory cdk-assets zips at publish)."""
    (key,) = {f["Code"]["S3Key"] for f in _functions(template)}
    return Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"


# What the Lambda Python runtime provides besides the asset: botocore (and its own dependency jmespath); the
# asset brings urllib3 and python-dateutil. Everything else on this machine (aws_cdk, constructs, the repo) is
# out of reach of the clean interpreter below (-S: no site-packages; -I: no PYTHONPATH, no current directory).
LAMBDA_RUNTIME_PROVIDES = ("botocore", "jmespath")

CLEAN_IMPORT = r"""
import importlib, json, sys
sys.path[:0] = sys.argv[1:3]
result = {}
for handler in json.loads(sys.argv[3]):
    module, _, function = handler.rpartition(".")
    result[handler] = callable(getattr(importlib.import_module(module), function))
on_event = importlib.import_module(json.loads(sys.argv[3])[0].rpartition(".")[0]).on_event
answer = on_event({"RequestType": "Delete", "PhysicalResourceId": "p", "ResourceProperties": {}})
result["delete"] = answer["PhysicalResourceId"]
result["cdk"] = sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "constructs", "jsii"))
result["from_asset"] = sorted(m for m, mod in sys.modules.items()
                              if m.startswith("components") and (getattr(mod, "__file__", "") or "").startswith(sys.argv[1]))
print(json.dumps(result))
"""


def test_the_packaged_asset_runs_the_handlers_with_no_repository_and_no_cdk(tmp_path):
    """Unzip the asset as Lambda would and import both handler strings in a clean interpreter: the package path,
    the __init__ files and the contract are in it, and nothing in it imports CDK."""
    stacks, assembly = synth(environment(2), outdir=str(tmp_path / "cdk.out"))
    template = templates(stacks)["fedeks-test-federation"]
    archive = shutil.make_archive(str(tmp_path / "code"), "zip", _asset_dir(assembly, template))
    task = tmp_path / "var-task"
    with zipfile.ZipFile(archive) as z:
        z.extractall(task)
    ours = sorted(p.relative_to(task) for p in (task / "components").rglob("*.py"))
    assert ours == SOURCE.files()  # exactly the runtime, the contract and the package __init__ files
    provided = tmp_path / "lambda-runtime"
    provided.mkdir()
    for name in LAMBDA_RUNTIME_PROVIDES:
        (provided / name).symlink_to(Path(importlib.import_module(name).__file__).parent)
    handlers = sorted({f["Handler"] for f in _functions(template)})
    run = subprocess.run([sys.executable, "-I", "-S", "-c", CLEAN_IMPORT, str(task), str(provided),
                          json.dumps(handlers)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert handlers == sorted(HANDLERS.values()) and all(result[h] for h in handlers)
    assert result["delete"] == "p" and result["cdk"] == []
    assert {"components.kubefed_join.contract", "components.kube_access.contract"} <= set(result["from_asset"])
