"""The app as users run it: the AZ preflight, `python app.py` on its own, stale validation reports, and CDK's errors
as one line through the real CDK CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fedtest import CONTEXT, ENVIRONMENTS, LOOKUPS, ROOT, environment, write_project
from federated_eks.operations import preflight
from federated_eks.config.reader import load_environment

CDK = str(ROOT / "node_modules" / ".bin" / "cdk")
CLI_ENV = {"PATH": f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:/usr/bin:/bin",
           "AWS_EC2_METADATA_DISABLED": "true", "CDK_DISABLE_VERSION_CHECK": "1"}
# A failing report as aws-cdk-lib writes it (annotations as errors), left by an earlier synth.
STALE_REPORT = {"version": "55.0.0", "title": "Validation Report", "pluginReports": [{
    "pluginName": "Construct Annotations", "conclusion": "failure", "metadata": {"cdk:annotations": "true"},
    "violations": [{"ruleName": "Annotation::error-annotation", "severity": "error", "ruleMetadata": {},
                    "description": "Need to perform AWS calls for account 111111111111, but no credentials have "
                                   "been configured",
                    "violatingConstructs": [{"constructPath": "fedeks-dev-bastion", "constructFqn": "aws-cdk-lib.Stack",
                                             "libraryVersion": "2.275.0", "stackTraces": []}]}]}]}


def run_app(tmp_path: Path, raw: dict, **context) -> subprocess.CompletedProcess:
    """app.py as the CLI runs it: context (feature flags, committed lookups, this environment) and outdir given."""
    env = {"CDK_CONTEXT_JSON": json.dumps({**CONTEXT, "environments": {"dev": raw}, "env": "dev", **context}),
           "CDK_OUTDIR": str(tmp_path), "PATH": str(ROOT / ".venv" / "bin")}
    return subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)


def with_region(region: str) -> dict:
    raw = environment(2)
    raw["clusters"][1]["region"] = region
    return raw


def test_missing_az_lookups_are_named_before_anything_is_built(tmp_path):
    raw = with_region("sa-east-1")  # not in the committed cdk.context.json
    run = run_app(tmp_path, raw)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (
        "federated-eks: cdk.context.json has no availability zones of account 123456789012 in sa-east-1, so synth "
        "would need AWS calls. Fix: run `make context ENV=dev` once with AWS credentials for account 123456789012 "
        "(CDK looks the zones up and records them in cdk.context.json), then commit cdk.context.json; synth then "
        "needs no credentials.")
    assert not list(tmp_path.iterdir())


def test_make_context_lets_cdk_record_the_lookups_the_cli_then_does(tmp_path):
    """`make context` passes -c lookups=true: the app builds, and the cloud assembly lists the lookup as missing,
    which is what makes the CDK CLI call AWS (with credentials) and write cdk.context.json."""
    run = run_app(tmp_path, with_region("sa-east-1"), lookups="true")
    assert run.returncode == 0, run.stderr
    missing = json.loads((tmp_path / "manifest.json").read_text()).get("missing", [])
    assert [(m["key"], m["provider"]) for m in missing] == [
        (preflight.az_context_key("123456789012", "sa-east-1"), "availability-zones")]


def test_preflight_lists_every_region_of_the_environment():
    cfg = load_environment({"t": with_region("sa-east-1")}, "t")
    assert preflight.regions(cfg) == ["sa-east-1", "us-east-1"]
    assert preflight.missing_az_lookups(cfg, LOOKUPS.get) == [("123456789012", "sa-east-1")]
    prod = load_environment(ENVIRONMENTS, "prod")
    assert preflight.missing_az_lookups(prod, LOOKUPS.get) == []


def test_python_app_py_reads_cdk_json_itself_and_removes_a_stale_report(tmp_path):
    """Run as `python app.py -c env=dev` in a project directory, without the CLI."""
    write_project(tmp_path, {"dev": environment(2)})
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "validation-report.json").write_text(json.dumps(STALE_REPORT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "-c", "env=dev"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip().splitlines()[-1] == \
        f"federated-eks: synthesized environment 'dev' into {tmp_path / 'cdk.out'}"
    assert (tmp_path / "cdk.out" / "fedeks-dev-federation.template.json").exists()
    assert not (tmp_path / "cdk.out" / "validation-report.json").exists()
    bad = subprocess.run([sys.executable, str(ROOT / "app.py"), "--env", "dev"], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "usage: python app.py [-c KEY=VALUE ...]" in bad.stderr


def test_a_cdk_error_at_synth_is_one_line_through_the_real_cli(tmp_path):
    """CloudFormation's resource limit, lowered through context, makes aws-cdk-lib itself fail the synth
    (TooManyResourcesInStack): the user sees one line, no Python or JavaScript trace."""
    run = subprocess.run([CDK, "synth", "--quiet", "--no-notices", "-c", "env=dev", "-c",
                          "@aws-cdk/core:stackResourceLimit=30", "-o", str(tmp_path / "out")],
                         cwd=write_project(tmp_path / "project", {"dev": ENVIRONMENTS["dev"]}), env={**CLI_ENV, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr and "    at " not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("federated-eks:")]
    assert len(lines) == 1
    assert lines[0].startswith("federated-eks: synth of environment 'dev' failed, CDK refused the app: "
                               "TooManyResourcesInStack: Number of resources in stack 'fedeks-dev-")
    assert lines[0].endswith("(FEDEKS_DEBUG=1 shows the traceback; a limit the config checks should know: please "
                             "report it)")


def test_acknowledgments_are_recorded_only_for_the_validation_plugins_and_never_change_a_template(tmp_path):
    """A plain synth skips the acknowledgments (components/compliance.py: only cdk-nag and CDK's validation read
    them); `-c nag=true` records them. The templates are the same either way, and the recording is back on after
    cli.main, for whatever builds an app next in the same process."""
    from components import compliance

    plain, nagged = tmp_path / "plain", tmp_path / "nag"
    assert run_app(plain, environment(2)).returncode == 0
    run = run_app(nagged, environment(2), nag="true")
    assert run.returncode == 0, run.stderr
    for name in sorted(p.name for p in plain.glob("*.template.json")):
        assert (plain / name).read_bytes() == (nagged / name).read_bytes(), name
    metadata = {d.name: "".join(p.read_text() for p in d.glob("*.metadata.json")) for d in (plain, nagged)}
    assert compliance.ACKNOWLEDGED not in metadata["plain"] and compliance.ACKNOWLEDGED in metadata["nag"]

    import cli
    from federated_eks.config.reader import ConfigError

    def refusing_build(app, config):
        assert not compliance._recording  # a plain synth: off while building
        raise ConfigError(["environments.dev.workloads[0].manifests: refused. Fix: none"])

    assert cli.main(["-c", "env=dev"], refusing_build) == 1
    assert compliance._recording
