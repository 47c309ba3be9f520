"""Custom-resource handler for the CDK Provider framework: `Custom::KarmadaJoin` (push-mode join of a member to the
Karmada control plane on the host, unjoin on delete), `Custom::KarmadaObjects` (objects on karmada-apiserver) and
`Custom::KarmadaMembers` (the federation's clusters recorded on the host: kube_access/membership.py).

As the KubeFed join's handler, through the same shared code (components/kube_access/): `on_event` checks the
properties and that every cluster is named as one of this function's environment (allowed_clusters: its EKS name
prefix), and sets the deadline from the one time budget (contract.Deadlines); every poll asks EKS (DescribeCluster)
before any token is presigned; `is_complete` runs every step (idempotent) each poll within the invocation's budget
(kube_api.Budget) until ready, fails naming what never became ready at the deadline (polls.keep_waiting), and a delete
never fails: what it could not remove by its deadline is recorded (left_behind.finish: the retained log group and the
LeftBehind attribute). A rollback to the properties a join was last Ready with completes when a cluster cannot be
reached (polls.restored_unverified). The unjoin of a cluster the members record no longer lists (removed from the
config, which took the function's path to it away) forces Karmada's side and completes without waiting for the
member. Nothing of the kubeconfig or a token is logged: the client libraries are pinned above DEBUG.
"""
from __future__ import annotations

import logging
import time

from components.karmada_join import contract as c
from components.kube_access import allowed_clusters, kube_api, membership, polls
from components.kube_access.allowed_clusters import NotAllowed
from components.kube_access.kube_api import Budget, Failed, Waiting, classify, configure_logging
from components.kube_access.left_behind import LeftObject, finish as _finish, give_up
from components.kube_access.cluster_ref import ClusterRef, InvalidProperties

from . import join, karmada_api, objects, unjoin
from .properties import (JoinRequest, MembersRequest, ObjectsRequest, parse_join, parse_members_record,
                         parse_objects)
from .resources import Resources

configure_logging()
log = logging.getLogger("karmada_join")


Request = JoinRequest | ObjectsRequest | MembersRequest


def _parse(event: dict, props_key: str = "ResourceProperties") -> Request:
    props = event.get(props_key) or {}
    kind = event.get("ResourceType")
    return (parse_objects(props) if kind == c.OBJECTS_TYPE else parse_members_record(props)
            if kind == c.MEMBERS_TYPE else parse_join(props))


def _refs(req: Request) -> list[tuple[ClusterRef, str]]:
    return [(req.member, "member"), (req.host, "host")] if isinstance(req, JoinRequest) else [(req.host, "host")]


def _check_names(req: Request) -> None:
    """The static half of `_check_allowed` (no AWS call): what onEvent checks."""
    allowed_clusters.check_names(_refs(req))


def _check_allowed(req: Request) -> None:
    """Each cluster is one of this environment's as EKS describes it (allowed_clusters: eks:DescribeCluster)."""
    allowed_clusters.check_all(_refs(req))


def on_event(event: dict, context: object = None) -> dict:
    now = int(time.time())
    if event["RequestType"] == "Delete":
        try:
            deadlines = _parse(event).deadlines
        except InvalidProperties:
            deadlines = c.Deadlines()  # is_complete finds nothing to remove
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(now + deadlines.unjoin), "ForceAt": str(now + c.CLUSTER_DELETE_SECONDS)}}
    req = _parse(event)  # InvalidProperties fails the resource, as it should
    _check_names(req)  # NotAllowed too (EKS is asked on the first poll, before any token)
    log.info("%s %s", event["RequestType"], req.physical_id)
    return {"PhysicalResourceId": req.physical_id, "Data": {"Deadline": str(now + req.timeout_seconds)}}


def _cluster(ref: ClusterRef, role: str, budget: Budget) -> Resources:
    try:
        return Resources(ref, kube_api.api_client(ref), role, budget)
    except Exception as exc:  # noqa: BLE001 (e.g. no credentials to presign the token with)
        raise classify(exc, f"connecting to {role} {ref.name}") from None


def _karmada(req: JoinRequest | ObjectsRequest, budget: Budget) -> Resources:
    return karmada_api.connect(_cluster(req.host, "host", budget), req.node_port, budget)


def is_complete(event: dict, context: object = None) -> dict:
    deadline = int((event.get("Data") or {}).get("Deadline") or 0)
    budget = Budget.of(context)
    if event["RequestType"] == "Delete":
        return _delete(event, deadline, budget)
    req = _parse(event)
    if isinstance(req, MembersRequest):
        return _record_members(req, deadline, budget)
    what = (f"joining {req.member.name} to Karmada" if isinstance(req, JoinRequest)
            else f"Karmada objects {req.owner}")
    try:
        _check_allowed(req)
    except NotAllowed as exc:
        raise RuntimeError(f"{what} refused: {exc}") from None
    try:
        karmada = _karmada(req, budget)
        if isinstance(req, JoinRequest):
            state = join.join(req, _cluster(req.member, "member", budget), karmada)
            if state.ready:
                log.info("%s: %s", what, state.detail)
                return {"IsComplete": True, "Data": {c.CLUSTER_ATTRIBUTE: req.member.name,
                                                     c.CLUSTER_ID_ATTRIBUTE: state.cluster_id}}
            waiting = state.detail
        else:
            before = _remove_dropped(event, req, karmada)
            objects.apply(req.owner, req.objects, karmada, before)
            ready_on, pending, hostnames = objects.wait(req.objects, karmada)
            if not pending:
                log.info("%s: ready on %s", what, ", ".join(ready_on) or "(nothing to wait for)")
                return {"IsComplete": True, "Data": {c.READY_CLUSTERS_ATTRIBUTE: ",".join(ready_on), **hostnames}}
            waiting = "; ".join(pending)
    except Exception as exc:  # noqa: BLE001 (every error is classified: Waiting or Failed)
        error = classify(exc, what)
        if isinstance(error, Failed):
            raise RuntimeError(f"{what} failed: {error}") from None
        waiting = str(error)
        if (event["RequestType"] == "Update" and error.unreachable and isinstance(req, JoinRequest)
                and _restores_last_ready(req, budget)):
            # A rollback to the state this join was last Ready with, while a cluster cannot be reached: the failed
            # update never changed it there; failing would fail the rollback too (UPDATE_ROLLBACK_FAILED).
            return polls.restored_unverified(what, waiting, {c.CLUSTER_ATTRIBUTE: req.member.name})
    return polls.keep_waiting(deadline, waiting, f"{what}: not done within {req.timeout_seconds // 60} minutes")


def _restores_last_ready(req: JoinRequest, budget: Budget) -> bool:
    try:
        return join.last_ready(req, _karmada(req, budget)) == req.digest
    except (Waiting, Failed):
        return False


def _remove_dropped(event: dict, req: ObjectsRequest, karmada: Resources) -> tuple[dict, ...]:
    """An update: the owned objects of the old list that the new one no longer has go (Waiting until gone). Returns
    the old objects (what the update patches from)."""
    if event["RequestType"] != "Update":
        return ()
    try:
        old = _parse(event, "OldResourceProperties")
    except InvalidProperties:
        return ()
    if not isinstance(old, ObjectsRequest) or old.owner != req.owner or old.host.name != req.host.name:
        return ()  # another physical id: CloudFormation deletes the old resource itself
    keys = {objects.key(o) for o in req.objects}
    left = objects.remove(req.owner, [o for o in old.objects if objects.key(o) not in keys], karmada)
    if left:
        raise left[0]
    return old.objects


def _delete(event: dict, deadline: int, budget: Budget) -> dict:
    data = event.get("Data") or {}
    try:
        req = _parse(event)
    except InvalidProperties as exc:
        log.warning("nothing to remove: the properties never described a resource (%s)", exc)
        return {"IsComplete": True}
    resource = event.get("PhysicalResourceId") or req.physical_id
    try:
        allowed_clusters.check(req.host, "host", allowed_clusters.load())
    except (Waiting, Failed) as exc:
        return _finish(f"delete of {resource}", [exc], deadline, resource, [])
    except NotAllowed as exc:
        return give_up(f"delete of {resource}", [f"nothing removed: {exc}"], resource, [])
    if isinstance(req, MembersRequest):
        return _forget_members(req, deadline, budget, resource)
    left_karmada: list[Exception] = []
    left_member: list[Exception] = []
    host = None
    try:
        host = _cluster(req.host, "host", budget)
        karmada = karmada_api.connect(host, req.node_port, budget)
    except karmada_api.ControlPlaneGone as exc:
        # Uninstalled: karmada-apiserver's objects (Clusters, Works, workloads) went with its etcd.
        log.info("%s: nothing to remove from Karmada: %s", resource, exc)
        karmada = None
    except (Waiting, Failed) as exc:
        karmada, left_karmada = None, [exc]
    if isinstance(req, ObjectsRequest):
        if karmada is not None:
            left_karmada += objects.remove(req.owner, list(req.objects), karmada)
        left = [LeftObject(req.host.name + " (karmada-apiserver)", o["kind"], o["metadata"]["name"],
                           o["metadata"].get("namespace")) for o in req.objects] if left_karmada else []
        return _finish(f"delete of {resource}", left_karmada, deadline, resource, left)
    name = req.member.name
    removed = host is not None and _removed(req, host)
    member, member_gone = None, False
    try:
        # EKS is asked (DescribeCluster) before any token; a member that cannot be reached has its unjoin from Karmada
        # forced (the controller cannot remove its Works' copies either).
        allowed_clusters.check(req.member, "member", allowed_clusters.load())
        member = _cluster(req.member, "member", budget)
        join.cluster_id(member)  # reachable?
    except (Waiting, Failed, NotAllowed) as exc:
        member_gone = isinstance(exc, Waiting) and exc.unreachable
        member = None
        if removed and (member_gone or isinstance(exc, NotAllowed)):
            # A cluster removed from the config (the members record no longer lists it): the update that removed
            # it took the function's path to it away (or EKS no longer has it). Its side of the join stays on it and
            # goes with the cluster (a re-join of that cluster takes those objects over); Karmada's side goes now.
            log.info("%s left the federation and cannot be reached (%s): its side of the join stays on it (it goes "
                     "with the cluster); forcing its unjoin from Karmada", name, exc)
            member_gone = True
        else:
            left_member.append(exc if not isinstance(exc, NotAllowed) else Failed(f"member {name}: {exc}"))
    if karmada is not None:
        force = member_gone or time.time() >= int(data.get("ForceAt") or 0)
        left_karmada += unjoin.unjoin_karmada(name, karmada, force)
    if member is not None:
        left_member += unjoin.unjoin_member(name, member)
    objs = ([LeftObject(req.host.name + " (karmada-apiserver)", *o) for o in unjoin.karmada_left_behind(name)]
            if left_karmada else [])
    objs += [LeftObject(name, *o) for o in unjoin.member_left_behind(name)] if left_member else []
    return _finish(f"unjoin of {name} from Karmada", left_karmada + left_member, deadline, resource, objs)


def _removed(req: JoinRequest, host: Resources) -> bool:
    """Whether this unjoin is of a cluster removed from the config (kube_access/membership.py); False when the
    record cannot be read (the unjoin then treats the member as still in the federation)."""
    try:
        members = membership.recorded(host, c.MEMBERS_NAMESPACE)
    except (Waiting, Failed) as exc:
        log.info("the federation's clusters could not be read on host %s: %s", req.host.name, exc)
        return False
    return membership.left_the_federation(members, req.member.name, req.host.name)


def _record_members(req: MembersRequest, deadline: int, budget: Budget) -> dict:
    """Create/update of `Custom::KarmadaMembers`: the federation's clusters on the host (kube_access/membership.py),
    in the Karmada release's namespace."""
    def write() -> None:
        allowed_clusters.check(req.host, "host", allowed_clusters.load())
        membership.record(_cluster(req.host, "host", budget), c.MEMBERS_NAMESPACE, req.members)
    return membership.record_until(deadline, req.host.name, write)


def _forget_members(req: MembersRequest, deadline: int, budget: Budget, resource: str) -> dict:
    """Delete of `Custom::KarmadaMembers` (after every unjoin): the record goes; never fails."""
    try:
        membership.forget(_cluster(req.host, "host", budget), c.MEMBERS_NAMESPACE)
        left: list[Exception] = []
    except (Waiting, Failed) as exc:
        left = [exc]
    return _finish(f"delete of {resource}", left, deadline, resource,
                   [LeftObject(req.host.name, "ConfigMap", c.MEMBERS_CONFIGMAP, c.MEMBERS_NAMESPACE)])
