"""One DNS name across regions for a load-balanced workload, kept pointing at the load balancers that exist now.

The decision: **ExternalDNS** (kubernetes-sigs/external-dns, Route 53 provider) on every member cluster that
serves a workload with `dns`, rather than records written by CloudFormation from the waiter's hostnames.

- Records written once at deploy time follow nothing: a Service or NLB recreated outside CloudFormation (a
  member restored, a Service deleted and re-propagated by KubeFed) leaves the records on a dead name until some
  deploy happens to change the workload. A scheduled reconciler of our own (a Lambda reading every member's
  Services and writing Route 53) would redo what ExternalDNS does, with our own ownership bookkeeping.
- ExternalDNS watches the Services on its cluster (event-triggered, plus a full sync every `SYNC_INTERVAL`) and
  writes what their annotations ask: alias records to the load balancer with `EvaluateTargetHealth` (it knows
  the ELB canonical hosted zones), `set-identifier` with failover / latency (`aws-region`) / weighted routing,
  and a TXT ownership record per record (`--txt-owner-id`) so that it only ever changes what it created
  (external-dns v0.21.0 docs/tutorials/aws.md: "Routing policies", "Canonical Hosted Zones", the IAM policy;
  docs/annotations/annotations.md). A recreated load balancer reaches Route 53 within one sync interval of its
  hostname appearing on the Service (in practice seconds: the Service update is an event), and resolvers see
  it within the record's TTL after that (60 s for an alias to an ELB).
- Alias records over CNAMEs: an alias answers at the zone apex too, costs nothing per query and needs no
  separate Route 53 health check: with EvaluateTargetHealth an NLB alias is healthy while its target group has
  healthy targets (Route 53 Developer Guide, "Values specific for failover alias records", "Evaluate target
  health"). The NLB's target health check is the workload's `healthCheckPath`/`protocol`, set by the AWS Load
  Balancer Controller's annotations on the traffic port.

Ownership: one owner id per environment and cluster (`<env>-<cluster>`): each cluster's ExternalDNS owns its own
set-identifier's records and never deletes another cluster's (policy `sync` deletes only what its owner id
created). Credentials: IRSA, a role that may change and list records of the configured hosted zones only
(`route53:ListHostedZones` has no resource-level permission).

How the settings reach the member: KubeFed's update copies the member's annotations over the desired object
(kubefed v0.10.0 pkg/controller/sync/dispatch/retain.go), then applies the cluster overrides
(dispatch/managed.go `Update`: RetainClusterFields, then ApplyOverrides). So the Service's annotations (scheme,
target type, health check, DNS) are rendered as a per-cluster override replacing `/metadata/annotations`: a
change of any of them reaches the member, and so the controllers and Route 53, on the next deploy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from aws_cdk import Duration, Stack, aws_eks_v2 as eks, aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge
from federated_eks.model.federation import ExternalDnsConfig
from federated_eks.model.workload import DnsSpec
# The annotations are pure plan functions (federated_eks/plan/dns_annotations.py: the federation's size estimate
# renders them too), re-exported here.
from federated_eks.plan.dns_annotations import (HEALTH_CHECK_PATH, HEALTH_CHECK_PORT,  # noqa: F401
                                                HEALTH_CHECK_PROTOCOL, HOSTNAME, SET_IDENTIFIER, TTL,
                                                health_check_annotations, member_annotations, routing_annotations)

CHART = "external-dns"
CHART_VERSION = "1.21.1"
"""The chart of ExternalDNS v0.21.0 (kubernetes-sigs/external-dns tag external-dns-helm-chart-1.21.1)."""
CHART_REPOSITORY = ExternalDnsConfig.chart_repository
IMAGE_REPOSITORY = ExternalDnsConfig.image_repository
IMAGE_TAG = "v0.21.0"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "external-dns"
SYNC_INTERVAL = "1m"
"""The full resync; Service events trigger a sync sooner (`triggerLoopOnEvent`)."""


def with_member_annotations(federated_service: dict[str, Any], dns: DnsSpec | None,
                            clusters: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The FederatedService with one override per placed `(cluster, region)` replacing the member's annotations
    (see the module docstring: overrides are applied after KubeFed retains the member's annotations)."""
    spec = federated_service["spec"]
    template = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
    if not template and dns is None:
        return federated_service
    overrides = [o for o in spec.get("overrides") or []]
    for cluster, region in clusters:
        overrides.append({"clusterName": cluster, "clusterOverrides": [
            {"op": "add", "path": "/metadata/annotations",
             "value": member_annotations(template, dns, cluster, region)}]})
    return {**federated_service, "spec": {**spec, "overrides": overrides}}


@dataclass(frozen=True)
class ExternalDnsProps:
    cluster: eks.ICluster
    """A member cluster with a kubectl handler and an OIDC provider (IRSA)."""
    hosted_zone_ids: tuple[str, ...]
    owner_id: str
    """The TXT ownership id: unique per environment and cluster."""
    region: str
    chart_repository: str = CHART_REPOSITORY
    image_repository: str = IMAGE_REPOSITORY
    """Both replaceable by a mirror (the config's `externalDns`)."""


def chart_values(props: ExternalDnsProps) -> dict[str, Any]:
    """The chart's values (pure): Services only, the configured zones only, sync with TXT ownership."""
    return {
        "image": {"repository": props.image_repository, "tag": IMAGE_TAG},
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "provider": {"name": "aws"},
        "sources": ["service"],
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": props.owner_id,
        "interval": SYNC_INTERVAL,
        "triggerLoopOnEvent": True,
        "env": [{"name": "AWS_DEFAULT_REGION", "value": props.region}],
        "extraArgs": [*(f"--zone-id-filter={z}" for z in props.hosted_zone_ids), "--aws-zone-type=public",
                      "--service-type-filter=LoadBalancer", "--aws-evaluate-target-health"],
    }


class ExternalDns(Construct):
    """ExternalDNS on one member. Attributes: `service_account` (IRSA), `chart`."""

    def __init__(self, scope: Construct, id: str, props: ExternalDnsProps) -> None:
        super().__init__(scope, id)
        if not props.hosted_zone_ids:
            raise ValueError("ExternalDns needs at least one hosted zone")
        self.service_account = eks.ServiceAccount(self, "ServiceAccount", cluster=props.cluster,
                                                  name=SERVICE_ACCOUNT, namespace=NAMESPACE,
                                                  identity_type=eks.IdentityType.IRSA)
        partition = Stack.of(self).partition
        self.service_account.add_to_principal_policy(iam.PolicyStatement(
            actions=["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                     "route53:ListTagsForResources"],
            resources=[f"arn:{partition}:route53:::hostedzone/{z}" for z in props.hosted_zone_ids]))
        self.service_account.add_to_principal_policy(iam.PolicyStatement(
            actions=["route53:ListHostedZones"], resources=["*"]))
        acknowledge(self.service_account, "route53:ListHostedZones supports no resource-level permission "
                    "(Route 53 API permissions reference); changes are limited to the configured hosted zones.",
                    "AwsSolutions-IAM5[Resource::*]")
        self.chart = eks.HelmChart(self, "Chart", cluster=props.cluster, chart=CHART,
                                   repository=props.chart_repository, version=CHART_VERSION, namespace=NAMESPACE,
                                   release=SERVICE_ACCOUNT, values=chart_values(props), wait=True,
                                   timeout=Duration.minutes(10))
        self.chart.node.add_dependency(self.service_account)
