"""The Karmada resources' properties, checked and typed (the cluster properties with the KubeFed join's checks).
Bad input fails the resource with a message naming the property; nothing is touched before these checks pass."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from components.karmada_join import contract as c
# The KubeFed join's checks of a cluster property (Name, EksClusterName, Region, Endpoint, CaData) and of the timeout.
from components.kube_access.cluster_ref import (ClusterRef, InvalidProperties, Timed, digest, parse_members,
                                                timeout_seconds)
from components.kube_access.cluster_ref import parse_cluster as cluster_ref

from .resources import kind_of

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
MAX_OBJECTS = 200


@dataclass(frozen=True)
class JoinRequest(Timed):
    member: ClusterRef
    host: ClusterRef
    node_port: int
    timeout_seconds: int

    @property
    def digest(self) -> str:
        """What the join makes from these properties (the timeout does not count)."""
        state = [self.member, self.host, self.node_port]
        return digest(state)

    @property
    def physical_id(self) -> str:
        return f"karmada-join/{self.host.name}/{self.member.name}"


@dataclass(frozen=True)
class ObjectsRequest(Timed):
    host: ClusterRef
    node_port: int
    owner: str
    objects: tuple[dict, ...]
    timeout_seconds: int

    @property
    def physical_id(self) -> str:
        return f"karmada-objects/{self.host.name}/{self.owner}"


@dataclass(frozen=True)
class MembersRequest(Timed):
    """`Custom::KarmadaMembers`: the federation's clusters, recorded on the host (kube_access/membership.py)."""

    host: ClusterRef
    members: tuple[str, ...]
    timeout_seconds: int

    @property
    def physical_id(self) -> str:
        return f"karmada-members/{self.host.name}"


def _node_port(props: dict, problems: list[str]) -> int:
    raw = props.get(c.API_SERVER_NODE_PORT, str(c.DEFAULT_APISERVER_NODE_PORT))
    port = c.parse_node_port(raw)
    if port is None:
        problems.append(f"{c.API_SERVER_NODE_PORT}: {str(raw)[:20]!r} is not a node port "
                        f"({c.MIN_NODE_PORT}..{c.MAX_NODE_PORT})")
        return 0
    return port


def parse_join(props: dict) -> JoinRequest:
    problems: list[str] = []
    member = cluster_ref(props.get(c.MEMBER), c.MEMBER, problems)
    host = cluster_ref(props.get(c.HOST), c.HOST, problems)
    node_port = _node_port(props, problems)
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    if problems:
        raise InvalidProperties("invalid Karmada join properties: " + "; ".join(problems))
    return JoinRequest(member=member, host=host, node_port=node_port, timeout_seconds=timeout)


def parse_members_record(props: dict) -> MembersRequest:
    problems: list[str] = []
    host = cluster_ref(props.get(c.HOST), c.HOST, problems)
    members = parse_members(props, problems)
    if props.get(c.MEMBERS) is None:
        problems.append(f"{c.MEMBERS}: must be a list of cluster names")
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    if problems:
        raise InvalidProperties("invalid Karmada members properties: " + "; ".join(problems))
    return MembersRequest(host=host, members=members, timeout_seconds=timeout)


def object_problems(objects: object) -> list[str]:
    """What is wrong with an Objects list: each must be a kind of resources.KINDS with a name (and a namespace
    when the kind is namespaced), each at most once."""
    if not isinstance(objects, list) or not objects or len(objects) > MAX_OBJECTS:
        return [f"{c.OBJECTS}: must be a JSON list of 1..{MAX_OBJECTS} Kubernetes objects"]
    problems, seen = [], set()
    for i, obj in enumerate(objects):
        where = f"{c.OBJECTS}[{i}]"
        kind = kind_of(obj) if isinstance(obj, dict) else None
        if kind is None:
            problems.append(f"{where}: not an object of a kind this function applies "
                            f"({str((obj or {}).get('apiVersion') if isinstance(obj, dict) else obj)[:60]!r})")
            continue
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name, namespace = meta.get("name"), meta.get("namespace")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{where}: metadata.name {str(name)[:60]!r} is not an object name")
        if kind.namespaced != isinstance(namespace, str) or (namespace is not None and not _NAME.match(namespace)):
            problems.append(f"{where}: metadata.namespace {str(namespace)[:60]!r} does not fit a "
                            f"{'namespaced' if kind.namespaced else 'cluster-scoped'} {obj['kind']}")
        key = (obj["kind"], namespace, name)
        if key in seen:
            problems.append(f"{where}: {obj['kind']} {namespace or ''}/{name} is listed twice")
        seen.add(key)
    return problems


def parse_objects(props: dict) -> ObjectsRequest:
    problems: list[str] = []
    host = cluster_ref(props.get(c.HOST), c.HOST, problems)
    node_port = _node_port(props, problems)
    owner = props.get(c.OWNER)
    if not isinstance(owner, str) or not _NAME.match(owner) or len(owner) > 63:
        problems.append(f"{c.OWNER}: {str(owner)[:70]!r} is not a label value of at most 63 characters")
    raw = props.get(c.OBJECTS)
    try:
        objects = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        objects = None
    problems += object_problems(objects)
    timeout = timeout_seconds(props, problems, c.DEFAULT_TIMEOUT_SECONDS)
    if problems:
        raise InvalidProperties("invalid Karmada objects properties: " + "; ".join(problems))
    return ObjectsRequest(host=host, node_port=node_port, owner=owner, objects=tuple(objects),
                          timeout_seconds=timeout)
