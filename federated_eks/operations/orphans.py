"""Warn when a synth drops stacks the previous synth of the same environment had (they would stay deployed).

    python -m federated_eks.operations.orphans PREVIOUS_MANIFEST NEW_MANIFEST --env dev

`make synth` and `make diff` copy cdk.out/manifest.json aside before the CLI overwrites it, then run this. Stacks
are matched to the environment by their `fedeks:environment` tag in the manifest, so a previous synth of another
environment (or of the pipeline) never triggers the warning. It only warns: `make prune` deletes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from federated_eks.plan.stack_tags import APP, APP_TAG, ENVIRONMENT_TAG

STACK = "aws:cloudformation:stack"


def environment_stacks(manifest: dict, env: str) -> set[str]:
    """Stack names of `env` in a cloud assembly manifest (top level; the pipeline's stages are nested assemblies)."""
    out = set()
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") != STACK:
            continue
        props = artifact.get("properties", {})
        tags = props.get("tags", {})
        if tags.get(APP_TAG) == APP and tags.get(ENVIRONMENT_TAG) == env:
            out.add(props.get("stackName", artifact.get("displayName", "")))
    return out


def orphaned(previous: dict, new: dict, env: str) -> list[str]:
    return sorted(environment_stacks(previous, env) - environment_stacks(new, env))


def warning(stacks: list[str], env: str) -> str:
    lines = [f"WARNING: the previous synth of '{env}' had {len(stacks)} stack(s) this one does not. CDK will not "
             "delete them; once deployed they keep running (and billing):"]
    lines += [f"  - {s}" for s in stacks]
    lines.append(f"After `make deploy ENV={env}`, list them with `make prune ENV={env}` and delete them with "
                 f"`make prune ENV={env} PRUNE=yes`.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("previous")
    parser.add_argument("new")
    parser.add_argument("--env", required=True)
    args = parser.parse_args(argv)
    previous, new = Path(args.previous), Path(args.new)
    if not previous.is_file() or previous.stat().st_size == 0 or not new.is_file():
        return 0  # no previous synth: nothing to compare
    stacks = orphaned(json.loads(previous.read_text()), json.loads(new.read_text()), args.env)
    if stacks:
        print(warning(stacks, args.env), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
