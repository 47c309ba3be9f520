"""`python -m rehearsal --env NAME` (synthesize, then play) or `python -m rehearsal --assembly DIR` (play).

With `--then NAME` (or `--then-assembly DIR`): create everything of the first, deploy the second over it as
`cdk deploy --all` does (CloudFormation's stack updates), then delete the second's stacks and the first's stacks the
second no longer has (as `make prune` does).

Exit status 0: every stack was created and deleted; 1: the rehearsal stopped at a failure (printed with the
stack, the resource, the Kubernetes object and the fix); 2: bad usage, the synth failed, or the rehearsal itself
broke (an internal error, said in one line; FEDEKS_DEBUG=1 shows the traceback).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from rehearsal.cloudformation import Player, Summary, read_assembly
from rehearsal.world import Kubernetes, RehearsalFailure

ROOT = Path(__file__).resolve().parents[1]


def emulated_kubernetes(workdir: Path) -> Kubernetes:
    """The Kubernetes side: one strict emulated API server per EKS cluster (rehearsal/kubernetes/)."""
    from rehearsal.kubernetes import EmulatedKubernetes  # the Kubernetes side's entry point

    return EmulatedKubernetes(workdir)


def synthesize(env: str, outdir: Path) -> None:
    """`cdk synth` of environment `env` into `outdir`, as `make synth` runs it (the repo's cdk.json and context)."""
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    command = [str(cdk), "synth", "--quiet", "--no-notices", "-c", f"env={env}", "-o", str(outdir)]
    path = os.pathsep.join([str(Path(sys.executable).parent), str(ROOT / "node_modules" / ".bin"),
                            os.environ.get("PATH", "")])
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "PATH": path}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"rehearsal: the synth of environment {env!r} failed:\n{done.stderr.strip()}")


def describe(failure: RehearsalFailure) -> str:
    lines = [f"REHEARSAL FAILED: {failure}"]
    for label, value in (("stack", failure.stack), ("resource", failure.resource),
                         ("kubernetes object", failure.kubernetes_object), ("fix", failure.fix)):
        if value:
            lines.append(f"  {label + ':':<19}{value}")
    return "\n".join(lines)


def describe_summary(summary: Summary, wall_seconds: float) -> str:
    def minutes(seconds: float) -> str:
        return f"{int(seconds) // 60} min {int(seconds) % 60:02d} s"

    return (f"rehearsal passed: {summary.created} resources created, "
            f"{f'{summary.updated} updated, ' if summary.updated else ''}{summary.deleted} deleted"
            f"{f' ({summary.retained} retained by DeletionPolicy)' if summary.retained else ''}; virtual time "
            f"{minutes(summary.virtual_seconds)} played one at a time, about {minutes(summary.estimated_seconds)} "
            f"with CloudFormation's parallelism; {wall_seconds:.1f} s here")


def rehearse(assembly: Path, kubernetes: Kubernetes, out: Callable[[str], None] = print,
             then: Path | None = None, hosted_zones: dict[str, str] | None = None) -> Summary:
    """Play the cloud assembly at `assembly`: create every stack, then delete them (with `then`: deploy that
    assembly over them first); raises RehearsalFailure. `hosted_zones`: zone id -> its domain, the zones of the
    account as they are (others are named after the records asked of them: rehearsal/route53.py)."""
    from rehearsal.route53 import HostedZone, fqdn

    player = Player(read_assembly(assembly), kubernetes, out)
    for zone_id, domain in (hosted_zones or {}).items():
        player.aws.hosted_zones.zones[zone_id] = HostedZone(zone_id, fqdn(domain))
    return player.play() if then is None else player.play_update(read_assembly(then))


def main(argv: list[str] | None = None,
         kubernetes_side: Callable[[Path], Kubernetes] = emulated_kubernetes) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--env", help="environment of cdk.json to synthesize, then play")
    where.add_argument("--assembly", type=Path, help="a synthesized cloud assembly (cdk.out) to play")
    then = parser.add_mutually_exclusive_group()
    then.add_argument("--then", help="then deploy this environment over it (an update rehearsal)")
    then.add_argument("--then-assembly", type=Path, help="then deploy this cloud assembly over it")
    parser.add_argument("--hosted-zone", action="append", default=[], metavar="ID=DOMAIN",
                        help="a Route 53 hosted zone of the account, by id and domain (repeatable): the records of "
                             "workloads with `dns` must lie in it")
    args = parser.parse_args(argv)
    zones = dict(z.split("=", 1) for z in args.hosted_zone if "=" in z)
    if len(zones) != len(args.hosted_zone):
        parser.error("--hosted-zone takes ID=DOMAIN, e.g. Z0123456789ABCDEFGHIJ=example.com")
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="fedeks-rehearsal-"))
    try:
        assembly = args.assembly
        if args.env:
            assembly = scratch / "cdk.out"
            print(f"rehearsal: synthesizing environment {args.env!r} into {assembly}", flush=True)
            synthesize(args.env, assembly)
        then_assembly = args.then_assembly
        if args.then:
            then_assembly = scratch / "cdk.out.then"
            print(f"rehearsal: synthesizing environment {args.then!r} into {then_assembly}", flush=True)
            synthesize(args.then, then_assembly)
        for folder in filter(None, (assembly, then_assembly)):
            if not (folder / "manifest.json").exists():
                print(f"rehearsal: {str(folder)!r} is no cloud assembly (no manifest.json)", file=sys.stderr)
                return 2
        kubernetes = kubernetes_side(scratch / "kubernetes")
        try:
            summary = rehearse(assembly, kubernetes, lambda line: print(line, flush=True), then_assembly, zones)
        except RehearsalFailure as failure:
            print(describe(failure), flush=True)
            return 1
        except Exception as error:  # noqa: BLE001 - one line instead of a traceback; FEDEKS_DEBUG=1 shows it
            if os.environ.get("FEDEKS_DEBUG"):
                raise
            print(f"rehearsal: internal error after the last step printed: {type(error).__name__}: {error} "
                  "(FEDEKS_DEBUG=1 shows the traceback; please report it)", file=sys.stderr, flush=True)
            return 2
        finally:
            close = getattr(kubernetes, "close", None)
            if close is not None:
                close()
        print(describe_summary(summary, time.monotonic() - started))
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
