"""The host guard against an emulated CloudFormation (moto): a federation stack of the environment deployed in
another region than the configured host, on another host without previousHostCluster (KubeFed) or at all (Karmada),
or running another engine, stops `make deploy` with the steps; anything else passes."""
from __future__ import annotations

import json

import pytest

from components import engine_guard
from fedtest import environment, write_project
from federated_eks.config.reader import load_environment
from federated_eks.operations import host_guard, prune
from federated_eks.plan.stack_tags import APP, APP_TAG, ENGINE_JOINS, ENVIRONMENT_TAG, HOST_TAG, KIND_TAG
from test_karmada_control_plane import _configmap, _evaluate
from test_prune import join_physical_id, with_resources

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def deploy_federation(session, region: str, host: str, env: str = "t") -> None:
    tags = {APP_TAG: APP, ENVIRONMENT_TAG: env, KIND_TAG: "federation", HOST_TAG: host}
    session.client("cloudformation", region_name=region).create_stack(
        StackName=f"fedeks-{env}-federation", TemplateBody=TEMPLATE,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def found(session, raw: dict) -> list[str]:
    """What the guard finds, reading the deployed stacks and their resources as `make deploy`'s run does."""
    cfg = load_environment({"t": raw}, "t")
    deployed = prune.deployed_stacks(session, host_guard.regions_of(cfg))
    return host_guard.problems(deployed, cfg, host_guard.federation_engines(session, deployed, "t"))


def joined(session, engine: str, host: str, members: tuple[str, ...] = ("fed-1", "fed-2")) -> None:
    """The deployed federation stack holds `engine`'s joins (as its join Lambda names them)."""
    join_type, _ = ENGINE_JOINS[engine]
    with_resources(session, "fedeks-t-federation", [(join_type, join_physical_id(engine, host, m)) for m in members])


def test_a_host_moved_across_regions_without_previous_host_is_stopped_with_the_steps(aws):
    deploy_federation(aws, "us-east-1", "fed-1")  # fed-1 is in us-east-1, fed-2 in us-east-2
    [problem] = found(aws, environment(3, hostCluster="fed-2"))
    assert problem.startswith("environments.t.hostCluster: 'fed-2' is in us-east-2, but the KubeFed control plane of "
                              "'t' runs on 'fed-1' in us-east-1 (stack fedeks-t-federation)")
    assert problem.endswith("Fix: 1) with hostCluster 'fed-1' still set, run `npx cdk destroy fedeks-t-federation "
                            "-c env=t` (unjoins every cluster and uninstalls KubeFed in us-east-1); 2) set hostCluster "
                            "to 'fed-2', remove previousHostCluster and `make deploy ENV=t` (a new federation stack in "
                            "us-east-2); 3) `make prune ENV=t` lists what is left")


def test_a_host_moved_within_a_region_needs_previous_host_cluster(aws):
    deploy_federation(aws, "us-east-1", "fed-1")  # fed-6 is in us-east-1 too
    [problem] = found(aws, environment(6, hostCluster="fed-6"))
    assert problem.startswith("environments.t.previousHostCluster: the deployed KubeFed control plane runs on 'fed-1'")
    assert problem.endswith("Fix: set previousHostCluster to 'fed-1' for this deploy (and keep it)")
    assert found(aws, environment(6, hostCluster="fed-6", previousHostCluster="fed-1")) == []


def test_the_deployed_host_itself_other_environments_and_deleted_stacks_pass(aws):
    deploy_federation(aws, "us-east-1", "fed-1")
    deploy_federation(aws, "us-east-2", "fed-2", env="other")  # another environment's federation
    assert found(aws, environment(3)) == []
    aws.client("cloudformation", region_name="us-east-1").delete_stack(StackName="fedeks-t-federation")
    assert found(aws, environment(3, hostCluster="fed-2")) == []  # destroyed first: step 1 of the cross-region move


def test_make_deploys_guard_exits_1_with_the_problem_and_0_when_clear(aws, tmp_path, capsys):
    deploy_federation(aws, "us-east-1", "fed-1")
    project = write_project(tmp_path, {"t": environment(3, hostCluster="fed-2")})
    assert host_guard.main(["--env", "t", "--cdk-json", str(project / "cdk.json")]) == 1
    assert "federated-eks host guard: environments.t.hostCluster: 'fed-2' is in us-east-2" in capsys.readouterr().err
    project = write_project(tmp_path, {"t": environment(3)})
    assert host_guard.main(["--env", "t", "--cdk-json", str(project / "cdk.json")]) == 0


def test_without_credentials_the_guard_says_what_it_needs(tmp_path, monkeypatch, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    project = write_project(tmp_path, {"t": environment(2)})
    assert host_guard.main(["--env", "t", "--cdk-json", str(project / "cdk.json")]) == 2
    assert "describe CloudFormation stacks" in capsys.readouterr().err


def test_a_karmada_host_moved_within_a_region_is_stopped_with_the_karmada_steps(aws):
    """previousHostCluster is KubeFed's (the config refuses it with Karmada): the guard gives the config's steps."""
    deploy_federation(aws, "us-east-1", "fed-1")
    joined(aws, "karmada", "fed-1")
    [problem] = found(aws, environment(6, hostCluster="fed-6", engine="karmada"))
    assert problem == (
        "environments.t.hostCluster: the deployed Karmada control plane runs on 'fed-1' (stack fedeks-t-federation) "
        "and hostCluster is now 'fed-6'; a Karmada host does not move in a deploy (its state, etcd, lives on a volume "
        "of the old host, and previousHostCluster is KubeFed's only). Fix: 1) with hostCluster 'fed-1' (and without "
        "previousHostCluster), run `npx cdk destroy fedeks-t-federation -c env=t` (unjoins every cluster, uninstalls "
        "Karmada); 2) set the new hostCluster and `make deploy ENV=t`")
    assert "previousHostCluster to" not in problem
    assert found(aws, environment(6, engine="karmada")) == []


def test_a_karmada_host_moved_across_regions_names_karmada(aws):
    deploy_federation(aws, "us-east-1", "fed-1")
    joined(aws, "karmada", "fed-1")
    [problem] = found(aws, environment(3, hostCluster="fed-2", engine="karmada"))
    assert "but the Karmada control plane of 't' runs on 'fed-1' in us-east-1" in problem
    assert "uninstalls Karmada in us-east-1" in problem and "KubeFed" not in problem


@pytest.mark.parametrize("deployed, configured", [("kubefed", "karmada"), ("karmada", "kubefed")])
def test_a_change_of_engine_is_stopped_before_cloudformation_with_the_engine_guards_steps(aws, deployed,
                                                                                          configured):
    """The engine guard on the host refuses it too, but only when CloudFormation updates the federation stack; the
    host guard says the same (one text: operator_commands.engine_change) before any stack is touched."""
    deploy_federation(aws, "us-east-1", "fed-1")
    joined(aws, deployed, "fed-1")
    [problem] = found(aws, environment(3, engine=configured))
    policy = engine_guard.guard_manifest(configured, "t", "fedeks-t-federation")[0]["spec"]["validations"][0]
    on_the_host = str(_evaluate(policy["messageExpression"], _configmap(configured), _configmap(deployed)))
    assert problem == "environments.t.engine: " + on_the_host.removeprefix("federated-eks: ")
    assert problem.startswith(f"environments.t.engine: environment t runs engine {deployed}; ")
    assert problem.endswith(f"2) set engine {configured} and `make deploy ENV=t`")
    assert found(aws, environment(3, engine=deployed)) == []


def test_make_deploys_guard_stops_a_change_of_engine(aws, tmp_path, capsys, monkeypatch):
    import boto3

    deploy_federation(aws, "us-east-1", "fed-1")
    joined(aws, "kubefed", "fed-1")
    monkeypatch.setattr(boto3, "Session", lambda *_, **__: aws)  # the session that lists the joins
    project = write_project(tmp_path, {"t": environment(3, engine="karmada")})
    assert host_guard.main(["--env", "t", "--cdk-json", str(project / "cdk.json")]) == 1
    assert "federated-eks host guard: environments.t.engine: environment t runs engine kubefed" in \
        capsys.readouterr().err
