"""The AWS limits a federation's layout can pass, checked over the model before anything is built.

Each check counts what the templates will create (the same counts the stacks use: `topology`, `peering_layout`)
against the account's quotas (`model.QuotasConfig`: AWS's defaults unless the config says the account has raised
them) and CloudFormation's fixed limits. A problem names the limit, the worst offender and the fixes. Quota codes are
those of the Service Quotas console (Amazon VPC User Guide, "Amazon VPC quotas"; Amazon EC2 "Elastic IP address
quota"); docs/cost-and-quotas.md, "Scale and AWS quotas", shows how to read the
applied values.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from federated_eks.plan import federation_layout, nat_layout, peering_layout, transit_gateway_layout as tgw
from federated_eks.plan.cloudformation_limits import MAX_RESOURCES, MAX_TEMPLATE_BYTES, RESOURCE_BUDGET
from federated_eks.model.federation import QUOTA_MAXIMUMS, FederationConfig
from federated_eks.plan.topology import (FEDERATION_STACK, PEER_ROUTES_STACK, PEERING_STACK, TGW_PEER_ROUTES_STACK,
                                         TGW_PEERING_STACK, TRANSIT_GATEWAY_STACK, WORKLOADS_STACK, Peering,
                                         api_clients_of, peers_of, stack_name, vpcs)

# Per engine: the host API server's inbound rules for the engine's Lambdas, each Lambda security group's outbound
# rules besides one per cluster, and how the messages name those groups (the `rules` check below says where each
# rule is made).
SECURITY_GROUP_RULES = {"kubefed": (2, 1, "the join and waiter Lambdas"), "karmada": (1, 2, "the Karmada join Lambda")}
SECURITY_GROUP_RULES_TEXT = {
    "kubefed": "the host's also the join and waiter Lambdas'; those Lambdas': one per cluster and the EKS API's",
    "karmada": "the host's also the Karmada join Lambda's; that Lambda's: one per cluster, the EKS API's and "
               "karmada-apiserver's node port"}
TRANSIT_GATEWAY = '"transitGateway" (one transit gateway attachment per VPC, nothing per pair of VPCs)'


@dataclass(frozen=True)
class QuotaProblem:
    field: str
    """The config field to change, relative to the environment (e.g. `clusters`, `natGateways`)."""
    what: str
    fix: str


def _fix(*options: str, quota: tuple[str, str, str, str, int] | None = None) -> str:
    """The fixes, `a, b, or c`; `quota` = (model attribute, JSON name, service, code, value needed) adds raising it
    when AWS allows that much, or says that it cannot help."""
    opts = [o for o in options if o]
    note = ""
    if quota:
        attr, json_name, service, code, need = quota
        limit = QUOTA_MAXIMUMS.get(attr)
        if limit is not None and need > limit:
            note = f" (raising quotas.{json_name} cannot help: AWS allows at most {limit})"
        else:
            opts.append(f"raise the quota to {need} or more (Service Quotas: {service} {code}) and set "
                        f"quotas.{json_name}: {need}")
    text = opts[0] if len(opts) == 1 else ", ".join(opts[:-1]) + ", or " + opts[-1]
    return text + note


def _named(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def check(cfg: FederationConfig, peerings: list[Peering]) -> list[QuotaProblem]:
    """Every limit the layout of `cfg` (with its `peerings`) passes, worst offender first per limit."""
    q = cfg.quotas
    problems = []
    all_vpcs = vpcs(cfg)
    peer_count = {v.name: len(peers_of(peerings, v.name)) for v in all_vpcs}
    # The way out of VPC peering's limits: hub (from mesh) and transitGateway (from either).
    peering_fix = {"mesh": 'use "peeringTopology": "hub" (only the bastion and the host peer with every VPC) or '
                           + TRANSIT_GATEWAY,
                   "hub": 'use "peeringTopology": ' + TRANSIT_GATEWAY}.get(cfg.peering_topology, "")
    # Security group rules grow with the VPCs that reach an API server, which a transit gateway does not change.
    hub = 'use "peeringTopology": "hub" (only the bastion and the host peer with every VPC)' \
        if cfg.peering_topology == "mesh" else ""

    def worst(counts: dict[str, int], limit: int) -> tuple[list[str], int]:
        over = sorted((n for n, c in counts.items() if c > limit), key=lambda n: -counts[n])
        return over, (counts[over[0]] if over else 0)

    # Routes per route table: one route per peer VPC (with a transit gateway: one per summary route), plus the default
    # route to the NAT gateway.
    to_gateway = len(tgw.vpc_routes(cfg)) if tgw.uses_transit_gateway(cfg) else 0
    routes = {n: c + to_gateway + 1 for n, c in peer_count.items()}
    over, need = worst(routes, q.routes_per_route_table)
    if over:
        problems.append(QuotaProblem(
            "clusters", f"the private route tables of {_named(over)} need up to {need} routes (one per peer VPC and "
            f"the NAT default route), over the quota of {q.routes_per_route_table} routes per route table "
            "(quotas.routesPerRouteTable)",
            _fix(peering_fix, "fewer clusters",
                 quota=("routes_per_route_table", "routesPerRouteTable", "vpc", "L-93826ACB", need))))

    over, need = worst(peer_count, q.peerings_per_vpc)
    if over:
        problems.append(QuotaProblem(
            "clusters", f"{_named(over)} would have up to {need} active VPC peering connections, over the quota of "
            f"{q.peerings_per_vpc} per VPC (quotas.peeringsPerVpc)",
            _fix(peering_fix, "fewer clusters", quota=("peerings_per_vpc", "peeringsPerVpc", "vpc", "L-7E9ECCDB", need))))

    def regions(counts: Counter, limit: int) -> tuple[str, int]:
        over = sorted((r for r, c in counts.items() if c > limit), key=lambda r: (-counts[r], r))
        return _named([f"{r} ({counts[r]})" for r in over]), (counts[over[0]] if over else 0)

    named, need = regions(Counter(v.region for v in all_vpcs), q.vpcs_per_region)
    if need:
        problems.append(QuotaProblem(
            "clusters", f"federation VPCs per region: {named}, over the quota of {q.vpcs_per_region} VPCs per "
            "region (quotas.vpcsPerRegion; a default VPC or any other VPC in the account counts too)",
            _fix("put fewer clusters in a region", quota=("vpcs_per_region", "vpcsPerRegion", "vpc", "L-F678F1CE",
                                                            need))))

    eips: Counter[str] = Counter()
    for v in all_vpcs:
        eips[v.region] += nat_layout.nat_gateways(cfg, v.name)
    named, need = regions(eips, q.elastic_ips_per_region)
    if need:
        problems.append(QuotaProblem(
            "natGateways", f"Elastic IPs per region (one per NAT gateway: {cfg.nat_gateways} per cluster VPC, 1 for "
            f"the bastion's): {named}, over the quota of {q.elastic_ips_per_region} per region "
            "(quotas.elasticIpsPerRegion; other Elastic IPs in the account count too)",
            _fix("set natGateways to 1" if cfg.nat_gateways > 1 else "", "put fewer clusters in a region",
                 quota=("elastic_ips_per_region", "elasticIpsPerRegion", "ec2", "L-0263D0A3", need))))

    # NAT gateways per AZ, as nat_layout deals them out over a region's AZs.
    per_az = nat_layout.nat_gateways_per_az(cfg)
    crowded = sorted((k for k, n in per_az.items() if n > q.nat_gateways_per_az), key=lambda k: (-per_az[k], k))
    if crowded:
        need = per_az[crowded[0]]
        problems.append(QuotaProblem(
            "natGateways", f"NAT gateways per Availability Zone (spread over each region's AZs; {cfg.nat_gateways} per "
            f"cluster VPC, 1 for the bastion's): {_named([f'{r} AZ {az + 1} ({per_az[r, az]})' for r, az in crowded])},"
            f" over the quota of {q.nat_gateways_per_az} per AZ (quotas.natGatewaysPerAz)",
            _fix("set natGateways to 1" if cfg.nat_gateways > 1 else "", "put fewer clusters in a region",
                 quota=("nat_gateways_per_az", "natGatewaysPerAz", "vpc", "L-FE5A380F", need))))

    named, need = regions(Counter(c.region for c in cfg.clusters), q.eks_clusters_per_region)
    if need:
        problems.append(QuotaProblem(
            "clusters", f"EKS clusters per region: {named}, over the quota of {q.eks_clusters_per_region} per region "
            "(quotas.eksClustersPerRegion; other EKS clusters in the account count too)",
            _fix("put fewer clusters in a region", quota=("eks_clusters_per_region", "eksClustersPerRegion", "eks",
                                                           "L-1194D53C", need))))

    # Security-group rules, from what each engine builds (stacks/federation.py), inbound and outbound each against the
    # quota: inbound rules of each API server's control-plane security group, one per peer VPC (the cluster stacks'
    # ApiFrom-<vpc>), the host's also one per Lambda of the engine (KubeFed: the join and the workload waiter;
    # Karmada: its join only); outbound rules of each of those Lambdas' security groups: one per cluster and the EKS
    # API's (components/cluster_functions.py vpc_functions), Karmada's join also karmada-apiserver's node port on the
    # host VPC (components/karmada_join/karmada_join.py). (Karmada's node-port rule goes on the host nodes' EKS cluster
    # security group, which holds EKS's own rule besides: two, never near the quota.)
    rules = security_group_rules(cfg, peerings)
    over, need = worst(rules, q.rules_per_security_group)
    if over:
        problems.append(QuotaProblem(
            "clusters", f"the security groups of {_named(over)} would need up to {need} rules (one per peer VPC or "
            f"cluster; {SECURITY_GROUP_RULES_TEXT[cfg.engine]}), over the quota of {q.rules_per_security_group} rules "
            "per security group (quotas.rulesPerSecurityGroup)",
            _fix(hub, "fewer clusters",
                 quota=("rules_per_security_group", "rulesPerSecurityGroup", "vpc", "L-0EA8095F", need))))

    requesters = peering_layout.requester_stacks(peerings)
    for region in sorted({p.region for p in requesters}):
        pending = peering_layout.pending_at_most(requesters, region)
        if pending > peering_layout.MAX_PENDING_PEERINGS:
            problems.append(QuotaProblem(
                "clusters", f"{region}'s {sum(p.region == region for p in requesters)} peering stacks deploy in "
                f"parallel with {pending} VPC peering requests pending at once, over the "
                f"{peering_layout.MAX_PENDING_PEERINGS} federated-eks allows under AWS's quota of outstanding peering "
                "requests (25 by default, vpc L-DC9F7029)", _fix(peering_fix, "fewer clusters in the region")))

    # The federation stack, and the workload stacks typed workloads overflow into (federation_layout.workload_stacks):
    # a stack over the limits holds what cannot be split further (KubeFed, the joins and the folders; or one
    # namespace's workloads).
    for plan in federation_layout.workload_stacks(cfg):
        if plan.index == 0:
            stack, held = stack_name(cfg, FEDERATION_STACK), (
                f"the engine guard, KubeFed, the join and waiter providers {federation_layout.BASE_RESOURCES}, a join "
                "per cluster, per folder its objects and a waiter per FederatedDeployment, and the workloads of namespaces "
                f"{_named(list(plan.namespaces)) or 'none'}, each its objects and waiter and its FederatedNamespace "
                "and host Namespace")
            fix = ("fewer or smaller manifest folders", "fewer clusters",
                   "the typed workloads in namespaces no folder uses (they move to workload stacks)")
            if cfg.engine == "karmada":
                held = (f"the engine guard, Karmada and its join provider {federation_layout.KARMADA_BASE_RESOURCES}, a "
                        "join per cluster, the workloads' objects and per folder its objects")
                fix = ("fewer workloads", "fewer clusters", "fewer manifest folders")
        else:
            stack, held = stack_name(cfg, WORKLOADS_STACK, str(plan.index)), (
                f"the workloads of namespace {plan.namespaces[0]}, which share a stack")
            fix = (f"spread namespace {plan.namespaces[0]}'s workloads over more namespaces", "fewer workloads")
        if plan.resources > RESOURCE_BUDGET:
            problems.append(QuotaProblem(
                "workloads", f"stack {stack} would hold {plan.resources} resources ({held}), over CloudFormation's "
                f"limit of {MAX_RESOURCES} resources per stack (not adjustable; the CDK adds one)", _fix(*fix)))
        if plan.template_bytes > MAX_TEMPLATE_BYTES:
            kube = federation_layout.kubernetes_bytes(cfg, plan)
            problems.append(QuotaProblem(
                "workloads", f"stack {stack}'s template would be up to {plan.template_bytes:,} bytes, {kube:,} of "
                f"them Kubernetes objects ({held}), over CloudFormation's limit of {MAX_TEMPLATE_BYTES:,} bytes "
                "(1 MB, not adjustable)",
                _fix("carry fewer or smaller Kubernetes objects (large data belongs in an image or S3, not in "
                     "ConfigMaps)", *fix)))

    for kind, plans in ((PEERING_STACK, requesters),
                        (PEER_ROUTES_STACK, peering_layout.accepter_stacks(peerings))):
        for plan in plans:
            if not plan.fits:
                problems.append(QuotaProblem(
                    "clusters", f"stack {stack_name(cfg, kind, plan.qualifier)} would hold {plan.resources} resources "
                    f"and {plan.outputs} outputs, over CloudFormation's limits of {peering_layout.MAX_RESOURCES} "
                    f"resources and {peering_layout.MAX_OUTPUTS} outputs per stack (not adjustable)",
                    _fix(peering_fix, "fewer clusters (one VPC's peerings always share a stack)")))
    if tgw.uses_transit_gateway(cfg):
        problems += transit_gateway_problems(cfg)
    return problems


def security_group_rules(cfg: FederationConfig, peerings: list[Peering]) -> dict[str, int]:
    """The most rules (inbound or outbound) of each security group that grows with the federation: each cluster's
    API server group (by cluster name) and the engine's Lambdas' groups (by how the messages name them)."""
    lambdas, per_lambda, lambda_names = SECURITY_GROUP_RULES[cfg.engine]
    rules = {c.name: len(api_clients_of(cfg, peerings, c.name)) + (lambdas if c.name == cfg.host_cluster else 0)
             for c in cfg.clusters}
    rules[lambda_names] = len(cfg.clusters) + per_lambda
    return rules


def transit_gateway_problems(cfg: FederationConfig) -> list[QuotaProblem]:
    """The limits of the transitGateway mode (Amazon VPC Transit Gateways guide, "Quotas for your transit gateways";
    the counts are transit_gateway_layout's). Transit gateways per account and region (5 by default): the
    federation makes one per region, so only gateways made outside it can exhaust that quota."""
    q = cfg.quotas
    problems = []
    regions = tgw.regions(cfg)
    peering_attachments = len(regions) - 1
    if peering_attachments > q.peering_attachments_per_transit_gateway:
        problems.append(QuotaProblem(
            "clusters", f"the transit gateways of {_named(regions)} would each have {peering_attachments} peering "
            f"attachments (one per other region of the federation), over the quota of "
            f"{q.peering_attachments_per_transit_gateway} per transit gateway "
            "(quotas.peeringAttachmentsPerTransitGateway)",
            _fix("put the clusters in fewer regions",
                 quota=("peering_attachments_per_transit_gateway", "peeringAttachmentsPerTransitGateway", "vpc",
                        '"Peering attachments per transit gateway"', peering_attachments))))
    crowded = {r: tgw.attachments(cfg, r) for r in regions}
    over = sorted((r for r, n in crowded.items() if n > tgw.MAX_ATTACHMENTS_PER_GATEWAY), key=lambda r: -crowded[r])
    if over:
        problems.append(QuotaProblem(
            "clusters", f"the transit gateway of {_named(over)} would have {crowded[over[0]]} attachments (one per VPC "
            f"of the region and one per other region), over AWS's limit of {tgw.MAX_ATTACHMENTS_PER_GATEWAY:,} per "
            "transit gateway (not adjustable)", _fix("put fewer clusters in a region")))
    if tgw.gateway_routes(cfg) > tgw.MAX_ROUTES_PER_GATEWAY_ROUTE_TABLE:
        problems.append(QuotaProblem(
            "clusters", f"each transit gateway route table would hold {tgw.gateway_routes(cfg):,} routes (one per VPC "
            f"of the federation), over AWS's limit of {tgw.MAX_ROUTES_PER_GATEWAY_ROUTE_TABLE:,} per transit gateway "
            "route table (not adjustable)", _fix("fewer clusters")))
    for kind, count in ((TRANSIT_GATEWAY_STACK, tgw.gateway_stack_resources),
                        (TGW_PEERING_STACK, tgw.peering_stack_resources),
                        (TGW_PEER_ROUTES_STACK, tgw.peer_routes_stack_resources)):
        for region in regions:
            if (resources := count(cfg, region)) > RESOURCE_BUDGET:
                problems.append(QuotaProblem(
                    "clusters", f"stack {stack_name(cfg, kind, region)} would hold {resources} resources (per VPC of "
                    "the region its attachment and routes, per peering its attachment and a route per remote VPC), "
                    f"over CloudFormation's limit of {MAX_RESOURCES} resources per stack (not adjustable)",
                    _fix("spread the clusters over more regions", "fewer clusters")))
    return problems
