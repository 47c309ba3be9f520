"""KubeFed joins as custom resources: the join Lambda (runtime/ beside this file), its Provider (onEvent +
isComplete polling), and one `Custom::KubefedJoin` resource per cluster.

The Lambda runs in the host VPC's private subnets and reaches every API server over the peering (HTTPS to the
cluster VPCs). Before it presigns a token for a cluster (locally) it asks EKS for that cluster's endpoint and CA
(eks:DescribeCluster, runtime/allowed_clusters.py): its environment holds only the environment's EKS name prefix, and
its role may describe only clusters named with it, one ARN pattern whatever the number of clusters. EKS's API is
regional (https://eks.<region>.amazonaws.com, "Amazon EKS endpoints and quotas", AWS General Reference) and a VPC
interface endpoint serves only its own region's ("Access Amazon EKS using AWS PrivateLink"), while the clusters span
regions: the function reaches each region's EKS API through the host VPC's NAT gateway (its private subnets' default
route; "Enable internet access for VPC-connected Lambda functions", Lambda Developer Guide), HTTPS only.
Its role lives in the access stack and gets Kubernetes access only through EKS access entries; here it gets what a
VPC Lambda needs to run and log, and DescribeCluster on its environment's clusters.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CustomResource, Duration, Fn, RemovalPolicy
from aws_cdk import aws_ec2 as ec2, aws_iam as iam
from aws_cdk import aws_lambda as lambda_, aws_logs as logs, custom_resources as cr
from constructs import Construct

from components.compliance import acknowledge, function_versions, managed_policy
from components.kubefed_join import contract as c
from components.lambda_bundling import RUNTIME, LambdaSource, python_lambda_code

# The runtime, packaged under its own package path, so the handler strings name the modules the tests import.
# Only the contract comes along from outside runtime/ (and the packages' empty __init__.py files).
SOURCE = LambdaSource(package="components.kubefed_join.runtime", modules=("components.kubefed_join.contract",))
HANDLERS = {"OnEvent": f"{SOURCE.package}.handler.on_event", "IsComplete": f"{SOURCE.package}.handler.is_complete"}
# The time budget is the contract's (contract.Deadlines): the poll interval, the functions' timeout (the handler,
# kube_api.Budget, keeps a quarter of what is left back, so one poll stops well inside it) and the Provider's total.
POLL_INTERVAL = Duration.seconds(c.POLL_SECONDS)
FUNCTION_TIMEOUT = Duration.seconds(c.FUNCTION_SECONDS)
# The IsComplete function's log group outlives the stack: it holds what deletes left behind (runtime/left_behind.py
# writes one line per resource, `make prune` reports them). Its name is the prefix and the stack's unique id, so a
# new deploy after a destroy never collides with it.
LEFT_BEHIND_RETENTION = logs.RetentionDays.ONE_YEAR


@dataclass(frozen=True)
class JoinTarget:
    """A cluster as a join sees it. Endpoint and CA usually come from the cluster's stack."""

    name: str
    eks_cluster_name: str
    region: str
    endpoint: str
    ca_data: str

    def as_property(self) -> dict[str, str]:
        return {c.NAME: self.name, c.EKS_CLUSTER_NAME: self.eks_cluster_name, c.REGION: self.region,
                c.ENDPOINT: self.endpoint, c.CA_DATA: self.ca_data}


def join_properties(*, member: JoinTarget, host: JoinTarget, namespace: str, scope: str, labels: dict[str, str],
                    timeout_seconds: int) -> dict:
    """The properties of a `Custom::KubefedJoin` (read by runtime/properties.py `parse`)."""
    return {c.MEMBER: member.as_property(), c.HOST: host.as_property(), c.NAMESPACE: namespace, c.SCOPE: scope,
            c.LABELS: dict(sorted(labels.items())), c.TIMEOUT_SECONDS: str(timeout_seconds)}


def teardown_properties(*, host: JoinTarget, namespace: str, timeout_seconds: int, members: list[str]) -> dict:
    """The properties of a `Custom::KubefedTeardown` (read by runtime/properties.py `parse_teardown`)."""
    return {c.HOST: host.as_property(), c.NAMESPACE: namespace, c.TIMEOUT_SECONDS: str(timeout_seconds),
            c.MEMBERS: list(members)}


@dataclass(frozen=True)
class KubefedJoinProviderProps:
    vpc: ec2.IVpc
    """The host cluster's VPC (peered with every cluster)."""
    role: iam.IRole
    """The join role; every cluster grants it cluster-admin through an access entry."""
    api_cidrs: dict[str, str]
    """Where the API servers are: cluster name -> VPC CIDR (HTTPS egress to each)."""
    eks_name_prefix: str
    """What the app puts before a cluster's name to name its EKS cluster (`topology.eks_cluster_name`): the clusters
    the functions may describe and serve."""
    timeout_minutes: int
    """How long one join (or workload) may wait for readiness before it fails; every other deadline and the
    Provider's total timeout derive from it (contract.Deadlines)."""
    left_behind_log_prefix: str = "/federated-eks/kubefed-join/"
    """Name prefix of the retained log group where deletes record what they left behind."""


class KubefedJoinProvider(Construct):
    """Attributes: `security_group`, `provider`, `deadlines` (contract.Deadlines), `left_behind_log_group`. Call
    `join()` once per cluster."""

    def __init__(self, scope: Construct, id: str, props: KubefedJoinProviderProps) -> None:
        super().__init__(scope, id)
        self._timeout_minutes = props.timeout_minutes
        self.deadlines = c.Deadlines(props.timeout_minutes * 60)
        if not c.MIN_TIMEOUT_SECONDS <= self.deadlines.timeout_seconds <= c.MAX_TIMEOUT_SECONDS:
            raise ValueError(f"timeout_minutes {props.timeout_minutes} is outside "
                             f"{c.MIN_TIMEOUT_SECONDS // 60}..{c.MAX_TIMEOUT_SECONDS // 60}")
        self.security_group = ec2.SecurityGroup(self, "SecurityGroup", vpc=props.vpc, allow_all_outbound=False,
                                                description="KubeFed join Lambda: HTTPS to the cluster API servers")
        for name, cidr in sorted(props.api_cidrs.items()):
            self.security_group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"API server of {name}")
        # The regional EKS APIs (public AWS addresses, no managed prefix list names them) through the NAT gateway.
        # What the function sends there is signed AWS API calls; a cluster token goes only to the endpoint EKS names.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                                            "EKS API (DescribeCluster) of each region, through the NAT gateway")
        if not c.EKS_NAME_PREFIX.fullmatch(props.eks_name_prefix):
            raise ValueError(f"{props.eks_name_prefix!r} is not an EKS name prefix (ending in a dash)")
        self.eks_name_prefix = props.eks_name_prefix
        code = python_lambda_code(SOURCE)
        functions = {}
        log_groups = []
        for fn_id, entry in HANDLERS.items():
            if fn_id == "IsComplete":
                stack_uuid = Fn.select(2, Fn.split("/", Aws.STACK_ID))
                log_group = logs.LogGroup(self, f"{fn_id}Logs", retention=LEFT_BEHIND_RETENTION,
                                          log_group_name=Fn.join("", [props.left_behind_log_prefix, stack_uuid]),
                                          removal_policy=RemovalPolicy.RETAIN)
                self.left_behind_log_group = log_group
            else:
                log_group = logs.LogGroup(self, f"{fn_id}Logs", retention=logs.RetentionDays.ONE_MONTH,
                                          removal_policy=RemovalPolicy.DESTROY)
            log_groups.append(log_group)
            functions[fn_id] = lambda_.Function(
                self, fn_id, runtime=RUNTIME, handler=entry, code=code, role=props.role,
                timeout=FUNCTION_TIMEOUT, memory_size=256, log_group=log_group,
                vpc=props.vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[self.security_group],
                environment={c.EKS_NAME_PREFIX_ENV: props.eks_name_prefix},
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
        self.describe_clusters = iam.Policy(self, "DescribeClusters", roles=[props.role], statements=[
            iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[
                c.describe_policy_resource(Aws.PARTITION, Aws.ACCOUNT_ID, props.eks_name_prefix)])])
        acknowledge(self.describe_clusters, "The functions read endpoint and CA of this environment's clusters only: "
                    "the ARN pattern is the environment's EKS name prefix in any region (the clusters span regions), "
                    "so the policy stays one statement for any number of clusters.",
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:eks:*:<AWS::AccountId>:cluster/"
                    f"{props.eks_name_prefix}*]")
        acknowledge(permissions, "A VPC Lambda's network-interface actions (those of AWSLambdaVPCAccessExecutionRole) "
                    "support no resource-level permissions; the log actions are scoped to the functions' log groups.",
                    "AwsSolutions-IAM5[Resource::*]")
        for fn in functions.values():
            fn.node.add_dependency(permissions)  # Lambda checks the ENI permissions at creation
            fn.node.add_dependency(self.describe_clusters)  # and on delete, unjoins still describe clusters
        self._functions = list(functions.values())

        self.provider = cr.Provider(
            self, "Provider",
            on_event_handler=functions["OnEvent"],
            is_complete_handler=functions["IsComplete"],
            query_interval=POLL_INTERVAL,
            # Our own deadline fails first, with a message naming what never became ready.
            total_timeout=Duration.seconds(self.deadlines.provider_total_seconds),
        )
        _acknowledge_provider_framework(self.provider, list(functions.values()))

    def join(self, id: str, *, member: JoinTarget, host: JoinTarget, namespace: str, scope: str,
             labels: dict[str, str]) -> CustomResource:
        self._check_named(member, host)
        return CustomResource(
            self, id,
            service_token=self.provider.service_token,
            resource_type=c.JOIN_TYPE,
            properties=join_properties(member=member, host=host, namespace=namespace, scope=scope, labels=labels,
                                       timeout_seconds=self._timeout_minutes * 60),
        )

    def teardown(self, id: str, *, host: JoinTarget, namespace: str, members: list[str]) -> CustomResource:
        """The resource that, on delete, releases KubeFed's FederatedTypeConfigs while the controller still
        runs. Make it depend on the chart, and every join depend on it: deletes then run joins first, this
        second, the chart's uninstall last. On create and update it records `members` (every cluster's name) on
        the host, which tells the unjoin of a removed cluster (runtime/membership.py)."""
        self._check_named(host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=c.TEARDOWN_TYPE,
                              properties=teardown_properties(host=host, namespace=namespace, members=members,
                                                             timeout_seconds=self.deadlines.timeout_seconds))

    def _check_named(self, *targets: JoinTarget) -> None:
        """Every cluster given is named as the functions will check it (the prefix and its name)."""
        for t in targets:
            if t.eks_cluster_name != self.eks_name_prefix + t.name:
                raise ValueError(f"cluster {t.name!r}: its EKS name {t.eks_cluster_name!r} is not "
                                 f"{self.eks_name_prefix + t.name!r}; the join functions would refuse it")


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
