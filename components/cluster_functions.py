"""What the constructs of the Kubernetes-facing Lambdas share (the KubeFed join, components/kubefed_join/, and the
workload waiter, components/workload_waiter/): a cluster as a request names it, the clusters a function serves
(its environment's EKS name prefix and name: components/kube_access/contract.py), and the Provider framework's
findings.

The runtimes they package share components/kube_access/ (standard library and the Lambda's requirements only).
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
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
    """Where the API servers are: cluster name -> VPC CIDR (HTTPS egress to each)."""
    eks_name_prefix: str
    """What the app puts before a cluster's name to name its EKS cluster (`topology.eks_cluster_name`): the clusters
    the functions may describe (eks:DescribeCluster) and serve."""
    environment: str
    """The environment's name: its EKS clusters carry it as the tag `fedeks:environment` (components/eks_cluster.py),
    which the functions' DescribeCluster policy requires and the functions check (the prefix alone does not tell
    `dev` from `dev-a`)."""
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
                  vpc: ec2.IVpc, api_cidrs: dict[str, str], eks_name_prefix: str, environment: str,
                  left_behind_log_prefix: str, security_group: str, description: str) -> VpcFunctions:
    """A Provider's functions (`handlers`: OnEvent and IsComplete -> handler string) from `source`, in the VPC's
    private subnets with `role` (imported: it lives in the access stack), their egress HTTPS to `api_cidrs`
    (cluster name -> VPC CIDR) and to the regional EKS APIs, and the log groups and the runtime permissions they need.

    Before a function presigns a token for a cluster (locally) it asks EKS for that cluster's endpoint and CA
    (eks:DescribeCluster, kube_access/allowed_clusters.py): its environment holds only the environment's EKS name
    prefix and name, and its role may describe only clusters named with the prefix and tagged with the name
    (`fedeks:environment`), one ARN pattern and one condition whatever the number of clusters.
    EKS's API is regional (https://eks.<region>.amazonaws.com, "Amazon EKS endpoints and quotas", AWS General
    Reference) and a VPC interface endpoint serves only its own region's ("Access Amazon EKS using AWS PrivateLink"),
    while the clusters span regions: the functions reach each region's EKS API through the host VPC's NAT gateway (its
    private subnets' default route; "Enable internet access for VPC-connected Lambda functions", Lambda Developer
    Guide), HTTPS only."""
    if not c.EKS_NAME_PREFIX.fullmatch(eks_name_prefix):
        raise ValueError(f"{eks_name_prefix!r} is not an EKS name prefix (ending in a dash)")
    if not c.ENVIRONMENT_NAME.fullmatch(environment):
        raise ValueError(f"{environment!r} is not an environment name")
    group = ec2.SecurityGroup(scope, "SecurityGroup", vpc=vpc, allow_all_outbound=False, description=security_group)
    for name, cidr in sorted(api_cidrs.items()):
        group.add_egress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"API server of {name}")
    # The regional EKS APIs (public AWS addresses, no managed prefix list names them) through the NAT gateway. What
    # the functions send there is signed AWS API calls; a cluster token goes only to the endpoint EKS names.
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                          "EKS API (DescribeCluster) of each region, through the NAT gateway")
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
            security_groups=[group], environment={c.EKS_NAME_PREFIX_ENV: eks_name_prefix, c.ENVIRONMENT_ENV: environment},
            description=description)

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
    describe = iam.Policy(scope, "DescribeClusters", roles=[role], statements=[
        iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[
            c.describe_policy_resource(Aws.PARTITION, Aws.ACCOUNT_ID, eks_name_prefix)],
            conditions=c.describe_policy_condition(environment))])
    acknowledge(describe, "The functions read endpoint and CA of this environment's clusters only: the ARN pattern is "
                "the environment's EKS name prefix in any region (the clusters span regions) and the condition its "
                "fedeks:environment tag, so the policy stays one statement for any number of clusters.",
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:eks:*:<AWS::AccountId>:cluster/{eks_name_prefix}*]")
    for fn in functions.values():
        fn.node.add_dependency(permissions)  # Lambda checks the ENI permissions at creation
        fn.node.add_dependency(describe)  # and on delete, the functions still describe clusters
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


def check_named(prefix: str, provider: str, *targets: JoinTarget) -> None:
    """Every cluster given to a provider is named as its functions will check it (the prefix and its name)."""
    for target in targets:
        if target.eks_cluster_name != prefix + target.name:
            raise ValueError(f"cluster {target.name!r}: its EKS name {target.eks_cluster_name!r} is not "
                             f"{prefix + target.name!r}; the {provider}'s functions would refuse it")


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
