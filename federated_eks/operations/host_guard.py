"""Host guard: before `make deploy` (the Makefile's deploy target; `make diff` does not run it), compare the KubeFed
host the environment has deployed with the one the config names, and stop a move that one deploy cannot make.

    python -m federated_eks.operations.host_guard --env prod [--cdk-json PATH]     (make deploy runs it first)

Synth is offline, so the config check cannot see what is deployed: a `hostCluster` moved to another region without
`previousHostCluster` would make `cdk deploy` create a second federation stack of the same name in the new region
(CloudFormation stacks are regional) while the old one keeps running KubeFed, with every cluster still joined to it.
Within a region, a move without `previousHostCluster` keeps the logical ids of the KubeFed releases and workload
manifests with a new ServiceToken, which CloudFormation refuses ("Modifying service token is not allowed").

The guard reads the federation stacks of the environment (tags `fedeks:environment`, `fedeks:kind`: federation,
`fedeks:host-cluster`; federated_eks/plan/stack_tags.py) in the regions the config uses, and refuses, naming the steps:
- a federation stack of the environment in another region than the new host's;
- a deployed host other than `hostCluster` while `previousHostCluster` does not name it.
The decision is pure (`problems`); the AWS calls are prune's (`deployed_stacks`, boto3 default credential chain).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import FederationConfig
from federated_eks.operations.prune import DeployedStack, deployed_stacks, of_environment
from federated_eks.plan import topology
from federated_eks.plan.stack_tags import HOST_TAG, KIND_TAG

ROOT = Path(__file__).resolve().parents[2]


def regions_of(cfg: FederationConfig) -> list[str]:
    """Where a federation stack of `cfg` can be: the region of any cluster of the config (the host was one of them)."""
    return sorted({c.region for c in cfg.clusters})


def problems(deployed: list[DeployedStack], cfg: FederationConfig) -> list[str]:
    """Why deploying `cfg` over `deployed` (the stacks found in `regions_of(cfg)`) would fail or leave KubeFed behind."""
    env, host = cfg.env_name, cfg.host
    out = []
    for s in of_environment(deployed, env):
        if s.tags.get(KIND_TAG) != topology.FEDERATION_STACK or (s.account and s.account != cfg.account):
            continue
        old = s.tags.get(HOST_TAG, "")
        if s.region != host.region:
            out.append(
                f"environments.{env}.hostCluster: {host.name!r} is in {host.region}, but the KubeFed control plane of "
                f"{env!r} runs on {old!r} in {s.region} (stack {s.name}); one deploy cannot move it across regions (a "
                f"second {s.name} would be created in {host.region} while the first keeps every cluster joined). "
                f"Fix: 1) set hostCluster back to {old!r} and `npx cdk destroy {s.name} -c env={env}` (unjoins every "
                f"cluster, uninstalls KubeFed in {s.region}); 2) set hostCluster to {host.name!r}, without "
                f"previousHostCluster, and `make deploy`; 3) `make prune ENV={env}` lists anything left")
        elif old and old != host.name and cfg.previous_host_cluster != old:
            out.append(
                f"environments.{env}.previousHostCluster: the deployed KubeFed control plane runs on {old!r} (stack "
                f"{s.name}) and hostCluster is now {host.name!r}; without previousHostCluster {old!r} the update keeps "
                "the releases' logical ids with the new host's ServiceToken, which CloudFormation refuses. "
                f"Fix: set previousHostCluster to {old!r} for this deploy (and keep it)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refuse a KubeFed host move one deploy cannot make.")
    parser.add_argument("--env", required=True)
    parser.add_argument("--cdk-json", default=str(ROOT / "cdk.json"), help="the project's cdk.json")
    args = parser.parse_args(argv)
    try:
        cfg = load_environment(json.loads(Path(args.cdk_json).read_text())["context"].get("environments"), args.env)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    import boto3

    try:
        found = problems(deployed_stacks(boto3.Session(), regions_of(cfg)), cfg)
    except (BotoCoreError, ClientError) as err:  # no credentials, no permission, no network
        print(f"federated-eks host guard: {err}. Fix: run with credentials of the environment's account that may "
              "describe CloudFormation stacks (the deploy needs them too).", file=sys.stderr)
        return 2
    for p in found:
        print(f"federated-eks host guard: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
