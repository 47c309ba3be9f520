"""A cluster as a request names it (the `Host`, `Member` and `Clusters[]` objects), and the property checks every
Kubernetes-facing function shares: bad input fails the resource with a message naming the property; nothing is
touched on any cluster before these checks pass."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import contract as c

_LABEL = re.compile(c.LABEL_PATTERN)
_REGION = re.compile(f"^{c.REGION_PATTERN}$")
_EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")


class InvalidProperties(ValueError):
    """The resource's properties cannot describe the resource. The message lists every problem."""


@dataclass(frozen=True)
class ClusterRef:
    name: str
    """The cluster's name in the federation (KubeFedCluster name, kubeconfig context)."""
    eks_cluster_name: str
    region: str
    endpoint: str
    ca_data: str
    """Base64 PEM of the cluster CA (EKS CertificateAuthorityData)."""


class Timed:
    """A request's `deadlines`, from its `timeout_seconds` (contract.Deadlines: every deadline from one number)."""

    timeout_seconds: int

    @property
    def deadlines(self) -> c.Deadlines:
        return c.Deadlines(self.timeout_seconds)


def digest(state: object) -> str:
    """A short digest of what a resource makes from its properties (the clusters as their fields): recorded once it is
    Ready, so that an update asking for exactly that state again (a rollback) is recognised."""
    return hashlib.sha256(json.dumps(state, default=lambda r: r.__dict__, sort_keys=True).encode()).hexdigest()[:16]


def parse_cluster(raw: object, prop: str, problems: list[str]) -> ClusterRef | None:
    if not isinstance(raw, dict):
        problems.append(f"{prop}: must be an object with {', '.join(c.CLUSTER_KEYS)}")
        return None
    values = {}
    for key in c.CLUSTER_KEYS:
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            problems.append(f"{prop}.{key}: is missing or empty")
        values[key] = value if isinstance(value, str) else ""
    name, eks_name, region, endpoint, ca = (values[k] for k in c.CLUSTER_KEYS)
    if name and (not _LABEL.match(name) or len(name) > c.MAX_LABEL_LENGTH):
        problems.append(f"{prop}.{c.NAME}: {name!r} is not a lowercase RFC 1123 label of at most "
                        f"{c.MAX_LABEL_LENGTH} characters")
    if eks_name and not _EKS_NAME.match(eks_name):
        problems.append(f"{prop}.{c.EKS_CLUSTER_NAME}: {eks_name!r} is not an EKS cluster name")
    if region and not _REGION.match(region):
        problems.append(f"{prop}.{c.REGION}: {region!r} is not an AWS region")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
            problems.append(f"{prop}.{c.ENDPOINT}: {endpoint!r} is not an https:// API server URL")
    if ca:
        try:
            pem = base64.b64decode(ca, validate=True)
        except (binascii.Error, ValueError):
            pem = b""
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            problems.append(f"{prop}.{c.CA_DATA}: is not base64 of a PEM certificate")
    return ClusterRef(name, eks_name, region, endpoint.rstrip("/"), ca)


def parse_namespace(props: dict, problems: list[str]) -> str:
    namespace = props.get(c.NAMESPACE)
    if not isinstance(namespace, str) or not _LABEL.match(namespace):
        problems.append(f"{c.NAMESPACE}: {namespace!r} is not a namespace name")
    return namespace


def timeout_seconds(props: dict, problems: list[str], default: int) -> int:
    """TimeoutSeconds, the one number every deadline derives from (contract.Deadlines)."""
    raw = props.get(c.TIMEOUT_SECONDS, str(default))
    timeout = c.parse_timeout(raw)
    if timeout is None:
        problems.append(f"{c.TIMEOUT_SECONDS}: {raw!r} is not a number of seconds in "
                        f"{c.MIN_TIMEOUT_SECONDS}..{c.MAX_TIMEOUT_SECONDS}")
        return 0
    return timeout


def parse_members(props: dict, problems: list[str]) -> tuple[str, ...] | None:
    """Members: every cluster of the federation by name (kube_access/membership.py); None when the properties
    predate it."""
    members = props.get(c.MEMBERS)
    if members is None:
        return None
    if not isinstance(members, list) or not all(
            isinstance(m, str) and _LABEL.match(m) and len(m) <= c.MAX_LABEL_LENGTH for m in members):
        problems.append(f"{c.MEMBERS}: must be a list of cluster names")
        return None
    return tuple(members)
