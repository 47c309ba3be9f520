"""ExternalDNS in the rehearsal (issue 20), for both engines: the chart's release as a deploy installs it (modelled from
chart external-dns 1.21.1), its controller writing the emulated Route 53 with the IRSA role the construct gives it
(the role's policy evaluated, its trust checked against the cluster's OIDC issuer), the records each member's Service
asks for (alias A and AAAA to its load balancer, the routing of the workload's `dns`, TXT ownership), and their
removal when the Services go (policy `sync`). A role that cannot change the zone, and a policy that deletes nothing,
stop the rehearsal.

Each test synthesizes its environment and plays it whole (tens of seconds each)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fedtest import environment, scratch_dir, synth
from rehearsing import create_stops, player_for, rehearsing
from rehearsal.__main__ import emulated_kubernetes
from rehearsal.cloudformation import Player
from rehearsal.kubernetes import external_dns
from rehearsal.route53 import NLB_CANONICAL_ZONES
from rehearsal.world import RehearsalFailure

pytestmark = pytest.mark.timeout(900)

ZONE = "Z0123456789ABCDEFGHIJ"
ECHO = {"name": "echo-server", "namespace": "echo", "image": "registry.k8s.io/echoserver:1.10",
        "containerPort": 8080, "service": {"type": "LoadBalancer", "port": 80}}
FAILOVER = {**ECHO, "clusters": {"fed-1": {"replicas": 2}, "fed-2": {"replicas": 3}},
            "dns": {"hostedZoneId": ZONE, "recordName": "echo.example.com", "routing": "failover",
                    "primary": "fed-1", "healthCheckPath": "/healthz"}}
GRAVITON = {"instanceTypes": ["m7g.large"], "minSize": 1, "desiredSize": 2, "maxSize": 3}
KARMADA_CLUSTERS = [{"name": "fed-1", "region": "us-east-1", "cidr": "172.21.0.0/16"},
                    {"name": "fed-2", "region": "us-east-2", "cidr": "172.22.0.0/16"},
                    {"name": "fed-3", "region": "us-east-1", "cidr": "172.23.0.0/16"}]


def assembly_of(raw: dict, name: str) -> Path:
    _, assembly = synth(raw, name=name, outdir=scratch_dir("rehearsal-dns-"))
    return Path(assembly.directory)


def member_hostnames(kubernetes, namespace: str, name: str) -> dict[str, str]:
    """Cluster (as the config names it) -> the load balancer DNS name in its Service's status."""
    out = {}
    for eks_name, cluster in kubernetes.clusters.items():
        svc = cluster.handle.find("services", namespace, name)
        ingress = ((svc or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        if ingress:
            out[eks_name.rsplit("-", 2)[-2] + "-" + eks_name.rsplit("-", 1)[-1]] = ingress[0]["hostname"]
    return out


def region_of(hostname: str) -> str:
    return hostname.split(".")[-3]


def records(player: Player, zone: str = ZONE) -> dict[tuple[str, str, str], dict]:
    return dict(player.aws.hosted_zones.zones[zone].records)


def test_kubefed_failover_records_follow_the_load_balancers_and_go_with_the_services(tmp_path):
    folder = assembly_of(environment(2, workloads=[FAILOVER]), "dnskf")
    with rehearsing(folder, tmp_path) as (player, kubernetes, lines):
        player.create_all()
        # The release as the chart renders it: Deployment `external-dns` with the construct's settings as args, run
        # by the service account the construct annotates with its IRSA role.
        for eks_name, cluster in kubernetes.clusters.items():
            deployment = cluster.handle.find("deployments", "kube-system", "external-dns")
            args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            owner = f"dnskf-{eks_name.rsplit('-', 2)[-2]}-{eks_name.rsplit('-', 1)[-1]}"
            assert {"--policy=sync", "--registry=txt", f"--txt-owner-id={owner}", "--source=service", "--events",
                    f"--zone-id-filter={ZONE}", "--aws-zone-type=public", "--provider=aws"} <= set(args), args
            assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "external-dns"
            account = cluster.handle.find("serviceaccounts", "kube-system", "external-dns")
            role = account["metadata"]["annotations"][external_dns.ROLE_ANNOTATION]
            assert player.aws.iam.role_by_arn(role) is not None
        hostnames = member_hostnames(kubernetes, "echo", "echo-server")
        assert sorted(hostnames) == ["fed-1", "fed-2"]
        zone = player.aws.hosted_zones.zones[ZONE]
        assert zone.name == "example.com."
        found = records(player)
        for cluster, failover in (("fed-1", "PRIMARY"), ("fed-2", "SECONDARY")):
            target = hostnames[cluster].lower() + "."
            for kind in ("A", "AAAA"):
                assert found[("echo.example.com.", kind, cluster)] == {
                    "Name": "echo.example.com.", "Type": kind, "SetIdentifier": cluster, "Failover": failover,
                    "AliasTarget": {"HostedZoneId": NLB_CANONICAL_ZONES[region_of(hostnames[cluster])],
                                    "DNSName": target, "EvaluateTargetHealth": True}}
            for txt in ("cname-echo.example.com.", "aaaa-echo.example.com."):
                ownership = found[(txt, "TXT", cluster)]
                assert ownership["Failover"] == failover and ownership["ResourceRecords"] == [{"Value": (
                    f'"heritage=external-dns,external-dns/owner=dnskf-{cluster},'
                    'external-dns/resource=service/echo/echo-server"')}]
        assert len(found) == 8
        player.delete_all()
        player.check_left_in_route53()
    assert records(player) == {}
    # Deleted by ExternalDNS with the Services, before the cluster stacks uninstalled it.
    deletes = [c for c in player.aws.hosted_zones.changes if c[1] == "DELETE"]
    assert len(deletes) == 8
    assert player.aws.clusters == {} and player.aws.iam.roles == {} and player.aws.iam.oidc_providers == set()


def test_karmada_latency_records_come_from_the_karmada_override(tmp_path):
    """Karmada: the Service annotations come from stacks/federation.py `karmada_objects` (an OverridePolicy per
    placed member); latency routing gives each record its member's region."""
    workload = {**ECHO, "placement": {"clusters": ["fed-1", "fed-2"]},
                "dns": {"hostedZoneId": ZONE, "recordName": "echo.apps.example.org", "routing": "latency"}}
    raw = {**environment(3, engine="karmada", nodeGroup=GRAVITON, workloads=[workload]), "clusters": KARMADA_CLUSTERS}
    with rehearsing(assembly_of(raw, "dnska"), tmp_path) as (player, kubernetes, lines):
        player.create_all()
        hostnames = member_hostnames(kubernetes, "echo", "echo-server")
        assert sorted(hostnames) == ["fed-1", "fed-2"]
        assert player.aws.hosted_zones.zones[ZONE].name == "apps.example.org."
        found = records(player)
        for cluster, region in (("fed-1", "us-east-1"), ("fed-2", "us-east-2")):
            record = found[("echo.apps.example.org.", "A", cluster)]
            assert record["Region"] == region and record["SetIdentifier"] == cluster
            assert record["AliasTarget"]["DNSName"] == hostnames[cluster].lower() + "."
            assert found[("cname-echo.apps.example.org.", "TXT", cluster)]["Region"] == region
        assert not [k for k in found if k[2] == "fed-3"]  # not placed there: no Service, no ExternalDNS
        player.delete_all()
        player.check_left_in_route53()
    assert records(player) == {}


def _edit_templates(folder: Path, suffix: str, edit) -> None:
    for path in folder.glob(f"*{suffix}*.template.json"):
        template = json.loads(path.read_text())
        edit(template["Resources"])
        path.write_text(json.dumps(template))


@pytest.fixture(scope="module")
def weighted_assembly() -> Path:
    workload = {**ECHO, "dns": {"hostedZoneId": ZONE, "recordName": "echo.example.com", "routing": "weighted",
                                "weights": {"fed-1": 3, "fed-2": 1}}}
    return assembly_of(environment(2, workloads=[workload]), "dnskw")


def test_a_role_that_cannot_change_the_zone_stops_the_rehearsal(weighted_assembly, tmp_path):
    """The role's policy narrowed to another zone (what a wrong zone id in the construct would give): ExternalDNS's
    change batch is refused, and the rehearsal stops after the federation stack, naming the action and the zone."""
    folder = Path(shutil.copytree(weighted_assembly, tmp_path / "narrow"))

    def narrow(resources: dict) -> None:
        for logical_id, resource in resources.items():
            if logical_id.startswith("ExternalDnsServiceAccountRoleDefaultPolicy"):
                statements = resource["Properties"]["PolicyDocument"]["Statement"]
                for statement in list(statements):
                    if "route53:ChangeResourceRecordSets" in statement["Action"]:
                        statement["Action"] = [a for a in statement["Action"]
                                               if a != "route53:ChangeResourceRecordSets"]
                        statements.append({"Action": "route53:ChangeResourceRecordSets", "Effect": "Allow",
                                           "Resource": "arn:aws:route53:::hostedzone/ZSOMEOTHERZONE"})
    _edit_templates(folder, "-cluster-", narrow)
    error, _ = create_stops(folder, tmp_path)
    assert error.stack.endswith("-federation"), (error, error.stack)
    assert "AccessDenied" in str(error) and f"route53:ChangeResourceRecordSets on resource: " \
        f"arn:aws:route53:::hostedzone/{ZONE}" in str(error), error
    assert "ExternalDNS on fedeks-dnskw-fed-" in str(error) and "ChangeResourceRecordSets" in error.fix


def test_a_role_that_can_change_but_not_list_the_zone_stops_the_rehearsal(weighted_assembly, tmp_path):
    folder = Path(shutil.copytree(weighted_assembly, tmp_path / "nolist"))

    def no_list(resources: dict) -> None:
        for logical_id, resource in resources.items():
            if logical_id.startswith("ExternalDnsServiceAccountRoleDefaultPolicy"):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    if isinstance(statement["Action"], list):
                        statement["Action"] = [a for a in statement["Action"] if a != "route53:ListResourceRecordSets"]
    _edit_templates(folder, "-cluster-", no_list)
    error, _ = create_stops(folder, tmp_path)
    assert "route53:ListResourceRecordSets" in str(error) and "AccessDenied" in str(error)


def test_a_role_that_may_change_every_zone_stops_the_rehearsal_at_its_cluster(weighted_assembly, tmp_path):
    """Least privilege: a policy granting ChangeResourceRecordSets on every zone is reported once ExternalDNS runs."""
    folder = Path(shutil.copytree(weighted_assembly, tmp_path / "broad"))

    def broad(resources: dict) -> None:
        for logical_id, resource in resources.items():
            if logical_id.startswith("ExternalDnsServiceAccountRoleDefaultPolicy"):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    statement["Resource"] = "*"
    _edit_templates(folder, "-cluster-fed-2", broad)
    error, _ = create_stops(folder, tmp_path)
    assert error.stack == "fedeks-dnskw-cluster-fed-2" and "TooBroad" in str(error), (error, error.stack)
    assert f"not only {ZONE}" in str(error) and "nothing more" in error.fix


def test_a_record_outside_its_real_zone_stops_the_rehearsal(weighted_assembly, tmp_path, capsys):
    """`--hosted-zone ID=DOMAIN` names a zone as the account has it: a workload's record name outside it is skipped by
    ExternalDNS (no zone of its filter matches), which the rehearsal reports after the federation stack (exit 1)."""
    from rehearsal.__main__ import main

    code = main(["--assembly", str(weighted_assembly), "--hosted-zone", f"{ZONE}=example.org"],
                kubernetes_side=lambda workdir: emulated_kubernetes(tmp_path / "kubernetes"))
    printed = capsys.readouterr().out
    assert code == 1, printed[-2000:]
    assert "Skipping record echo.example.com. because no hosted zone matching record DNS Name was detected" in printed
    assert "stack:" in printed and "-federation" in printed.split("stack:")[1].splitlines()[0]


def test_weighted_records_and_upsert_only_leaves_them_behind(weighted_assembly, tmp_path):
    """Weighted routing writes each member's weight; with policy upsert-only (the chart's default, which the construct
    overrides) ExternalDNS never deletes, and the records outlive the environment: the rehearsal says so."""
    folder = Path(shutil.copytree(weighted_assembly, tmp_path / "upsert"))

    def upsert_only(resources: dict) -> None:
        for resource in resources.values():
            if resource["Type"] == "Custom::AWSCDK-EKS-HelmChart" and resource["Properties"].get("Chart") == \
                    external_dns.CHART:
                values = json.loads(resource["Properties"]["Values"])
                resource["Properties"]["Values"] = json.dumps({**values, "policy": "upsert-only"})
    _edit_templates(folder, "-cluster-", upsert_only)
    player, kubernetes, lines = player_for(folder, tmp_path)
    try:
        player.create_all()
        found = records(player)
        assert {(k[2], r["Weight"]) for k, r in found.items() if k[1] == "A"} == {("fed-1", 3), ("fed-2", 1)}
        player.delete_all()
        with pytest.raises(RehearsalFailure) as left:
            player.check_left_in_route53()
    finally:
        kubernetes.close()
    assert ZONE in str(left.value) and "cname-echo.example.com." in str(left.value)
    assert "sync" in left.value.fix
