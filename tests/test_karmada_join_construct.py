"""The Karmada join construct as synthesized: its resources' properties (read back by the Lambda's own parsers), the
network path to the nodePort, and the packaged asset, imported as Lambda would in a clean interpreter."""
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

from components.karmada_join import contract as c
from components.karmada_join.karmada_join import (HANDLERS, SOURCE, KarmadaJoinProvider, KarmadaJoinProviderProps)
from components.karmada_join.runtime.properties import parse_join, parse_objects
from components.cluster_functions import JoinTarget
from components.kube_access import contract as access
from test_kubefed_join_construct import CLEAN_IMPORT, LAMBDA_RUNTIME_PROVIDES

CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="  # base64 of a PEM frame


def _target(name: str, region: str, hex_id: str) -> JoinTarget:
    return JoinTarget(name=name, eks_cluster_name=f"fedeks-test-{name}", region=region,
                      endpoint=f"https://{hex_id * 32}.gr7.{region}.eks.amazonaws.com", ca_data=CA)


HOST, MEMBER = _target("fed-1", "us-east-1", "A"), _target("fed-2", "us-east-2", "B")
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": "echo"},
              "spec": {"replicas": 3, "paused": False}}


def build(outdir: str, node_port: int = 31000):
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Federation", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", ip_addresses=ec2.IpAddresses.cidr("10.1.0.0/16"), max_azs=2)
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/join", mutable=False)
    provider = KarmadaJoinProvider(stack, "Karmada", KarmadaJoinProviderProps(
        vpc=vpc, role=role, api_cidrs={"fed-1": "10.1.0.0/16", "fed-2": "10.2.0.0/16"}, timeout_minutes=30,
        eks_name_prefix="fedeks-test-", environment="test",
        host_vpc_cidr="10.1.0.0/16", api_server_node_port=node_port))
    provider.allow_node_port(ec2.SecurityGroup.from_security_group_id(stack, "Nodes", "sg-0123456789abcdef0"))
    for target in (HOST, MEMBER):
        provider.join(f"Join-{target.name}", member=target, host=HOST)
    provider.objects("Echo", host=HOST, owner="echo", objects=[DEPLOYMENT])
    return app, stack, provider


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    out = tmp_path_factory.mktemp("cdk.out")
    app, stack, provider = build(str(out))
    assembly = app.synth()
    return Template.from_stack(stack).to_json(), assembly


def _of_type(template: dict, kind: str) -> dict:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_joins_and_objects_carry_properties_the_lambda_reads_back(synthesized):
    template, _ = synthesized
    joins = [r["Properties"] for r in _of_type(template, c.JOIN_TYPE).values()]
    assert sorted(parse_join(p).member.name for p in joins) == ["fed-1", "fed-2"]
    assert {parse_join(p).node_port for p in joins} == {31000}
    assert {parse_join(p).timeout_seconds for p in joins} == {1800}
    (objects,) = [r["Properties"] for r in _of_type(template, c.OBJECTS_TYPE).values()]
    parsed = parse_objects(objects)
    # The objects travel as one JSON string: numbers and booleans survive CloudFormation's stringification.
    assert parsed.owner == "echo" and parsed.objects == (DEPLOYMENT,)


def test_the_functions_reach_the_node_port_and_nothing_else_new(synthesized):
    template, _ = synthesized
    (group,) = [r["Properties"] for r in _of_type(template, "AWS::EC2::SecurityGroup").values()
                if "Karmada join" in r["Properties"]["GroupDescription"]]
    egress = {(e["CidrIp"], e["FromPort"]) for e in group["SecurityGroupEgress"]}
    # The API servers, the regional EKS APIs (DescribeCluster, through the NAT gateway) and the node port.
    assert egress == {("10.1.0.0/16", 443), ("10.2.0.0/16", 443), ("0.0.0.0/0", 443), ("10.1.0.0/16", 31000)}
    (ingress,) = [r["Properties"] for r in _of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    assert (ingress["GroupId"], ingress["FromPort"], ingress["ToPort"]) == ("sg-0123456789abcdef0", 31000, 31000)


def test_the_provider_outlasts_every_deadline(synthesized):
    template, _ = synthesized
    functions = [r["Properties"] for r in _of_type(template, "AWS::Lambda::Function").values()
                 if r["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]
    assert sorted(f["Handler"] for f in functions) == sorted(HANDLERS.values())
    assert {f["Timeout"] for f in functions} == {c.FUNCTION_SECONDS}


def test_the_functions_serve_the_environment_eks_describes_not_a_cluster_list(synthesized):
    """The functions' environment holds only the EKS name prefix and the environment's name (allowed_clusters asks EKS
    for the rest), and the role may describe only clusters named with the prefix and tagged with the name."""
    template, _ = synthesized
    functions = [r["Properties"] for r in _of_type(template, "AWS::Lambda::Function").values()
                 if r["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]
    assert {json.dumps(f["Environment"]["Variables"]) for f in functions} == {
        json.dumps({access.EKS_NAME_PREFIX_ENV: "fedeks-test-", access.ENVIRONMENT_ENV: "test"})}
    statements = [s for r in _of_type(template, "AWS::IAM::Policy").values()
                  for s in r["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "eks:DescribeCluster"]
    assert len(statements) == 1 and "cluster/fedeks-test-*" in json.dumps(statements[0]["Resource"])
    assert statements[0]["Condition"] == {"StringEquals": {"aws:ResourceTag/fedeks:environment": "test"}}


def test_a_cluster_named_outside_the_prefix_is_refused_at_synth(tmp_path):
    app, stack, provider = build(str(tmp_path))
    stranger = JoinTarget(name="fed-3", eks_cluster_name="fedeks-other-fed-3", region="us-east-1",
                          endpoint=HOST.endpoint, ca_data=CA)
    with pytest.raises(ValueError, match="Karmada join provider's functions would refuse it"):
        provider.join("Join-fed-3", member=stranger, host=HOST)


def test_a_bad_node_port_is_refused_at_synth(tmp_path):
    with pytest.raises(ValueError, match=r"api_server_node_port 443 is not a node port \(30000\.\.32767\)"):
        build(str(tmp_path), node_port=443)


def test_the_packaged_asset_runs_the_handlers_with_no_repository_and_no_cdk(synthesized, tmp_path):
    """The asset holds the runtime, the contracts, components/kube_access/ and the KubeFed join modules it reuses, at
    their package paths, and imports in a clean interpreter (no repository, no CDK)."""
    template, assembly = synthesized
    functions = [r["Properties"] for r in _of_type(template, "AWS::Lambda::Function").values()
                 if r["Properties"].get("Handler", "").startswith(SOURCE.package + ".")]
    (key,) = {f["Code"]["S3Key"] for f in functions}
    asset = Path(assembly.directory) / f"asset.{key.removesuffix('.zip')}"
    archive = shutil.make_archive(str(tmp_path / "code"), "zip", asset)
    task = tmp_path / "var-task"
    with zipfile.ZipFile(archive) as z:
        z.extractall(task)
    assert sorted(p.relative_to(task) for p in (task / "components").rglob("*.py")) == SOURCE.files()
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
    assert {"components.karmada_join.contract", "components.kube_access.kube_api",
            "components.kube_access.allowed_clusters"} <= set(
        result["from_asset"])
