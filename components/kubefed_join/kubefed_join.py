"""KubeFed joins as custom resources: the join Lambda (runtime/ beside this file), its Provider (onEvent +
isComplete polling), and one `Custom::KubefedJoin` resource per cluster.

The Lambda runs in the host VPC's private subnets and reaches every API server over the peering; its
only egress is HTTPS to the cluster VPCs (the EKS token is presigned locally, no AWS call is made).
Its role lives in the access stack and gets Kubernetes access only through EKS access entries; here
it gets just what a VPC Lambda needs to run and log.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CustomResource, Duration, Fn, RemovalPolicy, Token
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


def teardown_properties(*, host: JoinTarget, namespace: str, timeout_seconds: int) -> dict:
    """The properties of a `Custom::KubefedTeardown` (read by runtime/properties.py `parse_teardown`)."""
    return {c.HOST: host.as_property(), c.NAMESPACE: namespace, c.TIMEOUT_SECONDS: str(timeout_seconds)}


@dataclass(frozen=True)
class KubefedJoinProviderProps:
    vpc: ec2.IVpc
    """The host cluster's VPC (peered with every cluster)."""
    role: iam.IRole
    """The join role; every cluster grants it cluster-admin through an access entry."""
    api_cidrs: dict[str, str]
    """Where the API servers are: cluster name -> VPC CIDR. The only egress allowed."""
    timeout_minutes: int
    """How long one join (or workload) may wait for readiness before it fails; every other deadline and the
    Provider's total timeout derive from it (contract.Deadlines)."""
    left_behind_log_prefix: str = "/federated-eks/kubefed-join/"
    """Name prefix of the retained log group where deletes record what they left behind."""


class KubefedJoinProvider(Construct):
    """Attributes: `security_group`, `provider`, `deadlines` (contract.Deadlines), `left_behind_log_group`. Call
    `join()` once per cluster. The Karmada join (components/karmada_join) is this Provider with its own runtime:
    the class attributes below name what differs."""

    SOURCE = SOURCE
    HANDLERS = HANDLERS
    PURPOSE = "KubeFed join Lambda"
    DESCRIPTION = "Joins a cluster to KubeFed / unjoins it (federated-eks)"

    def __init__(self, scope: Construct, id: str, props: KubefedJoinProviderProps) -> None:
        super().__init__(scope, id)
        self._timeout_minutes = props.timeout_minutes
        self.deadlines = c.Deadlines(props.timeout_minutes * 60)
        if not c.MIN_TIMEOUT_SECONDS <= self.deadlines.timeout_seconds <= c.MAX_TIMEOUT_SECONDS:
            raise ValueError(f"timeout_minutes {props.timeout_minutes} is outside "
                             f"{c.MIN_TIMEOUT_SECONDS // 60}..{c.MAX_TIMEOUT_SECONDS // 60}")
        self.security_group = ec2.SecurityGroup(self, "SecurityGroup", vpc=props.vpc, allow_all_outbound=False,
                                                description=f"{self.PURPOSE}: HTTPS to the cluster API servers")
        for name, cidr in sorted(props.api_cidrs.items()):
            self.security_group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"API server of {name}")

        self._allowed: dict[str, JoinTarget] = {}
        code = python_lambda_code(self.SOURCE)
        functions = {}
        log_groups = []
        for fn_id, entry in self.HANDLERS.items():
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
                description=self.DESCRIPTION)

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
            total_timeout=Duration.seconds(self.deadlines.provider_total_seconds),
        )
        _acknowledge_provider_framework(self.provider, list(functions.values()))

    def join(self, id: str, *, member: JoinTarget, host: JoinTarget, namespace: str, scope: str,
             labels: dict[str, str]) -> CustomResource:
        self._allow(member, host)
        return CustomResource(
            self, id,
            service_token=self.provider.service_token,
            resource_type=c.JOIN_TYPE,
            properties=join_properties(member=member, host=host, namespace=namespace, scope=scope, labels=labels,
                                       timeout_seconds=self._timeout_minutes * 60),
        )

    def teardown(self, id: str, *, host: JoinTarget, namespace: str) -> CustomResource:
        """The resource that, on delete, releases KubeFed's FederatedTypeConfigs while the controller still
        runs. Make it depend on the chart, and every join depend on it: deletes then run joins first, this
        second, the chart's uninstall last."""
        self._allow(host)
        return CustomResource(self, id, service_token=self.provider.service_token, resource_type=c.TEARDOWN_TYPE,
                              properties=teardown_properties(host=host, namespace=namespace,
                                                             timeout_seconds=self.deadlines.timeout_seconds))


    def _allow(self, *targets: JoinTarget) -> None:
        """Add clusters to those the functions serve (contract.CLUSTERS_ENV and EKS_NAME_PREFIX_ENV). Endpoints are
        tokens (they come from the cluster stacks): each endpoint's unique id is cut out of it at deploy time
        (Fn::Select/Fn::Split), so the environment holds the deployed ids, and a request naming any other cluster
        or API server is refused."""
        for target in targets:
            known = self._allowed.setdefault(target.name, target)
            if known != target:
                raise ValueError(f"cluster {target.name} is given to the {self.PURPOSE.removesuffix(' Lambda')} "
                                 "provider twice, differently")
        prefix = eks_name_prefix(list(self._allowed.values()))
        variables = c.environment(prefix, {name: (t.region, endpoint_id(t.endpoint))
                                           for name, t in self._allowed.items()})
        # The config check refuses a federation this large first (federated_eks/config/quotas.py, the same measure); clusters
        # are added one at a time, so this counts those given so far.
        size = c.deployed_environment_size(prefix, {name: t.region for name, t in self._allowed.items()})
        if size > c.MAX_ENVIRONMENT_BYTES:
            raise ValueError(f"the join functions' environment would hold {size} bytes once deployed with the "
                             f"{len(self._allowed)} clusters given so far, over Lambda's {c.MAX_ENVIRONMENT_BYTES}: "
                             "use fewer clusters or shorter cluster names")
        for fn in self._functions:
            for key, value in variables.items():
                fn.add_environment(key, value)


def eks_name_prefix(targets: list[JoinTarget]) -> str:
    """The one prefix that makes every target's EKS cluster name from its name (the app's naming rule)."""
    prefixes = {t.eks_cluster_name[:-len(t.name)] if t.eks_cluster_name.endswith(t.name) else None
                for t in targets}
    if None in prefixes or len(prefixes) != 1 or "" in prefixes:
        raise ValueError("the KubeFed join provider needs every cluster's EKS name to be one common prefix and its "
                         f"name; got {sorted((t.name, t.eks_cluster_name) for t in targets)}")
    return prefixes.pop()


def endpoint_id(endpoint: str) -> str:
    """The unique id of an EKS API endpoint (contract.ENDPOINT_PATTERN): for a deploy-time endpoint,
    `Fn::Select [1, Fn::Split ["//", Fn::Select [0, Fn::Split [".", endpoint]]]]`. The endpoint goes in as an
    Fn::Join: the functions Fn::Split takes are listed in the CloudFormation reference (Fn::Join among them,
    Fn::GetStackOutput, the weak reference, not), and Fn::Join takes Fn::GetStackOutput (cfn-lint agrees)."""
    if Token.is_unresolved(endpoint):
        as_join = Fn.join("", ["", endpoint])  # two parts, so that CDK keeps the Fn::Join
        return Fn.select(1, Fn.split("//", Fn.select(0, Fn.split(".", as_join))))
    match = c.ENDPOINT_PATTERN.match(endpoint)
    if match is None:
        raise ValueError(f"{endpoint!r} is not an EKS API endpoint (https://<id>.<label>.<region>.eks.amazonaws.com)")
    return match["id"]


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
