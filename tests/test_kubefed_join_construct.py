"""The join functions as synthesized: their timeout, and the clusters they serve (the environment the
construct writes) read back by the Lambda's own allowed_clusters module."""
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
from components.kubefed_join.contract import MAX_ENVIRONMENT_BYTES
from components.kubefed_join.kubefed_join import (HANDLERS, SOURCE, JoinTarget, KubefedJoinProvider,
                                                  KubefedJoinProviderProps)
from components.kube_access import allowed_clusters
from components.kubefed_join.runtime.properties import ClusterRef, parse
from fedtest import REGIONS, environment, resources, synth, templates


def _resolve(value, outputs: dict):
    """Stand-in for CloudFormation: Fn::Join, Fn::Select, Fn::Split, and the endpoint outputs of the cluster stacks
    (Fn::GetStackOutput, or Fn::ImportValue in the construct-only stacks): each an EKS endpoint with its own id."""

    def go(v):
        if isinstance(v, dict) and "Fn::Join" in v:
            sep, parts = v["Fn::Join"]
            return sep.join(go(p) for p in parts)
        if isinstance(v, dict) and "Fn::Select" in v:
            index, items = v["Fn::Select"]
            return go(items)[int(index)]
        if isinstance(v, dict) and "Fn::Split" in v:
            sep, text = v["Fn::Split"]
            return go(text).split(sep)
        if isinstance(v, dict) and ("Fn::GetStackOutput" in v or "Fn::ImportValue" in v):
            ref = v.get("Fn::GetStackOutput") or {"StackName": "", "OutputName": v["Fn::ImportValue"],
                                                   "Region": v["Fn::ImportValue"].split("/")[0]}
            key = (ref["StackName"], ref["OutputName"])
            if key not in outputs:
                outputs[key] = f"https://{len(outputs) + 1:032X}.gr7.{ref['Region']}.eks.amazonaws.com"
            return outputs[key]
        if isinstance(v, dict):
            return {k: go(x) for k, x in v.items()}
        if isinstance(v, list):
            return [go(x) for x in v]
        return v
    return go(value)


@pytest.fixture(scope="module")
def federation():
    stacks, _ = synth(environment(2))
    return templates(stacks)["fedeks-test-federation"]


def _functions(t):
    return [f["Properties"] for f in resources(t, "AWS::Lambda::Function").values()
            if f["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]


def test_functions_time_out_after_two_minutes(federation):
    assert [f["Timeout"] for f in _functions(federation)] == [120, 120]


def _environments(template, outputs: dict) -> list[dict]:
    return [_resolve(f["Environment"]["Variables"], outputs) for f in _functions(template)]


def test_the_functions_serve_exactly_the_clusters_the_stack_joins(federation):
    outputs: dict = {}
    envs = _environments(federation, outputs)
    assert envs[0] == envs[1] and set(envs[0]) == {contract.CLUSTERS_ENV, contract.EKS_NAME_PREFIX_ENV}
    allowed = allowed_clusters.load(envs[0])
    assert allowed.eks_name_prefix == "fedeks-test-"
    # What CloudFormation fills in is the unique id of each cluster's deployed endpoint.
    deployed = {stack.removeprefix("fedeks-test-cluster-"): contract.ENDPOINT_PATTERN.match(url)
                for (stack, _), url in outputs.items()}
    assert allowed.clusters == {name: (url["region"], url["id"]) for name, url in deployed.items()}
    assert sorted(deployed) == ["fed-1", "fed-2"]
    joins = resources(federation, contract.JOIN_TYPE).values()
    assert len(joins) == 2
    for join in joins:
        props = _resolve(join["Properties"], outputs)
        props[contract.MEMBER][contract.CA_DATA] = props[contract.HOST][contract.CA_DATA] = \
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        req = parse(props)
        allowed_clusters.check(req.member, "member", allowed)  # the deployed values pass
        allowed_clusters.check(req.host, "host", allowed)
        other = req.member.__class__(req.member.name, "someone-else", req.member.region, req.member.endpoint, "")
        with pytest.raises(allowed_clusters.NotAllowed, match="EksClusterName"):
            allowed_clusters.check(other, "member", allowed)


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
        vpc=vpc, role=role, api_cidrs={"all": "10.0.0.0/8"}, timeout_minutes=30))
    for t in targets:
        provider.join(f"Join-{t.name}", member=t, host=targets[0], namespace="kube-federation-system",
                      scope="Cluster", labels={})
    return Template.from_stack(stack), targets


def test_sixty_clusters_with_thirty_character_names_fit_the_environment_and_are_served():
    template, targets = _joins_only(60, contract.MAX_NAME_LENGTH)
    outputs: dict = {}
    # Worst case once deployed: every id is 32 characters (the pattern allows no other length) and the label
    # does not count (it is not kept).
    envs = _environments(template, outputs)
    assert envs[0] == envs[1]
    size = len(json.dumps(envs[0]).encode())
    assert size <= MAX_ENVIRONMENT_BYTES, size
    allowed = allowed_clusters.load(envs[0])
    assert sorted(allowed.clusters) == sorted(t.name for t in targets)
    for join in resources(template, contract.JOIN_TYPE).values():
        props = _resolve(join["Properties"], outputs)
        member = props[contract.MEMBER]
        ref = ClusterRef(*(member[k] for k in contract.CLUSTER_KEYS))
        allowed_clusters.check(ref, "member", allowed)
        elsewhere = contract.ENDPOINT_PATTERN.match(ref.endpoint)
        forged = ref.endpoint.replace(elsewhere["id"], f"{0xFFFF:032X}")
        with pytest.raises(allowed_clusters.NotAllowed, match="Endpoint differ"):
            allowed_clusters.check(ClusterRef(ref.name, ref.eks_cluster_name, ref.region, forged, ""), "member",
                                   allowed)


def test_too_many_clusters_for_the_environment_are_refused_at_synth():
    with pytest.raises(ValueError, match=r"the join functions' environment would hold \d+ bytes once deployed with the "
                       r"6\d clusters given so far, over Lambda's 4096"):
        _joins_only(70, contract.MAX_NAME_LENGTH)


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
