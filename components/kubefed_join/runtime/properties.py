"""The custom resource's properties, checked and typed. Bad input fails the resource with a message
naming the property; nothing is touched on any cluster before these checks pass."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import contract as c
from .manifests import CLUSTER_SCOPE, NAMESPACED_SCOPE, Names

_LABEL = re.compile(c.LABEL_PATTERN)
_REGION = re.compile(f"^{c.REGION_PATTERN}$")
_EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


class InvalidProperties(ValueError):
    """The resource's properties cannot describe a join. The message lists every problem."""


@dataclass(frozen=True)
class ClusterRef:
    name: str
    """The cluster's name in the federation (KubeFedCluster name, kubeconfig context)."""
    eks_cluster_name: str
    region: str
    endpoint: str
    ca_data: str
    """Base64 PEM of the cluster CA (EKS CertificateAuthorityData)."""


@dataclass(frozen=True)
class JoinRequest:
    member: ClusterRef
    host: ClusterRef
    namespace: str
    scope: str
    labels: dict[str, str]
    timeout_seconds: int

    @property
    def names(self) -> Names:
        return Names(member=self.member.name, host=self.host.name, namespace=self.namespace)

    @property
    def deadlines(self) -> c.Deadlines:
        return c.Deadlines(self.timeout_seconds)

    @property
    def digest(self) -> str:
        """What the join makes from these properties, as a short digest (the timeout does not count)."""
        state = [self.member, self.host, self.namespace, self.scope, sorted(self.labels.items())]
        return hashlib.sha256(json.dumps(state, default=lambda r: r.__dict__, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def physical_id(self) -> str:
        """Changes exactly when the objects' names change, so CloudFormation replaces the resource."""
        return f"kubefed-join/{self.namespace}/{self.host.name}/{self.member.name}"


def _cluster(raw: object, prop: str, problems: list[str]) -> ClusterRef | None:
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
    if name and (not _LABEL.match(name) or len(name) > c.MAX_NAME_LENGTH):
        problems.append(f"{prop}.{c.NAME}: {name!r} is not a lowercase RFC 1123 label of at most "
                        f"{c.MAX_NAME_LENGTH} characters")
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


@dataclass(frozen=True)
class TeardownRequest:
    host: ClusterRef
    namespace: str
    timeout_seconds: int = c.DEFAULT_TIMEOUT_SECONDS
    members: tuple[str, ...] | None = None
    """Every cluster of the federation (contract.MEMBERS), recorded on the host (membership.py); None when the
    properties predate it."""

    @property
    def deadlines(self) -> c.Deadlines:
        return c.Deadlines(self.timeout_seconds)

    @property
    def physical_id(self) -> str:
        return f"kubefed-teardown/{self.namespace}/{self.host.name}"


def _namespace(props: dict, problems: list[str]) -> str:
    namespace = props.get(c.NAMESPACE)
    if not isinstance(namespace, str) or not _LABEL.match(namespace):
        problems.append(f"{c.NAMESPACE}: {namespace!r} is not a namespace name")
    return namespace


def parse_teardown(props: dict) -> TeardownRequest:
    problems: list[str] = []
    host = _cluster(props.get(c.HOST), c.HOST, problems)
    namespace = _namespace(props, problems)
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    members = props.get(c.MEMBERS)
    if members is not None and (not isinstance(members, list) or not all(
            isinstance(m, str) and _LABEL.match(m) and len(m) <= c.MAX_NAME_LENGTH for m in members)):
        problems.append(f"{c.MEMBERS}: must be a list of cluster names")
    if problems:
        raise InvalidProperties("invalid KubeFed teardown properties: " + "; ".join(problems))
    return TeardownRequest(host=host, namespace=namespace, timeout_seconds=timeout,
                           members=None if members is None else tuple(members))


def timeout_seconds(props: dict, problems: list[str], default: int) -> int:
    """TimeoutSeconds, the one number every deadline derives from (contract.Deadlines)."""
    raw = props.get(c.TIMEOUT_SECONDS, str(default))
    timeout = c.parse_timeout(raw)
    if timeout is None:
        problems.append(f"{c.TIMEOUT_SECONDS}: {raw!r} is not a number of seconds in "
                        f"{c.MIN_TIMEOUT_SECONDS}..{c.MAX_TIMEOUT_SECONDS}")
        return 0
    return timeout


def parse(props: dict) -> JoinRequest:
    problems: list[str] = []
    member = _cluster(props.get(c.MEMBER), c.MEMBER, problems)
    host = _cluster(props.get(c.HOST), c.HOST, problems)
    namespace = _namespace(props, problems)
    scope = props.get(c.SCOPE)
    if scope not in (CLUSTER_SCOPE, NAMESPACED_SCOPE):
        problems.append(f"{c.SCOPE}: {scope!r} is not {CLUSTER_SCOPE} or {NAMESPACED_SCOPE}")
    labels = props.get(c.LABELS) or {}
    if not isinstance(labels, dict):
        problems.append(f"{c.LABELS}: must be an object of label keys to values")
        labels = {}
    for key, value in labels.items():
        if not _LABEL_KEY.match(str(key)) or not isinstance(value, str) or not _LABEL_VALUE.match(value):
            problems.append(f"{c.LABELS}.{key}: is not a valid Kubernetes label")
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    if problems:
        raise InvalidProperties("invalid KubeFed join properties: " + "; ".join(problems))
    return JoinRequest(member=member, host=host, namespace=namespace, scope=scope,
                       labels={str(k): v for k, v in sorted(labels.items())}, timeout_seconds=timeout)
