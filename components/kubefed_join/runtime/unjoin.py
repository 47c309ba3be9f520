"""Unjoin: remove what a join made, like `kubefedctl unjoin --force`, object by object.

Never raises: every object is attempted on its own (transient errors retried within the budget), and what could
not be removed is returned for the handler to retry on the next poll or report as left behind. The member's
namespace goes only as namespace_rule.keep_namespace decides. Only what this join made is deleted
(manifests.owns: the app's label and this join's annotation; a namespace only if a join created it), so a forged
request naming another namespace or pair removes nothing it did not make.
"""
from __future__ import annotations

import logging

from . import manifests
from .cluster_api import Cluster
from components.kube_access.kube_api import Failed, Waiting, with_retries
from .namespace_rule import keep_namespace
from .properties import JoinRequest

log = logging.getLogger("kubefed_join")


def unjoin_member(req: JoinRequest, member: Cluster, host: Cluster | None) -> list[Exception]:
    """Remove the member's side, each object on its own (transient errors retried within the budget).
    Returns what could not be removed; the namespace follows namespace_rule.keep_namespace."""
    names = req.names
    left: list[Exception] = []
    refs = [*manifests.all_rbac_refs(names), ("Secret", names.token_secret), ("ServiceAccount", names.service_account)]
    mine = lambda meta: manifests.owns(names, meta)  # noqa: E731
    for kind, name in refs:
        try:
            member.delete_owned(kind, name, names.namespace, mine)
        except (Waiting, Failed) as exc:
            left.append(exc)
    try:
        why = _namespace_kept(req, member, host)
        if why is None:
            member.delete_owned("Namespace", names.namespace, None, manifests.made_by_a_join)
        else:
            log.info("member %s: namespace %s kept: %s", req.member.name, names.namespace, why)
    except (Waiting, Failed) as exc:
        left.append(exc)
    return left


def _namespace_kept(req: JoinRequest, member: Cluster, host: Cluster | None) -> str | None:
    names = req.names
    if host is None:
        return "the host could not be asked whether this is its own namespace"
    member_ns = with_retries(lambda: member.read("Namespace", names.namespace, None),
                             f"reading {member.describe('Namespace', names.namespace)}", member.budget)
    host_ns = with_retries(lambda: host.read("Namespace", names.namespace, None),
                           f"reading {host.describe('Namespace', names.namespace)}", host.budget)
    hosts_kubefed = member_ns is not None and with_retries(
        lambda: member.read("KubeFedConfig", "kubefed", names.namespace),
        f"reading {member.describe('KubeFedConfig', 'kubefed')}", member.budget) is not None
    others = [] if member_ns is None else [
        a["metadata"]["name"] for a in member.list("ServiceAccount", names.namespace)
        if a["metadata"]["name"] not in ("default", names.service_account)]
    return keep_namespace(_uid(host_ns), _uid(member_ns), hosts_kubefed, others)


def _uid(obj) -> str | None:
    return obj.metadata.uid if obj is not None else None


def unjoin_host(req: JoinRequest, host: Cluster) -> list[Exception]:
    """Remove the host's side: the secret the KubeFedCluster names (and ours), then the KubeFedCluster.
    Returns what could not be removed."""
    names = req.names
    left: list[Exception] = []
    secret_names = {names.host_secret}
    try:
        current = with_retries(lambda: host.read("KubeFedCluster", names.member, names.namespace),
                               f"reading {host.describe('KubeFedCluster', names.member)}", host.budget)
        ref = (((current or {}).get("spec") or {}).get("secretRef") or {}).get("name")
        if ref:
            secret_names.add(ref)
    except (Waiting, Failed) as exc:
        left.append(exc)
    mine = lambda meta: manifests.owns(names, meta)  # noqa: E731
    for name in sorted(secret_names):
        try:
            host.delete_owned("Secret", name, names.namespace, mine)
        except (Waiting, Failed) as exc:
            left.append(exc)
    try:
        host.delete_owned("KubeFedCluster", names.member, names.namespace, mine)
    except (Waiting, Failed) as exc:
        left.append(exc)
    return left
