"""Deploy-time estimates from typical creation times: pure arithmetic over the stack plan, no AWS.

These are planning figures, not measurements of this app (nothing here can deploy). Each stack's figure is the
longest chain of its slow resources (CloudFormation creates independent resources of a stack in parallel), in
minutes, from the sources cited below:

- EKS control plane ~12 min: "In most cases, it takes several minutes to create a cluster" (EKS API Reference,
  CreateCluster); AWS's containers-roadmap issue #1227 gave 15 minutes on average when it was filed and tracks the
  reductions since; 10-12 minutes is today's common figure.
- Managed node group ~4 min after the control plane (EC2 launch, bootstrap, node Ready; EKS User Guide, "Create a
  managed node group": nodes join "after a few minutes").
- VPC, subnets, route tables ~1 min; NAT gateway ~2 min, in parallel with the control plane (VPC User Guide, NAT
  gateways: the state is `pending` until `available`, typically a few minutes).
- VPC peering connection and its routes ~1 min, also cross-region (VPC Peering Guide: a request is
  `pending-acceptance` until the accepter side accepts; CloudFormation accepts it in the same call when
  PeerRegion/PeerRoleArn allow it).
- IAM roles ~1 min (eventual consistency is waited for by CloudFormation).
- Bastion: VPC and NAT as above, then the instance ~2 min (EC2 launch until CloudFormation sees it running).
- Federation ~7 min: the join Lambda in the host VPC (~1.5 min: Lambda creates its Hyperplane ENIs when the
  function is created, "up to 90 seconds", AWS Compute Blog, "Announcing improved VPC networking for AWS Lambda
  functions", 2019), the KubeFed chart through the kubectl handler (~3 min: Helm install, image pulls, webhook
  Ready), then teardown and joins (~1 min; every join runs in parallel, each waits for its cluster's API server).

Workloads add (`workload_minutes`, per stack):
- a cluster stack with the AWS Load Balancer Controller ~2 min: its Helm install waits for the controller's pods
  (image pull, webhook Ready) after the node group; ExternalDNS (~1 min, same kind of install) runs beside it;
- the federation stack ~1 min for the workloads' rollout (manifests applied after the joins, the waiter until
  every placed member runs its replicas) and ~3 more with a LoadBalancer Service: an NLB is `provisioning` for
  a few minutes before `active` and the Service gets its hostname (ELB User Guide for NLBs, "Create a Network
  Load Balancer": "it can take a few minutes"); workloads wait in parallel, so the slowest counts. DNS then
  follows within ExternalDNS's sync (not on the deploy's path).

Two schedules: a CDK Pipelines stage runs each deploy level as one CodePipeline runOrder (stacks/pipeline.py), so
it takes the sum over levels of the slowest stack of the level, except that CDK Pipelines cuts the levels into
CodePipeline stages of at most 50 actions (CodePipeline's quota; aws-cdk-lib pipelines/lib/codepipeline/
codepipeline.ts, `chunkTranches(50, ...)`), and a level cut in two runs its parts one after the other;
`make deploy` (`cdk deploy --concurrency 8`) starts a stack as soon as its dependencies are done, at most 8 at a time.
"""
from __future__ import annotations

import heapq
from dataclasses import replace

from federated_eks.plan import federation_layout, topology
from federated_eks.plan.folder_workloads import serves_load_balancers
from federated_eks.model.federation import ClusterConfig, EndpointAccessConfig, FederationConfig, NodeGroupConfig
from federated_eks.plan.stack_plan import PlannedStack, levels, plan

Extra = dict[str, float]
"""Stack name -> minutes its workloads add (`workload_minutes`)."""


def workload_minutes(cfg: FederationConfig) -> Extra:
    """What the config's workloads add to each stack (see the module docstring)."""
    out: Extra = {}
    for name in topology.load_balancer_clusters(cfg):
        out[topology.stack_name(cfg, topology.CLUSTER_STACK, name)] = LOAD_BALANCER_CONTROLLER
    for split in federation_layout.workload_stacks(cfg):  # the federation stack, and any workload stacks
        workloads = [w for w in cfg.workloads if w.namespace in split.namespaces]
        held = cfg.manifest_folders if split.index == 0 else ()
        if not workloads and not held:
            continue
        balanced = any(w.load_balanced for w in workloads) or any(serves_load_balancers(f.objects) for f in held)
        stack = (topology.stack_name(cfg, topology.FEDERATION_STACK) if split.index == 0
                 else topology.stack_name(cfg, topology.WORKLOADS_STACK, str(split.index)))
        out[stack] = WORKLOAD_ROLLOUT + (LOAD_BALANCER if balanced else 0.0)
    return out


def stack_minutes(s: PlannedStack, extra: Extra | None = None) -> float:
    return MINUTES[s.kind] + (extra or {}).get(s.name, 0.0)

EKS_CONTROL_PLANE = 12.0
NODE_GROUP = 4.0
VPC = 1.0
NAT_GATEWAY = 2.0
PEERING = 1.0
TRANSIT_GATEWAY = 3.0  # the gateway, then the VPC attachments (each ~1-2 min)
TGW_PEERING_ACCEPTED = 5.0  # a peering attachment is requested, accepted and available in a few minutes
IAM = 1.0
INSTANCE = 2.0
JOIN_LAMBDA_ENI = 1.5
CHART = 3.0
JOINS = 1.0

MINUTES = {
    "access": IAM,
    "bastion": VPC + max(NAT_GATEWAY, INSTANCE),
    "cluster": VPC + EKS_CONTROL_PLANE + NODE_GROUP,  # the NAT gateway is created during the control plane
    "peering": PEERING,
    "peer-routes": PEERING,
    "transit-gateway": TRANSIT_GATEWAY,
    "tgw-peering": TGW_PEERING_ACCEPTED,
    "tgw-peer-routes": PEERING,
    "federation": JOIN_LAMBDA_ENI + CHART + JOINS + 1.0,  # +1: the host's security-group rule and teardown
    "workloads": 0.0,  # only its workloads' rollout (workload_minutes)
}
LOAD_BALANCER_CONTROLLER = 2.0
WORKLOAD_ROLLOUT = 1.0
LOAD_BALANCER = 3.0

CLI_CONCURRENCY = 8  # the Makefile's `cdk deploy --concurrency 8`
ACTIONS_PER_STAGE = 50  # CodePipeline's quota, where CDK Pipelines cuts a stage

# Regions used, in turn, by the N-cluster estimates.
SAMPLE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")


def pipeline_minutes(stacks: list[PlannedStack], chunk: int = ACTIONS_PER_STAGE, extra: Extra | None = None) -> float:
    """One deploy action per stack, level by level; a level is cut where a CodePipeline stage is full."""
    lv = levels(stacks)
    total, room = 0.0, chunk
    for level in sorted(set(lv.values())):
        minutes = [stack_minutes(s, extra) for s in stacks if lv[s.name] == level]
        while minutes:
            if room == 0:
                room = chunk
            part, minutes = minutes[:room], minutes[room:]
            room -= len(part)
            total += max(part)
    return total


def cli_minutes(stacks: list[PlannedStack], concurrency: int = CLI_CONCURRENCY, extra: Extra | None = None) -> float:
    """List scheduling in app order, as the CDK CLI does: ready stacks start while fewer than `concurrency` run."""
    done: dict[str, float] = {}
    pending = list(stacks)
    running: list[tuple[float, str]] = []
    now = 0.0
    while pending or running:
        ready = [s for s in pending if all(d in done for d in s.depends_on)]
        for s in ready[:concurrency - len(running)]:
            heapq.heappush(running, (now + stack_minutes(s, extra), s.name))
            pending.remove(s)
        now, name = heapq.heappop(running)
        done[name] = now
    return now


def critical_path(stacks: list[PlannedStack], extra: Extra | None = None) -> tuple[list[str], float]:
    """The chain of stacks with the longest total time (unlimited parallelism)."""
    by_name = {s.name: s for s in stacks}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(n: str) -> tuple[float, list[str]]:
        if n not in best:
            before = max((longest(d) for d in by_name[n].depends_on), default=(0.0, []))
            best[n] = (before[0] + stack_minutes(by_name[n], extra), before[1] + [n])
        return best[n]

    total, path = max(longest(s.name) for s in stacks)
    return path, total


def with_clusters(cfg: FederationConfig, count: int, regions: tuple[str, ...] = SAMPLE_REGIONS) -> FederationConfig:
    """`cfg` with `count` clusters spread round-robin over `regions` (the first stays the host, in the first region;
    CIDRs 10.<i>.0.0/16 from 10.100.0.0/16, then from 10.0.0.0/16 on)."""
    base = cfg.clusters[0]
    clusters = tuple(ClusterConfig(name=base.name if i == 0 else f"c{i + 1}", region=regions[i % len(regions)],
                                   cidr=f"10.{(100 + i) % 256}.0.0/16", node_group=NodeGroupConfig(),
                                   endpoint_access=EndpointAccessConfig()) for i in range(count))
    return replace(cfg, clusters=clusters, host_cluster=base.name)


# --- every connectivity mode at the sizes the docs show (docs/operations/scale.md) ----------------------------------
SCALE_SIZES = (2, 16, 40, 100)
# The regions the scale rows spread clusters over, round-robin: 100 clusters over 17 regions (issue 21's target).
SCALE_REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
                 "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
                 "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "sa-east-1")


def scaling_rows(cfg: FederationConfig, counts: range = range(2, 41)) -> list[tuple[int, int, float, float]]:
    """(clusters, stacks, pipeline minutes, make-deploy minutes) for each count."""
    rows = []
    for n in counts:
        scaled = with_clusters(cfg, n)
        stacks, extra = plan(scaled), workload_minutes(scaled)
        rows.append((n, len(stacks), pipeline_minutes(stacks, extra=extra), cli_minutes(stacks, extra=extra)))
    return rows
