"""The AWS Load Balancer Controller on a member: chart, version, values, mirrors, IRSA; cdk-nag and cfn-lint clean."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from components.eks_cluster import FederatedCluster, FederatedClusterProps
from components.load_balancer_controller import LoadBalancerController, LoadBalancerControllerProps
from components.network import Network, NetworkProps
from federated_eks.plan.subnet_layout import CLUSTER_VPC
from fedtest import CONTEXT, ROOT, scratch_dir
from federated_eks.model.federation import EndpointAccessConfig, LoadBalancerControllerConfig, NodeGroupConfig


def member_with_controller(**props) -> tuple[dict, Path]:
    outdir = scratch_dir(prefix="fedeks-lbc-")
    app = cdk.App(outdir=outdir, context=CONTEXT)
    stack = cdk.Stack(app, "Member", env=cdk.Environment(account="123456789012", region="us-east-2"))
    network = Network(stack, "Network", NetworkProps(max_azs=CLUSTER_VPC.azs, cidr="172.22.0.0/16", nat_gateways=1))
    eks = FederatedCluster(stack, "Eks", FederatedClusterProps(
        cluster_name="fedeks-t-fed-2", kubernetes_version="1.35", vpc=network.vpc, node_group=NodeGroupConfig(),
        endpoint_access=EndpointAccessConfig(), with_kubectl=True))
    LoadBalancerController(stack, "LoadBalancerController", LoadBalancerControllerProps(
        cluster=eks.cluster, config=LoadBalancerControllerConfig(**props)))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # any unacknowledged cdk-nag finding fails here
    return json.loads((Path(outdir) / "Member.template.json").read_text()), Path(outdir)


def of_type(template: dict, cfn_type: str) -> list[dict]:
    return [r for r in template["Resources"].values() if r["Type"] == cfn_type]


@pytest.fixture(scope="module")
def mirrored():
    return member_with_controller(image_repository="111122223333.dkr.ecr.us-east-2.amazonaws.com/lbc",
                                  chart_repository="oci://111122223333.dkr.ecr.us-east-2.amazonaws.com/charts")


def test_chart_version_values_and_mirrors(mirrored):
    template, _ = mirrored
    [chart] = of_type(template, "Custom::AWSCDK-EKS-HelmChart")
    props = chart["Properties"]
    assert props["Chart"] == "aws-load-balancer-controller" and props["Version"] == "3.2.2"
    assert props["Namespace"] == "kube-system" and props["Wait"] is True
    assert props["Repository"] == "oci://111122223333.dkr.ecr.us-east-2.amazonaws.com/charts"
    values = "".join(p if isinstance(p, str) else "<ref>" for p in props["Values"]["Fn::Join"][1])
    assert '"enableServiceMutatorWebhook":false' in values
    assert '"image":{"repository":"111122223333.dkr.ecr.us-east-2.amazonaws.com/lbc","tag":"v3.2.2"}' in values
    assert '"serviceAccount":{"create":false,"name":"aws-load-balancer-controller"}' in values


def test_credentials_through_irsa(mirrored):
    template, _ = mirrored
    assert len(of_type(template, "AWS::IAM::OIDCProvider")) == 1
    [manifest] = [r for r in of_type(template, "Custom::AWSCDK-EKS-KubernetesResource")
                  if "aws-load-balancer-controller" in json.dumps(r["Properties"]["Manifest"])]
    assert "eks.amazonaws.com/role-arn" in json.dumps(manifest["Properties"]["Manifest"])
    policies = [p for p in of_type(template, "AWS::IAM::Policy")
                if "elasticloadbalancing:CreateLoadBalancer" in json.dumps(p)]
    assert len(policies) == 1


def test_default_chart_repository_is_the_eks_charts_one():
    template, outdir = member_with_controller()
    [chart] = of_type(template, "Custom::AWSCDK-EKS-HelmChart")
    assert chart["Properties"]["Repository"] == "https://aws.github.io/eks-charts"
    run = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable",
                          str(outdir / "Member.template.json")], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout == "" and run.returncode == 0, run.stdout + run.stderr


def test_helm_gives_up_well_before_the_kubectl_lambda(mirrored):
    # aws-cdk-lib's AlbController hard-codes a 900 s Helm wait, the kubectl handler Lambda's whole time: a
    # controller that never got ready timed out both, and CloudFormation waited an hour instead of failing.
    template, _ = mirrored
    [chart] = of_type(template, "Custom::AWSCDK-EKS-HelmChart")
    helm_seconds = int(chart["Properties"]["Timeout"].removesuffix("s"))
    handler = next(r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"
                   and "KubectlProvider/Handler" in r["Metadata"]["aws:cdk:path"])
    assert chart["Properties"]["Wait"] is True
    assert helm_seconds * 2 <= handler["Properties"]["Timeout"] == 900
