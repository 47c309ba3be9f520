#!/usr/bin/env python3
"""Benchmark: the whole `cdk synth` of an environment against a bare aws-cdk-lib app with the same number
of empty stacks, in one run, through the same CLI. Also reports the join Lambda's zipped size.

    .venv/bin/python bench/synth_time.py [--env dev] [--runs 3]

The bare app runs CDK's built-in template validation (cheap on empty stacks); the federation skips it
unless `-c validate=true`, and that variant is timed too. Both apps are timed alternately (warm caches
for both), and the median of each is compared.
Target: the federation's synth at most 1.5x the bare app's.
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
    args = parser.parse_args()

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

        fed, bare, validated = [], [], []
        for i in range(args.runs):
            # A fresh output directory each time: every run bundles and stages its assets, as a clean synth does.
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
    print(f"join Lambda package: {size / 1024 / 1024:.1f} MiB zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
