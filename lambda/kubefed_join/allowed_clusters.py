"""Which clusters this function may serve: those of its own federation, fixed at synth.

The construct writes them into the function's environment (`ENV_VAR`, JSON: federation cluster name ->
[EksClusterName, Region, Endpoint], compact because Lambda allows 4 KB of environment). A request naming any other cluster, or another EKS cluster name,
region or API server for a known name, is refused before a token is presigned for it: whoever may invoke
the function cannot have it sign a token for, or send one to, a cluster outside the federation.
"""
from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from properties import ClusterRef

ENV_VAR = "KUBEFED_JOIN_CLUSTERS"


class NotAllowed(ValueError):
    """The request names a cluster outside this function's federation. The message says which and why."""


def _host(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{(parts.hostname or '').lower()}:{parts.port or 443}"


def load(environ: dict[str, str] | None = None) -> dict[str, list[str]]:
    raw = (os.environ if environ is None else environ).get(ENV_VAR)
    if not raw:
        raise NotAllowed(f"the function has no {ENV_VAR} environment variable: it serves no cluster "
                         "(it is set by the KubefedJoinProvider construct)")
    try:
        allowed = json.loads(raw)
    except ValueError:
        raise NotAllowed(f"{ENV_VAR} is not JSON") from None
    if not isinstance(allowed, dict):
        raise NotAllowed(f"{ENV_VAR} is not an object of cluster names")
    return allowed


def check(ref: ClusterRef, role: str, allowed: dict[str, list[str]]) -> None:
    """Raise NotAllowed unless `ref` is exactly one of `allowed` (name, EKS name, region, endpoint host)."""
    known = allowed.get(ref.name)
    if not isinstance(known, list) or len(known) != 3:
        raise NotAllowed(f"{role} {ref.name!r} is not a cluster of this federation "
                         f"(it serves: {', '.join(sorted(allowed)) or 'none'})")
    eks_name, region, endpoint = known
    mismatched = [key for key, want, value in (("EksClusterName", eks_name, ref.eks_cluster_name),
                                               ("Region", region, ref.region)) if want != value]
    if _host(str(endpoint)) != _host(ref.endpoint):
        mismatched.append("Endpoint")
    if mismatched:
        raise NotAllowed(f"{role} {ref.name!r}: {', '.join(mismatched)} differ from the cluster of that name in "
                         "this federation; refusing to sign a token for it or send one to it")
