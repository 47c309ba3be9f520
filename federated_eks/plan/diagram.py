"""A picture of one environment: Mermaid diagram, stacks by deploy level, deploy-time estimates.

    python -m federated_eks.operations.topology_report --env dev   (make topology ENV=dev; offline, reads cdk.json)

The Mermaid block renders on GitHub: one box per region, a node per VPC (bastion, host, members) with its CIDR,
and one edge per VPC peering from the requester to the accepter. docs/concepts/topology.md embeds the block for
`dev`, and tests/test_diagram.py keeps it equal to what this command prints.
"""
from __future__ import annotations


from federated_eks.plan import deploy_time, topology, transit_gateway_layout as tgw
from federated_eks.model.federation import FederationConfig
from federated_eks.plan.stack_plan import levels, plan



def mermaid(cfg: FederationConfig) -> str:
    nets = topology.vpcs(cfg)
    ids = {n.name: f"n{i}" for i, n in enumerate(nets)}
    lines = ["```mermaid", "flowchart LR"]
    regions = sorted({n.region for n in nets}, key=lambda r: [n.region for n in nets].index(r))
    for i, region in enumerate(regions):
        lines.append(f'  subgraph r{i}["{region}"]')
        for n in nets:
            if n.region != region:
                continue
            role = ("bastion (SSM only)" if n.name == topology.BASTION
                    else "host: KubeFed control plane" if n.name == cfg.host_cluster else "member")
            lines.append(f'    {ids[n.name]}["<b>{n.name}</b><br/>{role}<br/>VPC {n.cidr}"]')
        if tgw.uses_transit_gateway(cfg):
            lines.append(f'    g{i}(["transit gateway"])')
        lines.append("  end")
    if tgw.uses_transit_gateway(cfg):  # an attachment per VPC, a gateway peering per pair of regions
        gateway = {region: f"g{i}" for i, region in enumerate(regions)}
        lines += [f"  {ids[n.name]} --- {gateway[n.region]}" for n in nets]
        lines += [f"  {gateway[p.requester]} -->|TGW peering| {gateway[p.accepter]}" for p in tgw.region_peerings(cfg)]
    for p in topology.peerings(cfg):
        label = "peering, cross-region" if p.cross_region else "peering"
        lines.append(f"  {ids[p.requester.name]} -->|{label}| {ids[p.accepter.name]}")
    lines.append("  classDef host stroke-width:3px")
    lines.append(f"  class {ids[cfg.host_cluster]} host")
    lines.append("```")
    return "\n".join(lines)


def level_table(cfg: FederationConfig) -> str:
    stacks, extra = plan(cfg), deploy_time.workload_minutes(cfg)  # workloads included
    lv = levels(stacks)
    rows = ["| level | stack | kind | region | typical minutes |", "|---|---|---|---|---|"]
    for s in sorted(stacks, key=lambda s: (lv[s.name], s.name)):
        minutes = deploy_time.stack_minutes(s, extra)
        rows.append(f"| {lv[s.name]} | `{s.name}` | {s.kind} | {s.region} | {minutes:g} |")
    return "\n".join(rows)


def estimate(cfg: FederationConfig) -> str:
    stacks, extra = plan(cfg), deploy_time.workload_minutes(cfg)  # workloads included
    path, total = deploy_time.critical_path(stacks, extra)
    out = [f"Critical path ({total:g} min): " + " -> ".join(f"`{n}`" for n in path),
           f"Pipeline stage (one level after another): {deploy_time.pipeline_minutes(stacks, extra=extra):g} min; "
           f"`make deploy` (--concurrency {deploy_time.CLI_CONCURRENCY}): "
           f"{deploy_time.cli_minutes(stacks, extra=extra):g} min.",
           "",
           f"For N clusters ({cfg.peering_topology} peering, spread over "
           f"{len(deploy_time.SAMPLE_REGIONS)} regions; typical figures, see federated_eks/plan/deploy_time.py):",
           "",
           "| clusters | stacks | pipeline stage, min | make deploy, min |", "|---|---|---|---|"]
    for n, count, pipeline, cli in deploy_time.scaling_rows(cfg):
        out.append(f"| {n} | {count} | {pipeline:g} | {cli:g} |")
    return "\n".join(out)


def transit_gateway_cost(cfg: FederationConfig) -> str:
    """The attachments a transitGateway federation is billed for by the hour (docs/concepts/transit-gateway.md)."""
    vpc_attachments, peerings = len(topology.vpcs(cfg)), len(tgw.region_peerings(cfg))
    return (f"{vpc_attachments} VPC attachments and {peerings} gateway peerings (an attachment on each side): "
            f"{vpc_attachments + 2 * peerings} attachments at ${tgw.ATTACHMENT_HOUR_USD:.2f} per hour, "
            f"~${tgw.monthly_attachment_cost(cfg):,.0f} a month, plus ${tgw.PROCESSED_GB_USD:.2f} per GB a VPC sends "
            "into its gateway (and inter-region data transfer); see docs/concepts/transit-gateway.md.")


def render(cfg: FederationConfig) -> str:
    parts = [f"## Federation '{cfg.env_name}'", mermaid(cfg), "### Stacks by deploy level",
             level_table(cfg), "### Deploy time (estimate)", estimate(cfg)]
    if tgw.uses_transit_gateway(cfg):
        parts += ["### Transit Gateway cost (estimate)", transit_gateway_cost(cfg)]
    return "\n\n".join(parts) + "\n"
