"""Route 53 for a load-balanced workload: one health check per placed cluster, one record per cluster per routing
mode (failover, latency, weighted), each with its health check; cfn-lint and cdk-nag have nothing to say."""
from __future__ import annotations

import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from components.workload_dns import DnsTarget, WorkloadDns, WorkloadDnsProps
from fedtest import ROOT, scratch_dir
from federated_eks.workload import DnsSpec

TARGETS = (DnsTarget("fed-1", "us-east-1", "one.elb.us-east-1.amazonaws.com"),
           DnsTarget("fed-2", "us-east-2", "two.elb.us-east-2.amazonaws.com"),
           DnsTarget("fed-3", "eu-west-1", "three.elb.eu-west-1.amazonaws.com"))


def synth(dns: DnsSpec, targets=TARGETS, port: int = 80) -> tuple[Template, Path]:
    outdir = scratch_dir(prefix="fedeks-dns-")
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Dns", env=cdk.Environment(account="123456789012", region="us-east-1"))
    WorkloadDns(stack, "Echo", WorkloadDnsProps(dns=dns, port=port, targets=targets))
    app.synth()
    return Template.from_stack(stack), Path(outdir)


def records(template: Template) -> dict[str, dict]:
    """Record properties by SetIdentifier."""
    found = template.find_resources("AWS::Route53::RecordSet")
    return {r["Properties"]["SetIdentifier"]: r["Properties"] for r in found.values()}


def checks(template: Template) -> dict[str, dict]:
    """Health-check config by logical id."""
    return {k: r["Properties"]["HealthCheckConfig"]
            for k, r in template.find_resources("AWS::Route53::HealthCheck").items()}


def test_failover_primary_and_secondary_each_behind_its_health_check():
    dns = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="failover",
                  primary="fed-2", health_check_path="/healthz")
    template, _ = synth(dns, TARGETS[:2])
    found = records(template)
    assert set(found) == {"fed-1", "fed-2"}
    assert found["fed-2"]["Failover"] == "PRIMARY" and found["fed-1"]["Failover"] == "SECONDARY"
    hc = checks(template)
    assert len(hc) == 2
    for cluster, target in (("fed-1", TARGETS[0]), ("fed-2", TARGETS[1])):
        r = found[cluster]
        assert r["Type"] == "CNAME" and r["Name"] == "echo.example.com." and r["TTL"] == "60"
        assert r["HostedZoneId"] == "Z0123456789ABC" and r["ResourceRecords"] == [target.hostname]
        logical = r["HealthCheckId"]["Ref"]
        assert hc[logical] == {"Type": "HTTP", "FullyQualifiedDomainName": target.hostname, "Port": 80,
                               "ResourcePath": "/healthz", "FailureThreshold": 3, "RequestInterval": 30,
                               "Inverted": False, "MeasureLatency": False}


def test_latency_records_carry_each_clusters_region():
    dns = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="latency",
                  protocol="HTTPS")
    template, _ = synth(dns, port=443)
    found = records(template)
    assert {k: v["Region"] for k, v in found.items()} == {"fed-1": "us-east-1", "fed-2": "us-east-2",
                                                          "fed-3": "eu-west-1"}
    assert all("Failover" not in v and "Weight" not in v for v in found.values())
    assert {c["Type"] for c in checks(template).values()} == {"HTTPS"}
    assert all(c["EnableSNI"] is True and c["Port"] == 443 for c in checks(template).values())


def test_weighted_records_default_to_weight_one():
    dns = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="weighted",
                  weights=(("fed-3", 0), ("fed-1", 5)))
    template, _ = synth(dns)
    assert {k: v["Weight"] for k, v in records(template).items()} == {"fed-1": 5, "fed-2": 1, "fed-3": 0}
    template.resource_count_is("AWS::Route53::HealthCheck", 3)
    template.has_resource_properties("AWS::Route53::RecordSet", {"HealthCheckId": Match.any_value()})


def test_failover_refuses_anything_but_two_targets():
    dns = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="failover",
                  primary="fed-1")
    with pytest.raises(ValueError, match="exactly two targets"):
        synth(dns, TARGETS)


def test_cfn_lint_and_cdk_nag_are_clean():
    outdir = scratch_dir(prefix="fedeks-dns-")
    app = cdk.App(outdir=outdir)
    for routing in ("failover", "latency", "weighted"):
        stack = cdk.Stack(app, routing, env=cdk.Environment(account="123456789012", region="us-east-1"))
        dns = DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing=routing,
                      primary="fed-1" if routing == "failover" else None)
        WorkloadDns(stack, "Echo", WorkloadDnsProps(dns=dns, port=80, targets=TARGETS[:2]))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # a cdk-nag finding fails the synth
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable",
                          *sorted(str(p) for p in Path(outdir).glob("*.template.json"))],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr
