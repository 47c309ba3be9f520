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



# The log line a delete writes for what it left behind (runtime/left_behind.py), in a log group that outlives the
# stack: search for it (README, "What a delete left behind").
LEFT_BEHIND_MARKER = "FEDEKS-LEFT-BEHIND"

# A cluster's name in the federation: a lowercase RFC 1123 label, at most this long (`<member>-<host>` becomes a
# Kubernetes object name of at most 63 characters: two names of 30 and a dash fit).
MAX_NAME_LENGTH = 30
LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
REGION_PATTERN = r"[a-z]{2}(-[a-z]+)+-\d"

# The functions' environment: the clusters they serve (runtime/allowed_clusters.py reads them). Lambda allows 4 KB
# of environment in all, so it is compact enough for 60 clusters with 30-character names:
# - EKS_NAME_PREFIX_ENV: what the app puts before a cluster's name to name its EKS cluster (`fedeks-<env>-`);
# - CLUSTERS_ENV: per region, its clusters with the unique id of their API endpoint, filled in at deploy time:
#   `<region>=<name>:<id>,<name>:<id> <region>=<name>:<id>`.
EKS_NAME_PREFIX_ENV = "KUBEFED_JOIN_EKS_NAME_PREFIX"
CLUSTERS_ENV = "KUBEFED_JOIN_CLUSTERS"
# "Environment variables: 4 KB, for all of a function's variables together" (Lambda quotas,
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); Lambda measures them as JSON. The config
# check (federated_eks/config/quotas.py) and the construct both measure with `deployed_environment_size`.
MAX_ENVIRONMENT_BYTES = 4096
# An IPv4 cluster's API endpoint is `https://<id>.<label>.<region>.eks.amazonaws.com` ("Cluster API server
# endpoint", IPv4 cluster endpoint format: https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html),
# where <id> (32 hexadecimal characters, upper case as EKS reports it) is unique to the cluster and <label> a short
# shard label such as gr7 or yl4. The construct keeps only the id; the Lambda requires this exact form.
ENDPOINT_ID_LENGTH = 32
ENDPOINT_PATTERN = re.compile(rf"^https://(?P<id>[0-9A-Fa-f]{{{ENDPOINT_ID_LENGTH}}})\.(?P<label>[a-z0-9]{{1,63}})"
                              rf"\.(?P<region>{REGION_PATTERN})\.eks\.amazonaws\.com/?$")


def format_clusters(clusters: dict[str, tuple[str, str]]) -> str:
    """CLUSTERS_ENV's value for {name: (region, endpoint id)}. The ids may be CDK tokens (deploy-time values)."""
    regions: dict[str, list[str]] = {}
    for name, (region, endpoint_id) in sorted(clusters.items()):
        regions.setdefault(region, []).append(f"{name}:{endpoint_id}")
    return " ".join(f"{region}={','.join(entries)}" for region, entries in sorted(regions.items()))


def environment(eks_name_prefix: str, clusters: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The functions' environment for {name: (region, endpoint id)}."""
    return {EKS_NAME_PREFIX_ENV: eks_name_prefix, CLUSTERS_ENV: format_clusters(clusters)}


def environment_size(variables: dict[str, str]) -> int:
    """Bytes Lambda counts against its limit: the variables as JSON (keys and values)."""
    return len(json.dumps(variables).encode())


def deployed_environment_size(eks_name_prefix: str, regions: dict[str, str]) -> int:
    """The environment's bytes once deployed, for clusters {name: region}: each endpoint id is then
    ENDPOINT_ID_LENGTH characters (at synth it is a token)."""
    return environment_size(environment(eks_name_prefix, {name: (region, "0" * ENDPOINT_ID_LENGTH)
                                                          for name, region in regions.items()}))


def parse_clusters(value: str) -> dict[str, tuple[str, str]]:
    """{name: (region, endpoint id)} from CLUSTERS_ENV's value; ValueError if it is not in that form."""
    clusters: dict[str, tuple[str, str]] = {}
    for group in value.split():
        region, sep, entries = group.partition("=")
        if not sep or not region:
            raise ValueError(f"{group[:40]!r} is not <region>=<name>:<id>,...")
        for entry in entries.split(","):
            name, sep, endpoint_id = entry.partition(":")
            if not sep or not name or not endpoint_id or name in clusters:
                raise ValueError(f"{entry[:80]!r} is not <name>:<id> of a new name")
            clusters[name] = (region, endpoint_id)
    return clusters


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


def parse_timeout(raw: object) -> int | None:
    """TimeoutSeconds (CloudFormation passes scalars as strings) or None when it is not in range."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS else None
