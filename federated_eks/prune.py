"""Prune: delete the deployed stacks of an environment that the app no longer has.

    python -m federated_eks.prune --env prod [--yes] [--regions us-east-1,eu-west-1]     (make prune ENV=prod)

CDK never deletes a stack that left the app: after a cluster (or a whole region) leaves the config, its EKS
cluster, node group and NAT gateway keep running. This finds those stacks by the tags every stack of the app
carries (federated_eks/stack_tags.py: app, environment, kind), not by name, lists them with their resources, and
only with --yes deletes them in reverse dependency order (federation, peer routes, peering, clusters, bastion,
access), waiting for each delete to finish before the next.

Regions scanned: every region enabled in the account (EC2 DescribeRegions without AllRegions), because a stack
can only be found in the region it lives in and the config no longer names the regions that were removed from
it; `--regions` narrows the scan. A cluster stack is refused while a deployed federation stack that stays names
it as the host (tag fedeks:host-cluster): move `hostCluster`, deploy, then prune.

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

from federated_eks.stack_tags import (APP, APP_TAG, CLUSTER_TAG, DELETE_ORDER, ENVIRONMENT_TAG, HOST_TAG,
                                      KIND_TAG)

ROOT = Path(__file__).resolve().parents[1]
GONE = ("DELETE_COMPLETE",)


@dataclass(frozen=True)
class DeployedStack:
    name: str
    region: str
    status: str
    tags: dict[str, str] = field(hash=False, compare=False)

    @property
    def kind(self) -> str:
        return self.tags.get(KIND_TAG, "")


@dataclass(frozen=True)
class PrunePlan:
    delete: list[DeployedStack]  # in the order to delete them
    refused: list[tuple[DeployedStack, str]]  # kept, with the reason


def of_environment(stacks: list[DeployedStack], env: str) -> list[DeployedStack]:
    return [s for s in stacks if s.tags.get(APP_TAG) == APP and s.tags.get(ENVIRONMENT_TAG) == env
            and s.status not in GONE]


def plan(deployed: list[DeployedStack], expected: set[str], env: str,
         homes: dict[str, str] | None = None) -> PrunePlan:
    """Which of the deployed stacks of `env` to delete (those not in `expected`, the app's stack names, or deployed in
    another region than `homes` gives for their name: the old federation stack after the host moved region), in
    order."""
    mine = of_environment(deployed, env)

    def in_app(s: DeployedStack) -> bool:
        return s.name in expected and (homes is None or homes.get(s.name, s.region) == s.region)
    orphans = [s for s in mine if not in_app(s)]
    hosts = {s.tags.get(HOST_TAG) for s in mine if s.kind == "federation" and in_app(s)}
    refused, delete = [], []
    for s in orphans:
        if s.kind == "cluster" and s.tags.get(CLUSTER_TAG) in hosts:
            refused.append((s, f"cluster {s.tags[CLUSTER_TAG]!r} is still the KubeFed host of the deployed "
                               "federation stack: set hostCluster to another cluster, `make deploy`, then prune"))
        elif s.kind not in DELETE_ORDER:
            refused.append((s, f"unknown kind {s.kind!r} in its {KIND_TAG} tag"))
        else:
            delete.append(s)
    delete.sort(key=lambda s: (DELETE_ORDER.index(s.kind), s.region, s.name))
    return PrunePlan(delete=delete, refused=refused)


# --- AWS (thin) -------------------------------------------------------------------------------


def enabled_regions(session: Any) -> list[str]:
    ec2 = session.client("ec2", region_name=session.region_name or "us-east-1")
    return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])


def deployed_stacks(session: Any, regions: list[str]) -> list[DeployedStack]:
    out = []
    for region in regions:
        pages = session.client("cloudformation", region_name=region).get_paginator("describe_stacks").paginate()
        for page in pages:
            for s in page["Stacks"]:
                out.append(DeployedStack(name=s["StackName"], region=region, status=s["StackStatus"],
                                         tags={t["Key"]: t["Value"] for t in s.get("Tags", [])}))
    return out


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


def expected_stacks(env: str, cdk_json: Path = ROOT / "cdk.json") -> set[str]:
    """The stack names the app has for `env` now (empty when the environment left the config)."""
    from federated_eks.config import load_environment
    from federated_eks.stack_plan import plan as stack_plan

    environments = json.loads(cdk_json.read_text())["context"].get("environments", {})
    if env not in environments:
        return set()
    return {s.name for s in stack_plan(load_environment(environments, env))}


def home_regions(env: str, cdk_json: Path = ROOT / "cdk.json") -> dict[str, str]:
    """Stack name -> the region the app deploys it in, for `env` now."""
    from federated_eks.config import load_environment
    from federated_eks.stack_plan import plan as stack_plan

    environments = json.loads(cdk_json.read_text())["context"].get("environments", {})
    if env not in environments:
        return {}
    return {s.name: s.region for s in stack_plan(load_environment(environments, env))}


def report(p: PrunePlan, resources: dict[str, list[tuple[str, str]]]) -> list[str]:
    lines = []
    for i, s in enumerate(p.delete, 1):
        lines.append(f"{i}. {s.name} ({s.region}, {s.kind}, {s.status})")
        lines += [f"     {kind:<40} {physical}" for kind, physical in resources.get(s.name, [])]
    lines += [f"KEPT {s.name} ({s.region}): {why}" for s, why in p.refused]
    return lines


def run(session: Any, env: str, expected: set[str], regions: list[str] | None, yes: bool, out=print,
        delay: int = 15, homes: dict[str, str] | None = None) -> int:
    scan = regions or enabled_regions(session)
    p = plan(deployed_stacks(session, scan), expected, env, homes)
    if not p.delete and not p.refused:
        out(f"Nothing to prune: every deployed stack of '{env}' in {len(scan)} regions is in the app.")
        return 0
    out(f"Stacks of '{env}' deployed but no longer in the app (delete order):")
    for line in report(p, {s.name: stack_resources(session, s) for s in p.delete}):
        out(line)
    if not yes:
        out("Dry run: nothing deleted. Run `make prune ENV=%s PRUNE=yes` (or --yes) to delete them." % env)
        return 1 if p.refused else 0
    for s in p.delete:
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
    args = parser.parse_args(argv)
    import boto3
    from federated_eks.config import ConfigError

    try:
        expected = expected_stacks(args.env)
        homes = home_regions(args.env)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    regions = [r for r in args.regions.split(",") if r]
    try:
        return run(boto3.Session(), args.env, expected, regions or None, args.yes, homes=homes)
    except (BotoCoreError, ClientError) as err:  # no credentials, no permission, no network
        print(f"federated-eks prune: {err}. Fix: run with credentials of the environment's account that may "
              "describe regions and describe, list and delete CloudFormation stacks.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
