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

import pytest

from components.kubefed_join.runtime import allowed_clusters
from components.kubefed_join.kubefed_join import HANDLERS, SOURCE
from fedtest import environment, resources, synth, templates
from components.kubefed_join.runtime.properties import parse


def _resolve(value, outputs: dict):
    """Stand-in for CloudFormation: Fn::Join and Fn::GetStackOutput (a fake endpoint per cluster stack)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, outputs) for p in parts)
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        ref = value["Fn::GetStackOutput"]
        return outputs.setdefault((ref["StackName"], ref["OutputName"]),
                                  f"https://{len(outputs):032X}.gr7.{ref['Region']}.eks.amazonaws.com")
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, outputs) for v in value]
    return value


@pytest.fixture(scope="module")
def federation():
    stacks, _ = synth(environment(2))
    return templates(stacks)["fedeks-test-federation"]


def _functions(t):
    return [f["Properties"] for f in resources(t, "AWS::Lambda::Function").values()
            if f["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]


def test_functions_time_out_after_two_minutes(federation):
    assert [f["Timeout"] for f in _functions(federation)] == [120, 120]


def test_the_functions_serve_exactly_the_clusters_the_stack_joins(federation):
    outputs: dict = {}
    envs = [_resolve(f["Environment"]["Variables"][allowed_clusters.ENV_VAR], outputs)
            for f in _functions(federation)]
    assert envs[0] == envs[1]
    allowed = allowed_clusters.load({allowed_clusters.ENV_VAR: envs[0]})
    assert sorted(allowed) == ["fed-1", "fed-2"]
    joins = resources(federation, "Custom::KubefedJoin").values()
    assert len(joins) == 2
    for join in joins:
        props = _resolve(join["Properties"], outputs)
        props["Member"]["CaData"] = props["Host"]["CaData"] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
        req = parse(props)
        allowed_clusters.check(req.member, "member", allowed)  # the deployed values pass
        allowed_clusters.check(req.host, "host", allowed)
        other = req.member.__class__(req.member.name, "someone-else", req.member.region, req.member.endpoint, "")
        with pytest.raises(allowed_clusters.NotAllowed, match="EksClusterName"):
            allowed_clusters.check(other, "member", allowed)
    assert len(json.dumps(envs[0])) < 4096


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
    assert "components.kubefed_join.contract" in result["from_asset"]
