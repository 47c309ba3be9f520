"""What the constructs write and the Lambdas that talk to Kubernetes read, for both the KubeFed join
(components/kubefed_join/) and the workload waiter (components/workload_waiter/): how a cluster is named in a
request, which clusters a function serves (its environment), the one time budget, what a delete left behind.

A leaf module (standard library only), packaged into each Lambda with components/kube_access/; each component's own
`contract.py` imports what it uses from here, so every fact is defined once.
"""
from __future__ import annotations

import json
import re

# Property keys every request shares.
HOST = "Host"
NAMESPACE = "Namespace"
TIMEOUT_SECONDS = "TimeoutSeconds"
# Keys of a cluster object (the value of Member and Host), in the order the construct writes them.
NAME = "Name"
EKS_CLUSTER_NAME = "EksClusterName"
REGION = "Region"
ENDPOINT = "Endpoint"
CA_DATA = "CaData"
CLUSTER_KEYS = (NAME, EKS_CLUSTER_NAME, REGION, ENDPOINT, CA_DATA)
# Attributes a completed resource returns (Fn::GetAtt).
LEFT_BEHIND_ATTRIBUTE = "LeftBehind"
# Set when an update restored the last Ready state without reaching every cluster (a rollback): what was not reached.
NOT_VERIFIED_ATTRIBUTE = "NotVerified"
# The label on every object this app makes on a cluster (the join's objects, the config's workloads): a function
# deletes only objects that carry it.
MANAGED_BY_LABEL, MANAGED_BY_VALUE = "app.kubernetes.io/managed-by", "federated-eks"
def owned(labels: dict | None) -> bool:
    return (labels or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE



# The clusters of a federation as its record resource (the KubeFed teardown, the Karmada members record) last wrote
# them on the host (a ConfigMap; kube_access/membership.py): an unjoin whose member is not listed there is of a
# cluster removed from the config.
MEMBERS = "Members"
MEMBERS_CONFIGMAP = "federated-eks-members"

# The log line a delete writes for what it left behind (runtime/left_behind.py), in a log group that outlives the
# stack: search for it (docs/operations/deploy.md, "What a delete left behind").
LEFT_BEHIND_MARKER = "FEDEKS-LEFT-BEHIND"

# A cluster's name in a request: a lowercase RFC 1123 label, which Kubernetes allows up to 63 characters (the names the
# functions derive from it, such as the join's `<member>-<host>`, are checked where they are made). How long the
# config lets a cluster name be is the model's rule (federated_eks/model/federation.py MAX_CLUSTER_NAME).
MAX_LABEL_LENGTH = 63
LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
REGION_PATTERN = r"[a-z]{2}(-[a-z]+)+-\d"

# The functions' environment: two constant-size facts, whatever the number of clusters (allowed_clusters.py):
# EKS_NAME_PREFIX_ENV, what the app puts before a cluster's name to name its EKS cluster (`fedeks-<env>-`), and
# ENVIRONMENT_ENV, the environment's name, which each of its EKS clusters carries as the ENVIRONMENT_TAG tag. Which
# clusters exist, and their endpoints and CAs, the function asks EKS (DescribeCluster), which its role may call only
# on clusters named with this prefix (`describe_policy_resource`) and tagged with this environment
# (`describe_policy_condition`). The prefix alone does not tell environments apart: environment names may hold
# dashes, so `fedeks-dev-` also starts env `dev-a`'s cluster names; the tag does.
EKS_NAME_PREFIX_ENV = "KUBEFED_JOIN_EKS_NAME_PREFIX"
ENVIRONMENT_ENV = "FEDEKS_ENVIRONMENT"
# The prefix is an EKS name's first part (letters, digits, dashes) ending in a dash.
EKS_NAME_PREFIX = re.compile(r"[0-9A-Za-z][A-Za-z0-9-]{0,60}-")
# An environment's name, as the config accepts it (federated_eks/config/reader.py): lowercase letters, digits and
# single dashes, starting with a letter, not ending in a dash.
ENVIRONMENT_NAME = re.compile(r"[a-z](?:-?[a-z0-9]){0,62}")
# The tag on every EKS cluster that names its environment (federated_eks/plan/stack_tags.py ENVIRONMENT_TAG, set on
# the AWS::EKS::Cluster resource by stacks/cluster.py; tests/test_environment_dash.py checks they agree).
ENVIRONMENT_TAG = "fedeks:environment"


def describe_policy_resource(partition: str, account: str, eks_name_prefix: str) -> str:
    """The EKS clusters the functions may describe: every region's clusters named with the environment's prefix.
    DescribeCluster's resource is the cluster (Service Authorization Reference, Amazon EKS: `cluster`,
    arn:${Partition}:eks:${Region}:${Account}:cluster/${ClusterName}); IAM matches `*` in an ARN per segment."""
    return f"arn:{partition}:eks:*:{account}:cluster/{eks_name_prefix}*"


def describe_policy_condition(environment: str) -> dict[str, dict[str, str]]:
    """The condition of the functions' DescribeCluster statement: the cluster carries this environment's tag. The
    `cluster` resource type takes the condition key aws:ResourceTag/${TagKey}, and DescribeCluster's required resource
    is `cluster*` (Service Authorization Reference, "Actions, resources, and condition keys for Amazon Elastic
    Kubernetes Service", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelastickubernetesservice.html,
    resource types table), so IAM refuses DescribeCluster of a cluster matching the prefix without this tag value:
    another environment's (`dev-a`'s clusters match `fedeks-dev-*`), or one not made by the app."""
    return {"StringEquals": {f"aws:ResourceTag/{ENVIRONMENT_TAG}": environment}}


# --- One time budget ------------------------------------------------------------------------------------------
# Every deadline of every handler derives from the federation's timeout (config kubefed.joinTimeoutMinutes, sent as
# the TimeoutSeconds property); the construct sets the Provider's total timeout from the same numbers, so that a
# handler always ends with its own message before the Provider's generic "Operation timed out".
POLL_SECONDS = 20
"""The Provider's isComplete interval."""
FUNCTION_SECONDS = 120
"""The functions' Lambda timeout."""
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 60, 3000
DEFAULT_TIMEOUT_SECONDS = 1800
UNJOIN_SECONDS = 600
"""At most this long a delete retries a cluster that errors before it gives up (and succeeds)."""
RELEASE_SECONDS = 300
"""At most this long the KubeFed controller gets to release FederatedTypeConfigs before their finalizers go."""
GIVE_UP_SECONDS = 120
"""How much longer than the release a teardown retries an erroring host before it gives up."""
# CloudFormation waits at most an hour for a custom resource (custom resources, "ServiceTimeout": default and
# maximum 3600 seconds, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html).
CLOUDFORMATION_SECONDS = 3600


class Deadlines:
    """The seconds each request type of each resource may take, from one timeout (TimeoutSeconds)."""

    def __init__(self, timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds

    @property
    def join(self) -> int:
        """Create/update of a join, and of a workload waiter."""
        return self.timeout_seconds

    @property
    def unjoin(self) -> int:
        return min(UNJOIN_SECONDS, self.timeout_seconds)

    @property
    def release(self) -> int:
        return min(RELEASE_SECONDS, self.timeout_seconds // 2)

    @property
    def teardown(self) -> int:
        return self.release + GIVE_UP_SECONDS

    @property
    def workload_delete(self) -> int:
        return self.timeout_seconds

    @property
    def longest(self) -> int:
        return max(self.join, self.unjoin, self.teardown, self.workload_delete)

    @property
    def provider_total_seconds(self) -> int:
        """The Provider's total timeout: above the longest deadline by what the last poll can take. A deadline is
        checked when a poll starts; the poll that sees it passed starts at most POLL_SECONDS after it (plus the
        onEvent call before the first poll) and runs at most FUNCTION_SECONDS. The framework counts attempts
        (total / interval), and every attempt takes at least the interval, so this is a lower bound in time too."""
        return self.longest + 2 * POLL_SECONDS + FUNCTION_SECONDS


def parse_int(raw: object, low: int, high: int) -> int | None:
    """A whole number property (CloudFormation passes scalars as strings) in low..high, or None when it is not one."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def parse_timeout(raw: object) -> int | None:
    """TimeoutSeconds, or None when it is not in range."""
    return parse_int(raw, MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS)
