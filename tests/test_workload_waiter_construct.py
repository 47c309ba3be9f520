"""The workload waiter as synthesized: its own Provider, role and asset (the runtime, its contract and the shared
components/kube_access/), the clusters its functions serve, its time budget (the shared contract's), and the
Kubernetes rights its role gets (a view access entry on every cluster, a ClusterRole on the host for its group)."""
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

from components.kube_access import allowed_clusters
from components.kube_access import contract as shared
from components.workload_waiter import contract
from components.workload_waiter.workload_waiter import (HANDLERS, HOST_RULES, READ_POLICY, SOURCE,
                                                        WorkloadWaiterProvider, WorkloadWaiterProviderProps)
from fedtest import environment, resources, synth, templates
from test_kubefed_join_construct import CLEAN_IMPORT, LAMBDA_RUNTIME_PROVIDES, _describe_policies
from test_host_move import HELLO


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    stacks, assembly = synth(environment(2, workloads=[HELLO]), outdir=str(tmp_path_factory.mktemp("w") / "cdk.out"))
    return templates(stacks), assembly


def _functions(template) -> dict[str, dict]:
    return {k: f["Properties"] for k, f in resources(template, "AWS::Lambda::Function").items()
            if f["Properties"].get("Handler", "").startswith(SOURCE.package + ".")}


def test_every_waiter_is_served_by_the_waiters_own_provider_not_the_joins(synthesized):
    tpl = synthesized[0]["fedeks-test-federation"].to_json()["Resources"]
    functions = _functions(synthesized[0]["fedeks-test-federation"])
    assert sorted(f["Handler"] for f in functions.values()) == sorted(HANDLERS.values())
    waiters = {k: r for k, r in tpl.items() if r["Type"] == contract.WORKLOAD_TYPE}
    assert waiters and all(k.startswith("WorkloadsWaiter") for k in waiters)  # new logical ids: a new service token
    tokens = {json.dumps(r["Properties"]["ServiceToken"]) for r in waiters.values()}
    (token,) = tokens
    provider_on_event = json.loads(token)["Fn::GetAtt"][0]
    assert provider_on_event.startswith("WorkloadWaiterProviderframeworkonEvent")
    roles = {json.dumps(f["Role"]) for f in functions.values()}
    assert len(roles) == 1 and "workload-waiter" in roles.pop()  # the waiter's own role (imported by name)


def test_the_waiters_functions_serve_exactly_the_federations_clusters(synthesized):
    """As the join's: the environment's EKS name prefix and name, and DescribeCluster on its own role for exactly the
    clusters named with the prefix and tagged with the name."""
    federation = synthesized[0]["fedeks-test-federation"]
    envs = [f["Environment"]["Variables"] for f in _functions(federation).values()]
    assert envs == [{shared.EKS_NAME_PREFIX_ENV: "fedeks-test-", shared.ENVIRONMENT_ENV: "test"}] * 2
    assert allowed_clusters.load(envs[0]) == allowed_clusters.Environment("fedeks-test-", "test")
    [policy] = _describe_policies(federation, role="workload-waiter")
    [statement] = policy["Statement"]
    assert statement["Action"] == "eks:DescribeCluster"
    assert json.dumps(statement["Resource"]).endswith(':cluster/fedeks-test-*"]]}')
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/fedeks:environment": "test"}}


def test_the_waiters_role_is_not_cluster_admin_anywhere(synthesized):
    """Every cluster's access entry for the waiter's role: the view policy and the waiter's Kubernetes group, never
    the admin policy; the join keeps its own entry."""
    stacks = synthesized[0]
    for name in ("fedeks-test-cluster-fed-1", "fedeks-test-cluster-fed-2"):
        entries = resources(stacks[name], "AWS::EKS::AccessEntry").values()
        (waiter,) = [e["Properties"] for e in entries
                     if "workload-waiter" in json.dumps(e["Properties"]["PrincipalArn"])]
        assert waiter["KubernetesGroups"] == [contract.KUBERNETES_GROUP]
        (policy,) = waiter["AccessPolicies"]
        assert f"/{READ_POLICY}" in json.dumps(policy["PolicyArn"])
        assert "AmazonEKSClusterAdminPolicy" not in json.dumps(waiter)
    access = synthesized[0]["fedeks-test-access"].to_json()["Resources"]
    roles = {r["Properties"]["RoleName"]: r["Properties"] for r in access.values() if r["Type"] == "AWS::IAM::Role"}
    waiter_role = roles["fedeks-test-workload-waiter"]
    assert "ManagedPolicyArns" not in waiter_role and "Policies" not in waiter_role


def test_the_hosts_cluster_role_binds_the_waiters_group_to_its_rules_only(synthesized):
    tpl = synthesized[0]["fedeks-test-federation"].to_json()["Resources"]
    (rbac,) = [r for k, r in tpl.items() if k.startswith("WorkloadWaiterRbac")]
    manifest = rbac["Properties"]["Manifest"]
    objects = json.loads(manifest if isinstance(manifest, str) else "".join(
        p if isinstance(p, str) else "" for p in manifest["Fn::Join"][1]))
    role, binding = objects
    assert role["kind"] == "ClusterRole" and role["rules"] == list(HOST_RULES)
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": contract.KUBERNETES_GROUP}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    # Nothing cluster-wide, no Secrets, no RBAC, no wildcard.
    assert all("*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"] for rule in HOST_RULES)
    assert {g for rule in HOST_RULES for g in rule["apiGroups"]} == {"types.kubefed.io", "scheduling.kubefed.io"}
    # Every waiter depends on it (and on the network path), so a delete keeps them until the waiters are gone.
    waiters = [r for r in tpl.values() if r["Type"] == contract.WORKLOAD_TYPE]
    rbac_id = next(k for k in tpl if k.startswith("WorkloadWaiterRbac"))
    assert all(rbac_id in w["DependsOn"] and "HostApiFromWaiterLambda" in w["DependsOn"] for w in waiters)


@pytest.mark.parametrize("minutes", [5, 30, 50])
def test_the_waiters_provider_waits_longer_than_its_handler_deadlines(minutes):
    """One time budget (the shared contract's Deadlines): the waiter's create and delete deadlines come from the
    federation's timeout, and its Provider gives up only after the longest of them plus a poll and a call."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["us-east-1a", "us-east-1b"])
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/waiter")
    provider = WorkloadWaiterProvider(stack, "Waiter", WorkloadWaiterProviderProps(
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, eks_name_prefix="fedeks-t-", environment="t",
        timeout_minutes=minutes))
    definition = str(Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine"))
    d = shared.Deadlines(minutes * 60)
    attempts = d.provider_total_seconds // shared.POLL_SECONDS
    assert f'\\"MaxAttempts\\":{attempts}' in definition or f'"MaxAttempts":{attempts}' in definition
    assert attempts * shared.POLL_SECONDS >= max(d.join, d.workload_delete) + shared.POLL_SECONDS + \
        shared.FUNCTION_SECONDS
    assert provider.deadlines.join == minutes * 60


def test_the_packaged_asset_runs_the_waiter_with_no_repository_and_no_cdk(synthesized, tmp_path):
    """Unzip the waiter's own asset as Lambda would and import its handler strings in a clean interpreter: the
    runtime, its contract and the shared access code are in it at their package paths (nothing of the join), and
    nothing in it imports CDK."""
    stacks, assembly = synthesized
    template = stacks["fedeks-test-federation"]
    (key,) = {f["Code"]["S3Key"] for f in _functions(template).values()}
    archive = shutil.make_archive(str(tmp_path / "code"), "zip", Path(assembly.directory) /
                                  f"asset.{key.removesuffix('.zip')}")
    task = tmp_path / "var-task"
    with zipfile.ZipFile(archive) as z:
        z.extractall(task)
    ours = sorted(p.relative_to(task) for p in (task / "components").rglob("*.py"))
    assert ours == SOURCE.files()
    assert not [p for p in ours if "kubefed_join" in str(p)]
    provided = tmp_path / "lambda-runtime"
    provided.mkdir()
    for name in LAMBDA_RUNTIME_PROVIDES:
        (provided / name).symlink_to(Path(importlib.import_module(name).__file__).parent)
    handlers = sorted(HANDLERS.values())
    run = subprocess.run([sys.executable, "-I", "-S", "-c", CLEAN_IMPORT, str(task), str(provided),
                          json.dumps(handlers)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert all(result[h] for h in handlers) and result["delete"] == "p" and result["cdk"] == []
    assert {"components.workload_waiter.contract", "components.kube_access.contract",
            "components.kube_access.kube_api"} <= set(result["from_asset"])
