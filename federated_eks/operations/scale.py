"""Every connectivity mode at the sizes the docs show (docs/operations/scale.md): priced from the stack plan (deploy
levels, the widest level, critical path, pipeline and `make deploy` schedules: plan/deploy_time.py) and checked by the
config's own limits (config/quotas.py) with every quota raised as far as AWS allows, so what is refused is a limit no
quota request lifts. `make topology` prints it after the environment's picture (operations/topology_report.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from federated_eks.config import quotas
from federated_eks.model.federation import QUOTA_MAXIMUMS, TOPOLOGIES, FederationConfig, QuotasConfig
from federated_eks.plan import topology
from federated_eks.plan.deploy_time import (SCALE_REGIONS, SCALE_SIZES, cli_minutes, critical_path, pipeline_minutes,
                                            with_clusters, workload_minutes)
from federated_eks.plan.stack_plan import levels, plan

# Quotas as far as AWS raises them (QUOTA_MAXIMUMS) and, where AWS states no maximum, as far as the layout asks:
# what remains refused then is a limit no quota request lifts.
_RAISED = {"vpcs_per_region": 1000, "elastic_ips_per_region": 1000, "nat_gateways_per_az": 1000,
           "eks_clusters_per_region": 1000, **QUOTA_MAXIMUMS}


@dataclass(frozen=True)
class ModeRow:
    """One connectivity mode at one size, priced from its stack plan."""

    mode: str
    clusters: int
    stacks: int
    levels: int
    """Deploy levels: stacks of a level deploy in parallel, levels one after another."""
    widest: int
    """The most stacks of one level (what runs in parallel at most)."""
    critical_minutes: float
    pipeline_minutes: float
    cli_minutes: float
    refused: str = ""
    """Why the config check refuses it even with every quota raised as far as AWS allows ("" when accepted)."""


def _refusal(problems: list[quotas.QuotaProblem]) -> str:
    """A short name for each limit that refuses a layout whatever the quotas."""
    names = []
    for p in problems:
        if p.what.startswith("stack "):
            names.append("500 resources per stack")
        elif "pending" in p.what:
            names.append("pending peering requests")
        else:
            names.append(p.what.split(" (")[0].split(", over")[0])
    return "; ".join(dict.fromkeys(names))


def mode_rows(cfg: FederationConfig, modes: tuple[str, ...] = TOPOLOGIES, sizes: tuple[int, ...] = SCALE_SIZES,
              regions: tuple[str, ...] = SCALE_REGIONS) -> list[ModeRow]:
    """Each mode (every `peeringTopology` the model knows: a new mode's row comes with its stack plan) at each size,
    clusters spread round-robin over `regions`, with the config's workloads."""
    rows = []
    for mode in modes:
        for n in sizes:
            scaled = replace(with_clusters(cfg, n, regions), peering_topology=mode,
                             quotas=QuotasConfig(**_RAISED))
            stacks, extra = plan(scaled), workload_minutes(scaled)
            lv = levels(stacks)
            rows.append(ModeRow(mode, n, len(stacks), len(set(lv.values())), max(Counter(lv.values()).values()),
                                critical_path(stacks, extra)[1], pipeline_minutes(stacks, extra=extra),
                                cli_minutes(stacks, extra=extra),
                                _refusal(quotas.check(scaled, topology.peerings(scaled)))))
    return rows


def mode_table(rows: list[ModeRow]) -> str:
    """The rows as a Markdown table (`make topology`, docs/operations/scale.md)."""
    out = ["| mode | clusters | stacks | deploy levels | most stacks in one level | critical path, min | "
           "pipeline stage, min | make deploy, min | config check (quotas raised as far as AWS allows) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.mode} | {r.clusters} | {r.stacks} | {r.levels} | {r.widest} | {r.critical_minutes:g} | "
                   f"{r.pipeline_minutes:g} | {r.cli_minutes:g} | {('refused: ' + r.refused) if r.refused else 'accepted'} |")
    return "\n".join(out)


def section(cfg: FederationConfig) -> str:
    """What `make topology` prints for the modes."""
    return (f"### Each connectivity mode at {', '.join(map(str, SCALE_SIZES))} clusters\n\nSpread round-robin over "
            f"{len(SCALE_REGIONS)} regions, with this environment's settings and workloads (docs/operations/scale.md):"
            f"\n\n{mode_table(mode_rows(cfg))}\n")
