"""Host guard: before `make deploy` (the Makefile's deploy target; `make diff` does not run it), compare the federation
the environment has deployed (its host, its engine) with the one the config names, and stop a change that one deploy
cannot make.

    python -m federated_eks.operations.host_guard --env prod [--cdk-json PATH]     (make deploy runs it first)

Synth is offline, so the config check cannot see what is deployed: a `hostCluster` moved to another region would
make `cdk deploy` create a second federation stack of the same name in the new region (CloudFormation stacks are
regional) while the old one keeps running the control plane, with every cluster still joined to it. Within a region,
a KubeFed host moved without `previousHostCluster` keeps the logical ids of the KubeFed releases and workload
manifests with a new ServiceToken, which CloudFormation refuses ("Modifying service token is not allowed"); a
Karmada host does not move in a deploy at all (its etcd volume stays on the old host; the config refuses
`previousHostCluster` with Karmada). A change of engine is refused by the engine guard on the host
(components/engine_guard.py), but only once CloudFormation runs the federation stack's update, after every other
stack's.

The guard reads the federation stacks of the environment (tags `fedeks:environment`, `fedeks:kind`: federation,
`fedeks:host-cluster`; federated_eks/plan/stack_tags.py) in the regions the config uses, and the engine each runs
(the join resources it holds: stack_tags.ENGINE_JOINS), and refuses, naming the steps
(federated_eks/plan/operator_commands.py, the text the engine guard and the config check give too):
- a deployed engine other than `engine`;
- a federation stack of the environment in another region than the new host's;
- a deployed Karmada host other than `hostCluster`;
- a deployed KubeFed host other than `hostCluster` while `previousHostCluster` does not name it.
The decision is pure (`problems`); the AWS calls are prune's (`deployed_stacks`, `stack_resources`, boto3 default
credential chain).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.model.federation import FederationConfig
from federated_eks.operations.prune import (DeployedStack, Key, deployed_engines, deployed_stacks, of_environment,
                                            stack_resources)
from federated_eks.plan import topology
from federated_eks.plan.operator_commands import (ENGINE_NAMES, cross_region_host_move, engine_change,
                                                  karmada_host_move)
from federated_eks.plan.stack_tags import HOST_TAG, KIND_TAG

ROOT = Path(__file__).resolve().parents[2]


def regions_of(cfg: FederationConfig) -> list[str]:
    """Where a federation stack of `cfg` can be: the region of any cluster of the config (the host was one of them)."""
    return sorted({c.region for c in cfg.clusters})


def problems(deployed: list[DeployedStack], cfg: FederationConfig,
             engines: dict[Key, set[str]] | None = None) -> list[str]:
    """Why deploying `cfg` over `deployed` (the stacks found in `regions_of(cfg)`) would fail or leave a control plane
    behind. `engines`: the engines whose joins each deployed federation stack holds (prune.deployed_engines; a stack
    missing there, or with none, is taken to run the configured engine)."""
    env, host = cfg.env_name, cfg.host
    out = []
    for s in of_environment(deployed, env):
        if s.tags.get(KIND_TAG) != topology.FEDERATION_STACK or (s.account and s.account != cfg.account):
            continue
        old = s.tags.get(HOST_TAG, "")
        found = sorted((engines or {}).get(s.key, set()))
        engine = found[0] if len(found) == 1 else cfg.engine
        name = ENGINE_NAMES[engine]
        if engine != cfg.engine:
            # The engine guard on the host would refuse it too, but only once CloudFormation runs the update.
            out.append(f"environments.{env}.engine: " + engine_change(env, s.name, engine, cfg.engine))
        elif s.region != host.region:
            out.append(
                f"environments.{env}.hostCluster: {host.name!r} is in {host.region}, but the {name} control plane of "
                f"{env!r} runs on {old!r} in {s.region} (stack {s.name}); one deploy cannot move it across regions (a "
                f"second {s.name} would be created in {host.region} while the first keeps every cluster joined). "
                "Fix: " + cross_region_host_move(env, s.name, old, engine, s.region, host.name, host.region))
        elif old and old != host.name and engine == "karmada":
            out.append(
                f"environments.{env}.hostCluster: the deployed Karmada control plane runs on {old!r} (stack {s.name}) "
                f"and hostCluster is now {host.name!r}; a Karmada host does not move in a deploy (its state, etcd, "
                "lives on a volume of the old host, and previousHostCluster is KubeFed's only). Fix: "
                + karmada_host_move(env, s.name, old))
        elif old and old != host.name and cfg.previous_host_cluster != old:
            out.append(
                f"environments.{env}.previousHostCluster: the deployed KubeFed control plane runs on {old!r} (stack "
                f"{s.name}) and hostCluster is now {host.name!r}; without previousHostCluster {old!r} the update keeps "
                "the releases' logical ids with the new host's ServiceToken, which CloudFormation refuses. "
                f"Fix: set previousHostCluster to {old!r} for this deploy (and keep it)")
    return out


def federation_engines(session: Any, deployed: list[DeployedStack], env: str) -> dict[Key, set[str]]:
    """The engines whose joins each deployed federation stack of `env` holds (its resources, as prune reads them)."""
    return {s.key: deployed_engines(stack_resources(session, s)) for s in of_environment(deployed, env)
            if s.tags.get(KIND_TAG) == topology.FEDERATION_STACK}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refuse a host move or an engine change one deploy cannot make.")
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
        session = boto3.Session()
        deployed = deployed_stacks(session, regions_of(cfg))
        found = problems(deployed, cfg, federation_engines(session, deployed, cfg.env_name))
    except (BotoCoreError, ClientError) as err:  # no credentials, no permission, no network
        print(f"federated-eks host guard: {err}. Fix: run with credentials of the environment's account that may "
              "describe CloudFormation stacks and list their resources (the deploy needs them too).", file=sys.stderr)
        return 2
    for p in found:
        print(f"federated-eks host guard: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
