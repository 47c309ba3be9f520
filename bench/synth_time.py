#!/usr/bin/env python3
"""Benchmark: the whole `cdk synth` of an environment against a bare aws-cdk-lib app with the same number
of empty stacks, in one run, through the same CLI. Also reports the join Lambda's zipped size.

    .venv/bin/python bench/synth_time.py [--env dev] [--runs 3] [--sizes 2,16,40,100] [--modes mesh,hub,...]

The bare app runs CDK's built-in template validation (cheap on empty stacks); the federation skips it
unless `-c validate=true`, and that variant is timed too. Both apps are timed alternately (warm caches
for both), and the median of each is compared.
Target: the federation's synth at most 1.5x the bare app's.

`--sizes` adds a row per connectivity mode and size (a project of its own: this app, the environment's settings, N
clusters spread round-robin over the 17 regions of federated_eks/deploy_time.SCALE_REGIONS, with the quotas raised as
far as AWS allows), timed alternately with the environment in the same run. A mode this version's config does not
accept (e.g. a mode added later), or a size its config check refuses, gets a row saying so and is not synthesized.
Targets: 16 clusters at most 3x the environment; 100 clusters over 17 regions (transitGateway) at most 3x.
With `--sizes`, a floor row too: a bare app with a stack per cluster holding only aws-cdk-lib's VPC, EKS cluster and
load-balancer controller (FLOOR_APP), at the largest size: what any app built on those constructs pays.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
sys.path.insert(0, str(ROOT))
# The quotas of the scale rows: AWS's maximums where it states one, else as many as the layout asks (model.QuotasConfig).
RAISED_QUOTAS = {"routesPerRouteTable": 1000, "peeringsPerVpc": 125, "rulesPerSecurityGroup": 500,
                 "vpcsPerRegion": 1000, "elasticIpsPerRegion": 1000, "natGatewaysPerAz": 1000,
                 "eksClustersPerRegion": 1000}

# The floor of a scale row: a bare app with, per cluster, a stack of only what aws-cdk-lib builds for a cluster stack of
# the scaled environment (its VPC, the EKS cluster with a kubectl handler, the load-balancer controller its
# hello-world Service asks for): no peering, no join, no workload. What the federation adds is the rest.
FLOOR_APP = """
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2, aws_eks_v2 as eks
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer
app = cdk.App(context={{"availability-zones:account=123456789012:region=us-east-1": ["us-east-1a", "us-east-1b",
                                                                                   "us-east-1c"]}})
for i in range({count}):
    s = cdk.Stack(app, f"Cluster{{i}}", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(s, "Vpc", max_azs=3, nat_gateways=1)
    cluster = eks.Cluster(s, "Cluster", version=eks.KubernetesVersion.V1_35, vpc=vpc, default_capacity=0,
                          default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
                          kubectl_provider_options=eks.KubectlProviderOptions(kubectl_layer=KubectlV35Layer(s, "L")))
    eks.AlbController(s, "Alb", cluster=cluster, version=eks.AlbControllerVersion.V3_2_2)
app.synth()
"""

BARE_APP = """
import aws_cdk as cdk
app = cdk.App()
for i in range({count}):
    cdk.Stack(app, f"Empty{{i}}", env=cdk.Environment(account="123456789012", region="us-east-1"))
app.synth()
"""


def run_cdk(args: list[str], cwd: Path, outdir: Path) -> float:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}", "CDK_DISABLE_VERSION_CHECK": "1"}
    start = time.perf_counter()
    subprocess.run([CDK, "synth", "--quiet", "--no-notices", "-o", str(outdir), *args], cwd=cwd, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def scaled_environment(raw_env: dict, mode: str, clusters: int) -> dict:
    """The environment `raw_env` with `clusters` clusters over deploy_time.SCALE_REGIONS (round-robin; the first is the
    host, with the bastion), in `mode`, quotas raised (RAISED_QUOTAS)."""
    from federated_eks.plan.deploy_time import SCALE_REGIONS
    raw = dict(raw_env)
    raw["clusters"] = [{"name": f"fed-{i + 1}", "region": SCALE_REGIONS[i % len(SCALE_REGIONS)],
                        "cidr": f"10.{i}.0.0/16"} for i in range(clusters)]
    raw["hostCluster"] = "fed-1"
    raw.pop("previousHostCluster", None)
    raw["bastion"] = {**raw["bastion"], "region": SCALE_REGIONS[0], "cidr": "172.20.0.0/16"}
    raw["peeringTopology"] = mode
    raw["quotas"] = {**raw.get("quotas", {}), **RAISED_QUOTAS}
    return raw  # its workloads stay (they name fed-1 and fed-2, which every size has)


def refusal(env: str, raw: dict) -> str | None:
    """What the config check says of `raw` (None: accepted)."""
    from federated_eks.config.reader import ConfigError, load_environment
    try:
        load_environment({env: raw}, env)
    except ConfigError as err:
        return "; ".join(err.problems)
    return None


def scaled_project(root: Path, env: str, raw: dict, account: str) -> Path:
    """A project directory running this app with only `env` = `raw`, and AZ lookups for every region it uses (those
    cdk.context.json lacks get three AZs named as AWS names them, `<region>a` to `c`)."""
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    context = json.loads((ROOT / "cdk.context.json").read_text())
    for region in {c["region"] for c in raw["clusters"]} | {raw["bastion"]["region"]}:
        context.setdefault(f"availability-zones:account={account}:region={region}", [f"{region}{z}" for z in "abc"])
    # cdk.json's own command (with its interpreter flags), at this checkout's absolute paths.
    cdk_json["app"] = cdk_json["app"].replace(".venv/bin/python", str(ROOT / ".venv" / "bin" / "python")).replace(
        " app.py", f" {ROOT / 'app.py'}")
    cdk_json["context"]["environments"] = {env: raw}
    root.mkdir()
    (root / "cdk.json").write_text(json.dumps(cdk_json))
    (root / "cdk.context.json").write_text(json.dumps(context))
    return root


def zipped_size(directory: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "code.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(directory))
        return target.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="", help="comma-separated cluster counts to time per mode, e.g. 2,16,40,100")
    parser.add_argument("--modes", default="mesh,hub,transitGateway", help="connectivity modes of the --sizes rows")
    parser.add_argument("--clusters", type=int, default=0, help="(older form) one size: --sizes N --modes mesh")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",") if n] or ([args.clusters] if args.clusters else [])
    modes = [m for m in args.modes.split(",") if m] if args.sizes else ["mesh"]
    raw_env = json.loads((ROOT / "cdk.json").read_text())["context"]["environments"][args.env]

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        run_cdk(["-c", f"env={args.env}"], ROOT, tmp_path / "probe")  # warm-up, and count the stacks
        manifest = json.loads((tmp_path / "probe" / "manifest.json").read_text())
        stacks = [k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"]
        bare_dir = tmp_path / "bare"
        bare_dir.mkdir()
        (bare_dir / "app.py").write_text(BARE_APP.format(count=len(stacks)))
        bare_args = ["--app", f"{ROOT / '.venv' / 'bin' / 'python'} app.py"]
        run_cdk(bare_args, bare_dir, tmp_path / "bare-warm")

        rows: dict[tuple[str, int], list[float]] = {}
        refused: dict[tuple[str, int], str] = {}
        projects: dict[tuple[str, int], Path] = {}
        for mode in modes:
            for n in sizes:
                raw = scaled_environment(raw_env, mode, n)
                why = refusal(args.env, raw)
                if why is not None:
                    refused[mode, n] = why
                    continue
                projects[mode, n] = scaled_project(tmp_path / f"{mode}-{n}", args.env, raw, raw_env["account"])
                run_cdk(["-c", f"env={args.env}"], projects[mode, n], tmp_path / f"{mode}-{n}-warm")
                rows[mode, n] = []
        floor_dir, floor = None, []
        if sizes:  # the floor of the largest row
            floor_dir = tmp_path / "floor"
            floor_dir.mkdir()
            (floor_dir / "app.py").write_text(FLOOR_APP.format(count=max(sizes)))
            run_cdk(bare_args, floor_dir, tmp_path / "floor-warm")
        fed, bare, validated = [], [], []
        for i in range(args.runs):
            for key, project in projects.items():  # interleaved with the others: the machine's load hits all alike
                rows[key].append(run_cdk(["-c", f"env={args.env}"], project, tmp_path / f"{key[0]}-{key[1]}-{i}"))
            # A fresh output directory each time: every run bundles and stages its assets, as a clean synth does.
            if floor_dir is not None:
                floor.append(run_cdk(bare_args, floor_dir, tmp_path / f"floor-{i}"))
            fed.append(run_cdk(["-c", f"env={args.env}"], ROOT, tmp_path / f"fed-{i}"))
            bare.append(run_cdk(bare_args, bare_dir, tmp_path / f"bare-{i}"))
            validated.append(run_cdk(["-c", f"env={args.env}", "-c", "validate=true"], ROOT, tmp_path / f"val-{i}"))

        asset = next(p for p in (tmp_path / "fed-0").glob("asset.*")
                     if p.is_dir() and (p / "components/kubefed_join/runtime/handler.py").exists())
        size = zipped_size(asset)

    fed_s, bare_s = statistics.median(fed), statistics.median(bare)
    print(f"environment {args.env}: {len(stacks)} stacks, {args.runs} runs each")
    print(f"federation synth: median {fed_s:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in fed)})")
    print(f"bare app synth:   median {bare_s:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in bare)})")
    print(f"ratio: {fed_s / bare_s:.2f}x (target <= 1.5x)")
    val_s = statistics.median(validated)
    print(f"with -c validate=true (CDK's template validation): median {val_s:.2f} s, {val_s / bare_s:.2f}x")
    if sizes:
        print(f"\n| mode | clusters | synth, median s | runs, s | x {args.env} (same run) |")
        print("|---|---|---|---|---|")
    for mode in modes:
        for n in sizes:
            if (mode, n) in refused:
                print(f"| {mode} | {n} | - | - | refused by the config check: {refused[mode, n][:160]} |")
                continue
            times = rows[mode, n]
            median = statistics.median(times)
            print(f"| {mode} | {n} | {median:.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
                  f"{median / fed_s:.2f}x (target <= 3x) |")
    if floor:
        median = statistics.median(floor)
        print(f"| floor: aws-cdk-lib's VPC, EKS cluster and load-balancer controller only, a stack each | {max(sizes)} | "
              f"{median:.2f} | {', '.join(f'{t:.2f}' for t in floor)} | {median / fed_s:.2f}x |")
    print(f"join Lambda package: {size / 1024 / 1024:.1f} MiB zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
