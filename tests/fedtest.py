"""Helpers shared by the synth tests: sample environments and an in-process synth with the repo's context."""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = json.loads((ROOT / "cdk.json").read_text())
# Feature flags and committed lookups (AZs), without the environments: tests bring their own.
CONTEXT = {k: v for k, v in CDK_JSON["context"].items() if k != "environments"}
CONTEXT.update(json.loads((ROOT / "cdk.context.json").read_text()))
CONTEXT["aws:cdk:enable-path-metadata"] = True  # as the CLI sets it: templates carry aws:cdk:path

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"]

# Every synth's cloud assembly goes below one folder per test process, removed when the process exits: a synth
# stages its assets (tens of MB), and a suite makes hundreds of them.
_SCRATCH = tempfile.TemporaryDirectory(prefix="fedeks-tests-")


def scratch_dir(prefix: str) -> str:
    """A new empty folder for a cloud assembly, removed with the test process."""
    return tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH.name)


def environment(clusters: int = 2, topology: str = "mesh", **overrides) -> dict:
    """A valid raw environment with `clusters` clusters, one per region in REGIONS order."""
    env = {
        "account": ACCOUNT,
        "hostCluster": "fed-1",
        "kubernetesVersion": "1.35",
        "bastion": {"region": "us-east-1", "cidr": "172.20.0.0/16"},
        "clusters": [{"name": f"fed-{i + 1}", "region": REGIONS[i % len(REGIONS)], "cidr": f"172.{21 + i}.0.0/16"}
                     for i in range(clusters)],
        "peeringTopology": topology,
    }
    env.update(copy.deepcopy(overrides))
    return env


def synth(raw: dict, name: str = "test", outdir: str | None = None):
    """Build the federation for `raw` in a fresh App; returns (stacks by name, cloud assembly)."""
    import app as federation_app
    from federated_eks.config import load_environment

    config = load_environment({name: raw}, name)
    cdk_app = cdk.App(outdir=outdir or scratch_dir("synth-"), context=CONTEXT)
    stacks = federation_app.build(cdk_app, config)
    assembly = cdk_app.synth()
    return stacks, assembly


def templates(stacks: dict) -> dict[str, Template]:
    return {name: Template.from_stack(stack) for name, stack in stacks.items()}


def resources(template: Template, cfn_type: str) -> dict[str, dict]:
    return template.find_resources(cfn_type)


def cluster_stacks(stacks: dict) -> dict:
    return {n: s for n, s in stacks.items() if "-cluster-" in n}
