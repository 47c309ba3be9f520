"""Custom::FederatedWorkload: a deploy finishes when a federated workload runs where it was placed; a delete
removes it and finishes when KubeFed has taken every member copy away, load balancers included.

Create/Update: each poll reads the host's FederatedDeployment (for the replica scheduler's plan) and, on every
placed member, the Deployment and Service KubeFed propagated; `workload_state.readiness` decides. When ready,
each member's load-balancer hostname is returned as the attribute `Hostname.<cluster>`. It is not ready either
while the host's FederatedService reports a copy on a cluster outside the placement (`workload_state.leaving`): a
cluster removed from the config keeps the deploy waiting until KubeFed has deleted its copies, load balancers
included, before CloudFormation's cleanup unjoins it. Past the deadline the
resource fails naming everything that never became ready.

Delete: each poll deletes the workload's federated objects on the host (only those carrying the app's
managed-by label: KubeFed's sync controller then deletes the member copies; a Service's load-balancer controller
releases it only after deleting the load balancer) and checks the members; complete when nothing is left. Past the
deadline the delete gives up and completes, so that a stack delete always finishes (a member that is gone never
answers): what may be left, load balancers included, is recorded where it outlives the stack (left_behind.py).

Ownership: a delete removes an object only when the object names this waiter (contract.OWNER_ANNOTATION, which
the construct renders on every object, so a rollback of the manifest rolls it back too). When the waiter's resource
is replaced by one of a new logical id (a new service token: CloudFormation refuses to change it in place), the new
one owns the objects as soon as the manifest is updated, and the old one's delete, run in the update's cleanup
phase, leaves them and returns at once. A waiter that sees its workload Ready records the properties' digest and the
hostnames on the FederatedDeployment (contract.READY_ANNOTATION): an update back to exactly that state (a
rollback) completes when a member cannot be reached, instead of failing the rollback as the update failed.

Clients, authentication, the federation's allowed clusters, the per-poll time budget, the classification of errors
and the record of what a delete left behind are shared with the join (components/kube_access/).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass

from kubernetes import client

from components.kube_access import allowed_clusters
from components.kube_access import contract as shared
from components.kube_access.cluster_ref import (ClusterRef, InvalidProperties, parse_cluster, parse_namespace,
                                                timeout_seconds)
from components.kube_access.kube_api import (Budget, Failed, Waiting, api_client, classify, configure_logging,
                                             with_retries)
from components.kube_access.left_behind import MAX_REPORT, LeftObject, give_up

from .. import contract
from .workload_state import (DeploymentSeen, MemberSeen, PlacedCluster, Readiness, ServiceSeen, WorkloadPlan,
                             leaving, readiness, remaining, scheduled_replicas)

configure_logging()
log = logging.getLogger("workload_waiter")
RESOURCE_TYPE = contract.WORKLOAD_TYPE
MERGE_PATCH = "application/merge-patch+json"
TYPES_GROUP, TYPES_VERSION = "types.kubefed.io", "v1beta1"
# The kinds a workload renders on the host (components/federated_workloads.py), deletable by this function.
DELETABLE = {("types.kubefed.io/v1beta1", "FederatedDeployment"), ("types.kubefed.io/v1beta1", "FederatedService"),
             ("scheduling.kubefed.io/v1alpha1", "ReplicaSchedulingPreference")}


@dataclass(frozen=True)
class WorkloadRequest:
    plan: WorkloadPlan
    host: ClusterRef
    members: tuple[ClusterRef, ...]
    objects: tuple[tuple[str, str], ...]
    """(apiVersion, kind) of the workload's federated objects on the host (all named like the workload)."""
    timeout_seconds: int
    digest: str = ""
    """The properties but the timeout and the service token, as a short digest (contract.READY_ANNOTATION)."""

    @property
    def physical_id(self) -> str:
        return contract.physical_id(self.plan.namespace, self.plan.name)


def properties_digest(props: dict) -> str:
    """What the waiter waits for, as a digest: every property but the timeout and the service token."""
    state = {k: v for k, v in props.items() if k not in (contract.TIMEOUT_SECONDS, "ServiceToken")}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def parse(props: dict) -> WorkloadRequest:
    problems: list[str] = []
    raw = props.get(contract.WORKLOAD) if isinstance(props.get(contract.WORKLOAD), dict) else {}
    if not raw:
        problems.append("Workload: must be an object with Namespace, Name, LoadBalanced, TotalReplicas, Objects")
    namespace = parse_namespace(raw, problems)
    name = raw.get("Name")
    if not isinstance(name, str) or not name or len(name) > 63:
        problems.append(f"Workload.Name: {name!r} is not an object name")
    total = raw.get("TotalReplicas") or ""
    if total and not str(total).isdigit():
        problems.append(f"Workload.TotalReplicas: {total!r} is not a number")
    objects = []
    for i, o in enumerate(raw.get("Objects") or []):
        pair = (o.get("ApiVersion"), o.get("Kind")) if isinstance(o, dict) else (None, None)
        if pair not in DELETABLE:
            problems.append(f"Workload.Objects[{i}]: {pair} is not a kind a workload renders")
        objects.append(pair)
    host = parse_cluster(props.get(contract.HOST), contract.HOST, problems)
    members, placed = [], []
    for i, c in enumerate(props.get(contract.CLUSTERS) or []):
        ref = parse_cluster(c, f"Clusters[{i}]", problems)
        replicas = c.get("Replicas", "") if isinstance(c, dict) else ""
        if replicas != "" and not str(replicas).isdigit():
            problems.append(f"Clusters[{i}].Replicas: {replicas!r} is not a number")
            replicas = ""
        image = c.get("Image") if isinstance(c, dict) else None
        if image is not None and (not isinstance(image, str) or not image):
            problems.append(f"Clusters[{i}].Image: {image!r} is not an image reference")
            image = None
        if ref is not None:
            members.append(ref)
            placed.append(PlacedCluster(ref.name, int(replicas) if replicas != "" else None, image))
    if not members:
        problems.append("Clusters: must list the placed clusters")
    timeout = timeout_seconds(props, problems, 900)
    if problems:
        raise InvalidProperties("invalid federated workload properties: " + "; ".join(problems))
    plan = WorkloadPlan(namespace=namespace, name=name, clusters=tuple(placed),
                        load_balanced=str(raw.get("LoadBalanced")).lower() == "true",
                        total_replicas=int(total) if total else None)
    return WorkloadRequest(plan=plan, host=host, members=tuple(members), objects=tuple(objects),
                           timeout_seconds=timeout, digest=properties_digest(props))


def on_event(event: dict, context: object = None, legacy: bool = False) -> dict:
    """`legacy`: served by the join's Provider for a resource made before the waiter had its own (its physical id is
    then contract.legacy_physical_id, the one it was given)."""
    if event["RequestType"] == "Delete":
        try:
            timeout = shared.Deadlines(parse(event.get("ResourceProperties") or {}).timeout_seconds).workload_delete
        except InvalidProperties:
            timeout = 0  # nothing this function can delete: is_complete finishes at once
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(int(time.time()) + timeout)}}
    req = parse(event.get("ResourceProperties") or {})  # InvalidProperties fails the resource
    _check_allowed(req, ask_eks=False)  # EKS is asked on the first poll, before any token is presigned
    log.info("%s %s: waiting for it on %s", event["RequestType"], req.physical_id,
             ", ".join(c.name for c in req.members))
    physical_id = contract.legacy_physical_id(req.plan.namespace, req.plan.name) if legacy else req.physical_id
    return {"PhysicalResourceId": physical_id, "Data": {"Deadline": str(int(time.time()) + req.timeout_seconds)}}


def is_complete(event: dict, context: object = None) -> dict:
    deadline = int((event.get("Data") or {}).get("Deadline") or 0)
    budget = Budget.of(context)
    if event["RequestType"] == "Delete":
        return _delete(event, deadline, budget)
    req = parse(event.get("ResourceProperties") or {})
    key, minutes = req.plan.key, req.timeout_seconds // 60
    try:
        _check_allowed(req)  # NotAllowed fails the resource; an EKS API not reachable now is Waiting
        host = _client(req.host, "host")
        fd = _read_custom(host, TYPES_GROUP, TYPES_VERSION, "federateddeployments", req.plan, budget, "host")
        seen = _observe_members(req, budget, host)
        state = _with_leaving(readiness(req.plan, seen, scheduled_replicas(fd)), req, host, budget)
        if state.ready:
            _record_ready(host, fd, req, state.hostnames, budget)
    except allowed_clusters.NotAllowed as exc:
        raise RuntimeError(f"workload {key} refused: {exc}") from None
    except Failed as exc:
        raise RuntimeError(f"workload {key} failed: {exc}") from None
    except Waiting as exc:
        state = None
        waiting = str(exc)
    if state is not None and state.ready:
        log.info("workload %s is ready on %s", key, ", ".join(c.name for c in req.plan.clusters))
        return {"IsComplete": True, "Data": _hostname_data(state.hostnames)}
    if state is not None:
        waiting = state.detail
        unreachable = event["RequestType"] == "Update" and any(m.unreachable for m in seen.values())
        restored = recorded_ready(fd, req.digest) if unreachable else None
        if restored is not None:
            # A rollback (or a re-apply) of the state this waiter last saw Ready, while a member cannot be reached:
            # the failed update never got to change it there. Failing would fail the rollback for the reason that
            # failed the update (UPDATE_ROLLBACK_FAILED).
            log.warning("workload %s: restored the state it was last Ready in without reaching every member: %s",
                        key, waiting)
            return {"IsComplete": True, "Data": {**_hostname_data(restored),
                                                 shared.NOT_VERIFIED_ATTRIBUTE: waiting[:MAX_REPORT]}}
    if time.time() > deadline:
        raise RuntimeError(f"workload {key} did not become ready within {minutes} minutes; still waiting for: "
                           f"{waiting}")
    log.info("waiting for workload %s: %s", key, waiting)
    return {"IsComplete": False}


def _hostname_data(hostnames: dict[str, str]) -> dict[str, str]:
    return {f"{contract.HOSTNAME_ATTRIBUTE_PREFIX}{c}": h for c, h in sorted(hostnames.items())}


def recorded_ready(federated_deployment: dict | None, digest: str) -> dict[str, str] | None:
    """The hostnames recorded with `digest` as the last Ready state (contract.READY_ANNOTATION), None if the last
    Ready state was another one (or none was recorded)."""
    annotations = ((federated_deployment or {}).get("metadata") or {}).get("annotations") or {}
    try:
        record = json.loads(annotations.get(contract.READY_ANNOTATION) or "{}")
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("digest") != digest:
        return None
    hostnames = record.get("hostnames")
    return {str(k): str(v) for k, v in hostnames.items()} if isinstance(hostnames, dict) else {}


def _record_ready(host: client.ApiClient, federated_deployment: dict | None, req: WorkloadRequest,
                  hostnames: dict[str, str], budget: Budget) -> None:
    """Record the Ready state on the host's FederatedDeployment (a merge patch of one annotation), unless it is."""
    if federated_deployment is None or recorded_ready(federated_deployment, req.digest) == hostnames:
        return
    value = json.dumps({"digest": req.digest, "hostnames": dict(sorted(hostnames.items()))}, sort_keys=True)
    custom = client.CustomObjectsApi(host)
    what = f"recording host: FederatedDeployment {req.plan.key} Ready"
    with_retries(lambda: budget.call(lambda **kw: custom.patch_namespaced_custom_object(
        TYPES_GROUP, TYPES_VERSION, req.plan.namespace, "federateddeployments", req.plan.name,
        {"metadata": {"annotations": {contract.READY_ANNOTATION: value}}}, _content_type=MERGE_PATCH, **kw), what),
        what, budget)


def _delete(event: dict, deadline: int, budget: Budget) -> dict:
    try:
        req = parse(event.get("ResourceProperties") or {})
        _check_allowed(req)
    except (InvalidProperties, allowed_clusters.NotAllowed) as exc:
        log.warning("nothing to delete: %s", exc)
        return {"IsComplete": True}
    except (Waiting, Failed) as exc:  # EKS could not be asked: nothing is touched unverified
        if isinstance(exc, Waiting) and time.time() <= deadline:
            log.info("delete waiting: %s", exc)
            return {"IsComplete": False}
        log.warning("nothing deleted: %s", exc)
        return {"IsComplete": True}
    key, minutes = req.plan.key, req.timeout_seconds // 60
    me = event.get("PhysicalResourceId") or req.physical_id
    left: list[str] = []
    host_api, host_failed, owners = None, False, set()
    try:
        host_api = _client(req.host, "host")
        # In reverse apply order: the Service (its load balancers start going), the scheduler's preference (so it
        # does not touch a deployment being deleted), then the deployment.
        for api_version, kind in reversed(req.objects):
            owners.add(_delete_owned(host_api, api_version, kind, req.plan, budget, me))
    except (Waiting, Failed) as exc:
        left.append(str(exc))
        host_failed = True
    others = sorted(o for o in owners if o not in (None, me))
    if others and not host_failed:
        # The workload is another waiter's now (a replacement of this resource, created before this delete runs in
        # the update's cleanup phase): what is on the members is its business.
        log.info("workload %s belongs to %s now: this delete leaves it", key, ", ".join(others))
        return {"IsComplete": True}
    seen = _observe_members(req, budget, host_api)
    left += remaining(req.plan, seen)
    if not left:
        log.info("workload %s is gone from every member", key)
        return {"IsComplete": True}
    if time.time() <= deadline:
        log.info("waiting for workload %s to go: %s", key, "; ".join(left))
        return {"IsComplete": False}
    # Give up so that the stack delete goes on (a member that is gone or unreachable never answers), and record
    # what may be left where it outlives the stack.
    objects = [LeftObject(req.host.name, kind, req.plan.name, req.plan.namespace) for _, kind in req.objects
               if host_failed]
    stuck = [c.name for c in req.plan.clusters if c.name in seen and (
        seen[c.name].error or seen[c.name].deployment is not None or seen[c.name].service is not None)]
    for cluster in stuck:
        objects += [LeftObject(cluster, "Deployment", req.plan.name, req.plan.namespace),
                    LeftObject(cluster, "Service", req.plan.name, req.plan.namespace)]
    note = ""
    if req.plan.load_balanced and stuck:
        note = (f"The load balancer of Service {key} may remain on {', '.join(stuck)}: it keeps network interfaces "
                "and security groups in that cluster's VPC, which then cannot be deleted. Delete the Service (its "
                "controller deletes the load balancer), or the load balancer tagged service.k8s.aws/stack="
                f"{key} in the EC2 console.")
    return give_up(f"delete of workload {key} (gave up after {minutes} minutes)", left,
                   event.get("PhysicalResourceId") or req.physical_id, objects, note)


def _with_leaving(state: Readiness, req: WorkloadRequest, host: client.ApiClient, budget: Budget) -> Readiness:
    """`state`, not ready while a cluster outside the placement still holds a copy of the Service
    (`workload_state.leaving`): its load balancer. (A Deployment left on a cluster that a folder places by selector
    stays until the unjoin and goes with the cluster; folders may not place a LoadBalancer Service so.)"""
    if (f"{TYPES_GROUP}/{TYPES_VERSION}", "FederatedService") not in req.objects:
        return state
    federated = {"FederatedService": _read_custom(host, TYPES_GROUP, TYPES_VERSION, "federatedservices", req.plan,
                                                  budget, "host")}
    gone = leaving(req.plan, federated)
    if not gone:
        return state
    return Readiness(ready=False, waiting=(*state.waiting, *gone), hostnames=state.hostnames)


def _check_allowed(req: WorkloadRequest, ask_eks: bool = True) -> None:
    """The host and every member are this environment's clusters (allowed_clusters); with `ask_eks`, as EKS
    describes them."""
    prefix = allowed_clusters.load()
    check = allowed_clusters.check if ask_eks else allowed_clusters.check_name
    check(req.host, "host", prefix)
    for ref in req.members:
        check(ref, "member", prefix)


def _client(ref: ClusterRef, role: str, shared: client.ApiClient | None = None) -> client.ApiClient:
    if shared is not None:
        return shared
    try:
        return api_client(ref)
    except Exception as exc:  # noqa: BLE001 (e.g. no credentials to presign the token with)
        raise classify(exc, f"connecting to {role} {ref.name}") from None


def _read(call, what: str, budget: Budget) -> dict | None:
    """The object as the API serves it (camelCase JSON), or None on 404; other errors classified (retried
    within the poll if transient)."""
    def attempt():
        try:  # the body is read inside the whole-request deadline too
            return budget.call(lambda **kw: json.loads(call(_preload_content=False, **kw).data), what)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
    return with_retries(attempt, what, budget)


def _read_custom(api: client.ApiClient, group: str, version: str, plural: str, plan: WorkloadPlan, budget: Budget,
                 role: str):
    custom = client.CustomObjectsApi(api)
    return _read(lambda **kw: custom.get_namespaced_custom_object(group, version, plan.namespace, plural, plan.name,
                                                                  **kw),
                 f"reading {role}: {plural} {plan.key}", budget)


def _delete_owned(api: client.ApiClient, api_version: str, kind: str, plan: WorkloadPlan, budget: Budget,
                  me: str) -> str | None:
    """Delete the workload's federated object on the host, only if this app made it (contract.MANAGED_BY_LABEL:
    the config's workloads render it on every object) and this waiter (`me`, its physical id) owns it
    (contract.owner): a request naming another application's object, or a waiter whose object a replacement now
    owns, removes nothing. The delete carries the read object's UID as a precondition, so a replacement made
    meanwhile stays. Returns the object's owner (None when it is gone or not the app's)."""
    group, version = api_version.split("/")
    plural = kind.lower() + "s"  # FederatedDeployment, FederatedService, ReplicaSchedulingPreference
    custom = client.CustomObjectsApi(api)
    current = _read(lambda **kw: custom.get_namespaced_custom_object(group, version, plan.namespace, plural,
                                                                     plan.name, **kw),
                    f"reading host: {kind} {plan.key}", budget)
    if current is None:
        return None
    meta = current.get("metadata") or {}
    if not shared.owned(meta.get("labels")):
        log.warning("host: %s %s was not made by federated-eks (no %s label): kept", kind, plan.key,
                    shared.MANAGED_BY_LABEL)
        return None
    owner = contract.owner(meta.get("annotations"), plan.namespace, plan.name)
    if owner != me:
        log.info("host: %s %s belongs to the waiter %s, not to %s: kept", kind, plan.key, owner, me)
        return owner
    what = f"deleting host: {kind} {plan.key}"
    body = {"preconditions": {"uid": meta.get("uid")}} if meta.get("uid") else None

    def attempt():
        try:
            budget.call(lambda **kw: custom.delete_namespaced_custom_object(
                group, version, plan.namespace, plural, plan.name, body=body, **kw), what)
        except client.ApiException as exc:
            if exc.status not in (404, 409):  # 409: the precondition failed, it is not the object read
                raise
    with_retries(attempt, what, budget)
    return owner


def _observe_members(req: WorkloadRequest, budget: Budget,
                     host_api: client.ApiClient | None) -> dict[str, MemberSeen]:
    """Each placed member's Deployment and Service; a member that cannot be asked is reported, not raised."""
    out: dict[str, MemberSeen] = {}
    for ref in req.members:
        try:
            if ref.name == req.host.name and host_api is None:
                raise Waiting(f"host {ref.name} could not be asked")
            api = _client(ref, "member", host_api if ref.name == req.host.name else None)
            apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
            ns, name = req.plan.namespace, req.plan.name
            deployment = _read(lambda **kw: apps.read_namespaced_deployment(name, ns, **kw),
                               f"reading Deployment {req.plan.key}", budget)
            service = _read(lambda **kw: core.read_namespaced_service(name, ns, **kw),
                            f"reading Service {req.plan.key}", budget)
        except Waiting as exc:
            out[ref.name] = MemberSeen(error=str(exc), unreachable=exc.unreachable)
            continue
        out[ref.name] = MemberSeen(deployment=DeploymentSeen.of(deployment) if deployment else None,
                                   service=ServiceSeen.of(service) if service else None)
    return out
