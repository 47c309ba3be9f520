"""The host guard against an emulated CloudFormation (moto): a federation stack of the environment deployed in
another region than the configured host, or on another host without previousHostCluster, stops `make deploy`
with the steps; anything else passes."""
from __future__ import annotations

import json


from fedtest import environment, write_project
from federated_eks.config.reader import load_environment
from federated_eks.operations import host_guard, prune
from federated_eks.plan.stack_tags import APP, APP_TAG, ENVIRONMENT_TAG, HOST_TAG, KIND_TAG

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def deploy_federation(session, region: str, host: str, env: str = "t") -> None:
    tags = {APP_TAG: APP, ENVIRONMENT_TAG: env, KIND_TAG: "federation", HOST_TAG: host}
    session.client("cloudformation", region_name=region).create_stack(
        StackName=f"fedeks-{env}-federation", TemplateBody=TEMPLATE,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def found(session, raw: dict) -> list[str]:
    cfg = load_environment({"t": raw}, "t")
    return host_guard.problems(prune.deployed_stacks(session, host_guard.regions_of(cfg)), cfg)


def test_a_host_moved_across_regions_without_previous_host_is_stopped_with_the_steps(aws):
    deploy_federation(aws, "us-east-1", "fed-1")  # fed-1 is in us-east-1, fed-2 in us-east-2
    [problem] = found(aws, environment(3, hostCluster="fed-2"))
    assert problem.startswith("environments.t.hostCluster: 'fed-2' is in us-east-2, but the KubeFed control plane of "
                              "'t' runs on 'fed-1' in us-east-1 (stack fedeks-t-federation)")
    assert "1) set hostCluster back to 'fed-1' and `npx cdk destroy fedeks-t-federation -c env=t`" in problem
    assert "3) `make prune ENV=t`" in problem


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
