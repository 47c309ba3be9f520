"""Prune: delete the deployed stacks of an environment that the app no longer has.

    python -m federated_eks.operations.prune --env prod [--yes] [--regions us-east-1,eu-west-1]     (make prune ENV=prod)
    python -m federated_eks.operations.prune --env old --environment-removed old [--yes]   (make prune ENV=old GONE=old)

CDK never deletes a stack that left the app: after a cluster (or a whole region) leaves the config, its EKS
cluster, node group and NAT gateway keep running. This finds the environment's stacks by the tags every stack of
the app carries (federated_eks/plan/stack_tags.py: app, environment, kind), and compares each by (name, region, account)
with the stacks the app has now: a cluster moved to another region keeps its stack name, so its old stack is found
by its region. It lists each with the reason and its resources, and only with --yes deletes them in reverse
dependency order (stack_tags.DELETE_ORDER: federation, the transit gateways' peer routes and peerings, peer routes,
peering, transit gateways, clusters, bastion, access; and any stack that reads another's
outputs before the stack it reads), waiting for each delete to finish before the next. A failed delete stops the
run (the stacks after it may depend on it); the next run lists what is left, failed stacks included, and resumes.

An environment that is no longer in cdk.json would mean "delete every stack of it": refused unless the command
names it a second time, `--environment-removed NAME` (make prune ENV=NAME GONE=NAME).

A stack is refused (kept, with the reason) while a deployed stack that stays reads its outputs (Fn::GetStackOutput,
the weak cross-stack references of cdk.json): deleting it would break that stack's next update.

Regions scanned: every region enabled in the account (EC2 DescribeRegions without AllRegions), because a stack
can only be found in the region it lives in and the config no longer names the regions that were removed from
it; `--regions` narrows the scan. A cluster stack is refused while a deployed federation stack that stays names
it as the host (tag fedeks:host-cluster): move `hostCluster`, deploy, then prune; and while that stack still
joins it (a `Custom::KubefedJoin` or `Custom::KarmadaJoin` naming it: stack_tags.ENGINE_JOINS).

The decisions are pure (`plan`); the AWS calls (boto3, default credential chain) are thin functions around it.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from federated_eks.plan.operator_commands import make
from federated_eks.plan.stack_tags import (APP, APP_TAG, CLUSTER_TAG, DELETE_ORDER, ENGINE_JOINS, ENVIRONMENT_TAG,
                                           HOST_TAG, KIND_TAG)

ROOT = Path(__file__).resolve().parents[2]
GONE = ("DELETE_COMPLETE",)


Place = tuple[str, str]  # (stack name, region): where a stack is, as Fn::GetStackOutput names it
Key = tuple[str, str, str]  # (stack name, region, account): one stack


@dataclass(frozen=True)
class DeployedStack:
    name: str
    region: str
    status: str
    tags: dict[str, str] = field(hash=False, compare=False)
    account: str = ""
    reads: frozenset[Place] = field(default=frozenset(), hash=False, compare=False)  # its Fn::GetStackOutput

    @property
    def kind(self) -> str:
        return self.tags.get(KIND_TAG, "")

    @property
    def key(self) -> Key:
        return (self.name, self.region, self.account)


@dataclass(frozen=True)
class PrunePlan:
    delete: list[tuple[DeployedStack, str]]  # in the order to delete them, with the reason
    refused: list[tuple[DeployedStack, str]]  # kept, with the reason


def of_environment(stacks: list[DeployedStack], env: str) -> list[DeployedStack]:
    return [s for s in stacks if s.tags.get(APP_TAG) == APP and s.tags.get(ENVIRONMENT_TAG) == env
            and s.status not in GONE]


def joined_clusters(resources: list[tuple[str, str]]) -> set[str]:
    """The members a deployed federation stack still joins, from its (type, physical id) resources: the joins of
    either engine (stack_tags.ENGINE_JOINS)."""
    return {physical.rsplit("/", 1)[-1] for kind, physical in resources
            for join_type, prefix in ENGINE_JOINS.values() if kind == join_type and physical.startswith(prefix)}


def deployed_engines(resources: list[tuple[str, str]]) -> set[str]:
    """The engines whose joins a deployed federation stack holds, from its (type, physical id) resources (empty
    when it holds none: a stack whose first deploy failed, or one being deleted)."""
    return {engine for kind, _ in resources for engine, (join_type, _) in ENGINE_JOINS.items() if kind == join_type}


def why_orphaned(stack: DeployedStack, expected: set[Key] | None, env: str) -> str:
    """Why a deployed stack of `env` that is not in `expected` (None: the environment left cdk.json) goes."""
    if expected is None:
        return f"environment {env!r} is no longer in cdk.json (--environment-removed {env})"
    moved = sorted((r, a) for n, r, a in expected if n == stack.name)
    if moved:
        where = ", ".join(f"{r} (account {a})" for r, a in moved)
        return f"the app has {stack.name} in {where} now: this copy in {stack.region} (account {stack.account}) " \
               "was left behind"
    return f"environment {env!r} no longer has this stack"


def plan(deployed: list[DeployedStack], expected: set[Key] | None, env: str,
         still_joined: set[str] = frozenset()) -> PrunePlan:
    """Which deployed stacks of `env` to delete: those whose (name, region, account) is not in `expected`, the
    app's stacks now (None: the environment was removed, all go), readers before what they read.
    `still_joined`: clusters the deployed federation stack that stays still joins (a KubeFed or a Karmada join).
    Their cluster stacks are kept: only the deploy of the new config removes a cluster's workloads and waits for
    its load balancers to go (the engine deletes them while the cluster is joined), then unjoins it. Deleting the stack first would uninstall
    its load-balancer controller with the Services still there: the NLBs would stay, billing, and their network
    interfaces would block the VPC's deletion (DELETE_FAILED)."""
    mine = of_environment(deployed, env)
    keep = [s for s in mine if expected is not None and s.key in expected]
    orphans = [s for s in mine if s not in keep]
    hosts = {s.tags.get(HOST_TAG) for s in keep if s.kind == "federation"}
    accounts = sorted({a for _, _, a in expected}) if expected is not None else []
    refused: dict[DeployedStack, str] = {}
    for s in orphans:
        if accounts and s.account not in accounts:
            # Another account's stacks of the same environment name: maybe the environment moved there from this
            # account, maybe another fork's. Never deleted on a name match alone.
            refused[s] = (f"it is in account {s.account}, but environment {env!r} deploys to {', '.join(accounts)}: "
                          f"prune with credentials of {', '.join(accounts)}; if {env!r} moved away from account "
                          f"{s.account}, delete this stack in the CloudFormation console")
        elif s.kind == "cluster" and s.tags.get(CLUSTER_TAG) in hosts:
            refused[s] = (f"cluster {s.tags[CLUSTER_TAG]!r} is still the host of the deployed federation stack "
                          f"(its control plane runs there): set hostCluster to another cluster, "
                          f"{make('deploy', env)}, then prune")
        elif s.kind == "cluster" and s.tags.get(CLUSTER_TAG) in still_joined:
            refused[s] = (f"cluster {s.tags[CLUSTER_TAG]!r} is still joined by the deployed federation stack "
                          f"(its workloads and load balancers are still there): {make('deploy', env)} the new "
                          "config first (it removes the cluster's workloads and unjoins it), then prune")
        elif s.kind not in DELETE_ORDER:
            refused[s] = f"unknown kind {s.kind!r} in its {KIND_TAG} tag"
    # A stack that stays (kept by the app, or refused above) and reads an orphan keeps that orphan too: its next
    # update would fail on the missing output. Repeated until nothing changes (a kept stack can read a kept one).
    changed = True
    while changed:
        changed = False
        staying = keep + list(refused)
        for s in orphans:
            readers = [r for r in staying if (s.name, s.region) in r.reads]
            if s not in refused and readers:
                names = ", ".join(f"{r.name} ({r.region})" for r in readers)
                refused[s] = (f"still read by {names} through Fn::GetStackOutput: deploy the app "
                              f"({make('deploy', env)}) so that it reads what replaces this stack, then prune")
                changed = True
    delete = delete_order([s for s in orphans if s not in refused])
    return PrunePlan(delete=[(s, why_orphaned(s, expected, env)) for s in delete],
                     refused=[(s, refused[s]) for s in orphans if s in refused])


def delete_order(stacks: list[DeployedStack]) -> list[DeployedStack]:
    """Reverse deploy order: by kind (DELETE_ORDER), and every stack before the stacks whose outputs it reads."""
    rank = {s: (DELETE_ORDER.index(s.kind), s.region, s.name) for s in stacks}
    waiting = {s: {r for r in stacks if (s.name, s.region) in r.reads and r != s} for s in stacks}  # its readers
    out: list[DeployedStack] = []
    while waiting:
        ready = [s for s, readers in waiting.items() if not readers] or list(waiting)  # a read cycle: by rank
        first = min(ready, key=rank.__getitem__)
        out.append(first)
        del waiting[first]
        for readers in waiting.values():
            readers.discard(first)
    return out


# --- AWS (thin) -------------------------------------------------------------------------------


def enabled_regions(session: Any) -> list[str]:
    ec2 = session.client("ec2", region_name=session.region_name or "us-east-1")
    return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])


def deployed_stacks(session: Any, regions: list[str]) -> list[DeployedStack]:
    """Every stack in `regions`; the app's own (tagged) with the outputs their templates read."""
    out = []
    for region in regions:
        cfn = session.client("cloudformation", region_name=region)
        for page in cfn.get_paginator("describe_stacks").paginate():
            for s in page["Stacks"]:
                tags = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                reads = stack_reads(cfn, s["StackId"], region) if tags.get(APP_TAG) == APP else frozenset()
                out.append(DeployedStack(name=s["StackName"], region=region, status=s["StackStatus"], tags=tags,
                                         account=s["StackId"].split(":")[4], reads=reads))
    return out


def stack_reads(cfn: Any, stack_id: str, region: str) -> frozenset[Place]:
    """(stack, region) of every Fn::GetStackOutput in the deployed template (Region defaults to the reader's)."""
    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    return frozenset(output_reads(json.loads(body) if isinstance(body, str) else body, region))


def output_reads(node: Any, region: str) -> set[Place]:
    found: set[Place] = set()
    if isinstance(node, dict):
        ref = node.get("Fn::GetStackOutput")
        if isinstance(ref, dict) and isinstance(ref.get("StackName"), str):
            found.add((ref["StackName"], ref.get("Region") if isinstance(ref.get("Region"), str) else region))
        for value in node.values():
            found |= output_reads(value, region)
    elif isinstance(node, list):
        for value in node:
            found |= output_reads(value, region)
    return found


def stack_resources(session: Any, stack: DeployedStack) -> list[tuple[str, str]]:
    """(type, physical id) of every resource of the stack."""
    cfn = session.client("cloudformation", region_name=stack.region)
    return [(r["ResourceType"], r.get("PhysicalResourceId", ""))
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack.name)
            for r in page["StackResourceSummaries"]]


def delete_stack(session: Any, stack: DeployedStack, delay: int = 15) -> None:
    """Delete and wait (CloudFormation's waiter: up to 120 polls; an EKS cluster takes about 10 minutes)."""
    cfn = session.client("cloudformation", region_name=stack.region)
    cfn.delete_stack(StackName=stack.name)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack.name,
                                                 WaiterConfig={"Delay": delay, "MaxAttempts": 240})


# --- command line -----------------------------------------------------------------------------


def expected_stacks(env: str, cdk_json: Path = ROOT / "cdk.json") -> set[Key] | None:
    """(name, region, account) of every stack the app has for `env` now; None when cdk.json has no `env`."""
    from federated_eks.config.reader import load_environment
    from federated_eks.plan.stack_plan import plan as stack_plan

    environments = json.loads(cdk_json.read_text())["context"].get("environments", {})
    if env not in environments:
        return None
    cfg = load_environment(environments, env)
    return {(s.name, s.region, cfg.account) for s in stack_plan(cfg)}


def removal_problem(env: str, expected: set[Key] | None, removed: str | None) -> str | None:
    """Why prune must not run: an environment missing from cdk.json that the command did not name as removed."""
    if expected is None and removed != env:
        return (f"environment {env!r} is not in cdk.json, so every deployed stack of it would be deleted. Fix: if "
                f"it was removed on purpose, name it again: --environment-removed {env} (make prune ENV={env} "
                f"GONE={env}); otherwise check the name and cdk.json")
    if removed is not None and (removed != env or expected is not None):
        where = "is still in cdk.json" if removed == env else f"is not the environment pruned ({env!r})"
        return f"--environment-removed {removed!r} {where}. Fix: pass it only for the --env that left cdk.json"
    return None


def report(p: PrunePlan, resources: dict[Key, list[tuple[str, str]]]) -> list[str]:
    lines = []
    for i, (s, why) in enumerate(p.delete, 1):
        lines.append(f"{i}. {s.name} ({s.region}, account {s.account}, {s.kind}, {s.status}): {why}")
        lines += [f"     {kind:<40} {physical}" for kind, physical in resources.get(s.key, [])]
    lines += [f"KEPT {s.name} ({s.region}, account {s.account}): {why}" for s, why in p.refused]
    return lines


def run(session: Any, env: str, expected: set[Key] | None, regions: list[str] | None, yes: bool, out=print,
        delay: int = 15) -> int:
    scan = regions or enabled_regions(session)
    deployed = deployed_stacks(session, scan)
    joined = {c for f in of_environment(deployed, env) if f.kind == "federation" and expected is not None and f.key in expected
              for c in joined_clusters(stack_resources(session, f))}
    p = plan(deployed, expected, env, still_joined=joined)
    if not p.delete and not p.refused:
        out(f"Nothing to prune: every deployed stack of '{env}' in {len(scan)} regions is in the app.")
        return 0
    out(f"Stacks of '{env}' deployed but no longer in the app (delete order, and why):")
    for line in report(p, {s.key: stack_resources(session, s) for s, _ in p.delete}):
        out(line)
    if not yes:
        out(f"Dry run: nothing deleted. Run {make('prune', env, 'PRUNE=yes')} (or --yes) to delete them.")
        return 1 if p.refused else 0
    for s, _ in p.delete:
        out(f"Deleting {s.name} in {s.region} ...")
        try:
            delete_stack(session, s, delay=delay)
        except (BotoCoreError, ClientError) as err:  # WaiterError is a BotoCoreError: DELETE_FAILED or timeout
            out(f"FAILED to delete {s.name}: {err}. Stopped here, since the stacks after it in this order may "
                f"depend on it: see the stack's events in the CloudFormation console, fix, and run prune again.")
            return 2
        out(f"Deleted {s.name}.")
    return 1 if p.refused else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Delete deployed stacks of an environment the app no longer has.")
    parser.add_argument("--env", required=True)
    parser.add_argument("--yes", action="store_true", help="delete (default: only list)")
    parser.add_argument("--regions", default="", help="comma-separated regions (default: all enabled regions)")
    parser.add_argument("--cdk-json", default=str(ROOT / "cdk.json"), help="the project's cdk.json")
    parser.add_argument("--environment-removed", metavar="ENV", default=None,
                        help="the --env again, when it was removed from cdk.json: delete all of its stacks")
    args = parser.parse_args(argv)
    import boto3
    from federated_eks.config.reader import ConfigError

    try:
        expected = expected_stacks(args.env, Path(args.cdk_json))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    if problem := removal_problem(args.env, expected, args.environment_removed):
        print(f"federated-eks prune: {problem}", file=sys.stderr)
        return 1
    regions = [r for r in args.regions.split(",") if r]
    try:
        return run(boto3.Session(), args.env, expected, regions or None, args.yes)
    except (BotoCoreError, ClientError) as err:  # no credentials, no permission, no network
        print(f"federated-eks prune: {err}. Fix: run with credentials of the environment's account that may "
              "describe regions and describe, list and delete CloudFormation stacks.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
