"""Cluster: the EKS cluster stack (private, encrypted, logged, API-authenticated), its nodes and access entries,
and the kubectl layer each supported Kubernetes version gets."""
from __future__ import annotations

import json
import subprocess

import pytest
from aws_cdk.assertions import Match

from fedtest import ACCOUNT, ENVIRONMENTS, cluster_stacks, environment, resources, synth, templates
from federated_eks.model.federation import KUBERNETES_VERSIONS
from layer_tools import layer_binary


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_layer_of_each_version_carries_kubectl_of_that_version(version):
    """The binary a deploy runs (the kubectl handler and the bastion take it from this package) is the
    version's own kubectl, run from the layer.zip inside the installed jsii package."""
    kubectl = layer_binary(version, "kubectl")
    out = subprocess.run([str(kubectl), "version", "--client", "-o", "json"], capture_output=True, text=True,
                         check=True, timeout=60)
    client = json.loads(out.stdout)["clientVersion"]
    assert f"{client['major']}.{client['minor']}" == version


def test_access_entries_keep_their_logical_ids(dev):
    """An access entry under a new logical id is created before the old one is deleted, and EKS refuses a second
    entry for the same principal: renaming these breaks the update of every deployed cluster (see grant_admin)."""
    _, tpl = dev
    # dev's fed-2 runs a LoadBalancer workload, so it has a kubectl handler (for the load-balancer controller)
    # and that handler's entry, as the host has.
    for cluster in ("fed-1", "fed-2"):
        entries = resources(tpl[f"fedeks-dev-cluster-{cluster}"], "AWS::EKS::AccessEntry")
        assert sorted(entries) == ["EksBastionAccess7AFD2BB3", "EksClusterClusterAdminRoleAccess8D05B9EF",
                                   "EksKubefedJoinAccess7F864E62", "EksWorkloadWaiterAccess02CEA8F1"]


@pytest.mark.parametrize("fixture, expected", [("dev", {"fed-1": "us-east-1", "fed-2": "us-east-2"}),
                                               ("three", {"fed-1": "us-east-1", "fed-2": "us-east-2",
                                                          "fed-3": "us-west-2"})])
def test_one_bastion_and_one_cluster_stack_per_cluster(request, fixture, expected):
    stacks, tpl = request.getfixturevalue(fixture)
    env = "dev" if fixture == "dev" else "test"
    assert [n for n in stacks if n.endswith("-bastion")] == [f"fedeks-{env}-bastion"]
    clusters = cluster_stacks(stacks)
    assert sorted(clusters) == sorted(f"fedeks-{env}-cluster-{n}" for n in expected)
    cidrs = {c["name"]: c["cidr"] for c in (ENVIRONMENTS["dev"]["clusters"]
                                             if fixture == "dev" else environment(3)["clusters"])}
    for name, region in expected.items():
        stack = stacks[f"fedeks-{env}-cluster-{name}"]
        assert (stack.region, stack.account) == (region, ACCOUNT)
        t = tpl[stack.stack_name]
        t.resource_count_is("AWS::EKS::Cluster", 1)
        t.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": cidrs[name]})


def test_eks_cluster_is_private_encrypted_logged_and_api_authenticated(dev):
    _, tpl = dev
    t = tpl["fedeks-dev-cluster-fed-2"]
    t.has_resource_properties("AWS::EKS::Cluster", {
        "Name": "fedeks-dev-fed-2",
        "Version": "1.35",
        "AccessConfig": Match.object_like({"AuthenticationMode": "API",
                                           "BootstrapClusterCreatorAdminPermissions": False}),
        "ResourcesVpcConfig": Match.object_like({"EndpointPrivateAccess": True, "EndpointPublicAccess": False}),
        "EncryptionConfig": [Match.object_like({"Resources": ["secrets"]})],
        "Logging": {"ClusterLogging": {"EnabledTypes": Match.array_with([{"Type": "api"}, {"Type": "audit"},
                                                                        {"Type": "authenticator"}])}},
    })
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_the_construct_renders_a_public_endpoint_only_with_its_allow_list():
    """The config refuses publicAndPrivate (the federation cannot reach such a cluster: test_config.py); the
    construct still renders it as given, for a cluster outside a federation."""
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk.assertions import Template

    from components.eks_cluster import FederatedCluster, FederatedClusterProps
    from federated_eks.model.federation import EndpointAccessConfig, NodeGroupConfig
    from fedtest import CONTEXT

    app = cdk.App(context=CONTEXT)
    stack = cdk.Stack(app, "Alone", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))
    FederatedCluster(stack, "Eks", FederatedClusterProps(
        cluster_name="alone", kubernetes_version=KUBERNETES_VERSIONS[0], vpc=ec2.Vpc(stack, "Vpc"),
        node_group=NodeGroupConfig(),
        endpoint_access=EndpointAccessConfig(mode="publicAndPrivate", public_cidrs=("203.0.113.0/24",))))
    Template.from_stack(stack).has_resource_properties("AWS::EKS::Cluster", {"ResourcesVpcConfig": Match.object_like({
        "EndpointPublicAccess": True, "EndpointPrivateAccess": True, "PublicAccessCidrs": ["203.0.113.0/24"]})})


def test_node_group_uses_imdsv2_and_encrypted_disks(three):
    _, tpl = three
    t = tpl["fedeks-test-cluster-fed-3"]
    t.has_resource_properties("AWS::EKS::Nodegroup", {
        "ScalingConfig": {"MinSize": 1, "DesiredSize": 2, "MaxSize": 3},
        "CapacityType": "ON_DEMAND", "AmiType": "AL2023_x86_64_STANDARD", "InstanceTypes": ["m6i.large"]})
    # Hop limit 1: pods (but hostNetwork ones) get no IMDSv2 token, so no node role credentials.
    t.has_resource_properties("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": Match.object_like({
        "MetadataOptions": Match.object_like({"HttpTokens": "required", "HttpPutResponseHopLimit": 1}),
        "BlockDeviceMappings": [Match.object_like({"Ebs": Match.object_like({"Encrypted": True})})]})})


def test_access_entries_grant_bastion_and_join_roles_cluster_admin(dev):
    _, tpl = dev
    for name in ("fed-1", "fed-2"):
        entries = resources(tpl[f"fedeks-dev-cluster-{name}"], "AWS::EKS::AccessEntry")
        principals = {json.dumps(e["Properties"]["PrincipalArn"]) for e in entries.values()}
        assert f'"arn:aws:iam::{ACCOUNT}:role/fedeks-dev-bastion"' in principals
        assert f'"arn:aws:iam::{ACCOUNT}:role/fedeks-dev-kubefed-join"' in principals
        for e in entries.values():
            policies = e["Properties"]["AccessPolicies"]
            assert len(policies) == 1 and policies[0]["AccessScope"] == {"Type": "cluster"}
            # The workload waiter's role reads only (tests/test_workload_waiter_construct.py); the others are admins.
            policy = ("AmazonEKSViewPolicy" if "workload-waiter" in json.dumps(e["Properties"]["PrincipalArn"])
                      else "AmazonEKSClusterAdminPolicy")
            assert json.dumps(policies[0]["PolicyArn"]).endswith(f':eks::aws:cluster-access-policy/{policy}"]]}}')
    # The host has the kubectl handler (it installs the chart), and so a fourth entry; so has a member that runs a
    # LoadBalancer workload (its handler installs the load-balancer controller), as dev's fed-2 does.
    assert len(resources(tpl["fedeks-dev-cluster-fed-1"], "AWS::EKS::AccessEntry")) == 4
    assert len(resources(tpl["fedeks-dev-cluster-fed-2"], "AWS::EKS::AccessEntry")) == 4


def test_only_clusters_that_run_load_balancers_get_a_kubectl_handler_and_the_controller(dev, three):
    _, dev_tpl = dev
    _, three_tpl = three  # no workloads
    for tpl, cluster, expected in ((dev_tpl, "fedeks-dev-cluster-fed-1", 1), (dev_tpl, "fedeks-dev-cluster-fed-2", 1),
                                   (three_tpl, "fedeks-test-cluster-fed-1", 0),
                                   (three_tpl, "fedeks-test-cluster-fed-2", 0)):
        charts = [r for r in resources(tpl[cluster], "Custom::AWSCDK-EKS-HelmChart").values()
                  if r["Properties"]["Chart"] == "aws-load-balancer-controller"]
        assert len(charts) == expected, cluster
    assert len(resources(three_tpl["fedeks-test-cluster-fed-2"], "AWS::EKS::AccessEntry")) == 3  # + the waiter's
    [chart] = [r for r in resources(dev_tpl["fedeks-dev-cluster-fed-2"], "Custom::AWSCDK-EKS-HelmChart").values()
               if r["Properties"]["Chart"] == "aws-load-balancer-controller"]
    [nodes] = resources(dev_tpl["fedeks-dev-cluster-fed-2"], "AWS::EKS::Nodegroup")
    assert nodes in chart["DependsOn"]  # the chart waits for the controller's pods


def test_cluster_outputs(dev):
    _, tpl = dev
    outputs = tpl["fedeks-dev-cluster-fed-2"].find_outputs("*")
    assert outputs["ClusterName"]["Value"] == "fedeks-dev-fed-2"
    assert outputs["UpdateKubeconfigCommand"]["Value"] == \
        "aws eks update-kubeconfig --region us-east-2 --name fedeks-dev-fed-2 --alias fed-2"
    assert "ClusterEndpoint" in outputs


def test_cluster_stacks_do_not_depend_on_each_other(three):
    stacks, _ = three
    clusters = cluster_stacks(stacks)
    for stack in clusters.values():
        assert {d.stack_name for d in stack.dependencies} == {"fedeks-test-access"}


# --- Graviton and configured people -----------------------------------------------------------------------------

ADMIN = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0a1b2c3d4e5f"
VIEWER = "arn:aws:iam::111122223333:user/ops/alice"


@pytest.fixture(scope="module")
def people_and_graviton():
    """Three clusters; fed-2 on Graviton; one admin and one viewer."""
    raw = environment(3, access={"admins": [ADMIN], "viewers": [VIEWER]})
    raw["clusters"][1]["nodeGroup"] = {"instanceTypes": ["m7g.large", "c7g.large"]}
    stacks, _ = synth(raw)
    return templates(stacks)


def test_a_graviton_node_group_gets_the_arm_ami_type_and_the_others_keep_x86(people_and_graviton):
    amis = {name: [n["Properties"]["AmiType"] for n in resources(people_and_graviton[f"fedeks-test-cluster-{name}"],
                                                                   "AWS::EKS::Nodegroup").values()]
            for name in ("fed-1", "fed-2", "fed-3")}
    assert amis == {"fed-1": ["AL2023_x86_64_STANDARD"], "fed-2": ["AL2023_ARM_64_STANDARD"],
                    "fed-3": ["AL2023_x86_64_STANDARD"]}


def policy_name(entry: dict) -> str:
    (policy,) = entry["Properties"]["AccessPolicies"]
    assert policy["AccessScope"] == {"Type": "cluster"}
    return policy["PolicyArn"]["Fn::Join"][1][-1].rsplit("/", 1)[1]


def configured_entries(template) -> dict[str, tuple[str, str]]:
    """Logical id -> (principal, policy) of the entries of configured people (literal ARNs outside our account)."""
    return {lid: (e["Properties"]["PrincipalArn"], policy_name(e))
            for lid, e in resources(template, "AWS::EKS::AccessEntry").items()
            if isinstance(e["Properties"]["PrincipalArn"], str) and ":111122223333:" in e["Properties"]["PrincipalArn"]}


def test_configured_admins_and_viewers_get_access_entries_on_every_cluster(people_and_graviton):
    for name in ("fed-1", "fed-2", "fed-3"):
        entries = configured_entries(people_and_graviton[f"fedeks-test-cluster-{name}"])
        assert sorted(entries.values()) == [(ADMIN, "AmazonEKSClusterAdminPolicy"), (VIEWER, "AmazonEKSViewPolicy")]
    # The bastion's and join Lambda's entries are unchanged.
    assert {"EksBastionAccess7AFD2BB3", "EksKubefedJoinAccess7F864E62"} <= set(
        resources(people_and_graviton["fedeks-test-cluster-fed-2"], "AWS::EKS::AccessEntry"))


def test_an_entry_keeps_its_logical_id_when_the_lists_change(people_and_graviton):
    """Keyed by the ARN: reordering, or moving someone from viewers to admins, updates the entry in place."""
    before = configured_entries(people_and_graviton["fedeks-test-cluster-fed-3"])
    other = "arn:aws:iam::111122223333:role/platform/admins"
    stacks, _ = synth(environment(3, access={"admins": [other, VIEWER, ADMIN]}))
    after = configured_entries(templates(stacks)["fedeks-test-cluster-fed-3"])
    by_arn = {arn: lid for lid, (arn, _) in before.items()}
    assert after[by_arn[VIEWER]] == (VIEWER, "AmazonEKSClusterAdminPolicy")
    assert after[by_arn[ADMIN]] == (ADMIN, "AmazonEKSClusterAdminPolicy")
    assert len(after) == 3


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_layer_tools_are_x86_64_only(version):
    """Why the config refuses a Graviton bastion: it installs kubectl and helm from this layer."""
    for binary in ("kubectl", "helm"):
        header = layer_binary(version, binary).read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 0x3E  # EM_X86_64


def test_imds_hop_limit_2_when_the_config_asks_for_it():
    raw = environment(1)
    raw["clusters"][0]["nodeGroup"] = {"imdsHopLimit": 2}
    stacks, _ = synth(raw)
    templates(stacks)["fedeks-test-cluster-fed-1"].has_resource_properties("AWS::EC2::LaunchTemplate", {
        "LaunchTemplateData": Match.object_like({"MetadataOptions": Match.object_like({
            "HttpTokens": "required", "HttpPutResponseHopLimit": 2})})})
