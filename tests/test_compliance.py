"""Compliance of the whole app: cfn-lint, cdk-nag AwsSolutions, determinism, hermetic synth."""
from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

import app as federation_app
import fedtest
from fedtest import CONTEXT, ROOT, copy_project, environment, scratch_dir, synth, write_project
from federated_eks.config.reader import load_environment
from test_app import STALE_REPORT

ENVIRONMENTS = {
    "dev": fedtest.ENVIRONMENTS["dev"],
    "mesh5": environment(5),
    "tgw4": environment(4, "transitGateway"),
    "hub5": environment(5, "hub", kubefed={"scope": "Namespaced"}, nodeGroup={"imdsHopLimit": 2},
                        bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                                 "kubefedctl": {"url": "https://example.com/k.tgz", "sha256": "b" * 64}}),
    # Karmada (issue 20): three clusters in two regions, a Graviton host, the walkthroughs' two workloads.
    "karmada3": {**environment(3, engine="karmada", nodeGroup={"instanceTypes": ["m7g.large"]}, workloads=[
        {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10", "containerPort": 8080,
         "placement": {"clusters": ["fed-1", "fed-2"]}, "clusters": {"fed-1": {"replicas": 2}, "fed-2": {"replicas": 3}},
         "service": {"type": "LoadBalancer", "port": 80},
         "dns": {"hostedZoneId": "Z0123456789ABC", "recordName": "echo.example.com", "routing": "failover",
                 "primary": "fed-1"}},
        {"name": "hello-world", "namespace": "hello", "image": "public.ecr.aws/docker/library/nginx:1.29",
         "containerPort": 80, "replicaScheduling": {"totalReplicas": 7, "rebalance": True,
                                                    "clusters": {"*": {"weight": 1}}}}]),
        "clusters": [{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
                     {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"},
                     {"name": "fed-3", "region": "us-east-1", "cidr": "172.23.0.0/16"}]},
}


@pytest.fixture(scope="module", params=sorted(ENVIRONMENTS))
def assembly_dir(request):
    _, assembly = synth(ENVIRONMENTS[request.param], name=request.param)
    return Path(assembly.directory)


def test_cfn_lint_reports_nothing(assembly_dir):
    templates = sorted(assembly_dir.glob("*.template.json"))
    assert templates
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable",
                          *map(str, templates)], capture_output=True, text=True, cwd=ROOT)
    # .cfnlintrc.yaml ignores two aws-cdk-lib warnings, each with its reason; anything else fails.
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr


def nag_findings(app: cdk.App, outdir: str) -> list[str]:
    """Synthesize `app` under cdk-nag AwsSolutions and CDK's template validation; return every finding."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), cdk.CloudFormationValidatePlugin())
    try:
        app.synth()
    except Exception:  # noqa: BLE001 (jsii wraps the validation failure; the report says what)
        pass
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    return [f"{v['ruleName']} at {c['constructPath']}" for p in report["pluginReports"]
            for v in p["violations"] for c in v["violatingConstructs"]]


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_cdk_nag_and_cdk_template_validation_report_nothing_unacknowledged(name):
    config = load_environment({name: ENVIRONMENTS[name]}, name)
    outdir = scratch_dir("nag-")
    app = cdk.App(outdir=outdir, context=CONTEXT)
    federation_app.build(app, config)
    assert nag_findings(app, outdir) == []


def test_the_nag_harness_does_report_findings():
    """Control for the test above: the same harness fails on a real finding."""
    from aws_cdk import aws_ec2 as ec2

    outdir = scratch_dir("nag-")
    app = cdk.App(outdir=outdir, context=CONTEXT)
    stack = cdk.Stack(app, "Control", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, subnet_configuration=[ec2.SubnetConfiguration(
        name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    ec2.SecurityGroup(stack, "Open", vpc=vpc).add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    findings = nag_findings(app, outdir)
    assert any(f.startswith("AwsSolutions-EC23") for f in findings), findings
    assert any(f.startswith("AwsSolutions-VPC7") for f in findings), findings


def test_every_acknowledgment_has_a_reason():
    from components.compliance import ACKNOWLEDGED, acknowledge

    config = load_environment({"dev": ENVIRONMENTS["dev"]}, "dev")
    app = cdk.App(outdir=scratch_dir("ack-"), context=CONTEXT)
    federation_app.build(app, config)
    found = [(c.node.path, e.data) for c in app.node.find_all() for e in c.node.metadata if e.type == ACKNOWLEDGED]
    assert len(found) >= 8
    rules = [rule for _, data in found for rule in data["rules"]]
    assert any(r.startswith("AwsSolutions-IAM4") for r in rules) and "AwsSolutions-EC29" in rules
    for path, data in found:
        assert data["rules"] and len(data["reason"]) > 30, path
    with pytest.raises(ValueError, match="reason"):
        acknowledge(cdk.Stack(), "because", "AwsSolutions-EC29")
    with pytest.raises(ValueError, match="rule id"):
        acknowledge(cdk.Stack(), "a perfectly good reason for nothing at all")


def test_synth_twice_gives_identical_output():
    first = scratch_dir("a-")
    second = scratch_dir("b-")
    synth(ENVIRONMENTS["dev"], name="dev", outdir=first)
    synth(ENVIRONMENTS["dev"], name="dev", outdir=second)
    names = sorted(p.name for p in Path(first).glob("*.json"))
    assert names == sorted(p.name for p in Path(second).glob("*.json"))
    _, mismatch, errors = filecmp.cmpfiles(first, second, [n for n in names if n != "tree.json"], shallow=False)
    assert mismatch == [] and errors == []


def _network_isolated() -> list[str]:
    """`unshare -n` runs a command with no network at all; used where the machine allows it (root)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    return []


@pytest.mark.parametrize("project", ["repo-dev", "three-clusters"])
def test_cli_synth_needs_no_credentials_network_or_docker(tmp_path, project):
    """`cdk synth` through the CLI: no AWS credentials or config, Docker unusable, and (where the machine
    allows it) no network at all. Each is a project of its own (fedtest.write_project) running this repository's
    app: the tests' `dev`, and a 3-cluster environment."""
    isolate = _network_isolated()
    raw, clusters = (fedtest.ENVIRONMENTS["dev"], 2) if project == "repo-dev" else (environment(3), 3)
    cwd = write_project(tmp_path / "project", {"dev": raw})
    env = {"PATH": f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:/usr/bin:/bin",
           "HOME": str(tmp_path),  # no ~/.aws
           "CDK_DOCKER": "/bin/false",  # any attempt to run Docker fails the synth
           "AWS_EC2_METADATA_DISABLED": "true", "CDK_DISABLE_VERSION_CHECK": "1"}
    out = tmp_path / "out"
    # A failing validation report left by an earlier synth (test_app.STALE_REPORT): the CLI reads whatever report is
    # in the output directory, so the app must remove it before it synthesizes.
    out.mkdir()
    (out / "validation-report.json").write_text(json.dumps(STALE_REPORT))
    run = subprocess.run([*isolate, str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices",
                          "-c", "env=dev", "-o", str(out)], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    stacks = sorted(p.name for p in out.glob("*.template.json"))
    assert len([s for s in stacks if "-cluster-" in s]) == clusters
    assert len([s for s in stacks if s.endswith("-bastion.template.json")]) == 1
    assert "credentials" not in run.stderr.lower()
    if isolate:
        assert os.geteuid() == 0  # the isolation really applied


def test_cli_synth_of_another_environment(tmp_path):
    project = copy_project(tmp_path / "project", fedtest.ENVIRONMENTS)
    run = subprocess.run(["make", "synth", "ENV=prod"], cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    manifest = json.loads((project / "cdk.out" / "manifest.json").read_text())
    stacks = sorted(k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack")
    # access, bastion, 3 clusters, peering from us-east-1 and us-west-2, routes in us-west-2 and eu-west-1,
    # federation.
    assert stacks == sorted(["fedeks-prod-access", "fedeks-prod-bastion", "fedeks-prod-cluster-fed-east",
                             "fedeks-prod-cluster-fed-west", "fedeks-prod-cluster-fed-eu",
                             "fedeks-prod-peering-us-east-1", "fedeks-prod-peering-us-west-2",
                             "fedeks-prod-peer-routes-us-west-2", "fedeks-prod-peer-routes-eu-west-1",
                             "fedeks-prod-federation"])
