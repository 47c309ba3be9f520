"""Which clusters this function may serve: the EKS clusters of its own environment, as EKS describes them.

The construct gives the function two constant-size facts, the environment's EKS name prefix
(contract.EKS_NAME_PREFIX_ENV, `fedeks-<env>-`) and its name (contract.ENVIRONMENT_ENV), and its role may call
`eks:DescribeCluster` only on clusters named with that prefix and tagged `fedeks:environment=<env>` (an ARN pattern
and a condition, the same policy for 2 clusters or 100). A request is served only when, for each cluster it names:
- its EKS cluster name is the prefix and its name, and its region an AWS region;
- EKS itself, asked in that region (DescribeCluster), describes it with the environment's tag
  (contract.ENVIRONMENT_TAG: environment names may hold dashes, so the prefix `fedeks-dev-` also starts env `dev-a`'s
  cluster `fedeks-dev-a-b`; the tag tells them apart, and IAM already refuses the call without it) and with exactly
  the request's endpoint and CA.
Otherwise it is refused before a token is presigned: whoever may invoke the function cannot have it sign a token
for a cluster outside the environment, nor send one anywhere but to the API server EKS names for that cluster.

The answers are kept for a few minutes per (region, name, endpoint, CA): a waiter over 100 clusters polls every 20
seconds, and a cluster's endpoint, CA and environment tag do not change while it exists.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from . import contract
from .cluster_ref import ClusterRef
from .kube_api import Failed, Waiting

# How long a DescribeCluster answer that matched is trusted without asking again.
VERIFIED_SECONDS = 300
# One DescribeCluster must not spend a poll's budget: short timeouts, one retry (the next poll asks again).
CONNECT_SECONDS, READ_SECONDS, ATTEMPTS = 5, 10, 2
_verified: dict[tuple[str, str, str, str], float] = {}


class NotAllowed(ValueError):
    """The request names a cluster outside this function's environment, or one EKS describes differently. The
    message says which and why."""


@dataclass(frozen=True)
class Environment:
    """What the function serves: the clusters named `prefix + <name>` that EKS describes tagged with `name`."""

    prefix: str
    name: str


def load(environ: dict[str, str] | None = None) -> Environment:
    """The environment's EKS name prefix and name (contract.EKS_NAME_PREFIX_ENV, contract.ENVIRONMENT_ENV)."""
    env = os.environ if environ is None else environ
    prefix, name = env.get(contract.EKS_NAME_PREFIX_ENV), env.get(contract.ENVIRONMENT_ENV)
    if not prefix or not contract.EKS_NAME_PREFIX.fullmatch(prefix):
        raise NotAllowed(f"the function's {contract.EKS_NAME_PREFIX_ENV} environment variable is missing or not "
                         f"an EKS name prefix ({prefix!r}): it serves no cluster (the KubefedJoinProvider construct "
                         "sets it)")
    if not name or not contract.ENVIRONMENT_NAME.fullmatch(name):
        raise NotAllowed(f"the function's {contract.ENVIRONMENT_ENV} environment variable is missing or not an "
                         f"environment name ({name!r}): it serves no cluster (the construct sets it)")
    return Environment(prefix, name)


def check_name(ref: ClusterRef, role: str, environment: Environment) -> None:
    """The static half: `ref` is named as a cluster of this environment."""
    prefix = environment.prefix
    if ref.eks_cluster_name != prefix + ref.name:
        raise NotAllowed(f"{role} {ref.name!r}: {contract.EKS_CLUSTER_NAME} {ref.eks_cluster_name!r} is not "
                         f"{prefix + ref.name!r}, a cluster of this environment; refusing to sign a token for it")


def check(ref: ClusterRef, role: str, environment: Environment, describe=None) -> None:
    """Raise NotAllowed unless `ref` is a cluster of this environment that EKS describes with the environment's tag
    and exactly `ref`'s endpoint and CA; Waiting when EKS cannot be asked now (the next poll asks again).
    `describe(region, name)` returns EKS's `cluster` object (tests and the rehearsal pass the real one,
    `describe_cluster`, talking to an emulated EKS)."""
    check_name(ref, role, environment)
    key = (ref.region, ref.eks_cluster_name, ref.endpoint, ref.ca_data)
    if time.monotonic() - _verified.get(key, float("-inf")) < VERIFIED_SECONDS:
        return
    cluster = (describe or describe_cluster)(ref.region, ref.eks_cluster_name, f"{role} {ref.name!r}")
    tagged = (cluster.get("tags") or {}).get(contract.ENVIRONMENT_TAG)
    if tagged != environment.name:
        raise NotAllowed(f"{role} {ref.name!r}: EKS describes {ref.eks_cluster_name} in {ref.region} with tag "
                         f"{contract.ENVIRONMENT_TAG}={tagged!r}, not {environment.name!r}: it is not a cluster of "
                         "this environment (another environment's whose name starts with this one's, or one the app "
                         "did not make); refusing to sign a token for it")
    mismatched = []
    if (cluster.get("endpoint") or "").rstrip("/") != ref.endpoint:
        mismatched.append(contract.ENDPOINT)
    if ((cluster.get("certificateAuthority") or {}).get("data") or "") != ref.ca_data:
        mismatched.append(contract.CA_DATA)
    if mismatched:
        raise NotAllowed(f"{role} {ref.name!r}: {' and '.join(mismatched)} differ from what EKS describes for "
                         f"{ref.eks_cluster_name} in {ref.region}; refusing to sign a token for it or send one to it")
    _verified[key] = time.monotonic()


def check_names(refs: list[tuple[ClusterRef, str]]) -> None:
    """The static half of `check_all` (no AWS call), for each (cluster, role) of a request: what onEvent checks."""
    prefix = load()
    for ref, role in refs:
        check_name(ref, role, prefix)


def check_all(refs: list[tuple[ClusterRef, str]]) -> None:
    """Each (cluster, role) of a request, in order, is one of this environment's as EKS describes it (`check`)."""
    prefix = load()
    for ref, role in refs:
        check(ref, role, prefix)


def forget() -> None:
    """Drop every kept answer (a new test, a new rehearsal)."""
    _verified.clear()


def describe_cluster(region: str, name: str, who: str) -> dict:
    """EKS's DescribeCluster `cluster` for `name` in `region` (boto3 of the Lambda runtime; the endpoint is the
    region's, or AWS_ENDPOINT_URL_EKS). A cluster EKS does not know, or IAM does not let this role describe (only this
    environment's prefix and tag: the construct's policy), is NotAllowed; anything else is Waiting (transient) or
    Failed."""
    import boto3  # in the Lambda runtime; imported here so that a function serving no request never loads it
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    what = f"describing {who} (eks:DescribeCluster of {name} in {region})"
    eks = boto3.client("eks", region_name=region, config=Config(
        connect_timeout=CONNECT_SECONDS, read_timeout=READ_SECONDS, retries={"max_attempts": ATTEMPTS,
                                                                              "mode": "standard"}))
    try:
        return eks.describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "ResourceNotFoundException":
            raise NotAllowed(f"{who}: EKS has no cluster named {name!r} in {region}") from None
        if code in ("AccessDeniedException", "UnauthorizedOperation", "AccessDenied"):
            raise NotAllowed(f"{who}: this function may not describe {name!r} (IAM allows only this "
                             "environment's clusters: named with its prefix and tagged with its name)") from None
        if status >= 500 or code in ("ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException"):
            raise Waiting(f"{what}: {code or status}; asked again next poll") from None
        raise Failed(f"{what}: {code or status}: {exc.response.get('Error', {}).get('Message', '')[:200]}") from None
    except BotoCoreError as exc:  # no route to the EKS API, a timeout, no credentials
        raise Waiting(f"{what}: EKS API not reachable ({type(exc).__name__})", unreachable=True) from None
