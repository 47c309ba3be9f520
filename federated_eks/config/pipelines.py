"""The delivery pipelines' config: `context.pipelines.<name>` of cdk.json, typed and validated.

`load_pipeline(pipelines, environments, name)` returns a `PipelineConfig` whose stages carry the validated
`FederationConfig` of their environments, or raises `ConfigError` listing every problem, each naming the field
(`pipelines.main.stages[1].environment`) and the fix, in the same words as the environments' own checks.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from federated_eks.config.fields import ACCOUNT, MISSING, ConfigError, Reader, aws_regions
from federated_eks.config.reader import load_environment
from federated_eks.model.pipeline import PipelineConfig, PipelineStage

# CodeConnections (formerly CodeStar Connections) connection ARNs; both service prefixes are still issued.
# Applied with fullmatch, as in config.py (`$` would accept a trailing newline).
_CONNECTION_ARN = re.compile(r"arn:aws:(codeconnections|codestar-connections):([a-z0-9-]+):([0-9]{12}):"
                             r"connection/[A-Za-z0-9-]{1,64}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_PIPELINE_NAME = re.compile(r"[a-z][a-z0-9-]{0,29}")


def branch_problem(branch: str) -> str | None:
    """Why `branch` is not a usable git branch name (the rules of `git check-ref-format --branch`), or None."""
    if not branch or branch.startswith(("-", "/")) or branch.endswith(("/", ".", ".lock")):
        return "must not be empty, start with '-' or '/', or end with '/', '.' or '.lock'"
    if ".." in branch or "//" in branch or "@{" in branch or branch == "@":
        return "must not contain '..', '//' or '@{'"
    if any(ord(c) < 0x20 or c in " ~^:?*[\\\x7f" for c in branch):
        return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
    return None


def load_pipeline(pipelines: Any, environments: Any, name: str) -> PipelineConfig:
    """Validate `pipelines[name]` and every environment its stages deploy."""
    if not isinstance(pipelines, dict) or not pipelines:
        raise ConfigError(["context.pipelines: is missing or empty. Fix: add a pipeline object to cdk.json under "
                           "context.pipelines (see docs/pipeline.md)"])
    if name not in pipelines:
        raise ConfigError([f"pipeline: unknown pipeline {name!r}. Fix: pass -c pipeline=NAME with one of: "
                           f"{', '.join(sorted(pipelines))}"])
    r = Reader()
    path = f"pipelines.{name}"
    if not _PIPELINE_NAME.fullmatch(name):
        r.problem(path, f"pipeline name {name!r} is not usable in stack names",
                  "use 1-30 lowercase letters, digits or '-', starting with a letter")
    d = r.obj(pipelines[name], path, ("account", "region", "source", "stages"))
    if d is None:
        raise ConfigError(r.problems)

    account = r.value(d, "account", path, str, MISSING, '"111111111111"')
    if account is not None and not ACCOUNT.fullmatch(account):
        r.problem(f"{path}.account", f"{account!r} is not an AWS account id", "use the 12 digits of the account")
        account = None
    region = r.value(d, "region", path, str, MISSING, '"us-east-1"')
    if region is not None and region not in aws_regions():
        r.problem(f"{path}.region", f"{region!r} is not a known AWS region", "use a region such as us-east-1")

    source = _read_source(r, d.get("source", MISSING), f"{path}.source", account)
    stages = _read_stages(r, d.get("stages", MISSING), f"{path}.stages", environments, account)
    if r.problems:
        raise ConfigError(r.problems)
    return PipelineConfig(name=name, account=account, region=region, stages=tuple(stages), **source)


def _read_source(r: Reader, raw: Any, path: str, account: str | None) -> dict[str, str]:
    if raw is MISSING:
        r.problem(path, "is required", 'set it, e.g. {"connectionArn": "arn:aws:codeconnections:...", '
                  '"repository": "org/federated-eks", "branch": "main"}')
        return {}
    d = r.obj(raw, path, ("connectionArn", "repository", "branch"))
    if d is None:
        return {}
    arn = r.value(d, "connectionArn", path, str, MISSING,
                  '"arn:aws:codeconnections:us-east-1:111111111111:connection/<id>"')
    match = _CONNECTION_ARN.fullmatch(arn) if arn is not None else None
    if arn is not None and not match:
        r.problem(f"{path}.connectionArn", f"{arn!r} is not a CodeConnections connection ARN",
                  "copy the ARN of an AVAILABLE connection from the console (Developer Tools > Settings > "
                  "Connections): arn:aws:codeconnections:<region>:<account>:connection/<id>")
    elif match and account and match.group(3) != account:
        r.problem(f"{path}.connectionArn", f"the connection is in account {match.group(3)}, not the pipeline's "
                  f"account {account}", "create the connection in the pipeline's account and use its ARN")
    repo = r.value(d, "repository", path, str, MISSING, '"org/federated-eks"')
    if repo is not None and not _REPOSITORY.fullmatch(repo):
        r.problem(f"{path}.repository", f"{repo!r} is not an owner/name repository id",
                  'write it like "org/federated-eks" (no URL, no .git)')
    branch = r.value(d, "branch", path, str, MISSING, '"main"')
    if branch is not None and (why := branch_problem(branch)):
        r.problem(f"{path}.branch", f"{branch!r} is not a valid branch name: it {why}", 'write it like "main"')
    return {"connection_arn": arn, "repository": repo, "branch": branch}


def _read_stages(r: Reader, raw: Any, path: str, environments: Any, account: str | None) -> list[PipelineStage]:
    if raw is MISSING or not isinstance(raw, list) or not raw:
        r.problem(path, "must be a non-empty list", 'list the environments in deploy order, e.g. '
                  '[{"environment": "dev"}, {"environment": "prod", "approval": true}]')
        return []
    known = sorted(environments) if isinstance(environments, dict) else []
    out, seen = [], set()
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        d = r.obj(item, p, ("environment", "approval", "trustsPipelineAccount"))
        if d is None:
            continue
        env = r.value(d, "environment", p, str, MISSING, '"dev"')
        approval = r.value(d, "approval", p, bool, False, "true")
        trusted = r.value(d, "trustsPipelineAccount", p, bool, False, "true")
        if env is None:
            continue
        if env not in known:
            r.problem(f"{p}.environment", f"unknown environment {env!r}",
                      f"use one of context.environments: {', '.join(known) or '(none defined)'}")
            continue
        if env in seen:
            r.problem(f"{p}.environment", f"{env!r} is deployed by an earlier stage too", "list each environment once")
            continue
        seen.add(env)
        try:
            cfg = load_environment(environments, env)
        except ConfigError as err:
            r.problems.extend(err.problems)
            continue
        if account and cfg.account != account and not trusted:
            r.problem(f"{p}.trustsPipelineAccount", f"environment {env!r} is in account {cfg.account}, not the "
                      f"pipeline's account {account}, and the config does not say it trusts the pipeline",
                      f"run `cdk bootstrap --trust {account} --cloudformation-execution-policies "
                      f"arn:aws:iam::aws:policy/AdministratorAccess aws://{cfg.account}/<region>` for every region "
                      f"of {env!r}, then set \"trustsPipelineAccount\": true")
        out.append(PipelineStage(config=cfg, approval=bool(approval), trusts_pipeline_account=bool(trusted)))
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m federated_eks.config.pipelines --environments NAME`: the environments pipeline NAME deploys, in order, one
    a line, after checking its config (make check-config loops over them)."""
    parser = argparse.ArgumentParser(description="The environments a pipeline of cdk.json deploys.")
    parser.add_argument("--environments", metavar="PIPELINE", required=True)
    parser.add_argument("--cdk-json", default=str(Path(__file__).resolve().parents[2] / "cdk.json"))
    args = parser.parse_args(argv)
    context = json.loads(Path(args.cdk_json).read_text()).get("context", {})
    try:
        cfg = load_pipeline(context.get("pipelines"), context.get("environments"), args.environments)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print("\n".join(s.config.env_name for s in cfg.stages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
