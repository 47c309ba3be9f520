"""The AWS Load Balancer Controller on a member cluster: what turns a federated `LoadBalancer` Service into a
Network Load Balancer there.

Why this controller: on EKS 1.34-1.36 a `type: LoadBalancer` Service that no controller claims is still handled
by the legacy AWS cloud-provider service controller in the managed control plane, but the EKS user guide says it
"is only receiving critical bug fixes" and recommends the AWS Load Balancer Controller (EKS user guide,
"Route TCP and UDP traffic with Network Load Balancers"). The workload renderer sets
`loadBalancerClass: service.k8s.aws/nlb` on every load-balanced Service, so only this controller acts on them.

How it is installed: aws-cdk-lib's `aws_eks_v2.AlbController` at version v3.2.2 (the newest it knows, with the
IAM policy aws-cdk-lib ships for exactly that version), credentials through IRSA (the construct's own
service account), the chart through the cluster's kubectl handler. Image repository and chart repository come
from the config so both can be mirrored; the construct has no chart-repository option, so it is set on its
HelmChart resource (the `Repository` property of Custom::AWSCDK-EKS-HelmChart).

Chart values of ours: `enableServiceMutatorWebhook: false`. The controller's webhook would otherwise set the
load-balancer class on every new LoadBalancer Service and, with failurePolicy Fail, refuse Services while the
controller is not serving (aws-load-balancer-controller `docs/deploy/installation.md`); our Services carry the
class already.

Subnets: aws_eks_v2's Cluster tags the VPC's public subnets `kubernetes.io/role/elb=1` and private ones
`kubernetes.io/role/internal-elb=1` (aws-eks-v2/lib/cluster.js `tagSubnets`), which is how the controller
picks subnets for internet-facing and internal load balancers. Security groups: from v2.6 it creates a
frontend security group per load balancer (open to `loadBalancerSourceRanges`, default 0.0.0.0/0 on the
listener ports) and a shared backend group it adds to the node/pod rules for the target ports.

Helm's wait: aws-cdk-lib's AlbController installs its chart with `wait: true, timeout: Duration.minutes(15)`
(aws-cdk-lib 2.275.0, aws-eks-v2/lib/alb-controller.ts, `new HelmChart(this, 'Resource', {...})`), and the kubectl
handler that runs `helm upgrade --install --wait --timeout <Timeout>` (custom-resource-handlers
aws-eks-v2/kubectl-handler/helm/__init__.py) is itself a Lambda with a 15-minute timeout
(aws-eks-v2/lib/kubectl-provider.ts). A controller that never gets ready would time out Helm and the Lambda
together, and CloudFormation would wait out the custom resource's hour instead of failing. So the chart's
`Timeout` is overridden to HELM_TIMEOUT, well inside the Lambda's time, and Helm's failure reaches CloudFormation.

Teardown: the controller keeps a finalizer (`service.k8s.aws/resources`) on each Service it provisions and
deletes the load balancer before releasing it, so Services must go before the controller (the federation stack,
which owns the workloads, is deleted before the cluster stacks).
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, aws_eks_v2 as eks
from constructs import Construct

from components.compliance import acknowledge
from federated_eks.model.federation import LoadBalancerControllerConfig

VERSION = eks.AlbControllerVersion.V3_2_2
# aws-cdk-lib's AlbController installs from this repository (aws-eks-v2/lib/alb-controller.js).
LIBRARY_CHART_REPOSITORY = "https://aws.github.io/eks-charts"
# Helm's wait for the controller's pods: it pulls one image and starts two replicas (about a minute when healthy),
# against the kubectl handler's 15-minute Lambda timeout.
HELM_TIMEOUT = Duration.minutes(5)
KUBECTL_LAMBDA_TIMEOUT = Duration.minutes(15)
# The wildcard resources of that policy, as cdk-nag reports them.
_POLICY_WILDCARDS = ("*", "arn:<AWS::Partition>:ec2:*:*:security-group/*",
                     *(f"arn:<AWS::Partition>:elasticloadbalancing:*:*:{kind}/{lb}/*/*{extra}"
                       for kind, extra in (("loadbalancer", ""), ("listener", "/*"), ("listener-rule", "/*"))
                       for lb in ("app", "net")),
                     "arn:<AWS::Partition>:elasticloadbalancing:*:*:targetgroup/*/*")


@dataclass(frozen=True)
class LoadBalancerControllerProps:
    cluster: eks.Cluster
    """A member cluster with a kubectl handler."""
    config: LoadBalancerControllerConfig = LoadBalancerControllerConfig()


class LoadBalancerController(Construct):
    """Attributes: `controller` (aws_eks_v2.AlbController), `chart` (its HelmChart)."""

    def __init__(self, scope: Construct, id: str, props: LoadBalancerControllerProps) -> None:
        super().__init__(scope, id)
        cfg = props.config
        self.controller = eks.AlbController(
            self, "Controller", cluster=props.cluster, version=VERSION, repository=cfg.image_repository,
            additional_helm_chart_values={"enableServiceMutatorWebhook": False})
        self.chart: eks.HelmChart = self.controller.node.find_child("Resource")
        resource = self.chart.node.find_child("Resource").node.default_child
        # The library's chart has 900 s hard-coded (see the module docstring), as long as the handler's Lambda.
        resource.add_property_override("Timeout", f"{HELM_TIMEOUT.to_seconds()}s")
        if cfg.chart_repository != LIBRARY_CHART_REPOSITORY:
            resource.add_property_override("Repository", cfg.chart_repository)
        acknowledge(self.controller, "The AWS Load Balancer Controller's IAM policy is the one its maintainers "
                    "publish for v3.2.2 (shipped with aws-cdk-lib): EC2/ELB describe calls support no resource "
                    "scoping, and creating load balancers, target groups and security groups for Services "
                    "cannot name resources that do not exist yet; mutations are conditioned on the "
                    "elbv2.k8s.aws/cluster tag where the API allows it.",
                    *(f"AwsSolutions-IAM5[Resource::{r}]" for r in _POLICY_WILDCARDS))
