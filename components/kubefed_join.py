"""KubeFed joins as custom resources: the join Lambda (lambda/kubefed_join), its Provider (onEvent +
isComplete polling), and one `Custom::KubefedJoin` resource per cluster.

The Lambda runs in the host VPC's private subnets and reaches every API server over the peering; its
only egress is HTTPS to the cluster VPCs (the EKS token is presigned locally, no AWS call is made).
Its role lives in the access stack and gets Kubernetes access only through EKS access entries; here
it gets just what a VPC Lambda needs to run and log.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2, aws_iam as iam
from aws_cdk import aws_lambda as lambda_, aws_logs as logs, custom_resources as cr
from constructs import Construct

from components.compliance import acknowledge, function_versions, managed_policy
from components.lambda_bundling import RUNTIME, python_lambda_code

SOURCE = Path(__file__).resolve().parents[1] / "lambda" / "kubefed_join"
RESOURCE_TYPE = "Custom::KubefedJoin"
TEARDOWN_TYPE = "Custom::KubefedTeardown"
POLL_INTERVAL = Duration.seconds(20)
# The handler (kube_api.Budget) keeps a quarter of what is left back, so one poll stops well inside this.
FUNCTION_TIMEOUT = Duration.minutes(2)
# Read by lambda/kubefed_join/allowed_clusters.py: the only clusters the functions serve.
CLUSTERS_ENV = "KUBEFED_JOIN_CLUSTERS"
ENDPOINT_CHARS = 80
MAX_ENV_CHARS = 3800


@dataclass(frozen=True)
class JoinTarget:
    """A cluster as a join sees it. Endpoint and CA usually come from the cluster's stack."""

    name: str
    eks_cluster_name: str
    region: str
    endpoint: str
    ca_data: str

    def as_property(self) -> dict[str, str]:
        return {"Name": self.name, "EksClusterName": self.eks_cluster_name, "Region": self.region,
                "Endpoint": self.endpoint, "CaData": self.ca_data}


@dataclass(frozen=True)
class KubefedJoinProviderProps:
    vpc: ec2.IVpc
    """The host cluster's VPC (peered with every cluster)."""
    role: iam.IRole
    """The join role; every cluster grants it cluster-admin through an access entry."""
    api_cidrs: dict[str, str]
    """Where the API servers are: cluster name -> VPC CIDR. The only egress allowed."""
    timeout_minutes: int
    """How long one join may wait for readiness before it fails."""


class KubefedJoinProvider(Construct):
    """Attributes: `security_group`, `provider`. Call `join()` once per cluster."""

    def __init__(self, scope: Construct, id: str, props: KubefedJoinProviderProps) -> None:
        super().__init__(scope, id)
        self._timeout_minutes = props.timeout_minutes
        self.security_group = ec2.SecurityGroup(self, "SecurityGroup", vpc=props.vpc, allow_all_outbound=False,
                                                description="KubeFed join Lambda: HTTPS to the cluster API servers")
        for name, cidr in sorted(props.api_cidrs.items()):
            self.security_group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"API server of {name}")

        self._allowed: dict[str, JoinTarget] = {}
        code = python_lambda_code(SOURCE)
        functions = {}
        log_groups = []
        for fn_id, entry in (("OnEvent", "handler.on_event"), ("IsComplete", "handler.is_complete")):
            log_group = logs.LogGroup(self, f"{fn_id}Logs", retention=logs.RetentionDays.ONE_MONTH,
                                      removal_policy=RemovalPolicy.DESTROY)
            log_groups.append(log_group)
            functions[fn_id] = lambda_.Function(
                self, fn_id, runtime=RUNTIME, handler=entry, code=code, role=props.role,
                timeout=FUNCTION_TIMEOUT, memory_size=256, log_group=log_group,
                vpc=props.vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[self.security_group],
                description="Joins a cluster to KubeFed / unjoins it (federated-eks)")

        # The role is imported (it lives in the access stack): grant here what the functions need to run.
        permissions = iam.Policy(self, "RuntimePermissions", roles=[props.role], statements=[
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[g.log_group_arn for g in log_groups]),
            iam.PolicyStatement(actions=["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                         "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                         "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                                resources=["*"]),
        ])
        acknowledge(permissions, "A VPC Lambda's network-interface actions (those of AWSLambdaVPCAccessExecutionRole) "
                    "support no resource-level permissions; the log actions are scoped to the functions' log groups.",
                    "AwsSolutions-IAM5[Resource::*]")
        for fn in functions.values():
            fn.node.add_dependency(permissions)  # Lambda checks the ENI permissions at creation
        self._functions = list(functions.values())

        self.provider = cr.Provider(
            self, "Provider",
            on_event_handler=functions["OnEvent"],
            is_complete_handler=functions["IsComplete"],
            query_interval=POLL_INTERVAL,
            # Our own deadline fails first, with a message naming what never became ready.
            total_timeout=Duration.minutes(props.timeout_minutes + 5),
        )
        _acknowledge_provider_framework(self.provider, list(functions.values()))

    def join(self, id: str, *, member: JoinTarget, host: JoinTarget, namespace: str, scope: str,
             labels: dict[str, str]) -> CustomResource:
        self._allow(member, host)
        return CustomResource(
            self, id,
            service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={
                "Member": member.as_property(),
                "Host": host.as_property(),
                "Namespace": namespace,
                "Scope": scope,
                "Labels": dict(sorted(labels.items())),
                "TimeoutSeconds": str(self._timeout_minutes * 60),
            },
        )

    def teardown(self, id: str, *, host: JoinTarget, namespace: str) -> CustomResource:
        """The resource that, on delete, releases KubeFed's FederatedTypeConfigs while the controller still
        runs. Make it depend on the chart, and every join depend on it: deletes then run joins first, this
        second, the chart's uninstall last."""
        self._allow(host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=TEARDOWN_TYPE,
                              properties={"Host": host.as_property(), "Namespace": namespace})


    def _allow(self, *targets: JoinTarget) -> None:
        """Add clusters to those the functions serve (CLUSTERS_ENV). Endpoints are tokens (they come from the
        cluster stacks): the JSON becomes an Fn::Join over them, so the environment holds the deployed
        endpoints, and a request naming any other cluster or API server is refused."""
        for target in targets:
            known = self._allowed.setdefault(target.name, target)
            if known != target:
                raise ValueError(f"cluster {target.name} is given to the KubeFed join provider twice, differently")
        allowed = Stack.of(self).to_json_string({name: [t.eks_cluster_name, t.region, t.endpoint]
                                                 for name, t in sorted(self._allowed.items())})
        # Lambda allows 4 KB of environment; an EKS endpoint is about 75 characters once deployed.
        size = sum(len(n) + len(t.eks_cluster_name) + len(t.region) + ENDPOINT_CHARS + 12
                   for n, t in self._allowed.items())
        if size > MAX_ENV_CHARS:
            raise ValueError(f"{len(self._allowed)} clusters do not fit the join function's environment "
                             f"({CLUSTERS_ENV}, about {size} characters of at most {MAX_ENV_CHARS}): "
                             "use fewer clusters or shorter cluster names")
        for fn in self._functions:
            fn.add_environment(CLUSTERS_ENV, allowed)


def _acknowledge_provider_framework(provider: cr.Provider, user_functions: list[lambda_.Function]) -> None:
    framework = [provider.node.find_child(f"framework-{n}") for n in ("isComplete", "onTimeout")]
    acknowledge(provider, "The CDK Provider framework's own functions log with the AWS-managed basic execution "
                "policy; they hold no other permission.", managed_policy("service-role/AWSLambdaBasicExecutionRole"))
    acknowledge(provider, "The CDK Provider framework invokes the join functions and its own steps by ARN with "
                "any version qualifier (ARN:*); nothing else is granted.",
                *(function_versions(f) for f in [*user_functions, *framework]))
    acknowledge(provider, "The Provider's waiter state machine only polls isComplete; each poll is logged by the "
                "join function itself.", "AwsSolutions-SF1")
    acknowledge(provider, "X-Ray on the Provider's waiter adds cost and no insight: it makes one Lambda call per "
                "poll.", "AwsSolutions-SF2")
