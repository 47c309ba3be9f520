"""The Service annotations that publish a workload's `dns` (pure): what ExternalDNS reads on each member (the record,
its routing and TTL) and the AWS Load Balancer Controller's target health check that the alias records'
EvaluateTargetHealth follows. Rendered into the objects of both engines (KubeFed overrides: components/workload_dns.py;
Karmada OverridePolicies: stacks/federation.py `karmada_objects`), and sized by the federation stack's estimate
(federation_layout.py); the decision and its sources are in components/workload_dns.py.
"""
from __future__ import annotations

from federated_eks.model.workload import DnsSpec

_PREFIX = "external-dns.alpha.kubernetes.io/"
HOSTNAME = f"{_PREFIX}hostname"
SET_IDENTIFIER = f"{_PREFIX}set-identifier"
TTL = f"{_PREFIX}ttl"
_LB = "service.beta.kubernetes.io/aws-load-balancer-"
HEALTH_CHECK_PROTOCOL = f"{_LB}healthcheck-protocol"
HEALTH_CHECK_PATH = f"{_LB}healthcheck-path"
HEALTH_CHECK_PORT = f"{_LB}healthcheck-port"


def routing_annotations(dns: DnsSpec, cluster: str, region: str) -> dict[str, str]:
    """ExternalDNS's annotations for one cluster's record (pure)."""
    out = {HOSTNAME: dns.record_name, SET_IDENTIFIER: cluster, TTL: str(dns.ttl_seconds)}
    if dns.routing == "failover":
        out[f"{_PREFIX}aws-failover"] = "PRIMARY" if cluster == dns.primary else "SECONDARY"
    elif dns.routing == "latency":
        out[f"{_PREFIX}aws-region"] = region
    else:
        out[f"{_PREFIX}aws-weight"] = str(dns.weight(cluster))
    return out


def health_check_annotations(dns: DnsSpec) -> dict[str, str]:
    """The NLB target group's health check (what EvaluateTargetHealth follows), on the traffic port."""
    return {HEALTH_CHECK_PROTOCOL: dns.protocol.lower(), HEALTH_CHECK_PATH: dns.health_check_path,
            HEALTH_CHECK_PORT: "traffic-port"}


def member_annotations(template: dict[str, str], dns: DnsSpec | None, cluster: str, region: str) -> dict[str, str]:
    """Every annotation of the Service on `cluster`: the template's, and with `dns` the health check and record."""
    out = dict(template)
    if dns is not None:
        out.update(health_check_annotations(dns))
        out.update(routing_annotations(dns, cluster, region))
    return dict(sorted(out.items()))
