"""Helpers shared by the synth tests: the tests' own environments and lookups, and an in-process synth.

The tests never read the adopter's config: `environments` and `pipelines` in cdk.json, and the lookups in
cdk.context.json, are the user's (a fork edits them; docs/adopting.md). The suite's configs live
in tests/fixtures/: environments.json (`dev` and `prod`, copies of the samples cdk.json ships), pipelines.json and
cdk.context.json (the availability zones of the fixtures' account). Of cdk.json the tests use only the project's
part: the app command and the feature flags.
"""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


_SHIPPED = json.loads((ROOT / "cdk.json").read_text())
# cdk.json without the user's part: its app command and its feature flags (context keys starting with "@").
CDK_JSON = {**{k: v for k, v in _SHIPPED.items() if k != "context"},
            "context": {k: v for k, v in _SHIPPED["context"].items() if k.startswith("@")}}
ENVIRONMENTS = _fixture("environments.json")  # the tests' `dev` and `prod`: shared, deep-copy before editing
PIPELINES = _fixture("pipelines.json")
LOOKUPS = _fixture("cdk.context.json")
# Feature flags and the fixtures' lookups (AZs): what the CLI would pass the app in a project of the tests' own.
CONTEXT = {**CDK_JSON["context"], **LOOKUPS}
CONTEXT["aws:cdk:enable-path-metadata"] = True  # as the CLI sets it: templates carry aws:cdk:path


def write_project(folder: Path, environments: dict, pipelines: dict | None = None) -> Path:
    """A CDK project of the tests' own in `folder`: a cdk.json running this repository's app with `environments`
    (and `pipelines`), beside the fixtures' cdk.context.json. Run the CDK CLI with cwd=folder."""
    folder.mkdir(parents=True, exist_ok=True)
    context = {**CDK_JSON["context"], "environments": environments,
               **({"pipelines": pipelines} if pipelines is not None else {})}
    cdk_json = {**CDK_JSON, "app": f"{ROOT / '.venv' / 'bin' / 'python'} {ROOT / 'app.py'}", "context": context}
    (folder / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    (folder / "cdk.context.json").write_text(json.dumps(LOOKUPS, indent=2))
    return folder


# What `make setup` makes, linked into a copy from this checkout (already set up: the suite runs after it).
SET_UP = (".venv", "node_modules", ".build")
_OLD = 946684800  # 2000-01-01: copies older than the set-up's stamps, so make reruns none of the set-up


def copy_project(folder: Path, environments: dict, pipelines: dict | None = None) -> Path:
    """The repository as a fork starts from (its committed files, `git ls-files`) in `folder`, set up by links to
    this checkout's SET_UP, with `environments` (and `pipelines`) in its cdk.json and the fixtures' lookups in its
    cdk.context.json. Run make with cwd=folder."""
    import os
    import shutil
    import subprocess

    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source, target = ROOT / name, folder / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            shutil.copymode(source, target)
            os.utime(target, (_OLD, _OLD))
    for name in SET_UP:
        if (ROOT / name).exists():
            (folder / name).symlink_to((ROOT / name).resolve(), target_is_directory=True)
    cdk_json = json.loads((folder / "cdk.json").read_text())
    context = {k: v for k, v in cdk_json["context"].items() if k not in ("environments", "pipelines")}
    context.update({"environments": environments, **({"pipelines": pipelines} if pipelines is not None else {})})
    (folder / "cdk.json").write_text(json.dumps({**cdk_json, "context": context}, indent=2))
    (folder / "cdk.context.json").write_text(json.dumps(LOOKUPS, indent=2))
    for name in ("cdk.json", "cdk.context.json"):
        os.utime(folder / name, (_OLD, _OLD))
    return folder

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
    from federated_eks.config.reader import load_environment

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
