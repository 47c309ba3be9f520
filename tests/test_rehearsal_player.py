"""The rehearsal's CloudFormation side on small hand-made cloud assemblies: the order it plays stacks and resources
in, the intrinsic functions, the AWS model's refusals and the network a custom resource's Lambda has at each
moment of a create and a delete. The Kubernetes side is a tiny double here (`Recorder`), so that these tests assert
the player alone."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from rehearsal.cloudformation import Player, levels, read_assembly
from rehearsal.intrinsics import resolve
from rehearsal.world import (CustomResourceResult, EksEndpoint, RehearsalFailure)

ACCOUNT = "123456789012"


class Recorder:
    """A Kubernetes double: serves `Custom::Kube*` types, records each request, and for every EKS cluster named
    in the properties (`Cluster`) checks that the provider's onEvent function reaches its API server now."""

    def __init__(self, seconds: float = 60) -> None:
        self.seconds = seconds
        self.calls: list[tuple[str, str, float]] = []
        self.node_groups: dict[str, list[list]] = {}
        self.clusters: list[str] = []
        self.requests = []

    def create_cluster(self, cluster):
        self.clusters.append(cluster.name)
        return EksEndpoint(f"https://{'0' * 32}.gr7.{cluster.region}.eks.amazonaws.com",
                           base64.b64encode(b"CA").decode())

    def set_node_groups(self, cluster, groups):
        self.node_groups.setdefault(cluster, []).append(list(groups))

    def delete_cluster(self, cluster):
        self.clusters.remove(cluster)

    def handles(self, resource_type):
        return resource_type.startswith("Custom::Kube")

    def custom_resource(self, request, clock, network):
        self.requests.append(request)
        clock.advance(self.seconds)
        cluster = request.properties.get("Cluster")
        if cluster and not network.reachable(request.provider.on_event.source, cluster):
            raise RehearsalFailure(f"{request.provider.on_event.source} cannot reach {cluster}: "
                                   f"{network.explain(request.provider.on_event.source, cluster)}",
                                   kubernetes_object=f"cluster {cluster}", fix="open the path")
        self.calls.append((request.request_type, request.logical_id, clock.now))
        return CustomResourceResult(request.physical_id or f"{request.logical_id}-id", {"Answer": "42"})


def write_assembly(folder: Path, stacks: dict[str, dict], assets: dict[str, dict] | None = None) -> Path:
    """A cloud assembly: stacks {name: {"region", "template", "depends"}}; assets {stack: {hash: packaging}}."""
    artifacts = {}
    for name, spec in stacks.items():
        (folder / f"{name}.template.json").write_text(json.dumps(spec["template"]))
        deps = list(spec.get("depends", []))
        files = {}
        for digest, packaging in (assets or {}).get(name, {}).items():
            (folder / f"asset.{digest}").mkdir(exist_ok=True)
            files[digest] = {"source": {"path": f"asset.{digest}", "packaging": packaging},
                             "destinations": {"d": {"bucketName": "b", "objectKey": f"{digest}.zip"}}}
        (folder / f"{name}.assets.json").write_text(json.dumps({"version": "1", "files": files}))
        artifacts[f"{name}.assets"] = {"type": "cdk:asset-manifest", "properties": {"file": f"{name}.assets.json"}}
        artifacts[name] = {"type": "aws:cloudformation:stack", "environment": f"aws://{ACCOUNT}/{spec['region']}",
                           "properties": {"templateFile": f"{name}.template.json"},
                           "dependencies": deps + [f"{name}.assets"]}
    (folder / "manifest.json").write_text(json.dumps({"version": "1", "artifacts": artifacts}))
    return folder


def play(folder: Path, kubernetes=None, action: str = "play"):
    lines: list[str] = []
    player = Player(read_assembly(folder), kubernetes or Recorder(), lines.append)
    error = None
    try:
        getattr(player, action)()
    except RehearsalFailure as failure:
        error = failure
    return player, lines, error


def order(lines: list[str], action: str) -> list[str]:
    """Resource labels in the order they were `action`ed (create/delete), stacks left out."""
    return [fields(line)[2] for line in lines if fields(line)[:1] == [action] and "(stack)" not in line]


def fields(line: str) -> list[str]:
    """A step line without its virtual time: action, stack, resource, type, outcome."""
    return line.split("] ", 1)[1].split() if line.startswith("[") else []


# ---- a small network: a host VPC with an EKS cluster and a join-like Lambda, a member VPC peered cross-region ----

def vpc(cidr: str, prefix: str = "") -> dict:
    """A VPC, two private subnets each with its route table and association (logical ids prefixed)."""
    p = prefix
    out = {f"{p}Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": cidr}}}
    base = cidr.split(".")
    for i in (1, 2):
        out[f"{p}Subnet{i}"] = {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": f"{p}Vpc"}, "CidrBlock": f"{base[0]}.{base[1]}.{i * 64}.0/18"}}
        out[f"{p}Table{i}"] = {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": f"{p}Vpc"}}}
        out[f"{p}Assoc{i}"] = {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
            "SubnetId": {"Ref": f"{p}Subnet{i}"}, "RouteTableId": {"Ref": f"{p}Table{i}"}}}
    return out


def cluster(name: str, prefix: str = "", arch_ami: str = "AL2023_x86_64_STANDARD") -> dict:
    p = prefix
    return {
        f"{p}ApiSg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "api", "VpcId": {"Ref": f"{p}Vpc"}}},
        f"{p}Cluster": {"Type": "AWS::EKS::Cluster", "Properties": {
            "Name": name, "Version": "1.35", "RoleArn": "arn:aws:iam::123456789012:role/eks",
            "ResourcesVpcConfig": {"SubnetIds": [{"Ref": f"{p}Subnet1"}, {"Ref": f"{p}Subnet2"}],
                                   "SecurityGroupIds": [{"Fn::GetAtt": [f"{p}ApiSg", "GroupId"]}]}}},
        f"{p}Nodes": {"Type": "AWS::EKS::Nodegroup", "Properties": {
            "ClusterName": {"Ref": f"{p}Cluster"}, "AmiType": arch_ami, "NodeRole": "arn:aws:iam::1:role/n",
            "ScalingConfig": {"DesiredSize": 2}, "Subnets": [{"Ref": f"{p}Subnet1"}]}},
    }


def provider(prefix: str = "Join", subnets: list | None = None, group: dict | None = None) -> dict:
    """A Provider-framework custom resource provider (user onEvent + isComplete + waiter), as aws-cdk-lib makes it."""
    vpc_config = {"SubnetIds": subnets or [{"Ref": "Subnet1"}, {"Ref": "Subnet2"}],
                  "SecurityGroupIds": [group or {"Fn::GetAtt": [f"{prefix}Sg", "GroupId"]}]}
    code = {"S3Bucket": "b", "S3Key": "abc.zip"}
    return {
        f"{prefix}Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "join", "VpcId": {"Ref": "Vpc"},
            "SecurityGroupEgress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}]}},
        f"{prefix}OnEvent": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": code, "Handler": "handler.on_event", "Timeout": 120, "VpcConfig": vpc_config,
            "Environment": {"Variables": {"MODE": {"Fn::Sub": "join-${AWS::Region}"}}}}},
        f"{prefix}IsComplete": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": code, "Handler": "handler.is_complete", "Timeout": 120, "VpcConfig": vpc_config}},
        f"{prefix}Waiter": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": "arn:aws:iam::1:role/sfn",
            "DefinitionString": {"Fn::Join": ["", [
                '{"StartAt":"t","States":{"t":{"Type":"Task","Retry":[{"ErrorEquals":["States.ALL"],'
                '"IntervalSeconds":20,"MaxAttempts":105,"BackoffRate":1}],"Resource":"',
                {"Fn::GetAtt": [f"{prefix}ProviderIsComplete", "Arn"]}, '"}}}']]}}},
        f"{prefix}ProviderIsComplete": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"ZipFile": "x"}, "Handler": "framework.isComplete"}},
        f"{prefix}Provider": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"ZipFile": "x"}, "Handler": "framework.onEvent", "Timeout": 900, "Environment": {"Variables": {
                "USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": [f"{prefix}OnEvent", "Arn"]},
                "USER_IS_COMPLETE_FUNCTION_ARN": {"Fn::GetAtt": [f"{prefix}IsComplete", "Arn"]},
                "WAITER_STATE_MACHINE_ARN": {"Ref": f"{prefix}Waiter"}}}}},
    }


def host_template(ingress_depended_on: bool) -> dict:
    """One stack: a cluster, a Lambda in its VPC admitted by a separate ingress rule, and a custom resource that
    needs that path; with `ingress_depended_on` the custom resource depends on the rule (DependsOn)."""
    resources = {**vpc("172.21.0.0/16"), **cluster("host"), **provider()}
    resources["ApiFromJoin"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Fn::GetAtt": ["ApiSg", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "SourceSecurityGroupId": {"Fn::GetAtt": ["JoinSg", "GroupId"]}}}
    resources["Join"] = {"Type": "Custom::KubeJoin", "Properties": {
        "ServiceToken": {"Fn::GetAtt": ["JoinProvider", "Arn"]}, "Cluster": {"Ref": "Cluster"}},
        "DependsOn": ["Nodes"] + (["ApiFromJoin"] if ingress_depended_on else [])}
    return {"Resources": resources}


def test_a_custom_resource_that_does_not_depend_on_its_ingress_rule_loses_it_before_its_delete(tmp_path):
    """The class of HostApiFromJoinLambda: the rule nothing depends on is deleted in the first delete wave, with
    the fast AWS deletes, before the custom resource's delete runs; the delete stops there, naming the path."""
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(False)}}, {"host": {"abc": "zip"}})
    player, lines, error = play(tmp_path)
    assert error is not None, "\n".join(lines)
    assert error.resource.endswith("(Join)") and error.stack == "host"
    assert "no ingress rule" in str(error) and "host" in str(error)
    deleted = order(lines, "delete")
    assert deleted.index("ApiFromJoin") < len(deleted) - 1 and deleted[-1] == "Join"
    assert ("Create", "Join") == player.kubernetes.calls[0][:2]


def test_what_the_dependencies_allow_during_a_custom_resource_is_done_before_it(tmp_path):
    """The rule has a dependent of its own (a fast AWS resource): CloudFormation deletes that, then the rule, all
    within the seconds the custom resource's minutes-long delete runs. Played in dependency levels the rule would
    sit one level below the custom resource and outlive it: the bug would pass."""
    template = host_template(False)
    template["Resources"]["RuleMarker"] = {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": {"Ref": "ApiFromJoin"}}}
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": template}}, {"host": {"abc": "zip"}})
    _, lines, error = play(tmp_path)
    assert error is not None and "no ingress rule" in str(error) and error.resource.endswith("(Join)")
    deleted = order(lines, "delete")
    assert deleted.index("RuleMarker") < deleted.index("ApiFromJoin") < deleted.index("Join")


def test_the_same_custom_resource_depending_on_its_rule_keeps_the_path_until_its_delete_is_done(tmp_path):
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(True)}}, {"host": {"abc": "zip"}})
    player, lines, error = play(tmp_path)
    assert error is None, "\n".join(lines[-5:]) + f"\n{error}"
    deleted = order(lines, "delete")
    assert deleted.index("Join") < deleted.index("ApiFromJoin") < deleted.index("ApiSg")
    assert [c[:2] for c in player.kubernetes.calls] == [("Create", "Join"), ("Delete", "Join")]
    assert player.summary.created == player.summary.deleted == len(host_template(True)["Resources"])
    assert player.kubernetes.clusters == [] and player.aws.vpcs == {}


def test_within_a_wave_fast_aws_resources_complete_before_custom_resources_start(tmp_path):
    template = host_template(True)
    # A rule and a custom resource with the same dependencies: same wave. The custom resource reaches the
    # cluster through the rule only because the rule is created first.
    template["Resources"]["Join"]["DependsOn"] = ["Nodes", "JoinOnEvent", "JoinIsComplete", "JoinProvider"]
    template["Resources"]["ApiFromJoin"]["DependsOn"] = ["Nodes", "JoinOnEvent", "JoinIsComplete", "JoinProvider"]
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": template}}, {"host": {"abc": "zip"}})
    _, lines, error = play(tmp_path, action="create_all")
    assert error is None, error
    created = order(lines, "create")
    assert created.index("ApiFromJoin") < created.index("Join")


def test_resources_wait_for_everything_they_reference(tmp_path):
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(True)}}, {"host": {"abc": "zip"}})
    _, lines, error = play(tmp_path)
    assert error is None
    created = order(lines, "create")
    for before, after in [("Vpc", "Subnet1"), ("Subnet1", "Assoc1"), ("Table1", "Assoc1"), ("ApiSg", "Cluster"),
                          ("Cluster", "Nodes"), ("JoinSg", "JoinOnEvent"), ("JoinOnEvent", "JoinProvider"),
                          ("JoinProviderIsComplete", "JoinWaiter"), ("JoinWaiter", "JoinProvider"),
                          ("Nodes", "Join"), ("JoinProvider", "Join")]:
        assert created.index(before) < created.index(after), (before, after)
    deleted = order(lines, "delete")
    for first, then in [("Join", "JoinProvider"), ("Nodes", "Cluster"), ("Cluster", "Subnet1"), ("Subnet1", "Vpc")]:
        assert deleted.index(first) < deleted.index(then), (first, then)


def test_the_provider_framework_leads_to_the_user_handlers_and_the_waiters_timing(tmp_path):
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(True)}}, {"host": {"abc": "zip"}})
    player, _, error = play(tmp_path, action="create_all")
    assert error is None
    request = player.kubernetes.requests[0]
    call = request.provider
    assert call.on_event.handler == "handler.on_event" and call.is_complete.handler == "handler.is_complete"
    assert call.on_event.asset_dir == tmp_path / "asset.abc"
    assert call.on_event.environment == {"MODE": "join-us-east-1"}
    assert call.query_interval_seconds == 20 and call.total_timeout_seconds == 2100
    assert request.properties["Cluster"] == "host" and request.properties["ServiceToken"].endswith(":function:" +
                                                                                                  player.scopes["host"].live["JoinProvider"].physical_id)
    assert call.on_event.subnets and call.on_event.security_groups
    assert request.assets == {"abc.zip": tmp_path / "asset.abc"}  # a HelmChart's ChartAssetURL names its key


def test_a_singleton_provider_without_the_framework_is_its_own_on_event(tmp_path):
    template = host_template(True)
    template["Resources"]["Join"]["Properties"]["ServiceToken"] = {"Fn::GetAtt": ["JoinOnEvent", "Arn"]}
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": template}}, {"host": {"abc": "zip"}})
    player, _, error = play(tmp_path, action="create_all")
    assert error is None
    call = player.kubernetes.requests[0].provider
    assert call.is_complete is None and call.on_event.handler == "handler.on_event" and call.total_timeout_seconds == 120


def member_stacks(peer_routes: bool = True, return_route: bool = True, cidr_rule: str = "172.21.0.0/16") -> dict:
    """host (us-east-1: VPC, cluster `host`, the join Lambda) and member (us-east-2: VPC, cluster `member`), a
    peering stack in us-east-1 with the host's routes, a peer-routes stack in us-east-2 with the member's routes;
    cross-region values through Fn::GetStackOutput, as the CDK writes them."""
    def out(stack, region, name):
        return {"Fn::GetStackOutput": {"StackName": stack, "Region": region, "OutputName": name}}

    host = {**vpc("172.21.0.0/16"), **cluster("host"), **provider()}
    host["ApiFromJoin"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Fn::GetAtt": ["ApiSg", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "SourceSecurityGroupId": {"Fn::GetAtt": ["JoinSg", "GroupId"]}}}
    host_outputs = {"Vpc": {"Value": {"Ref": "Vpc"}}, "Table1": {"Value": {"Ref": "Table1"}},
                    "Table2": {"Value": {"Ref": "Table2"}}, "Provider": {"Value": {"Fn::GetAtt": ["JoinProvider", "Arn"]}}}
    member = {**vpc("172.22.0.0/16"), **cluster("member", arch_ami="AL2023_ARM_64_STANDARD")}
    member["ApiFromHost"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Fn::GetAtt": ["ApiSg", "GroupId"]}, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "CidrIp": cidr_rule}}
    member_outputs = {"Vpc": {"Value": {"Ref": "Vpc"}}, "Table1": {"Value": {"Ref": "Table1"}},
                      "Table2": {"Value": {"Ref": "Table2"}}}
    peering = {"Peering": {"Type": "AWS::EC2::VPCPeeringConnection", "Properties": {
        "VpcId": out("host", "us-east-1", "Vpc"), "PeerVpcId": out("member", "us-east-2", "Vpc"),
        "PeerRegion": "us-east-2", "PeerOwnerId": ACCOUNT}}}
    for i in (1, 2):
        peering[f"HostRoute{i}"] = {"Type": "AWS::EC2::Route", "Properties": {
            "RouteTableId": out("host", "us-east-1", f"Table{i}"), "DestinationCidrBlock": "172.22.0.0/16",
            "VpcPeeringConnectionId": {"Ref": "Peering"}}}
    routes = {}
    if return_route:
        for i in (1, 2):
            routes[f"MemberRoute{i}"] = {"Type": "AWS::EC2::Route", "Properties": {
                "RouteTableId": out("member", "us-east-2", f"Table{i}"), "DestinationCidrBlock": "172.21.0.0/16",
                "VpcPeeringConnectionId": out("peering", "us-east-1", "Peering")}}
    federation = {"JoinMember": {"Type": "Custom::KubeJoin", "Properties": {
        "ServiceToken": out("host", "us-east-1", "Provider"), "Cluster": "member"}}}
    stacks = {
        "host": {"region": "us-east-1", "template": {"Resources": host, "Outputs": host_outputs}},
        "member": {"region": "us-east-2", "template": {"Resources": member, "Outputs": member_outputs}},
        "peering": {"region": "us-east-1", "template": {"Resources": peering,
                                                         "Outputs": {"Peering": {"Value": {"Ref": "Peering"}}}}},
        "federation": {"region": "us-east-1", "template": {"Resources": federation}, "depends": ["peering"]},
    }
    if peer_routes:
        stacks["peer-routes"] = {"region": "us-east-2", "template": {"Resources": routes or {
            "Nothing": {"Type": "AWS::CDK::Metadata", "Properties": {}}}}}
        stacks["federation"]["depends"] = ["peering", "peer-routes"]
    return stacks


def test_stacks_go_in_levels_by_manifest_and_cross_region_references_and_are_deleted_in_reverse(tmp_path):
    write_assembly(tmp_path, member_stacks(), {"host": {"abc": "zip"}})
    player, lines, error = play(tmp_path)
    assert error is None, error
    assert player.stack_levels() == [["host", "member"], ["peering"], ["peer-routes"], ["federation"]]
    stack_lines = [fields(line)[1] for line in lines if "(stack)" in line]
    assert stack_lines == ["host", "member", "peering", "peer-routes", "federation",
                           "federation", "peer-routes", "peering", "member", "host"]
    assert [line for line in lines if line.startswith("---")][0] == "--- create level 1: host, member"
    # Each cluster's node groups as they change: the created group (architecture from the AmiType), then none.
    assert [[g.arch for g in groups] for groups in player.kubernetes.node_groups["member"]] == [["arm64"], []]
    assert [[g.arch for g in groups] for groups in player.kubernetes.node_groups["host"]] == [["amd64"], []]


def test_a_member_in_another_region_is_reached_through_the_peering_with_routes_both_ways(tmp_path):
    write_assembly(tmp_path, member_stacks(return_route=False), {"host": {"abc": "zip"}})
    _, _, error = play(tmp_path)
    assert error is not None and "no return route" in str(error) and "member" in str(error)
    assert error.stack == "federation" and error.kubernetes_object == "cluster member"


def test_a_security_group_reference_does_not_cross_regions(tmp_path):
    """The member admits the host's CIDR; a rule naming the join Lambda's group would not work across regions."""
    (tmp_path / "ok").mkdir()
    write_assembly(tmp_path / "ok", member_stacks(), {"host": {"abc": "zip"}})
    assert play(tmp_path / "ok")[2] is None
    (tmp_path / "narrow").mkdir()
    write_assembly(tmp_path / "narrow", member_stacks(cidr_rule="172.21.64.0/24"), {"host": {"abc": "zip"}})
    error = play(tmp_path / "narrow")[2]
    assert error is not None and "no ingress rule" in str(error)


def test_reading_a_stack_the_assembly_does_not_have_is_a_failure(tmp_path):
    stacks = member_stacks()
    del stacks["member"]
    stacks["peer-routes"]["template"] = {"Resources": {"Nothing": {"Type": "AWS::CDK::Metadata"}}}
    write_assembly(tmp_path, stacks, {"host": {"abc": "zip"}})
    with pytest.raises(RehearsalFailure, match="reads stack 'member', which no stack of the assembly has"):
        read_assembly(tmp_path)


def test_an_unknown_resource_type_is_a_failure_naming_it(tmp_path):
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
    write_assembly(tmp_path, {"s": {"region": "eu-west-1", "template": template}})
    _, lines, error = play(tmp_path)
    assert "AWS::SQS::Queue" in str(error) and "rehearsal/aws.py" in error.fix and error.resource == "Queue (Queue)"
    assert fields(lines[-1]) == ["create", "s", "Queue", "AWS::SQS::Queue", "FAILED"]


def test_a_custom_type_no_side_serves_is_a_failure_naming_it(tmp_path):
    template = host_template(True)
    template["Resources"]["Join"]["Type"] = "Custom::Unheard"
    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": template}}, {"host": {"abc": "zip"}})
    error = play(tmp_path)[2]
    assert "no side of the rehearsal serves Custom::Unheard" in str(error)


@pytest.mark.parametrize("bad, message", [
    ({"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.0.0/24"}},
     "not inside its VPC"),
    ({"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "Table1"}, "DestinationCidrBlock":
                                                "10.0.0.0/8", "VpcPeeringConnectionId": "pcx-0"}},
     "does not exist"),
    ({"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"GroupId": "sg-missing", "IpProtocol": "-1"}},
     "InvalidGroup.NotFound"),
])
def test_the_aws_model_refuses_what_aws_refuses(tmp_path, bad, message):
    template = {"Resources": {**vpc("172.21.0.0/16"), "Bad": bad}}
    write_assembly(tmp_path, {"s": {"region": "us-east-1", "template": template}})
    error = play(tmp_path)[2]
    assert error is not None and message in str(error) and "(Bad)" in error.resource


def test_a_rule_and_the_cdk_bootstrap_parameter(tmp_path):
    template = {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>",
                                            "Default": "/cdk-bootstrap/hnb659fds/version"},
                       "Ami": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                               "Default": "/aws/service/ami-amazon-linux-latest/al2023"}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2"], {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "bootstrap 6 required"}]}},
        "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Ref": "Ami"}}}},
        "Outputs": {"Ami": {"Value": {"Fn::GetAtt": ["P", "Value"]}}},
    }
    write_assembly(tmp_path, {"s": {"region": "us-east-1", "template": template}})
    player, _, error = play(tmp_path, action="create_all")
    assert error is None and player.outputs["s"]["Ami"].startswith("ami-")
    template["Rules"]["CheckBootstrapVersion"]["Assertions"][0]["Assert"] = {
        "Fn::Contains": [["1"], {"Ref": "BootstrapVersion"}]}
    write_assembly(tmp_path, {"s": {"region": "us-east-1", "template": template}})
    assert "bootstrap 6 required" in str(play(tmp_path)[2])


class Scope:
    stack, region, account = "s", "eu-west-1", ACCOUNT

    def __init__(self):
        self.conditions = {"Yes": True, "No": False}

    def ref(self, name):
        return {"Param": "p-value", "Res": "phys-1"}[name]

    def get_att(self, logical_id, attribute):
        return f"{logical_id}.{attribute}"

    def condition(self, name):
        return self.conditions[name]

    def mapping(self, name, key, attribute):
        return {"M": {"k": {"a": "mapped"}}}[name][key][attribute]

    def stack_output(self, stack, region, output):
        return f"{stack}@{region}:{output}"

    def import_value(self, export):
        return f"import:{export}"

    def azs(self, region):
        return [region + "a", region + "b"]


@pytest.mark.parametrize("expr, value", [
    ({"Ref": "Param"}, "p-value"),
    ({"Ref": "AWS::Region"}, "eu-west-1"),
    ({"Fn::GetAtt": ["Res", "Arn"]}, "Res.Arn"),
    ({"Fn::GetAtt": "Res.Endpoint.Address"}, "Res.Endpoint.Address"),
    ({"Fn::Join": ["-", ["a", {"Ref": "Param"}, 3]]}, "a-p-value-3"),
    ({"Fn::Sub": "${AWS::AccountId}/${Res}/${Res.Arn}/${!Literal}"}, f"{ACCOUNT}/phys-1/Res.Arn/${{Literal}}"),
    ({"Fn::Sub": ["${X}-${Param}", {"X": {"Ref": "AWS::Partition"}}]}, "aws-p-value"),
    ({"Fn::Select": [1, {"Fn::Split": [".", "a.b.c"]}]}, "b"),
    ({"Fn::If": ["Yes", "y", "n"]}, "y"),
    ({"K": {"Fn::If": ["No", "y", {"Ref": "AWS::NoValue"}]}}, {}),
    ({"Fn::Equals": [{"Ref": "Param"}, "p-value"]}, True),
    ({"Fn::And": [{"Condition": "Yes"}, {"Fn::Not": [{"Condition": "No"}]}]}, True),
    ({"Fn::Or": [{"Condition": "No"}, {"Fn::Equals": ["1", 1]}]}, True),
    ({"Fn::GetStackOutput": {"StackName": "other", "Region": "us-east-2", "OutputName": "O"}}, "other@us-east-2:O"),
    ({"Fn::ImportValue": "Shared"}, "import:Shared"),
    ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b"]),
    ({"Fn::Base64": "hi"}, "aGk="),
    ({"Fn::FindInMap": ["M", "k", "a"]}, "mapped"),
    ({"Fn::ToJsonString": {"a": [{"Ref": "Param"}]}}, '{"a":["p-value"]}'),
    ({"List": ["a", {"Ref": "AWS::NoValue"}], "Gone": {"Ref": "AWS::NoValue"}}, {"List": ["a"]}),
])
def test_intrinsics_resolve_as_cloudformation_does(expr, value):
    assert resolve(expr, Scope()) == value


def test_an_unknown_intrinsic_is_a_failure_naming_it():
    with pytest.raises(RehearsalFailure, match="unknown intrinsic function 'Fn::Transmogrify'"):
        resolve({"Fn::Transmogrify": ["a"]}, Scope())


def test_levels_refuse_a_cycle():
    assert levels({"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}) == [["a"], ["b", "c"], ["d"]]
    with pytest.raises(RehearsalFailure, match="circular dependency"):
        levels({"a": {"b"}, "b": {"a"}})


# ---- the synthesized federation, with a double that only checks the network ------------------------------------

class NetworkOnly:
    """A Kubernetes double for the project's custom resources: each one needs its Lambda to reach every EKS
    cluster its properties name (EksClusterName anywhere, or the kubectl provider's ClusterName), nothing more."""

    def __init__(self) -> None:
        self.served: list[tuple[str, str]] = []

    def create_cluster(self, cluster):
        return Recorder().create_cluster(cluster)

    def set_node_groups(self, cluster, groups):
        pass

    def delete_cluster(self, cluster):
        pass

    def handles(self, resource_type):
        return resource_type.startswith(("Custom::AWSCDK-EKS-", "Custom::Kubefed", "Custom::FederatedWorkload"))

    @staticmethod
    def clusters(value) -> set[str]:
        if isinstance(value, dict):
            found = {v for k, v in value.items() if k in ("EksClusterName", "ClusterName") and isinstance(v, str)}
            return found.union(*(NetworkOnly.clusters(v) for v in value.values()))
        if isinstance(value, list):
            return set().union(*(NetworkOnly.clusters(v) for v in value))
        return set()

    def custom_resource(self, request, clock, network):
        clock.advance(60)
        source = request.provider.on_event.source
        for name in sorted(self.clusters(request.properties)):
            if not network.reachable(source, name):
                raise RehearsalFailure(f"{source} cannot reach {name}: {network.explain(source, name)}",
                                       kubernetes_object=f"API server of {name}")
        self.served.append((request.request_type, request.logical_id))
        return CustomResourceResult(request.physical_id or request.logical_id)


@pytest.fixture(scope="module")
def federation_assembly(tmp_path_factory):
    """Two clusters in two regions with a typed workload: a cloud assembly on disk."""
    from fedtest import environment, synth

    raw = environment(2, workloads=[{"name": "echo-server", "namespace": "echo", "containerPort": 8080,
                                     "image": "registry.k8s.io/echoserver:1.10",
                                     "clusters": {"fed-1": {"replicas": 1}, "fed-2": {"replicas": 1}}}])
    _, assembly = synth(raw, name="net", outdir=str(tmp_path_factory.mktemp("net")))
    return Path(assembly.directory)


def federation_template_without_rule_dependencies(source: Path, target: Path) -> None:
    """A copy of `source` whose custom resources depend on no security group rule (DependsOn), whatever the
    app's fix adds: the class of bug the rehearsal must keep catching."""
    import shutil

    shutil.copytree(source, target)
    for path in target.glob("*.template.json"):
        template = json.loads(path.read_text())
        rules = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"}
        for resource in template["Resources"].values():
            if resource["Type"].startswith("Custom::") and resource.get("DependsOn"):
                depends = resource["DependsOn"]
                resource["DependsOn"] = [d for d in ([depends] if isinstance(depends, str) else depends)
                                         if d not in rules]
        path.write_text(json.dumps(template))


def test_the_synthesized_federation_creates_with_every_lambda_reaching_its_clusters(federation_assembly):
    """Every custom resource of every stack (kubectl provider in each cluster's VPC, the join Lambda in the host's
    VPC reaching the member across regions through the peering) has its network path when it is created."""
    double = NetworkOnly()
    _, lines, error = play(federation_assembly, double, action="create_all")
    assert error is None, f"{error} / {error.resource} / {error.stack}"
    kinds = {logical_id for _, logical_id in double.served}
    assert any("Join" in k for k in kinds) and any("Waiter" in k for k in kinds)


def test_an_unjoin_whose_ingress_rule_is_not_depended_on_stops_the_delete(federation_assembly, tmp_path):
    """Issue 15's destroy hang (HostApiFromJoinLambda deleted before the unjoins), on the synthesized templates:
    without a dependency on the rule, the delete stops at a custom resource that can no longer reach the host."""
    federation_template_without_rule_dependencies(federation_assembly, tmp_path / "cdk.out")
    double = NetworkOnly()
    _, lines, error = play(tmp_path / "cdk.out", double)
    assert error is not None
    assert error.stack.endswith("-federation") and "no ingress rule" in str(error)
    # The first to find its path gone: a waiter (deleted first) or a join, each through its own Lambda's rule.
    assert "fedeks-net-fed-1" in str(error) and ("KubefedJoinOnEvent" in str(error)
                                                 or "WorkloadWaiterOnEvent" in str(error))
    assert ("Create", [k for _, k in double.served if "Join" in k][0]) in double.served  # the joins were created
    deleted = order(lines, "delete")
    assert "HostApiFromJoinLambda" in deleted or "HostApiFromWaiterLambda" in deleted


def test_with_every_custom_resource_depending_on_the_rule_the_delete_completes(federation_assembly, tmp_path):
    """The network half of the fix the issue asks for is enough: the rule outlives every unjoin."""
    federation_template_without_rule_dependencies(federation_assembly, tmp_path / "cdk.out")
    path = next((tmp_path / "cdk.out").glob("*-federation.template.json"))
    template = json.loads(path.read_text())
    for key, resource in template["Resources"].items():
        # Not the engine guard: every other resource of the stack, the rules included, depends on it.
        if resource["Type"].startswith("Custom::") and not key.startswith("EngineGuard"):
            resource["DependsOn"] = sorted(set(resource.get("DependsOn", [])) | {"HostApiFromJoinLambda",
                                                                                  "HostApiFromWaiterLambda"})
    path.write_text(json.dumps(template))
    player, lines, error = play(tmp_path / "cdk.out", NetworkOnly())
    assert error is None, f"{error} / {error.resource}"
    deleted = order(lines, "delete")
    joins = [i for i, label in enumerate(deleted) if "Join-" in label]
    assert joins and max(joins) < deleted.index("HostApiFromJoinLambda")
    assert player.summary.created == player.summary.deleted + player.summary.retained
    assert player.summary.retained == sum(line.endswith("retained") for line in lines) > 0


def test_the_command_line_prints_the_failure_with_where_and_the_fix_and_exits_1(tmp_path, capsys):
    from rehearsal.__main__ import main

    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(False)}}, {"host": {"abc": "zip"}})
    assert main(["--assembly", str(tmp_path)], kubernetes_side=lambda workdir: Recorder()) == 1
    out = capsys.readouterr().out
    assert "--- create level 1: host" in out and "--- delete level 1: host" in out
    assert "create  host  Cluster  AWS::EKS::Cluster  ok" in out
    failure = out[out.index("REHEARSAL FAILED"):]
    assert "cannot reach host" in failure and "stack:" in failure and "resource:          Join (Join)" in failure
    assert "kubernetes object: cluster host" in failure and "fix:               open the path" in failure


def test_the_command_line_passes_with_a_summary(tmp_path, capsys):
    from rehearsal.__main__ import main

    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(True)}}, {"host": {"abc": "zip"}})
    assert main(["--assembly", str(tmp_path)], kubernetes_side=lambda workdir: Recorder()) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    count = len(host_template(True)["Resources"])
    assert last.startswith(f"rehearsal passed: {count} resources created, {count} deleted; virtual time ")


def test_the_command_line_refuses_a_folder_without_a_cloud_assembly(tmp_path, capsys):
    from rehearsal.__main__ import main

    assert main(["--assembly", str(tmp_path)], kubernetes_side=lambda workdir: Recorder()) == 2
    assert "no cloud assembly" in capsys.readouterr().err


@pytest.mark.parametrize("ami_type, instance_types, arch", [
    ("AL2023_ARM_64_STANDARD", ["m7g.large"], "arm64"), ("BOTTLEROCKET_ARM_64", [], "arm64"),
    ("AL2023_x86_64_STANDARD", ["m6i.large"], "amd64"), (None, ["a1.large"], "arm64"),
    (None, ["c7gn.large", "m7g.large"], "arm64"), (None, ["g5.xlarge"], "amd64"), (None, [], "amd64"),
])
def test_node_group_architecture_from_the_ami_type_or_the_instance_types(ami_type, instance_types, arch):
    from rehearsal.aws import node_architecture

    assert node_architecture(ami_type, instance_types) == arch


def test_the_command_line_says_an_internal_error_in_one_line(tmp_path, capsys):
    from rehearsal.__main__ import main

    class Broken(Recorder):
        def delete_cluster(self, cluster):
            raise RuntimeError("emulator fell over")

    write_assembly(tmp_path, {"host": {"region": "us-east-1", "template": host_template(True)}}, {"host": {"abc": "zip"}})
    assert main(["--assembly", str(tmp_path)], kubernetes_side=lambda workdir: Broken()) == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "RuntimeError: emulator fell over" in err and "Traceback" not in err
