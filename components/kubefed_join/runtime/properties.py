"""The custom resource's properties, checked and typed. Bad input fails the resource with a message
naming the property; nothing is touched on any cluster before these checks pass."""
from __future__ import annotations

import re
from dataclasses import dataclass

from components.kube_access.cluster_ref import (  # noqa: F401 (ClusterRef, InvalidProperties: the join's names too)
    ClusterRef, InvalidProperties, Timed, digest, parse_cluster, parse_members, parse_namespace, timeout_seconds)

from .. import contract as c
from .manifests import CLUSTER_SCOPE, NAMESPACED_SCOPE, Names

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class JoinRequest(Timed):
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
    def digest(self) -> str:
        """What the join makes from these properties, as a short digest (the timeout does not count)."""
        state = [self.member, self.host, self.namespace, self.scope, sorted(self.labels.items())]
        return digest(state)

    @property
    def physical_id(self) -> str:
        """Changes exactly when the objects' names change, so CloudFormation replaces the resource."""
        return f"kubefed-join/{self.namespace}/{self.host.name}/{self.member.name}"


@dataclass(frozen=True)
class TeardownRequest(Timed):
    host: ClusterRef
    namespace: str
    timeout_seconds: int = c.DEFAULT_TIMEOUT_SECONDS
    members: tuple[str, ...] | None = None
    """Every cluster of the federation (contract.MEMBERS), recorded on the host (kube_access/membership.py); None
    when the properties predate it."""

    @property
    def physical_id(self) -> str:
        return f"kubefed-teardown/{self.namespace}/{self.host.name}"


def parse_teardown(props: dict) -> TeardownRequest:
    problems: list[str] = []
    host = parse_cluster(props.get(c.HOST), c.HOST, problems)
    namespace = parse_namespace(props, problems)
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    members = parse_members(props, problems)
    if problems:
        raise InvalidProperties("invalid KubeFed teardown properties: " + "; ".join(problems))
    return TeardownRequest(host=host, namespace=namespace, timeout_seconds=timeout, members=members)


def parse(props: dict) -> JoinRequest:
    problems: list[str] = []
    member = parse_cluster(props.get(c.MEMBER), c.MEMBER, problems)
    host = parse_cluster(props.get(c.HOST), c.HOST, problems)
    namespace = parse_namespace(props, problems)
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
    if member and host and len(f"{member.name}-{host.name}") > c.MAX_LABEL_LENGTH:
        problems.append(f"{c.MEMBER}.{c.NAME} and {c.HOST}.{c.NAME}: {member.name!r} and {host.name!r} make the "
                        f"service account name {member.name + '-' + host.name!r}, over Kubernetes' {c.MAX_LABEL_LENGTH} "
                        "characters")
    if problems:
        raise InvalidProperties("invalid KubeFed join properties: " + "; ".join(problems))
    return JoinRequest(member=member, host=host, namespace=namespace, scope=scope,
                       labels={str(k): v for k, v in sorted(labels.items())}, timeout_seconds=timeout)
