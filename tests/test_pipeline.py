"""The delivery pipeline: config checks, the stages equal direct synths, approvals, ordering, compliance."""
from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import app as federation_app
import fedtest
from fedtest import CONTEXT, ROOT, copy_project, scratch_dir, synth, write_project
from federated_eks.config.reader import ConfigError
from federated_eks.config.pipelines import load_pipeline
from stacks.pipeline import CDK_ASSETS_VERSION, SYNTH_INSTALL, PipelineStack, connection_actions, synth_commands

ENVIRONMENTS = copy.deepcopy(fedtest.ENVIRONMENTS)
ENVIRONMENTS["prod"]["account"] = "222222222222"  # another account than the pipeline's
CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
PIPELINES = {"main": {"account": "123456789012", "region": "us-east-1",
                      "source": {"connectionArn": CONNECTION, "repository": "org/federated-eks", "branch": "main"},
                      "stages": [{"environment": "dev"},
                                 {"environment": "prod", "approval": True, "trustsPipelineAccount": True}]}}


def pipeline_app(pipelines=PIPELINES, outdir: str | None = None):
    cfg = load_pipeline(pipelines, ENVIRONMENTS, "main")
    app = cdk.App(outdir=outdir or scratch_dir("pipe-"), context=CONTEXT)
    stack = PipelineStack(app, "fedeks-pipeline-main", config=cfg, build=federation_app.build,
                          stage_context=CONTEXT, env=cdk.Environment(account=cfg.account, region=cfg.region))
    return app, stack


@pytest.fixture(scope="module")
def synthesized():
    app, stack = pipeline_app()
    assembly = app.synth()
    return app, stack, assembly


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_stage_deploys_exactly_the_stacks_and_templates_of_a_direct_synth(synthesized, env):
    _, stack, _ = synthesized
    staged = {a.stack_name: a for a in stack.stages[env].synth().stacks}
    _, direct_assembly = synth(ENVIRONMENTS[env], name=env)
    direct = {a.stack_name: a for a in direct_assembly.stacks}
    assert sorted(staged) == sorted(direct) and len(direct) >= 7
    for name, artifact in direct.items():
        other = staged[name]
        assert (other.environment.account, other.environment.region) == (artifact.environment.account,
                                                                         artifact.environment.region)
        assert other.tags == artifact.tags
        assert sorted(d.stack_name for d in other.dependencies if hasattr(d, "stack_name")) == \
            sorted(d.stack_name for d in artifact.dependencies if hasattr(d, "stack_name"))
        assert other.template == artifact.template, name
        assert Path(other.assembly.directory).name == f"assembly-fedeks-pipeline-main-{env}"


def codepipeline(stack) -> dict:
    (pipeline,) = Template.from_stack(stack).find_resources("AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]


def test_pipeline_is_self_mutating_tests_before_deploying_and_approves_prod(synthesized):
    _, stack, _ = synthesized
    stages = {s["Name"]: s["Actions"] for s in codepipeline(stack)["Stages"]}
    assert list(stages) == ["Source", "Build", "UpdatePipeline", "Assets", "dev", "prod"]
    approvals = {name: [a["Name"] for a in actions if a["ActionTypeId"]["Category"] == "Approval"]
                 for name, actions in stages.items()}
    assert approvals["dev"] == [] and approvals["prod"] == ["Approve-prod"]
    first = min(a["RunOrder"] for a in stages["prod"])
    assert [a["Name"] for a in stages["prod"] if a["RunOrder"] == first] == ["Approve-prod"]
    projects = Template.from_stack(stack).find_resources("AWS::CodeBuild::Project")
    specs = [json.loads(p["Properties"]["Source"]["BuildSpec"]) for p in projects.values()]
    synth_commands = [s["phases"]["build"]["commands"] for s in specs
                      if "make pipeline PIPELINE=main" in s["phases"]["build"].get("commands", [])]
    assert synth_commands == [["make check-config PIPELINE=main", "make test", "rm -rf cdk.out",
                                "make pipeline PIPELINE=main"]]


def test_every_codebuild_project_installs_the_pinned_cdk_cli_on_pinned_runtimes(synthesized):
    """Synth installs the CLI of package.json (exact version, locked in package-lock.json) with `make setup`;
    self-mutation installs that version; asset publishing a pinned cdk-assets. No `@2`, no `@latest`."""
    _, stack, _ = synthesized
    package = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"]["version"]
    assert package == locked and all(part.isdigit() for part in package.split("."))
    expected = {"synth": ["make setup"], "self-mutation": [f"npm install -g aws-cdk@{package}"],
                "assets": [f"npm install -g cdk-assets@{CDK_ASSETS_VERSION}"]}
    kinds = []
    for name, project in Template.from_stack(stack).find_resources("AWS::CodeBuild::Project").items():
        spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
        kind = ("synth" if "make pipeline PIPELINE=main" in spec["phases"]["build"]["commands"]
                else "self-mutation" if "SelfMutation" in name else "assets" if "Asset" in name else name)
        kinds.append(kind)
        install = spec["phases"]["install"]
        assert install["commands"] == expected[kind], name
        assert install["runtime-versions"] == {"python": "3.12", "nodejs": "22"}, name
        assert project["Properties"]["Environment"]["Image"] == "aws/codebuild/standard:7.0", name
    assert sorted(set(kinds)) == ["assets", "self-mutation", "synth"] and kinds.count("synth") == 1


def test_the_source_action_may_use_the_connection_under_the_arns_own_service_prefix(synthesized):
    """AWS: the service prefix of the IAM action must match the resource's (CodeConnections rename notes)."""
    _, stack, _ = synthesized
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    granted = {a for p in policies.values() for st in p["Properties"]["PolicyDocument"]["Statement"]
               if st.get("Resource") == CONNECTION
               for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert "codeconnections:UseConnection" in granted
    old = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
    assert connection_actions(old) == ["codestar-connections:UseConnection"]
    assert connection_actions(CONNECTION) == ["codeconnections:UseConnection"]


def test_stacks_of_one_level_deploy_in_parallel_across_regions(synthesized):
    _, stack, _ = synthesized
    (actions,) = [s["Actions"] for s in codepipeline(stack)["Stages"] if s["Name"] == "prod"]
    order = {a["Name"].split(".")[0]: a["RunOrder"] for a in actions if a["ActionTypeId"]["Category"] == "Deploy"}
    clusters = {order[f"fedeks-prod-cluster-{c}"] for c in ("fed-east", "fed-west", "fed-eu")}
    assert len(clusters) == 1 and clusters == {order["fedeks-prod-bastion"]}
    assert order["fedeks-prod-access"] < min(clusters)
    assert order["fedeks-prod-peering-us-east-1"] == order["fedeks-prod-peering-us-west-2"] > min(clusters)
    assert order["fedeks-prod-federation"] == max(order.values())
    assert len(order) == 10  # one action per stack (change sets off)


def test_cross_account_stages_get_an_artifact_key_and_same_account_pipelines_do_not(synthesized):
    _, stack, _ = synthesized
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 1)
    same = copy.deepcopy(PIPELINES)
    same["main"]["stages"] = [{"environment": "dev"}]
    _, single = pipeline_app(same)
    Template.from_stack(single).resource_count_is("AWS::KMS::Key", 0)


def test_the_pipeline_passes_cdk_nag_and_cfn_lint():
    from test_compliance import nag_findings

    outdir = scratch_dir("pipe-nag-")
    app, _ = pipeline_app(outdir=outdir)
    assert nag_findings(app, outdir) == []
    templates = [str(p) for p in Path(outdir).glob("*.template.json")]
    assert any("fedeks-pipeline-main" in t for t in templates) and any("cross-region-stack" in t for t in templates)
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable", *templates],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr


def problems(pipelines: dict, environments=ENVIRONMENTS, name: str = "main") -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_pipeline(pipelines, environments, name)
    return err.value.problems


def edited(**changes) -> dict:
    p = copy.deepcopy(PIPELINES)
    for key, value in changes.items():
        target = p["main"]
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return p


def test_config_errors_name_the_field_and_the_fix():
    assert problems(PIPELINES, name="nope") == [
        "pipeline: unknown pipeline 'nope'. Fix: pass -c pipeline=NAME with one of: main"]
    assert problems(edited(stages=[{"environment": "staging"}])) == [
        "pipelines.main.stages[0].environment: unknown environment 'staging'. Fix: use one of "
        "context.environments: dev, prod"]
    assert problems(edited(account="1234")) == [
        "pipelines.main.account: '1234' is not an AWS account id. Fix: use the 12 digits of the account"]
    # Whole values only: no prefix match, no trailing newline.
    assert problems(edited(account="1234567890123")) == [
        "pipelines.main.account: '1234567890123' is not an AWS account id. Fix: use the 12 digits of the account"]
    assert problems(edited(account="123456789012\n")) == [
        "pipelines.main.account: '123456789012\\n' is not an AWS account id. Fix: use the 12 digits of the account"]
    (arn,) = problems(edited(source__connectionArn="arn:aws:s3:::bucket"))
    assert arn.startswith("pipelines.main.source.connectionArn: 'arn:aws:s3:::bucket' is not a CodeConnections "
                          "connection ARN. Fix: copy the ARN")
    (other,) = problems(edited(source__connectionArn=CONNECTION.replace("123456789012", "999999999999")))
    assert "the connection is in account 999999999999, not the pipeline's account 123456789012" in other
    assert problems(edited(source__repository="https://github.com/org/repo.git")) == [
        "pipelines.main.source.repository: 'https://github.com/org/repo.git' is not an owner/name repository id. "
        'Fix: write it like "org/federated-eks" (no URL, no .git)']
    (branch,) = problems(edited(source__branch="feature..x"))
    assert branch.startswith("pipelines.main.source.branch: 'feature..x' is not a valid branch name")
    (trust,) = problems(edited(stages=[{"environment": "prod"}]))
    assert trust.startswith("pipelines.main.stages[0].trustsPipelineAccount: environment 'prod' is in account "
                            "222222222222, not the pipeline's account 123456789012")
    assert "cdk bootstrap --trust 123456789012" in trust
    assert problems(edited(stages=[{"environment": "dev"}, {"environment": "dev", "approval": "yes"}])) == [
        'pipelines.main.stages[1].approval: must be true or false, got a string. Fix: write it like true',
        "pipelines.main.stages[1].environment: 'dev' is deployed by an earlier stage too. Fix: list each "
        "environment once"]
    broken = copy.deepcopy(ENVIRONMENTS)
    broken["dev"]["account"] = "x"
    assert problems(PIPELINES, broken) == [
        "environments.dev.account: 'x' is not an AWS account id. Fix: use the 12 digits of the account"]


def test_cli_synth_of_the_sample_pipeline_and_a_clean_error(tmp_path):
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
           "CDK_DISABLE_VERSION_CHECK": "1"}
    cdk_bin = str(ROOT / "node_modules" / ".bin" / "cdk")
    project = write_project(tmp_path / "project", fedtest.ENVIRONMENTS, fedtest.PIPELINES)
    run = subprocess.run([cdk_bin, "synth", "--quiet", "--no-notices", "-c", "pipeline=main", "-o", str(tmp_path)],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    stacks = [k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"]
    assert "fedeks-pipeline-main" in stacks
    for name in ("dev", "prod"):  # each stage's own cloud assembly, inside the pipeline's
        stage = json.loads((tmp_path / f"assembly-fedeks-pipeline-main-{name}" / "manifest.json").read_text())
        assert f"fedeks-{name}-federation" in stage["artifacts"]
    bad = subprocess.run([cdk_bin, "synth", "--quiet", "--no-notices", "-c", "pipeline=nope", "-o",
                          str(tmp_path / "bad")], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "pipeline: unknown pipeline 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


# The project's own tests that used to read cdk.json's environments (its samples, the docs' topology): run inside
# the adopter's copy by the test below. The whole suite there would double the suite's time; every other test takes
# its configs from tests/fixtures the same way, and fedtest.CDK_JSON has no environments to read.
ADOPTER_TESTS = ("tests/test_diagram.py tests/test_quotas.py "
                 "tests/test_config.py::test_the_sample_environments_cdk_json_ships_are_valid")


def adopters_config() -> tuple[dict, dict]:
    """A platform team's own cdk.json: dev with its second cluster in another region and a third cluster, prod
    with two clusters in other regions, the sample pipeline."""
    environments = copy.deepcopy(fedtest.ENVIRONMENTS)
    dev = environments["dev"]
    dev["clusters"][1]["region"] = "eu-central-1"
    dev["clusters"].append({"name": "team-3", "region": "us-west-2", "cidr": "172.23.0.0/16"})
    prod = environments["prod"]
    prod["clusters"] = [{"name": "fed-east", "region": "us-east-1", "cidr": "10.11.0.0/16"},
                        {"name": "fed-ca", "region": "ca-central-1", "cidr": "10.14.0.0/16"}]
    return environments, copy.deepcopy(fedtest.PIPELINES)


def test_an_adopters_own_environments_pass_the_pipelines_synth_step(tmp_path):
    """The repository as a fork has it (git ls-files), with cdk.json's dev and prod edited: the synth step's
    commands, as the pipeline runs them, pass. `make test` runs ADOPTER_TESTS (PYTEST_FLAGS, which the Makefile
    takes from the environment), the rest exactly."""
    environments, pipelines = adopters_config()
    project = copy_project(tmp_path / "fork", environments, pipelines)
    cfg = load_pipeline(pipelines, environments, "main")
    env = {**os.environ, "PYTEST_FLAGS": f"-n 0 -q {ADOPTER_TESTS}", "CDK_DISABLE_VERSION_CHECK": "1"}
    for command in [*SYNTH_INSTALL, *synth_commands(cfg)]:
        run = subprocess.run(command, shell=True, cwd=project, env=env, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, f"{command}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        if command.startswith("make test"):
            assert " passed" in run.stdout and "failed" not in run.stdout, run.stdout[-2000:]
    stages = {name: json.loads((project / "cdk.out" / f"assembly-fedeks-pipeline-main-{name}" / "manifest.json")
                               .read_text())["artifacts"] for name in ("dev", "prod")}
    assert stages["dev"]["fedeks-dev-cluster-team-3"]["environment"] == "aws://123456789012/us-west-2"
    assert stages["dev"]["fedeks-dev-cluster-fed-2"]["environment"] == "aws://123456789012/eu-central-1"
    assert "fedeks-prod-cluster-fed-ca" in stages["prod"] and "fedeks-prod-cluster-fed-eu" not in stages["prod"]
