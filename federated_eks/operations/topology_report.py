"""`make topology`: the picture of one environment of cdk.json (federated_eks/plan/diagram.py) and every connectivity
mode at the sizes the docs show (operations/scale.py), printed.

    python -m federated_eks.operations.topology_report --env dev [--cdk-json PATH]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.operations import scale
from federated_eks.plan.diagram import render

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--cdk-json", default=str(ROOT / "cdk.json"))
    args = parser.parse_args(argv)
    environments = json.loads(Path(args.cdk_json).read_text())["context"].get("environments")
    try:
        cfg = load_environment(environments, args.env)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    sys.stdout.write(render(cfg) + "\n" + scale.section(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
