"""Custom-resource handler for the CDK Provider framework: join a cluster to KubeFed, unjoin on delete.

`on_event` only checks the properties (and that both clusters belong to this function's federation) and
sets a deadline; `is_complete` runs every join step (all idempotent) on each poll until the KubeFedCluster
is Ready for the current spec, and fails with what never became ready once the deadline passes. Each
invocation spends at most its time budget (kube_api.Budget) and then returns "not complete": the next
poll continues. Delete behaves like `kubefedctl unjoin --force`, object by object: transient errors are
retried until the unjoin deadline, then what is left is reported, and nothing ever fails a stack delete.

What a completed delete left behind is returned as the `LeftBehind` attribute, and logged. The Provider
framework only carries a reason on failure: on success it answers CloudFormation with `Reason: "SUCCESS"`
and the Data that isComplete returned merged into the response (aws-cdk-lib 2.275,
custom-resources/lib/provider-framework/runtime/framework.js `isComplete`, and cfn-response.js
`submitResponse`: `Reason: options.reason || status`). It also refuses Data while IsComplete is false.

`Custom::FederatedWorkload` resources made before the workload waiter had a Provider of its own
(components/workload_waiter/) keep this Provider's service token until CloudFormation deletes them, in the cleanup
phase of the update that replaced them: their requests are passed to the waiter's code, packaged with this one
(kubefed_join.py), which leaves a workload its replacement owns.
"""
from __future__ import annotations

import logging
import time

from .. import contract
from components.kube_access import allowed_clusters, membership, polls
from components.workload_waiter.runtime import workload_wait
from . import join
from . import teardown
from . import unjoin
from components.kube_access.allowed_clusters import NotAllowed
from .cluster_api import Cluster
from components.kube_access.kube_api import Budget, Failed, Waiting, api_client, classify, configure_logging
from components.kube_access.left_behind import LeftObject, finish as _finish
from .manifests import Names, all_rbac_refs
from .properties import ClusterRef, InvalidProperties, JoinRequest, parse, parse_teardown

configure_logging()
log = logging.getLogger("kubefed_join")

# Every deadline comes from the resource's TimeoutSeconds through contract.Deadlines (one time budget; the
# construct derives the Provider's total timeout from the same numbers).


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    if event.get("ResourceType") == contract.LEGACY_WORKLOAD_TYPE:
        return workload_wait.on_event(event, context, legacy=True)
    if event.get("ResourceType") == contract.TEARDOWN_TYPE:
        return _teardown_on_event(event)
    if request_type == "Delete":
        try:
            deadlines = parse(event.get("ResourceProperties") or {}).deadlines
        except InvalidProperties:
            deadlines = contract.Deadlines()  # is_complete finds nothing to unjoin
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(int(time.time()) + deadlines.unjoin)}}
    req = parse(event.get("ResourceProperties") or {})  # InvalidProperties fails the resource, as it should
    _check_names(req.member, req.host)  # NotAllowed too (EKS is asked on the first poll, before any token)
    log.info("%s %s: joining %s to host %s", request_type, req.physical_id, req.member.name, req.host.name)
    return {"PhysicalResourceId": req.physical_id, "Data": {"Deadline": str(int(time.time()) + req.timeout_seconds)}}


def is_complete(event: dict, context: object = None) -> dict:
    deadline = int((event.get("Data") or {}).get("Deadline") or 0)
    budget = Budget.of(context)
    if event.get("ResourceType") == contract.LEGACY_WORKLOAD_TYPE:
        return workload_wait.is_complete(event, context)
    if event.get("ResourceType") == contract.TEARDOWN_TYPE:
        return _teardown_is_complete(event, deadline, budget)
    if event["RequestType"] == "Delete":
        return _unjoin(event, deadline, budget)
    req = parse(event.get("ResourceProperties") or {})
    try:
        _check_allowed(req.member, req.host)  # before any token is presigned
        member, host = _clusters(req, budget)
        state = join.join(req, member, host)
        pending = _release_previous_host(event, req, budget) if state.ready else None
        if state.ready and pending is None:
            log.info("%s joined: %s", req.member.name, state.detail)
            return {"IsComplete": True, "Data": {contract.KUBEFED_CLUSTER_ATTRIBUTE: req.member.name}}
        waiting = pending or state.detail
    except NotAllowed as exc:
        raise RuntimeError(f"joining {req.member.name} to KubeFed refused: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (every error is classified: Waiting or Failed)
        error = classify(exc, f"joining {req.member.name}")
        if isinstance(error, Failed):
            raise RuntimeError(f"joining {req.member.name} to KubeFed failed: {error}") from None
        waiting = str(error)
        if event["RequestType"] == "Update" and error.unreachable and restores_last_ready(req, budget):
            # A rollback (or a re-apply) of the state this join was last Ready with, while a cluster cannot be
            # reached: the failed update never got to change that cluster, so there is nothing to restore there.
            # Failing would fail the rollback for the reason that failed the update (UPDATE_ROLLBACK_FAILED).
            return polls.restored_unverified(req.member.name, waiting,
                                             {contract.KUBEFED_CLUSTER_ATTRIBUTE: req.member.name})
    return polls.keep_waiting(deadline, waiting,
                              f"{req.member.name} did not join KubeFed within {req.timeout_seconds // 60} minutes")


def _release_previous_host(event: dict, req: JoinRequest, budget: Budget) -> str | None:
    """A host move: once the member is Ready on the new host, the previous host lets go of it (its KubeFedCluster
    and secret go), so that the previous host's KubeFed no longer manages the member when the update's cleanup
    phase deletes that host's federated objects: KubeFed deletes a federated object's copies from every cluster it
    has joined (sync/controller.go deleteFromClusters), and the copies now belong to the new host's federated
    objects (an outage, and a delete that waits while the new host puts them back). Returns what is still waited
    for, None when done; a previous host that cannot be reached is left to the old join's delete (it records what
    it could not remove)."""
    if event["RequestType"] != "Update":
        return None
    try:
        old = parse(event.get("OldResourceProperties") or {})
    except InvalidProperties:
        return None
    if old.host.name == req.host.name:
        return None
    try:
        allowed_clusters.check(old.host, "host", allowed_clusters.load())
        left = unjoin.unjoin_host(old, _cluster(old.host, "host", budget))
    except (NotAllowed, Waiting, Failed) as exc:
        left = [exc]
    waiting = [str(e) for e in left if isinstance(e, Waiting)]
    if waiting:
        return f"releasing {req.member.name} from the previous host {old.host.name}: {'; '.join(waiting)}"
    for e in left:
        log.warning("%s: the previous host %s kept part of the join (its delete retries): %s",
                    req.member.name, old.host.name, e)
    return None


def restores_last_ready(req: JoinRequest, budget: Budget) -> bool:
    """Whether a reachable side of the join recorded these exact properties as its last Ready state."""
    for ref, role in ((req.host, "host"), (req.member, "member")):
        try:
            if join.last_ready(req, _cluster(ref, role, budget), role) == req.digest:
                return True
        except (Waiting, Failed):
            continue
    return False


def _check_names(*refs: ClusterRef) -> None:
    """The static half of `_check_allowed` (no AWS call): what onEvent checks."""
    allowed_clusters.check_names(list(zip(refs, ("member", "host"))))


def _check_allowed(*refs: ClusterRef) -> None:
    """Each cluster (member, then host) is one of this environment's as EKS describes it (allowed_clusters)."""
    allowed_clusters.check_all(list(zip(refs, ("member", "host"))))


def _cluster(ref: ClusterRef, role: str, budget: Budget, shared: Cluster | None = None) -> Cluster:
    try:
        api = shared.core.api_client if shared is not None else api_client(ref)
    except Exception as exc:  # noqa: BLE001 (e.g. no credentials to presign the token with)
        raise classify(exc, f"connecting to {role} {ref.name}") from None
    return Cluster(ref, api, role, budget)


def _clusters(req: JoinRequest, budget: Budget) -> tuple[Cluster, Cluster]:
    host = _cluster(req.host, "host", budget)
    shared = host if req.member.name == req.host.name else None
    return _cluster(req.member, "member", budget, shared), host


def _unjoin(event: dict, deadline: int, budget: Budget) -> dict:
    try:
        req = parse(event.get("ResourceProperties") or {})
    except InvalidProperties as exc:
        log.warning("nothing to unjoin: the properties never described a join (%s)", exc)
        return {"IsComplete": True}
    left_host: list[Exception] = []
    left_member: list[Exception] = []
    host = member = None
    try:
        _check_allowed(req.host)
        host = _cluster(req.host, "host", budget)
    except (NotAllowed, Waiting, Failed) as exc:
        left_host.append(Failed(f"host {req.host.name}: nothing removed: {exc}") if isinstance(exc, NotAllowed)
                         else exc)
    try:
        if host is not None and left_the_federation(req, host):
            # A cluster removed from the config: the update that removed it changed this function's clusters (and
            # the network path to it) before its cleanup phase deletes this join, so its side stays on it, as the
            # manual's "Adding or removing a cluster" says (docs/operations/clusters.md; KubeFed's own objects there
            # go with the cluster).
            log.info("%s left the federation: its side of the join stays on it (it goes with the cluster)",
                     req.member.name)
        else:
            _check_allowed(req.member)
            member = _cluster(req.member, "member", budget, host if req.member.name == req.host.name else None)
    except (NotAllowed, Waiting, Failed) as exc:
        left_member.append(Failed(f"member {req.member.name}: nothing removed: {exc}") if isinstance(exc, NotAllowed)
                           else exc)
    # The host first (kubefedctl does the member first): its KubeFedCluster is what the federation uses, and a
    # member that keeps failing must not spend every poll's budget before the host is reached.
    if host is not None:
        left_host += unjoin.unjoin_host(req, host)
    if member is not None:
        left_member += unjoin.unjoin_member(req, member, host)
    objects = ((host_objects(req.host.name, req.names) if left_host else [])
               + (member_objects(req.member.name, req.names) if left_member else []))
    return _finish(f"unjoin of {req.member.name} from {req.host.name}", left_host + left_member, deadline,
                   event.get("PhysicalResourceId") or req.physical_id, objects)


def left_the_federation(req: JoinRequest, host: Cluster) -> bool:
    """An unjoin of a member the federation no longer has (by name; the teardown records them on the host:
    kube_access/membership.py), from a host it still has: a removed cluster. Nothing is done on it (the function may
    not reach it). Without a record every member counts as still in the federation."""
    return membership.left_the_federation(membership.recorded(host, req.namespace), req.member.name, req.host.name)


def host_objects(cluster: str, names: Names) -> list[LeftObject]:
    """What a join makes on the host (the unjoin removes it)."""
    return [LeftObject(cluster, "KubeFedCluster", names.member, names.namespace),
            LeftObject(cluster, "Secret", names.host_secret, names.namespace)]


def member_objects(cluster: str, names: Names) -> list[LeftObject]:
    """What a join makes on the member (the unjoin removes it; the namespace as namespace_rule decides)."""
    namespaced = {"Role", "RoleBinding"}
    return [*(LeftObject(cluster, kind, name, names.namespace if kind in namespaced else None)
              for kind, name in all_rbac_refs(names)),
            LeftObject(cluster, "Secret", names.token_secret, names.namespace),
            LeftObject(cluster, "ServiceAccount", names.service_account, names.namespace)]


def _teardown_on_event(event: dict) -> dict:
    if event["RequestType"] == "Delete":
        try:
            deadlines = parse_teardown(event.get("ResourceProperties") or {}).deadlines
        except InvalidProperties:
            deadlines = contract.Deadlines()
        # The deadline is the release's (then finalizers go); the teardown gives up GIVE_UP_SECONDS after it.
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(int(time.time()) + deadlines.release)}}
    req = parse_teardown(event.get("ResourceProperties") or {})
    _check_names(req.host)
    return {"PhysicalResourceId": req.physical_id,
            "Data": {"Deadline": str(int(time.time()) + req.deadlines.join)}}


def _record_members(event: dict, deadline: int, budget: Budget) -> dict:
    """Create/update of the teardown: record the federation's clusters on the host (kube_access/membership.py)."""
    req = parse_teardown(event.get("ResourceProperties") or {})
    if req.members is None:
        return {"IsComplete": True}

    def write() -> None:
        _check_allowed(req.host)
        membership.record(_cluster(req.host, "host", budget), req.namespace, req.members)
    return membership.record_until(deadline, req.host.name, write)


def _teardown_is_complete(event: dict, deadline: int, budget: Budget) -> dict:
    if event["RequestType"] != "Delete":
        return _record_members(event, deadline, budget)
    try:
        req = parse_teardown(event.get("ResourceProperties") or {})
    except InvalidProperties as exc:
        log.warning("nothing to tear down: %s", exc)
        return {"IsComplete": True}
    what = f"KubeFed teardown on host {req.host.name}"
    now = time.time()
    give_up_at = deadline + contract.GIVE_UP_SECONDS
    resource = event.get("PhysicalResourceId") or req.physical_id
    objects = [LeftObject(req.host.name, "FederatedTypeConfigs", "--all", req.namespace)]
    note = ("FederatedTypeConfigs carry a finalizer only the KubeFed controller removes: if a delete hangs, remove "
            "it with kubectl patch federatedtypeconfig <name> --type merge -p '{\"metadata\":{\"finalizers\":[]}}'")
    try:
        _check_allowed(req.host)
        host = _cluster(req.host, "host", budget)
        remaining = teardown.remaining_type_configs(host, req.namespace, force=now > deadline)
    except NotAllowed as exc:
        return _finish(what, [Failed(f"nothing removed: {exc}")], deadline, resource, objects, note)
    except (Waiting, Failed) as exc:
        return _finish(what, [exc], give_up_at, resource, objects, note)
    if remaining.count == 0:
        try:
            membership.forget(host, req.namespace)
        except (Waiting, Failed) as exc:
            return _finish(what, [exc], give_up_at, resource, objects, note)
        log.info("host %s: no FederatedTypeConfig left; the chart can be uninstalled", req.host.name)
        return {"IsComplete": True}
    left = remaining.errors or [Waiting(f"host {req.host.name}: {remaining.count} FederatedTypeConfigs still "
                                        "present (waiting for the KubeFed controller to release them)")]
    return _finish(what, left, give_up_at, resource, objects, note)
