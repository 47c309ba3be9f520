"""What the constructs of the Kubernetes-facing Lambdas share (the KubeFed join, components/kubefed_join/, and the
workload waiter, components/workload_waiter/): a cluster as a request names it, the clusters a function serves
(its environment: components/kube_access/contract.py), and the Provider framework's findings.

The runtimes they package share components/kube_access/ (standard library and the Lambda's requirements only).
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2, aws_iam as iam, aws_lambda as lambda_, aws_logs as logs, custom_resources as cr
from constructs import Construct

from components.compliance import acknowledge, function_versions, managed_policy
from components.kube_access import contract as c
from components.lambda_bundling import RUNTIME, LambdaSource, python_lambda_code

# Every Kubernetes-facing runtime packages the shared access code (and its contract) at its package path:
# `LambdaSource(..., packages=(*SHARED_PACKAGES, ...))`.
SHARED_PACKAGES = ("components.kube_access",)


# The time budget is the shared contract's (contract.Deadlines): the poll interval, the functions' timeout (the
# handler, kube_api.Budget, keeps a quarter of what is left back, so one poll stops well inside it) and the
# Provider's total.
POLL_INTERVAL = Duration.seconds(c.POLL_SECONDS)
FUNCTION_TIMEOUT = Duration.seconds(c.FUNCTION_SECONDS)
# The IsComplete function's log group outlives the stack: it holds what deletes left behind (kube_access/left_behind.py
# writes one line per resource, `make prune` reports them). Its name is the prefix and the stack's unique id, so a
# new deploy after a destroy never collides with it.
LEFT_BEHIND_RETENTION = logs.RetentionDays.ONE_YEAR


def deadlines_of(timeout_minutes: int) -> c.Deadlines:
    """The deadlines of the federation's one timeout (config kubefed.joinTimeoutMinutes), within the contract's
    bounds."""
    deadlines = c.Deadlines(timeout_minutes * 60)
    if not c.MIN_TIMEOUT_SECONDS <= deadlines.timeout_seconds <= c.MAX_TIMEOUT_SECONDS:
        raise ValueError(f"timeout_minutes {timeout_minutes} is outside "
                         f"{c.MIN_TIMEOUT_SECONDS // 60}..{c.MAX_TIMEOUT_SECONDS // 60}")
    return deadlines


@dataclass(frozen=True)
class KubeProviderProps:
    """What a Provider of Kubernetes-facing functions takes (the join's, the waiter's)."""

    vpc: ec2.IVpc
    """The host cluster's VPC (peered with every cluster)."""
    role: iam.IRole
    """The functions' role (it lives in the access stack; its Kubernetes rights come from access entries)."""
    api_cidrs: dict[str, str]
    """Where the API servers are: cluster name -> VPC CIDR. The only egress allowed."""
    timeout_minutes: int
    """The federation's one timeout (kubefed.joinTimeoutMinutes): how long one join or workload may wait for
    readiness before it fails; every other deadline and the Provider's total timeout derive from it
    (contract.Deadlines)."""
    left_behind_log_prefix: str
    """Name prefix of the retained log group where deletes record what they left behind."""


@dataclass(frozen=True)
class VpcFunctions:
    """What `vpc_functions` made: `security_group`, `functions` (by handler id), `left_behind_log_group`."""

    security_group: ec2.SecurityGroup
    functions: dict[str, lambda_.Function]
    left_behind_log_group: logs.LogGroup


def vpc_functions(scope: Construct, *, source: LambdaSource, handlers: dict[str, str], role: iam.IRole,
                  vpc: ec2.IVpc, api_cidrs: dict[str, str], left_behind_log_prefix: str, security_group: str,
                  description: str) -> VpcFunctions:
    """A Provider's functions (`handlers`: OnEvent and IsComplete -> handler string) from `source`, in the VPC's
    private subnets with `role` (imported: it lives in the access stack), their only egress HTTPS to `api_cidrs`
    (cluster name -> VPC CIDR), and the log groups and the runtime permissions they need."""
    group = ec2.SecurityGroup(scope, "SecurityGroup", vpc=vpc, allow_all_outbound=False, description=security_group)
    for name, cidr in sorted(api_cidrs.items()):
        group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"API server of {name}")
    code = python_lambda_code(source)
    functions, log_groups, left_behind = {}, [], None
    for fn_id, entry in handlers.items():
        if fn_id == "IsComplete":
            stack_uuid = Fn.select(2, Fn.split("/", Aws.STACK_ID))
            log_group = left_behind = logs.LogGroup(
                scope, f"{fn_id}Logs", retention=LEFT_BEHIND_RETENTION,
                log_group_name=Fn.join("", [left_behind_log_prefix, stack_uuid]), removal_policy=RemovalPolicy.RETAIN)
        else:
            log_group = logs.LogGroup(scope, f"{fn_id}Logs", retention=logs.RetentionDays.ONE_MONTH,
                                      removal_policy=RemovalPolicy.DESTROY)
        log_groups.append(log_group)
        functions[fn_id] = lambda_.Function(
            scope, fn_id, runtime=RUNTIME, handler=entry, code=code, role=role,
            timeout=FUNCTION_TIMEOUT, memory_size=256, log_group=log_group,
            vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[group], description=description)

    # The role is imported (it lives in the access stack): grant here what the functions need to run.
    permissions = iam.Policy(scope, "RuntimePermissions", roles=[role], statements=[
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
    return VpcFunctions(group, functions, left_behind)


@dataclass(frozen=True)
class JoinTarget:
    """A cluster as a join (or a waiter) sees it. Endpoint and CA usually come from the cluster's stack."""

    name: str
    eks_cluster_name: str
    region: str
    endpoint: str
    ca_data: str

    def as_property(self) -> dict[str, str]:
        return {c.NAME: self.name, c.EKS_CLUSTER_NAME: self.eks_cluster_name, c.REGION: self.region,
                c.ENDPOINT: self.endpoint, c.CA_DATA: self.ca_data}


class AllowedClusters:
    """The clusters some functions serve (contract.CLUSTERS_ENV and EKS_NAME_PREFIX_ENV), written into their
    environment as clusters are added. Endpoints are tokens (they come from the cluster stacks): each endpoint's
    unique id is cut out of it at deploy time (Fn::Select/Fn::Split), so the environment holds the deployed ids, and
    a request naming any other cluster or API server is refused."""

    def __init__(self, functions: list[lambda_.Function], provider: str, functions_name: str) -> None:
        self._functions, self._provider, self._functions_name = functions, provider, functions_name
        self._allowed: dict[str, JoinTarget] = {}

    def add(self, *targets: JoinTarget) -> None:
        for target in targets:
            known = self._allowed.setdefault(target.name, target)
            if known != target:
                raise ValueError(f"cluster {target.name} is given to the {self._provider} twice, differently")
        prefix = eks_name_prefix(list(self._allowed.values()))
        variables = c.environment(prefix, {name: (t.region, endpoint_id(t.endpoint))
                                           for name, t in self._allowed.items()})
        # The config check refuses a federation this large first (federated_eks/config/quotas.py, the same measure);
        # clusters are added one at a time, so this counts those given so far.
        size = c.deployed_environment_size(prefix, {name: t.region for name, t in self._allowed.items()})
        if size > c.MAX_ENVIRONMENT_BYTES:
            raise ValueError(f"the {self._functions_name}' environment would hold {size} bytes once deployed with the "
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
        raise ValueError("the KubeFed join and workload waiter providers need every cluster's EKS name to be one "
                         f"common prefix and its name; got {sorted((t.name, t.eks_cluster_name) for t in targets)}")
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


def acknowledge_provider_framework(provider: cr.Provider, user_functions: list[lambda_.Function], whose: str,
                                   logged_by: str) -> None:
    """The cdk-nag findings every Provider of ours carries, with their reasons. `whose`: 'the join functions';
    `logged_by`: who logs each poll."""
    framework = [provider.node.find_child(f"framework-{n}") for n in ("isComplete", "onTimeout")]
    acknowledge(provider, "The CDK Provider framework's own functions log with the AWS-managed basic execution "
                "policy; they hold no other permission.", managed_policy("service-role/AWSLambdaBasicExecutionRole"))
    acknowledge(provider, f"The CDK Provider framework invokes {whose} and its own steps by ARN with "
                "any version qualifier (ARN:*); nothing else is granted.",
                *(function_versions(f) for f in [*user_functions, *framework]))
    acknowledge(provider, "The Provider's waiter state machine only polls isComplete; each poll is logged by the "
                f"{logged_by} itself.", "AwsSolutions-SF1")
    acknowledge(provider, "X-Ray on the Provider's waiter adds cost and no insight: it makes one Lambda call per "
                "poll.", "AwsSolutions-SF2")
