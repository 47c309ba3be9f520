"""DNS that follows the load balancers (issue 18): the member Service annotations ExternalDNS reads, how they reach
the member through KubeFed (retain, then overrides), ExternalDNS's rendered configuration and least-privilege role;
cfn-lint and cdk-nag have nothing to say."""
from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import aws_cdk as cdk
import jsonpatch
import pytest
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from components import workload_dns
from components.eks_cluster import FederatedCluster, FederatedClusterProps
from components.federated_workloads import as_placed, workload_objects
from components.network import Network, NetworkProps
from components.workload_dns import ExternalDns, ExternalDnsProps, chart_values
from federated_eks.model.federation import EndpointAccessConfig, NodeGroupConfig
from federated_eks.plan.subnet_layout import CLUSTER_VPC
from federated_eks.model.workload import DnsSpec, Placement, ServiceSpec, Workload
from fedtest import ROOT, scratch_dir

CLUSTERS = (("fed-1", "us-east-1"), ("fed-2", "us-east-2"), ("fed-3", "eu-west-1"))
ECHO = Workload(name="echo-server", namespace="echo", image="registry.k8s.io/echoserver:1.10", container_port=8080,
                placement=Placement(clusters=("fed-1", "fed-2")), service=ServiceSpec(type="LoadBalancer", port=80),
                dns=DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="echo.example.com", routing="failover",
                            primary="fed-1", health_check_path="/healthz"))


def member_service(w: Workload, cluster: str, existing: dict | None, overrides: bool = True) -> dict:
    """The Service KubeFed v0.10.0 writes on `cluster` from the rendered FederatedService: the template, on update
    the member's annotations retained (dispatch/retain.go RetainClusterFields), then the cluster's overrides as
    JSON patches (dispatch/managed.go Update, util/overrides.go)."""
    [fs] = [o for o in workload_objects(as_placed(w, CLUSTERS), CLUSTERS) if o["kind"] == "FederatedService"]
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": w.name, "namespace": w.namespace},
           **copy.deepcopy(fs["spec"]["template"])}
    obj["metadata"] = {**obj["metadata"], "name": w.name, "namespace": w.namespace}
    if existing is not None:
        obj["metadata"]["annotations"] = copy.deepcopy(existing["metadata"].get("annotations"))
    for o in fs["spec"].get("overrides") or [] if overrides else []:
        if o["clusterName"] == cluster:
            patches = [{"op": p.get("op", "replace"), "path": p["path"], "value": p.get("value")}
                       for p in o["clusterOverrides"]]
            obj = jsonpatch.apply_patch(obj, patches)
    return obj


def test_each_cluster_record_is_an_alias_routed_by_its_own_annotations():
    one = member_service(ECHO, "fed-1", None)["metadata"]["annotations"]
    two = member_service(ECHO, "fed-2", None)["metadata"]["annotations"]
    assert one[workload_dns.HOSTNAME] == two[workload_dns.HOSTNAME] == "echo.example.com"
    assert (one[workload_dns.SET_IDENTIFIER], two[workload_dns.SET_IDENTIFIER]) == ("fed-1", "fed-2")
    assert (one["external-dns.alpha.kubernetes.io/aws-failover"],
            two["external-dns.alpha.kubernetes.io/aws-failover"]) == ("PRIMARY", "SECONDARY")
    assert one[workload_dns.HEALTH_CHECK_PATH] == "/healthz" and one[workload_dns.HEALTH_CHECK_PROTOCOL] == "http"
    # Nothing names a load balancer: ExternalDNS takes the target from the Service's status when it syncs.
    assert not any("elb" in v for v in one.values())
    latency = Workload(**{**ECHO.__dict__, "placement": Placement(), "dns": DnsSpec(
        hosted_zone_id="Z0123456789ABC", record_name="example.com", routing="latency")})
    assert [member_service(latency, c, None)["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/aws-region"]
            for c, _ in CLUSTERS] == ["us-east-1", "us-east-2", "eu-west-1"]
    weighted = Workload(**{**ECHO.__dict__, "dns": DnsSpec(hosted_zone_id="Z0123456789ABC", routing="weighted",
                                                           record_name="echo.example.com", weights=(("fed-2", 3),))})
    assert [member_service(weighted, c, None)["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/aws-weight"]
            for c in ("fed-1", "fed-2")] == ["1", "3"]


@pytest.mark.parametrize("change", [
    {"service": ServiceSpec(type="LoadBalancer", port=80, scheme="internal"), "dns": None},
    {"dns": DnsSpec(hosted_zone_id="Z0123456789ABC", record_name="www.example.com", routing="failover",
                    primary="fed-2", health_check_path="/ready")},
])
def test_a_setting_change_reaches_the_member_on_the_next_deploy_despite_kubefeds_retain(change):
    """KubeFed keeps the member's annotations on update; the per-cluster override puts ours back on top."""
    before = {c: member_service(ECHO, c, None) for c in ("fed-1", "fed-2")}
    after_config = Workload(**{**ECHO.__dict__, **change})
    for cluster, existing in before.items():
        after = member_service(after_config, cluster, existing)["metadata"]["annotations"]
        want = workload_dns.member_annotations(
            {"service.beta.kubernetes.io/aws-load-balancer-scheme": after_config.service.scheme,
             "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"},
            after_config.dns, cluster, dict(CLUSTERS)[cluster])
        assert after == want and after != existing["metadata"]["annotations"]
    # Without the override, the template alone would leave the member as it was (the finding).
    kept = member_service(after_config, "fed-1", before["fed-1"], overrides=False)["metadata"]["annotations"]
    assert kept == before["fed-1"]["metadata"]["annotations"]


def test_externaldns_follows_services_continuously_in_the_configured_zones_only():
    props = ExternalDnsProps(cluster=None, hosted_zone_ids=("Z0123456789ABC",), owner_id="prod-fed-1",
                             region="us-east-1")
    values = chart_values(props)
    assert values["sources"] == ["service"] and values["policy"] == "sync" and values["registry"] == "txt"
    assert values["txtOwnerId"] == "prod-fed-1"
    assert values["interval"] == "1m" and values["triggerLoopOnEvent"] is True
    assert "--zone-id-filter=Z0123456789ABC" in values["extraArgs"]
    assert values["image"] == {"repository": "registry.k8s.io/external-dns/external-dns", "tag": "v0.21.0"}


def synth_external_dns(outdir: str) -> cdk.Stack:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Member", env=cdk.Environment(account="123456789012", region="us-east-2"))
    network = Network(stack, "Network", NetworkProps(max_azs=CLUSTER_VPC.azs, cidr="172.22.0.0/16", nat_gateways=1))
    member = FederatedCluster(stack, "Eks", FederatedClusterProps(
        cluster_name="fedeks-t-fed-2", kubernetes_version="1.35", vpc=network.vpc, node_group=NodeGroupConfig(),
        endpoint_access=EndpointAccessConfig(), with_kubectl=True))
    ExternalDns(stack, "ExternalDns", ExternalDnsProps(
        cluster=member.cluster, hosted_zone_ids=("Z0123456789ABC",), owner_id="t-fed-2", region="us-east-2",
        chart_repository="https://charts.mirror.example.com/external-dns"))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # a cdk-nag finding fails the synth
    return stack


def test_externaldns_chart_pinned_mirrorable_with_a_role_on_the_one_zone_cfn_lint_and_cdk_nag_clean():
    outdir = scratch_dir(prefix="fedeks-dns-")
    template = Template.from_stack(synth_external_dns(outdir)).to_json()
    [chart] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"]
    assert (chart["Chart"], chart["Version"], chart["Repository"]) == (
        "external-dns", "1.21.1", "https://charts.mirror.example.com/external-dns")
    statements = [s for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                  for s in r["Properties"]["PolicyDocument"]["Statement"]]
    by_action = {a: s["Resource"] for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                                else s["Action"])}
    assert by_action["route53:ListHostedZones"] == "*"
    for action in ("route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"):
        assert by_action[action] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                                                       ":route53:::hostedzone/Z0123456789ABC"]]}
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Route53::")]
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable",
                          *sorted(str(p) for p in Path(outdir).glob("*.template.json"))],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr


def test_the_rendered_service_with_its_overrides_is_valid_kubefed_and_its_member_copy_valid_kubernetes():
    import kubernetes_validate
    from components.kubefed_crds import all_crds
    from federated_eks.config import manifest_folder
    from federated_eks.model.federation import KubefedConfig
    rendered = workload_objects(as_placed(ECHO, CLUSTERS), CLUSTERS)
    crds = all_crds(KubefedConfig().federated_types)
    assert manifest_folder.check([("rendered", o) for o in rendered], crds, [n for n, _ in CLUSTERS],
                                 federated_namespaces=["echo"]) == []
    for version in ("1.34", "1.35", "1.36"):
        kubernetes_validate.validate(member_service(ECHO, "fed-2", None), version, strict=True)
