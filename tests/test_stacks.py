"""The synthesized stacks: resource counts and the properties that matter, per issue."""
from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from fedtest import CDK_JSON, environment, resources, synth, templates
from federated_eks import topology
from federated_eks.config import load_environment

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def dev():
    stacks, _ = synth(CDK_JSON["context"]["environments"]["dev"], name="dev")
    return stacks, templates(stacks)


@pytest.fixture(scope="module")
def three():
    stacks, _ = synth(environment(3))
    return stacks, templates(stacks)


def cluster_stacks(stacks: dict) -> dict:
    return {n: s for n, s in stacks.items() if "-cluster-" in n}


# --- issue 2: foundation ------------------------------------------------------------------------

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
    # Only the host has the kubectl handler (it installs the chart), and so a third entry.
    assert len(resources(tpl["fedeks-dev-cluster-fed-1"], "AWS::EKS::AccessEntry")) == 3
    assert len(resources(tpl["fedeks-dev-cluster-fed-2"], "AWS::EKS::AccessEntry")) == 2


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


def test_bastion_is_ssm_only_with_imdsv2_and_no_ssh(dev):
    _, tpl = dev
    t = tpl["fedeks-dev-bastion"]
    t.resource_count_is("AWS::EC2::Instance", 1)
    t.resource_count_is("AWS::AutoScaling::LaunchConfiguration", 0)
    lt = next(iter(resources(t, "AWS::EC2::LaunchTemplate").values()))["Properties"]["LaunchTemplateData"]
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in lt
    assert lt["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    for sg in resources(t, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in sg["Properties"]
    assert resources(t, "AWS::EC2::SecurityGroupIngress") == {}
    instance = next(iter(resources(t, "AWS::EC2::Instance").values()))["Properties"]
    assert "private" in json.dumps(instance["SubnetId"]).lower()
    user_data = json.dumps(lt["UserData"])
    contexts = next(iter(resources(t, "AWS::SSM::Parameter").values()))["Properties"]
    assert contexts["Name"] == "/fedeks-dev-bastion/kubeconfig-contexts"
    assert json.loads(contexts["Value"]) == [
        {"alias": "fed-1", "cluster": "fedeks-dev-fed-1", "region": "us-east-1"},
        {"alias": "fed-2", "cluster": "fedeks-dev-fed-2", "region": "us-east-2"}]
    assert "aws eks update-kubeconfig" in user_data and "/kubeconfig-contexts" in user_data
    assert "/usr/local/bin/kubectl" in user_data and "/usr/local/bin/helm" in user_data
    assert "CodeSha256" in user_data  # the tools archive is checked before use
    assert "kubefedctl" not in user_data  # not configured: nothing downloaded from the internet


def test_bastion_installs_kubefedctl_only_with_a_checksum():
    sha = "a" * 64
    raw = environment(bastion={"region": "us-east-1", "cidr": "172.20.0.0/16",
                               "kubefedctl": {"url": "https://example.com/kubefedctl.tgz", "sha256": sha}})
    stacks, _ = synth(raw)
    lt = next(iter(resources(templates(stacks)["fedeks-test-bastion"], "AWS::EC2::LaunchTemplate").values()))
    user_data = json.dumps(lt["Properties"]["LaunchTemplateData"]["UserData"])
    assert "https://example.com/kubefedctl.tgz" in user_data and f"{sha}  " in user_data
    assert "sha256sum --check --strict" in user_data


def test_bastion_role_is_least_privilege(dev):
    _, tpl = dev
    role = next(r for r in resources(tpl["fedeks-dev-access"], "AWS::IAM::Role").values()
                if r["Properties"]["RoleName"] == "fedeks-dev-bastion")
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements == [{"Action": "eks:DescribeCluster", "Effect": "Allow", "Resource": [
        f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/fedeks-dev-fed-1",
        f"arn:aws:eks:us-east-2:{ACCOUNT}:cluster/fedeks-dev-fed-2"]}]
    join_role = next(r for r in resources(tpl["fedeks-dev-access"], "AWS::IAM::Role").values()
                     if r["Properties"]["RoleName"] == "fedeks-dev-kubefed-join")
    assert "Policies" not in join_role["Properties"] and "ManagedPolicyArns" not in join_role["Properties"]


# --- issue 3: peering ---------------------------------------------------------------------------

class Resolver:
    """Follows Fn::GetStackOutput from a consumer template to the producing resource."""

    def __init__(self, stacks: dict) -> None:
        self.tpl = templates(stacks)
        self.json = {n: t.to_json() for n, t in self.tpl.items()}

    def resolve(self, value) -> tuple[str, str]:
        """(stack name, logical id) that a weak reference points at."""
        ref = value["Fn::GetStackOutput"]
        output = self.json[ref["StackName"]]["Outputs"][ref["OutputName"]]["Value"]
        return ref["StackName"], output["Ref"]

    def route_tables(self, stack_name: str) -> set[tuple[str, str]]:
        return {(stack_name, k) for k in resources(self.tpl[stack_name], "AWS::EC2::RouteTable")}

    def vpc(self, stack_name: str) -> tuple[str, str]:
        return stack_name, next(iter(resources(self.tpl[stack_name], "AWS::EC2::VPC")))


def network_stack(cfg, name: str) -> str:
    return topology.stack_name(cfg, "bastion") if name == "bastion" else topology.stack_name(cfg, "cluster", name)


def check_peering(raw: dict) -> None:
    cfg = load_environment({"test": raw}, "test")
    stacks, _ = synth(raw)
    r = Resolver(stacks)
    expected = topology.peerings(cfg)
    connections = {}
    for name, t in r.json.items():
        for logical, res in t.get("Resources", {}).items():
            if res["Type"] == "AWS::EC2::VPCPeeringConnection":
                connections[(name, logical)] = res
    assert len(connections) == len(expected)

    for p in expected:
        req_stack = topology.stack_name(cfg, "peering", p.requester.region)
        conn_id, conn = next((k, v) for k, v in connections.items()
                             if k[0] == req_stack and v["Metadata"]["aws:cdk:path"].endswith(f"/{p.id}/Connection"))
        props = conn["Properties"]
        assert r.resolve(props["VpcId"]) == r.vpc(network_stack(cfg, p.requester.name))
        assert r.resolve(props["PeerVpcId"]) == r.vpc(network_stack(cfg, p.accepter.name))
        assert props.get("PeerRegion") == (p.accepter.region if p.cross_region else None)

        acc_stack = (topology.stack_name(cfg, "peer-routes", p.accepter.region) if p.cross_region else req_stack)
        for side_stack, local, peer_cidr in ((req_stack, p.requester, p.accepter.cidr),
                                             (acc_stack, p.accepter, p.requester.cidr)):
            routes = [res["Properties"] for res in r.json[side_stack]["Resources"].values()
                      if res["Type"] == "AWS::EC2::Route" and res["Properties"]["DestinationCidrBlock"] == peer_cidr
                      and _peering_of(r, side_stack, res["Properties"]) == conn_id]
            tables = {r.resolve(rt["RouteTableId"]) for rt in routes}
            assert tables == r.route_tables(network_stack(cfg, local.name)), (p.id, side_stack)
            assert len(routes) == len(tables)
            # Each route lives in a stack of the route table's own region.
            assert stacks[side_stack].region == local.region


def _peering_of(r: Resolver, stack: str, props: dict) -> tuple[str, str]:
    value = props["VpcPeeringConnectionId"]
    if "Ref" in value:
        return stack, value["Ref"]
    return r.resolve(value)


@pytest.mark.parametrize("clusters, topo", [(2, "mesh"), (3, "mesh"), (5, "mesh"), (2, "hub"), (3, "hub"), (5, "hub")])
def test_peering_connections_and_routes_on_both_sides(clusters, topo):
    check_peering(environment(clusters, topo))


def test_same_region_clusters_peer_inside_one_stack():
    raw = environment(3)
    raw["clusters"][2]["region"] = "us-east-1"
    check_peering(raw)


def ingress_cidrs(t) -> set[str]:
    rules = resources(t, "AWS::EC2::SecurityGroupIngress").values()
    assert all(r["Properties"]["FromPort"] == 443 == r["Properties"]["ToPort"] for r in rules)
    return {r["Properties"]["CidrIp"] for r in rules if "CidrIp" in r["Properties"]}


@pytest.mark.parametrize("topo", ["mesh", "hub"])
def test_api_servers_accept_443_from_exactly_their_peers(topo):
    raw = environment(4, topo)
    stacks, _ = synth(raw)
    tpl = templates(stacks)
    cidr = {"bastion": raw["bastion"]["cidr"], **{c["name"]: c["cidr"] for c in raw["clusters"]}}
    everyone = set(cidr) - {"bastion"}
    for name in everyone:
        if topo == "mesh" or name == "fed-1":
            peers = {"bastion"} | everyone - {name}
        else:
            peers = {"bastion", "fed-1"}
        assert ingress_cidrs(tpl[f"fedeks-test-cluster-{name}"]) == {cidr[p] for p in peers}, name
    for t in tpl.values():
        assert "0.0.0.0/0" not in {r["Properties"].get("CidrIp")
                                   for r in resources(t, "AWS::EC2::SecurityGroupIngress").values()}


def test_adding_a_cluster_changes_no_existing_logical_id_or_resource():
    before, _ = synth(environment(2))
    after, _ = synth(environment(3))
    t_before, t_after = templates(before), templates(after)
    for name in ("fedeks-test-cluster-fed-1", "fedeks-test-cluster-fed-2", "fedeks-test-bastion"):
        old = t_before[name].to_json()["Resources"]
        new = t_after[name].to_json()["Resources"]
        assert set(old) <= set(new), name
        changed = {new[k]["Type"] for k in old if old[k] != new[k]}
        # The bastion's context list is data in an SSM parameter: the instance is not replaced.
        assert changed <= ({"AWS::SSM::Parameter"} if name.endswith("bastion") else set()), (name, changed)
        added = {new[k]["Type"] for k in set(new) - set(old)}
        assert added <= {"AWS::EC2::SecurityGroupIngress"}, (name, added)  # only fed-3's 443 rule


def test_removing_a_cluster_removes_only_its_peerings():
    three, _ = synth(environment(3))
    two, _ = synth(environment(2))
    old = templates(three)["fedeks-test-peering-us-east-1"].to_json()["Resources"]
    new = templates(two)["fedeks-test-peering-us-east-1"].to_json()["Resources"]
    gone = {old[k]["Metadata"]["aws:cdk:path"].split("/")[1] for k in set(old) - set(new)}
    assert gone == {"bastion-fed-3", "fed-1-fed-3"}
    assert all(old[k] == new[k] for k in new)


# --- issue 4: federation ------------------------------------------------------------------------

def test_one_join_per_cluster_after_the_chart_peering_and_access_entries(three):
    stacks, tpl = three
    t = tpl["fedeks-test-federation"]
    joins = resources(t, "Custom::KubefedJoin")
    assert len(joins) == 3
    controller = next(k for k, v in resources(t, "Custom::AWSCDK-EKS-HelmChart").items()
                      if v["Properties"]["Release"] == "kubefed-controller")
    teardowns = resources(t, "Custom::KubefedTeardown")
    assert len(teardowns) == 1
    teardown_id, teardown = next(iter(teardowns.items()))
    # Deleted before the controller is uninstalled (the controller releases the FederatedTypeConfigs).
    assert controller in teardown["DependsOn"]
    assert set(teardown["Properties"]) == {"ServiceToken", "Host", "Namespace"}
    for join in joins.values():
        assert teardown_id in join["DependsOn"]  # created after the chart, deleted before the teardown
        props = join["Properties"]
        assert set(props) == {"ServiceToken", "Member", "Host", "Namespace", "Scope", "Labels", "TimeoutSeconds"}
        assert set(props["Member"]) == {"Name", "EksClusterName", "Region", "Endpoint", "CaData"}
        assert props["Host"]["Name"] == "fed-1"
        assert props["Namespace"] == "kube-federation-system" and props["Scope"] == "Cluster"
        assert props["Labels"] == {"topology.kubernetes.io/region": props["Member"]["Region"]}
    assert {j["Properties"]["Member"]["Name"] for j in joins.values()} == {"fed-1", "fed-2", "fed-3"}
    deps = {d.stack_name for d in stacks["fedeks-test-federation"].dependencies}
    peering = {n for n in stacks if "-peering-" in n or "-peer-routes-" in n}
    assert peering and peering <= deps
    assert set(cluster_stacks(stacks)) <= deps  # access entries live in the cluster stacks


def test_join_lambda_runs_in_the_host_vpc_with_https_egress_to_clusters_only(three):
    _, tpl = three
    t = tpl["fedeks-test-federation"]
    functions = [f for f in resources(t, "AWS::Lambda::Function").values()
                 if f["Properties"].get("Handler", "").startswith("handler.")]
    assert sorted(f["Properties"]["Handler"] for f in functions) == ["handler.is_complete", "handler.on_event"]
    for f in functions:
        assert f["Properties"]["Runtime"] == "python3.14"
        assert f["Properties"]["Role"] == f"arn:aws:iam::{ACCOUNT}:role/fedeks-test-kubefed-join"
        assert "VpcConfig" in f["Properties"]
    sg = next(s for s in resources(t, "AWS::EC2::SecurityGroup").values()
              if "join" in s["Properties"]["GroupDescription"].lower())
    egress = sg["Properties"]["SecurityGroupEgress"]
    assert {(e["CidrIp"], e["FromPort"], e["ToPort"]) for e in egress} == {
        ("172.21.0.0/16", 443, 443), ("172.22.0.0/16", 443, 443), ("172.23.0.0/16", 443, 443)}
    ingress = resources(t, "AWS::EC2::SecurityGroupIngress")
    assert len(ingress) == 1 and next(iter(ingress.values()))["Properties"]["FromPort"] == 443


def test_no_token_or_kubeconfig_in_any_synthesized_file():
    stacks, assembly = synth(environment(2))
    import pathlib
    for path in pathlib.Path(assembly.directory).glob("*.json"):
        text = path.read_text()
        assert "k8s-aws-v1" not in text
        assert "service-account-token" not in text
        assert "client-certificate-data" not in text and "\"token\"" not in text.lower()
