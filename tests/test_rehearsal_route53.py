"""The rehearsal's Route 53 and IAM (rehearsal/route53.py, rehearsal/iam.py): the refusals ExternalDNS's changes meet
in Route 53, and the policy evaluation its role's calls meet, each as AWS documents it (module docstrings)."""
from __future__ import annotations

import pytest

from rehearsal.iam import AccessDenied, Iam, Role, decision
from rehearsal.route53 import HostedZone, InvalidChangeBatch, Route53, common_parent, nlb_canonical_zone

NLB = "k8s-echo-echo-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com"


def alias(name: str, set_id: str, **routing) -> dict:
    return {"Action": "CREATE", "ResourceRecordSet": {
        "Name": name, "Type": "A", "SetIdentifier": set_id, **routing,
        "AliasTarget": {"HostedZoneId": "Z26RNL4JYFTOTI", "DNSName": NLB, "EvaluateTargetHealth": True}}}


@pytest.fixture
def r53() -> Route53:
    zones = Route53()
    zones.zones["Z1"] = HostedZone("Z1", "example.com.")
    return zones


def test_a_failover_pair_is_accepted_and_a_second_primary_refused_whole(r53):
    r53.change("Z1", [alias("echo.example.com", "a", Failover="PRIMARY"),
                      alias("echo.example.com", "b", Failover="SECONDARY")])
    assert sorted(k[2] for k in r53.zones["Z1"].records) == ["a", "b"]
    with pytest.raises(InvalidChangeBatch, match="Failover"):
        r53.change("Z1", [alias("echo.example.com", "c", Failover="PRIMARY")])
    assert len(r53.zones["Z1"].records) == 2  # all or nothing


@pytest.mark.parametrize("changes, refusal", [
    ([alias("echo.example.com", "a", Region="us-east-1"), alias("echo.example.com", "b", Region="us-east-1")],
     "Region"),
    ([alias("echo.example.com", "a", Region="us-east-1"), alias("echo.example.com", "b", Weight=1)],
     "mix routing"),
    ([alias("echo.other.org", "a", Weight=1)], "not permitted in zone"),
    ([alias("echo.example.com", "", Weight=1)], "SetIdentifier"),
    ([alias("echo.example.com", "a", Weight=256)], "Weight"),
    ([{"Action": "CREATE", "ResourceRecordSet": {"Name": "example.com", "Type": "CNAME", "TTL": 60,
                                                 "ResourceRecords": [{"Value": NLB}]}}], "apex"),
    ([{"Action": "DELETE", "ResourceRecordSet": {"Name": "gone.example.com", "Type": "TXT", "TTL": 300,
                                                 "ResourceRecords": [{"Value": '"x"'}]}}], "not found"),
])
def test_route53_refuses_what_it_documents(r53, changes, refusal):
    with pytest.raises(InvalidChangeBatch, match=refusal):
        r53.change("Z1", changes)


def test_an_alias_must_name_its_load_balancers_canonical_zone(r53):
    wrong = alias("echo.example.com", "a", Weight=1)
    wrong["ResourceRecordSet"]["AliasTarget"]["HostedZoneId"] = "ZLMOA37VPKANP"  # us-east-2's
    with pytest.raises(InvalidChangeBatch, match="target zone"):
        r53.change("Z1", [wrong])
    assert nlb_canonical_zone(NLB) == "Z26RNL4JYFTOTI"
    assert nlb_canonical_zone("my-alb-1.us-east-1.elb.amazonaws.com") is None  # an ALB's name, another table


def test_a_zone_nobody_named_takes_the_parent_of_the_names_asked():
    assert common_parent(["echo.example.com"]) == "example.com."
    assert common_parent(["example.com"]) == "example.com."
    assert common_parent(["a.apps.example.org", "b.apps.example.org"]) == "apps.example.org."
    assert common_parent(["a.example.org", "b.other.net"]) == ""


ROLE_POLICY = {"Statement": [
    {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
     "Resource": "arn:aws:route53:::hostedzone/Z1"},
    {"Effect": "Allow", "Action": "route53:ListHostedZones", "Resource": "*"}]}


def test_policy_evaluation_allows_only_what_a_statement_grants_and_deny_wins():
    zone = "arn:aws:route53:::hostedzone/Z1"
    assert decision([ROLE_POLICY], "route53:ChangeResourceRecordSets", zone)
    assert decision([ROLE_POLICY], "Route53:changeresourcerecordsets", zone)  # actions are case-insensitive
    assert not decision([ROLE_POLICY], "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z2")
    assert not decision([ROLE_POLICY], "route53:DeleteHostedZone", zone)
    assert decision([{"Statement": {"Effect": "Allow", "Action": "route53:*", "Resource": "*"}}],
                    "route53:ChangeResourceRecordSets", zone)
    deny = {"Statement": [{"Effect": "Deny", "Action": "route53:Change*", "Resource": zone}]}
    assert not decision([ROLE_POLICY, deny], "route53:ChangeResourceRecordSets", zone)


def test_irsa_needs_the_oidc_provider_and_a_trust_naming_the_service_account():
    iam = Iam("123456789012")
    issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
    provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                            "Principal": {"Federated": provider}, "Condition": {"StringEquals": {
                                "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
                                "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub":
                                    "system:serviceaccount:kube-system:external-dns"}}}]}
    iam.roles["dns"] = Role("dns", "arn:aws:iam::123456789012:role/dns", trust)
    subject = "system:serviceaccount:kube-system:external-dns"
    with pytest.raises(AccessDenied, match="No OpenIDConnect provider"):
        iam.assume_role_with_web_identity(iam.roles["dns"].arn, issuer, subject)
    iam.oidc_providers.add(provider)
    assert iam.assume_role_with_web_identity(iam.roles["dns"].arn, issuer,
                                             "system:serviceaccount:kube-system:external-dns").name == "dns"
    with pytest.raises(AccessDenied, match="does not admit"):
        iam.assume_role_with_web_identity(iam.roles["dns"].arn, issuer, "system:serviceaccount:default:other")
    iam.oidc_providers.add(provider.replace("ABC", "XYZ"))  # another cluster's issuer, trusted by the account
    with pytest.raises(AccessDenied, match="does not admit"):
        iam.assume_role_with_web_identity(iam.roles["dns"].arn, "https://oidc.eks.us-east-1.amazonaws.com/id/XYZ",
                                          "system:serviceaccount:kube-system:external-dns")
