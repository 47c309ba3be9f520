"""Which clusters this function may serve: those of its own federation, fixed at deploy time.

The construct writes them into the function's environment (contract.EKS_NAME_PREFIX_ENV and contract.CLUSTERS_ENV:
per cluster its name, region and the unique id of its API endpoint). A request is served only when each cluster it
names is one of them, its EKS cluster name is the prefix and its name, its region is the cluster's, and its endpoint
is exactly `https://<that id>.<label>.<that region>.eks.amazonaws.com` (contract.ENDPOINT_PATTERN). Otherwise it is
refused before a token is presigned: whoever may invoke the function cannot have it sign a token for a cluster
outside the federation, nor send one anywhere but to that cluster's endpoint (a name under AWS's eks.amazonaws.com
zone carrying the cluster's unique id; the label is not kept, to fit 60 clusters in Lambda's 4 KB environment).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from . import contract
from .contract import CLUSTERS_ENV as ENV_VAR
from .cluster_ref import ClusterRef


class NotAllowed(ValueError):
    """The request names a cluster outside this function's federation. The message says which and why."""


@dataclass(frozen=True)
class Federation:
    eks_name_prefix: str
    clusters: dict[str, tuple[str, str]]
    """name -> (region, endpoint id)"""


def load(environ: dict[str, str] | None = None) -> Federation:
    env = os.environ if environ is None else environ
    raw, prefix = env.get(ENV_VAR), env.get(contract.EKS_NAME_PREFIX_ENV)
    if not raw or not prefix:
        raise NotAllowed(f"the function has no {ENV_VAR} or {contract.EKS_NAME_PREFIX_ENV} environment variable: it "
                         "serves no cluster (they are set by the KubefedJoinProvider construct)")
    try:
        return Federation(prefix, contract.parse_clusters(raw))
    except ValueError as exc:
        raise NotAllowed(f"{ENV_VAR} is malformed: {exc}") from None


def check(ref: ClusterRef, role: str, allowed: Federation) -> None:
    """Raise NotAllowed unless `ref` is exactly one of `allowed` (name, EKS name, region, endpoint)."""
    known = allowed.clusters.get(ref.name)
    if known is None:
        raise NotAllowed(f"{role} {ref.name!r} is not a cluster of this federation "
                         f"(it serves: {', '.join(sorted(allowed.clusters)) or 'none'})")
    region, endpoint_id = known
    mismatched = []
    if ref.eks_cluster_name != allowed.eks_name_prefix + ref.name:
        mismatched.append(contract.EKS_CLUSTER_NAME)
    if ref.region != region:
        mismatched.append(contract.REGION)
    endpoint = contract.ENDPOINT_PATTERN.match(ref.endpoint)
    if endpoint is None or endpoint["id"] != endpoint_id or endpoint["region"] != region:
        mismatched.append(contract.ENDPOINT)
    if mismatched:
        raise NotAllowed(f"{role} {ref.name!r}: {', '.join(mismatched)} differ from the cluster of that name in "
                         "this federation; refusing to sign a token for it or send one to it")
