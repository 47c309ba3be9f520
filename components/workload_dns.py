"""One DNS name across regions for a load-balanced workload: a Route 53 health check per placed cluster and one
record per cluster, routed by failover, latency or weight, each answering only while its check passes.

Records are CNAMEs to the load-balancer hostname each member's Service reports (the load balancers are made by
the AWS Load Balancer Controller, outside CloudFormation, so an alias would need each one's canonical zone id).
Route 53 applies failover, latency and weighted routing to CNAMEs as to any record type, with a SetIdentifier
and a HealthCheckId per record; a CNAME cannot sit at the zone apex (Route 53 Developer Guide, "Choosing
between alias and non-alias records" and "Values specific for failover records").

The health checks probe each hostname from Route 53's checkers on the public internet (HTTP or HTTPS on the
Service port and `healthCheckPath`; 2xx/3xx is healthy), so the load balancers are internet-facing.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, aws_route53 as route53
from constructs import Construct

from federated_eks.workload import DnsSpec

FAILURE_THRESHOLD = 3
REQUEST_INTERVAL = Duration.seconds(30)


@dataclass(frozen=True)
class DnsTarget:
    cluster: str
    region: str
    hostname: str
    """The cluster's load-balancer hostname (usually a token: the waiter's attribute)."""


@dataclass(frozen=True)
class WorkloadDnsProps:
    dns: DnsSpec
    port: int
    """The Service port the load balancers listen on."""
    targets: tuple[DnsTarget, ...]
    """Placed clusters in order (for failover, exactly two, one of them `dns.primary`)."""


def routing_of(dns: DnsSpec, target: DnsTarget) -> dict[str, object]:
    """The CfnRecordSet routing properties of one cluster's record (pure)."""
    if dns.routing == "failover":
        return {"failover": "PRIMARY" if target.cluster == dns.primary else "SECONDARY"}
    if dns.routing == "latency":
        return {"region": target.region}
    return {"weight": dns.weight(target.cluster)}


class WorkloadDns(Construct):
    """Attributes: `health_checks` and `records`, by cluster name."""

    def __init__(self, scope: Construct, id: str, props: WorkloadDnsProps) -> None:
        super().__init__(scope, id)
        dns = props.dns
        if dns.routing == "failover" and (len(props.targets) != 2
                                          or dns.primary not in [t.cluster for t in props.targets]):
            raise ValueError("failover routing needs exactly two targets, one of them the primary")
        https = dns.protocol == "HTTPS"
        self.health_checks: dict[str, route53.HealthCheck] = {}
        self.records: dict[str, route53.CfnRecordSet] = {}
        for target in props.targets:
            check = route53.HealthCheck(
                self, f"HealthCheck-{target.cluster}",
                type=route53.HealthCheckType.HTTPS if https else route53.HealthCheckType.HTTP,
                fqdn=target.hostname, port=props.port, resource_path=dns.health_check_path,
                enable_sni=True if https else None,
                failure_threshold=FAILURE_THRESHOLD, request_interval=REQUEST_INTERVAL)
            self.health_checks[target.cluster] = check
            self.records[target.cluster] = route53.CfnRecordSet(
                self, f"Record-{target.cluster}",
                hosted_zone_id=dns.hosted_zone_id, name=f"{dns.record_name}.", type="CNAME",
                ttl=str(dns.ttl_seconds), resource_records=[target.hostname],
                set_identifier=target.cluster, health_check_id=check.health_check_id,
                comment=f"{dns.record_name} on {target.cluster} ({dns.routing})",
                **routing_of(dns, target))
