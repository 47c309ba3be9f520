"""Environment names with dashes (`prod-eu`): the config accepts them, and a function still serves only its own
environment's clusters although `dev`'s EKS name prefix `fedeks-dev-` also starts `dev-a`'s cluster names. What tells
them apart is the `fedeks:environment` tag on each EKS cluster: IAM's condition on the functions' DescribeCluster
policy and the functions' own check of DescribeCluster's answer (components/kube_access/allowed_clusters.py)."""
from __future__ import annotations

import json

import pytest

from components.kube_access import allowed_clusters, contract as kube_contract
from components.kubefed_join import contract
from components.kubefed_join.kubefed_join import JoinTarget, join_properties
from federated_eks.config.reader import ConfigError, load_environment
from federated_eks.plan import stack_tags, topology
from rehearsal import iam
from rehearsal.eks_api import EksApi, EksCluster
from fedtest import environment
from kube_emulator import (ACCOUNT, EKS, ca, describe_policy, emulators, fake_aws,  # noqa: F401
                           function_environment, iam_allows)
from test_kubefed_join_handler import NS, host, install_kubefed, provider  # noqa: F401

# --- the config ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod-eu", "dev-a", "a-1-b", "a" * 20, "a-" * 9 + "bc"])
def test_environment_names_with_dashes_are_accepted(name):
    assert load_environment({name: environment()}, name).env_name == name


@pytest.mark.parametrize("name", ["dev-", "dev--a", "-dev", "1dev", "Dev", "dev_a", "a" * 21, "a-" * 10 + "b"])
def test_an_environment_name_ending_in_a_dash_with_two_dashes_or_too_long_is_refused_naming_the_rule(name):
    with pytest.raises(ConfigError) as err:
        load_environment({name: environment()}, name)
    assert err.value.problems == [
        f"environments.{name}: environment name {name!r} is not usable in stack, role and EKS cluster names. Fix: use "
        "1-20 lowercase letters, digits or '-', starting with a letter, not ending in '-' and without '--' (the dash "
        "after the name separates it in the names the app makes)"]


def test_the_function_environment_pattern_accepts_every_environment_name_the_config_accepts():
    for name in ("dev", "prod-eu", "a-1-b", "a" * 20):
        assert kube_contract.ENVIRONMENT_NAME.fullmatch(name)
    assert contract.ENVIRONMENT_TAG == stack_tags.ENVIRONMENT_TAG  # the runtime's copy of the tag key


def test_dev_prefix_starts_dev_a_cluster_names_so_the_prefix_alone_cannot_tell_them_apart():
    dev = load_environment({"dev": environment()}, "dev")
    dev_a = load_environment({"dev-a": environment()}, "dev-a")
    assert topology.eks_cluster_name(dev_a, "fed-1").startswith(topology.eks_name_prefix(dev))


# --- IAM: the policy's condition --------------------------------------------------------------------------------

def _arn(name: str, region: str = "us-east-2") -> str:
    return f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{name}"


def test_the_policy_allows_its_own_environments_tagged_cluster_only():
    dev = describe_policy("fedeks-dev-", "dev")
    describe = "eks:DescribeCluster"
    assert iam.decide([dev], describe, _arn("fedeks-dev-fed-1"), {contract.ENVIRONMENT_TAG: "dev"}) is None
    # dev-a's cluster b matches dev's ARN pattern: only the tag condition refuses it
    assert iam.arn_matches(contract.describe_policy_resource("aws", ACCOUNT, "fedeks-dev-"), _arn("fedeks-dev-a-b"))
    assert iam.decide([dev], describe, _arn("fedeks-dev-a-b"), {contract.ENVIRONMENT_TAG: "dev-a"}) is not None
    # a cluster without the tag (one the app did not make, or not yet tagged) is refused too
    assert iam.decide([dev], describe, _arn("fedeks-dev-fed-1"), {}) is not None
    # without the condition IAM would allow dev-a's cluster: the condition is what refuses it
    unconditioned = describe_policy("fedeks-dev-", "dev", condition=False)
    assert iam.decide([unconditioned], describe, _arn("fedeks-dev-a-b"), {contract.ENVIRONMENT_TAG: "dev-a"}) is None
    # the ARN pattern still refuses another prefix whatever its tag
    assert iam.decide([dev], describe, _arn("fedeks-prod-fed-1"), {contract.ENVIRONMENT_TAG: "dev"}) is not None


# --- the function: a dev join refuses dev-a's cluster ----------------------------------------------------------

DEV, DEV_A = "fedeks-dev-", "fedeks-dev-a-"


def _described(server, eks_name: str, env: str, ca) -> None:
    EKS[server.region, eks_name] = EksCluster(eks_name, server.region, server.endpoint.rstrip("/"), ca.ca_data,
                                              tags={contract.ENVIRONMENT_TAG: env} if env else {})


def _join(member_name: str, member, host, ca) -> dict:
    """A dev join's properties naming the member `member_name` (its EKS name: dev's prefix and the name)."""
    written = join_properties(
        member=JoinTarget(member_name, DEV + member_name, member.region, member.endpoint, ca.ca_data),
        host=JoinTarget(host.name, DEV + host.name, host.region, host.endpoint, ca.ca_data), namespace=NS,
        scope="Cluster", labels={}, timeout_seconds=300)
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x", **written}


@pytest.fixture
def two_environments(emulators, host, ca, monkeypatch):
    """dev's host (`fedeks-dev-fed-1`) and dev-a's cluster `b` (`fedeks-dev-a-b`, which dev's prefix also starts: dev
    would call it `a-b`); the function is dev's."""
    other = emulators.start("a-b", "us-east-2")
    EKS.clear()
    allowed_clusters.forget()
    _described(host, DEV + host.name, "dev", ca)
    _described(other, DEV_A + "b", "dev-a", ca)
    function_environment(monkeypatch, DEV, "dev")
    return other


def _eks(monkeypatch, policy: dict) -> EksApi:
    api = EksApi(lambda region, name: EKS.get((region, name)), allowed=iam_allows(policy))
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", api.url)
    return api


def test_a_dev_join_is_refused_dev_a_cluster_by_iam(two_environments, host, ca, monkeypatch):
    api = _eks(monkeypatch, describe_policy(DEV, "dev"))
    try:
        with pytest.raises(RuntimeError, match="member 'a-b': this function may not describe 'fedeks-dev-a-b' "
                                               r"\(IAM allows only this environment's clusters"):
            provider("Create", _join("a-b", two_environments, host, ca))
    finally:
        api.close()
    assert two_environments.emulator.eks_token_requests == 0
    assert host.names("kubefedclusters") == []


def test_a_dev_join_is_refused_dev_a_cluster_by_its_tag_even_if_iam_allowed_it(two_environments, host, ca,
                                                                                monkeypatch):
    """The function's own check: a policy without the condition (an older stack, a hand-edited role) lets EKS describe
    dev-a's cluster, and the function still refuses it by the tag EKS answers."""
    api = _eks(monkeypatch, describe_policy(DEV, "dev", condition=False))
    try:
        with pytest.raises(RuntimeError, match="member 'a-b': EKS describes fedeks-dev-a-b in us-east-2 with tag "
                                               "fedeks:environment='dev-a', not 'dev': it is not a cluster of this "
                                               "environment"):
            provider("Create", _join("a-b", two_environments, host, ca))
    finally:
        api.close()
    assert two_environments.emulator.eks_token_requests == 0
    assert host.names("kubefedclusters") == []


def test_an_untagged_cluster_is_refused_by_the_function(two_environments, host, ca, monkeypatch):
    _described(two_environments, DEV + "a-b", "", ca)  # dev's name, but EKS knows no environment tag on it
    api = _eks(monkeypatch, describe_policy(DEV, "dev", condition=False))
    try:
        with pytest.raises(RuntimeError, match="with tag fedeks:environment=None, not 'dev'"):
            provider("Create", _join("a-b", two_environments, host, ca))
    finally:
        api.close()
    assert two_environments.emulator.eks_token_requests == 0


def test_dev_a_joins_its_own_cluster(emulators, ca, monkeypatch):
    """An environment with a dash serves its own clusters (its prefix, its tag, the policy the construct writes)."""
    hub, member = emulators.start("fed-1", "us-east-1", kubefed_controller=True), emulators.start("b", "us-east-2")
    install_kubefed(hub)
    EKS.clear()
    allowed_clusters.forget()
    for server in (hub, member):
        _described(server, DEV_A + server.name, "dev-a", ca)
    function_environment(monkeypatch, DEV_A, "dev-a")
    api = _eks(monkeypatch, describe_policy(DEV_A, "dev-a"))
    try:
        written = join_properties(
            member=JoinTarget("b", DEV_A + "b", member.region, member.endpoint, ca.ca_data),
            host=JoinTarget("fed-1", DEV_A + "fed-1", hub.region, hub.endpoint, ca.ca_data), namespace=NS,
            scope="Cluster", labels={}, timeout_seconds=300)
        physical_id, _ = provider("Create", {"ServiceToken": "arn:aws:lambda:us-east-1:1:function:x", **written})
    finally:
        api.close()
    assert physical_id == f"kubefed-join/{NS}/fed-1/b"
    assert hub.names("kubefedclusters") == [(NS, "b")]


def test_a_function_without_its_environment_name_serves_nothing(monkeypatch):
    monkeypatch.setenv(contract.EKS_NAME_PREFIX_ENV, DEV)
    monkeypatch.delenv(contract.ENVIRONMENT_ENV, raising=False)
    with pytest.raises(allowed_clusters.NotAllowed, match=f"{contract.ENVIRONMENT_ENV} environment variable is "
                                                          "missing or not an environment name"):
        allowed_clusters.load()


# --- the templates: two environments in one cdk.json ------------------------------------------------------------

def _synth_two(tmp_path, clusters: int):
    from fedtest import environment as fed_environment, synth, templates
    stacks = {}
    for name in ("dev", "dev-a"):
        built, _ = synth(fed_environment(clusters, tags={"team": "platform"}), name=name,
                         outdir=str(tmp_path / name))
        stacks[name] = templates(built)
    return stacks


def _describe_clusters_policies(template) -> list[dict]:
    """The functions' DescribeCluster policies (components/cluster_functions.py `DescribeClusters`; aws-eks-v2's own
    kubectl handler has another, on its cluster's ARN)."""
    return [r for logical_id, r in template.find_resources("AWS::IAM::Policy").items()
            if "DescribeClusters" in logical_id]


def test_each_environment_tags_its_clusters_and_its_policy_requires_its_tag(tmp_path):
    both = _synth_two(tmp_path, 2)
    for env, templates in both.items():
        clusters = [r for t in templates.values() for r in t.find_resources("AWS::EKS::Cluster").values()]
        assert len(clusters) == 2
        for cluster in clusters:
            tags = {t["Key"]: t["Value"] for t in cluster["Properties"]["Tags"]}
            assert tags[stack_tags.ENVIRONMENT_TAG] == env
            assert tags["team"] == "platform"  # the app-wide tags stay
        statements = [s for t in templates.values() for r in _describe_clusters_policies(t)
                      for s in r["Properties"]["PolicyDocument"]["Statement"]]
        condition = {"StringEquals": {"aws:ResourceTag/fedeks:environment": env}}
        assert len(statements) == 2 and all(s["Condition"] == condition for s in statements)  # join's and waiter's
        functions = [r for t in templates.values() for r in t.find_resources("AWS::Lambda::Function").values()
                     if contract.EKS_NAME_PREFIX_ENV in r["Properties"].get("Environment", {}).get("Variables", {})]
        assert functions and all(f["Properties"]["Environment"]["Variables"][contract.ENVIRONMENT_ENV] == env
                                 for f in functions)


# --- the rehearsal: an environment with a dash, from create to delete; IAM's condition evaluated ------------------

def _rehearse(tmp_path, edit=None):
    """Synthesize environment `dev-a` (two clusters), let `edit` change its templates, and play create and delete."""
    from pathlib import Path

    from fedtest import environment as fed_environment, scratch_dir, synth
    from rehearsing import play

    _, assembly = synth(fed_environment(2), name="dev-a", outdir=scratch_dir("rehearsal-"))
    folder = Path(assembly.directory)
    if edit is not None:
        for path in folder.glob("*.template.json"):
            template = json.loads(path.read_text())
            if edit(template):
                path.write_text(json.dumps(template))
    player, _, error = play(folder, tmp_path)
    return player, error


def _untag_clusters(template: dict) -> bool:
    changed = False
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::EKS::Cluster":
            tags = resource["Properties"].get("Tags", [])
            resource["Properties"]["Tags"] = [t for t in tags if t["Key"] != stack_tags.ENVIRONMENT_TAG]
            changed = True
    return changed


def _unconditioned_policy(template: dict) -> bool:
    changed = False
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Action"] == "eks:DescribeCluster" and "Condition" in statement:
                    statement.pop("Condition")
                    changed = True
    return changed


@pytest.mark.timeout(900)
def test_an_environment_with_a_dash_rehearses_from_create_to_delete(tmp_path):
    player, error = _rehearse(tmp_path)
    assert error is None, f"{error} (stack {getattr(error, 'stack', '')}, resource {getattr(error, 'resource', '')})"
    assert player.summary.created == player.summary.deleted + player.summary.retained
    assert player.aws.clusters == {} and player.aws.vpcs == {}


@pytest.mark.timeout(900)
def test_the_rehearsal_refuses_clusters_without_the_environment_tag_by_iam(tmp_path):
    """The rehearsal evaluates the functions' DescribeCluster policy against the clusters' tags: untagged clusters
    (the tag removed from the templates) stop the first join, IAM refusing the DescribeCluster."""
    _, error = _rehearse(tmp_path, _untag_clusters)
    assert error is not None and "may not describe 'fedeks-dev-a-fed-" in str(error), str(error)


@pytest.mark.timeout(900)
def test_the_rehearsal_refuses_untagged_clusters_by_the_function_when_the_policy_has_no_condition(tmp_path):
    """Without the condition IAM lets the function describe any `fedeks-dev-a-*` cluster: the function's own check of
    the tag still refuses a cluster that is not the environment's."""
    _, error = _rehearse(tmp_path, lambda t: _untag_clusters(t) | _unconditioned_policy(t))
    assert error is not None and "with tag fedeks:environment=None, not 'dev-a'" in str(error), str(error)


# --- every name made from the environment's name fits its AWS limit at the longest name the config accepts ----------

# AWS's limits on the names the templates set (CloudFormation User Guide, each resource's name property): stack names
# 128 (CreateStack StackName), IAM role names 64, EKS cluster names 100, node group names 63, Lambda function names 64,
# log group names 512, Step Functions state machine names 80, instance profile names 128.
NAME_LIMITS = {"AWS::IAM::Role": ("RoleName", 64), "AWS::EKS::Cluster": ("Name", 100),
               "AWS::EKS::Nodegroup": ("NodegroupName", 63), "AWS::Lambda::Function": ("FunctionName", 64),
               "AWS::Logs::LogGroup": ("LogGroupName", 512),
               "AWS::StepFunctions::StateMachine": ("StateMachineName", 80),
               "AWS::IAM::InstanceProfile": ("InstanceProfileName", 128)}
STACK_NAME_LIMIT = 128


def _longest_name(value) -> int:
    """The length of a name property: a string, or an Fn::Join whose literal parts count and each token (a stack's
    id, 36 characters) counts as 36."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return len(separator) * (len(parts) - 1) + sum(len(p) if isinstance(p, str) else 36 for p in parts)
    return 0


def test_the_longest_environment_name_with_dashes_fits_every_name_it_is_in():
    from fedtest import environment as fed_environment, synth
    longest = "a-b-c-d-e-f-g-h-i-jk"
    raw = fed_environment(2)
    for i, cluster in enumerate(raw["clusters"]):
        cluster["name"] = f"c{i}-" + "x" * 27  # 30 characters, the most the model accepts
    raw["hostCluster"] = raw["clusters"][0]["name"]
    stacks, assembly = synth(raw, name=longest)
    names = [s.stack_name for s in assembly.stacks]
    assert names and all(len(n) <= STACK_NAME_LIMIT for n in names), names
    checked = 0
    for stack in assembly.stacks:
        for resource in stack.template["Resources"].values():
            if resource["Type"] in NAME_LIMITS:
                key, limit = NAME_LIMITS[resource["Type"]]
                value = resource.get("Properties", {}).get(key)
                if value is not None:
                    assert _longest_name(value) <= limit, (resource["Type"], value)
                    checked += longest in json.dumps(value)
    assert checked >= 4  # the roles, EKS clusters and log groups named after the environment were among them
