"""The emulated KubeFed controller (host side), as KubeFed v0.10.0's cluster controller
(pkg/controller/kubefedcluster/controller.go, clusterclient.go) behaves: it probes each KubeFedCluster's
`apiEndpoint/healthz` with the token from its secret, verifying TLS with its caBundle, and writes status
conditions (fresh probe times, transition times kept while readiness holds, a reset when spec, labels or
annotations change, a failure threshold); it also releases deleted FederatedTypeConfigs.

In the rehearsal (`run_round`, in virtual time) it also does what a deploy waits on beyond joins, each part from the
v0.10.0 file named where it is emulated: the FederatedTypeConfig controller (which sync controllers run), replica
scheduling (ReplicaSchedulingPreference), and propagation: each Federated<Kind>'s template, placement and overrides
applied to every placed, Ready member's API server (which validates it as it validates anything), the outcome in
the federated object's status and Warning Events, and deletion behind the kubefed.io/sync-controller finalizer.
Members are reached as KubeFed reaches them: their KubeFedCluster's endpoint, caBundle and token."""
from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import aiohttp
import kmock

from .controllers import now as _now

if TYPE_CHECKING:
    from .apiserver import ApiServerHandle


FTC_FINALIZER = "core.kubefed.io/federated-type-config"


@dataclass
class _ClusterData:
    """What KubeFed's cluster controller keeps per KubeFedCluster (controller.go ClusterData)."""

    cached: tuple
    status: list | None = None
    result_run: int = 0


@dataclass
class KubefedControllerState:
    period: float
    failure_threshold: int = 3  # KubeFed v0.10.0 defaults (pkg/apis/core/v1beta1/defaults/defaults.go)
    success_threshold: int = 1
    paused: bool = False
    """While paused, no status is written (a controller that is slow, or not running)."""
    clusters: dict = field(default_factory=dict)
    now: Callable[[], str] = _now
    """The time the controller writes (RFC 3339, whole seconds): real time, or the rehearsal's virtual time."""


def _watched(raw: dict) -> tuple:
    """What the controller's UpdateFunc compares to decide a cluster changed: spec, annotations, labels."""
    meta = raw.get("metadata") or {}
    return (repr(raw.get("spec")), repr(meta.get("annotations")), repr(meta.get("labels")))


def _ready(conditions: list | None) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])


def _threshold_adjusted(fresh: list, data: _ClusterData, state: KubefedControllerState) -> list:
    """controller.go thresholdAdjustedClusterStatus, on condition lists."""
    if data.status is None:
        data.result_run = 1
        data.status = fresh
        return fresh
    threshold = state.success_threshold if _ready(fresh) else state.failure_threshold
    adjusted = fresh
    if data.result_run < threshold:  # keep the stored conditions, with this probe's time
        adjusted = [{**c, "lastProbeTime": fresh[0]["lastProbeTime"]} for c in data.status]
    elif _ready(fresh) == _ready(data.status):  # no transition: keep the stored transition time
        adjusted = [{**c, "lastTransitionTime": data.status[0]["lastTransitionTime"]} for c in fresh]
    data.result_run = data.result_run + 1 if _ready(adjusted) == _ready(data.status) else 1
    data.status = adjusted
    return adjusted


async def kubefed_controller(handle: ApiServerHandle) -> None:
    """Health-check each KubeFedCluster every `period` as KubeFed's cluster controller does, and release
    deleted FederatedTypeConfigs (remove the finalizer only the running controller removes)."""
    state = handle.kubefed
    while True:
        await asyncio.sleep(state.period)
        if not state.paused:
            await _kubefed_round(handle, state)
        handle.completed_round("kubefed")


async def _kubefed_round(handle: ApiServerHandle, state: KubefedControllerState) -> None:
    """One pass of the KubeFed controller over the host's objects."""
    for key, obj in list(handle.emulator.objects.items()):
        resource, namespace, name = key
        if resource.plural == "federatedtypeconfigs" and not obj.deleted:
            meta = obj.raw.get("metadata") or {}
            if meta.get("deletionTimestamp") and FTC_FINALIZER in (meta.get("finalizers") or []):
                obj.patch({"metadata": {"finalizers": []}})
                obj.delete()
            continue
        if resource.plural != "kubefedclusters" or obj.deleted:
            state.clusters.pop(name, None) if resource.plural == "kubefedclusters" else None
            continue
        listed = _watched(obj.raw)
        data = state.clusters.get(name)
        if data is None or data.cached != listed:  # UpdateFunc: delFromClusterSet + addToClusterSet
            data = state.clusters[name] = _ClusterData(cached=listed)
        fresh = await _probe(handle, namespace, obj.raw.get("spec") or {})
        conditions = _threshold_adjusted(fresh, data, state)
        # UpdateStatus of the object as listed: refused (409) if it changed while the probe ran.
        if not obj.deleted and _watched(obj.raw) == listed:
            obj.patch({"status": {"conditions": conditions}})


async def _probe(handle: ApiServerHandle, namespace: str, spec: dict) -> list[dict]:
    """clusterclient.go GetClusterStatus: the conditions of one probe, every time set to now."""
    now = handle.kubefed.now()
    times = {"lastProbeTime": now, "lastTransitionTime": now}
    secret = handle.emulator.find("secrets", namespace, (spec.get("secretRef") or {}).get("name", ""))
    token_b64 = ((secret or {}).get("data") or {}).get("token")
    if not token_b64 or not spec.get("caBundle") or not spec.get("apiEndpoint"):
        return [{"type": "ConfigMalformed", "status": "True", "reason": "ClusterConfigMalformed",
                 "message": "Cluster Config Malformed", **times}]
    try:
        if not _reaches(handle, spec["apiEndpoint"]):
            raise asyncio.TimeoutError  # no network path from the host's pods to the member (rehearsal network)
        context = ssl.create_default_context(cadata=base64.b64decode(spec["caBundle"]).decode())
        headers = {"Authorization": "Bearer " + base64.b64decode(token_b64).decode()}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
            async with session.get(spec["apiEndpoint"] + "/healthz", ssl=context, headers=headers) as response:
                body = await response.text()
                if response.status == 200 and body.lower() == "ok":
                    return [{"type": "Ready", "status": "True", "reason": "ClusterReady",
                             "message": "/healthz responded with ok", **times}]
                if response.status == 200:
                    return [{"type": "Ready", "status": "False", "reason": "ClusterNotReady",
                             "message": "/healthz responded without ok", **times},
                            {"type": "Offline", "status": "False", "reason": "ClusterReachable",
                             "message": "cluster is reachable", **times}]
                raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, ssl.SSLError) as exc:
        return [{"type": "Offline", "status": "True", "reason": "ClusterNotReachable",
                 "message": f"cluster is not reachable: {type(exc).__name__}", **times}]


def run_round(handle: ApiServerHandle, now_seconds: float, clusters: list[ApiServerHandle] | None = None) -> None:
    """One round of the controller at virtual epoch seconds `now_seconds` (the rehearsal pauses the periodic one and
    calls this between polls, with lambdas.wall_seconds(clock)): cluster health, the FederatedTypeConfig controller,
    replica scheduling, then propagation to the Ready members. `clusters` is unused (members are reached by their
    endpoints, through the emulated DNS)."""
    state = handle.kubefed
    state.now = lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now_seconds)))

    async def all_controllers() -> None:
        await _kubefed_round(handle, state)
        await federation_round(handle, state)
    asyncio.run_coroutine_threadsafe(all_controllers(), handle.loop).result(120)
    handle.completed_round("kubefed")


# --- FederatedTypeConfigs, propagation, scheduling ----------------------------------------------------------------

SYNC_FINALIZER = "kubefed.io/sync-controller"  # pkg/controller/sync/controller.go FinalizerSyncController
MANAGED_LABEL = "kubefed.io/managed"  # pkg/controller/util/managedlabel.go
NAMESPACES_FTC = "namespaces"
FEDERATED_NAMESPACE = ("types.kubefed.io", "federatednamespaces")
RSP = ("scheduling.kubefed.io", "replicaschedulingpreferences")
REPLICAS_PATH = "/spec/replicas"


def _live(handle: ApiServerHandle, group: str, plural: str):
    for (resource, namespace, name), obj in list(handle.emulator.objects.items()):
        if resource.plural == plural and (resource.group or "") == group and not obj.deleted:
            yield namespace, name, obj


def _kubefed_namespace(handle: ApiServerHandle) -> str | None:
    return next((ns for ns, _, _ in _live(handle, "core.kubefed.io", "kubefedconfigs")), None)


def limited_scope(handle: ApiServerHandle) -> bool:
    """cmd/controller-manager/app/controller-manager.go: a Namespaced KubeFedConfig makes the control plane target
    its own namespace only (TargetNamespace = KubeFedNamespace; ControllerConfig.LimitedScope)."""
    config = next((o.raw for _, _, o in _live(handle, "core.kubefed.io", "kubefedconfigs")), {})
    return (config.get("spec") or {}).get("scope") == "Namespaced"


def namespaced_target(ftc: dict) -> bool:
    """FederatedTypeConfig.GetNamespaced (pkg/apis/core/v1beta1/federatedtypeconfig_types.go): the TARGET type's
    scope (a FederatedNamespace lives in a namespace, yet its target, Namespace, is cluster-scoped)."""
    return ((ftc.get("spec") or {}).get("targetType") or {}).get("scope") == "Namespaced"


def type_configs(handle: ApiServerHandle) -> dict[str, dict]:
    """pkg/controller/federatedtypeconfig/controller.go reconcile: each FederatedTypeConfig of the KubeFed namespace
    gets the finalizer, and a sync controller when propagation is Enabled, except for a namespaced type while no
    `namespaces` FederatedTypeConfig exists (`stopSyncController := ... typeConfig.GetNamespaced() &&
    !c.namespaceFTCExists()`; startSyncController refuses with "missing FederatedTypeConfig for namespaces"), nor,
    in a namespace-scoped control plane, for a cluster-scoped type ("Skipping start of sync & status controller for
    cluster-scoped resource"). Its status says so (propagationController Running / NotRunning). Returns the FTCs
    whose sync controller runs, by name."""
    namespace = _kubefed_namespace(handle)
    ftcs = {name: obj for ns, name, obj in _live(handle, "core.kubefed.io", "federatedtypeconfigs") if ns == namespace}
    namespaces_ftc = NAMESPACES_FTC in ftcs and not (ftcs[NAMESPACES_FTC].raw.get("metadata") or {}).get(
        "deletionTimestamp")
    running = {}
    limited = limited_scope(handle)
    for name, obj in ftcs.items():
        raw = obj.raw
        meta, spec = raw.get("metadata") or {}, raw.get("spec") or {}
        if meta.get("deletionTimestamp"):
            continue  # released by _kubefed_round
        if FTC_FINALIZER not in (meta.get("finalizers") or []):
            obj.patch({"metadata": {"finalizers": [*(meta.get("finalizers") or []), FTC_FINALIZER]}})
        enabled = spec.get("propagation") == "Enabled"
        namespaced = namespaced_target(raw)
        run = enabled and (namespaced or not limited) and (not namespaced or namespaces_ftc)
        status = {"observedGeneration": int(meta.get("generation") or 1),
                  "propagationController": "Running" if run else "NotRunning", "statusController": "NotRunning"}
        if raw.get("status") != status:
            obj.patch({"status": status})
        if run:
            running[name] = raw
    return running


@dataclass(frozen=True)
class Member:
    """A joined cluster as the controller's informer sees it (pkg/controller/util/federated_informer.go)."""

    name: str
    labels: dict
    ready: bool
    endpoint: str
    ca_bundle: str
    token: str
    reachable: bool = True
    """Whether the host's pods reach it (the rehearsal's network, `reaches`): else every call times out."""


def members(handle: ApiServerHandle) -> list[Member]:
    namespace = _kubefed_namespace(handle)
    out = []
    for ns, name, obj in _live(handle, "core.kubefed.io", "kubefedclusters"):
        if ns != namespace:
            continue
        raw = obj.raw
        spec = raw.get("spec") or {}
        secret = handle.emulator.find("secrets", ns, (spec.get("secretRef") or {}).get("name", "")) or {}
        token = ((secret.get("data") or {}).get("token")) or ""
        out.append(Member(name, dict((raw.get("metadata") or {}).get("labels") or {}),
                          _ready((raw.get("status") or {}).get("conditions")), spec.get("apiEndpoint", ""),
                          spec.get("caBundle", ""), base64.b64decode(token).decode() if token else "",
                          _reaches(handle, spec.get("apiEndpoint", ""))))
    return sorted(out, key=lambda m: m.name)


def _selected(placement: dict, clusters: list[Member]) -> set[str]:
    """pkg/controller/util/placement.go selectedClusterNames and ComputePlacement: `clusters` when given (an empty
    list selects none), else the clusterSelector's matchLabels (no selector selects none:
    metav1.LabelSelectorAsSelector(nil) is labels.Nothing()); only joined clusters count."""
    names = {m.name for m in clusters}
    if placement.get("clusters") is not None:
        return names & {c.get("name") for c in placement["clusters"] or []}
    selector = placement.get("clusterSelector")
    if selector is None:
        return set()
    wanted = selector.get("matchLabels") or {}
    return {m.name for m in clusters if all(m.labels.get(k) == v for k, v in wanted.items())}


def placement(fed: dict, fed_namespace: dict | None, namespaced: bool, clusters: list[Member],
              limited: bool = False) -> set[str]:
    """pkg/controller/sync/resource.go ComputePlacement and util ComputeNamespacedPlacement: an object of a
    namespaced type goes only where its FederatedNamespace is placed (nowhere without one, in a cluster-scoped
    control plane; its own placement verbatim in a namespace-scoped one)."""
    own = _selected((fed.get("spec") or {}).get("placement") or {}, clusters)
    if not namespaced:
        return own
    if fed_namespace is None:
        return own if limited else set()
    return own & _selected((fed_namespace.get("spec") or {}).get("placement") or {}, clusters)


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")] if path else []


def apply_overrides(obj: dict, overrides: list[dict]) -> dict:
    """pkg/controller/util/overrides.go ApplyJSONPatch: each clusterOverride a JSON patch operation (op defaults to
    replace)."""
    for item in overrides:
        op, parts = item.get("op") or "replace", _pointer(item.get("path", ""))
        if not parts:
            raise ValueError(f"override path {item.get('path')!r} is not a JSON pointer to a field")
        parent = obj
        for part in parts[:-1]:  # RFC 6902: the parent must exist, for "add" too
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op == "remove":
                del parent[index]
            elif op == "add":
                parent.insert(index, item.get("value"))
            else:
                parent[index] = item.get("value")
        elif op == "remove":
            del parent[last]
        else:
            # replace of a key the object lacks sets it, as add does: KubeFed v0.10.0 applies overrides with
            # evanphx/json-patch v4.12.0, whose partialDoc.get returns no error for a missing key (its replace checks
            # only that the parent exists). The replica scheduler relies on it: its /spec/replicas overrides carry
            # no op, and a template scheduled by a ReplicaSchedulingPreference has no replicas.
            parent[last] = item.get("value")
    return obj


def object_for_cluster(fed: dict, ftc: dict, cluster: str) -> dict:
    """pkg/controller/sync/resource.go ObjectForCluster and ApplyOverrides: the template, named as the federated
    object (in its namespace unless the target is a Namespace), the target kind and apiVersion, the cluster's
    overrides, and the managed label."""
    meta = fed.get("metadata") or {}
    target = ftc["spec"]["targetType"]
    obj = json.loads(json.dumps((fed.get("spec") or {}).get("template") or {}))
    obj_meta = obj.setdefault("metadata", {})
    obj_meta.pop("annotations", None)  # "cannot be set via template" (RecordError AnnotationsNotSupported)
    obj_meta.pop("finalizers", None)
    obj_meta["name"] = meta.get("name")
    if target.get("kind") != "Namespace":
        obj_meta["namespace"] = meta.get("namespace")
    obj["kind"] = target.get("kind")
    if not obj.get("apiVersion"):
        group = target.get("group") or ""
        obj["apiVersion"] = f"{group}/{target.get('version')}" if group else target.get("version")
    for override in (fed.get("spec") or {}).get("overrides") or []:
        if override.get("clusterName") == cluster:
            apply_overrides(obj, override.get("clusterOverrides") or [])
    obj.setdefault("metadata", {}).setdefault("labels", {})[MANAGED_LABEL] = "true"
    return obj


def _target_path(ftc: dict, namespace: str | None, name: str | None = None) -> str:
    target = ftc["spec"]["targetType"]
    group, version, plural = target.get("group") or "", target.get("version"), target.get("pluralName")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    scoped = f"/namespaces/{namespace}" if target.get("scope") == "Namespaced" and namespace else ""
    return f"{base}{scoped}/{plural}" + (f"/{name}" if name else "")


def _reaches(handle: ApiServerHandle, endpoint: str) -> bool:
    """Whether the host's pods reach the API server at `endpoint` (`state["reaches"]`, which the rehearsal sets from
    its network; everything is reachable without it)."""
    hostname = endpoint.lower().removeprefix("https://").split("/")[0].split(":")[0]
    return handle.state.get("reaches", lambda name: True)(hostname)


async def _member_call(session, member: Member, method: str, path: str, body: dict | None = None):
    """(HTTP status, JSON body) of one request to a member's API server, with the token of its KubeFedCluster secret
    and TLS verified against its caBundle; (0, {"message": ...}) when it cannot be reached."""
    if not member.reachable:
        return 0, {"message": "cluster is not reachable: TimeoutError"}
    try:
        context = ssl.create_default_context(cadata=base64.b64decode(member.ca_bundle).decode())
        headers = {"Authorization": "Bearer " + member.token}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        async with session.request(method, member.endpoint + path, data=None if body is None else json.dumps(body),
                                   ssl=context, headers={"Content-Type": "application/json", **headers}) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer if isinstance(answer, dict) else {}
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, ssl.SSLError) as exc:
        return 0, {"message": f"cluster is not reachable: {type(exc).__name__}"}


def _contains(current, desired) -> bool:
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(_contains(current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(current, list) and len(current) == len(desired)
                and all(_contains(c, d) for c, d in zip(current, desired)))
    return current == desired


def _differs(current: dict, desired: dict) -> bool:
    """Whether the member's object lacks something of the desired one: every field KubeFed manages (all but status,
    and of metadata the labels), compared as a subset, since the member's API server adds defaults. (KubeFed itself
    compares versions it recorded, pkg/controller/sync/version; the effect is the same: no update unless the
    template, the overrides or the member's copy changed.)"""
    managed = {k: v for k, v in desired.items() if k not in ("metadata", "status", "apiVersion", "kind")}
    labels = (desired.get("metadata") or {}).get("labels") or {}
    return not (_contains(current, managed) and _contains((current.get("metadata") or {}).get("labels") or {}, labels))


def _put_event(handle: ApiServerHandle, namespace: str, name: str, fed: dict, reason: str, message: str,
               now: str) -> None:
    """federatedResource.RecordError: a Warning Event on the federated object (pkg/controller/sync/resource.go)."""
    meta = fed.get("metadata") or {}
    key = (kmock.resource(group="", version="v1", plural="events"), namespace, name)
    handle.emulator.objects[key] = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"apiVersion": fed.get("apiVersion"), "kind": fed.get("kind"), "name": meta.get("name"),
                           "namespace": meta.get("namespace"), "uid": meta.get("uid")},
        "type": "Warning", "reason": reason, "message": message, "source": {"component": "kubefed-controller"},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1}


def _set_status(obj, generation: int, reason: str, statuses: dict[str, str], now: str) -> None:
    """pkg/controller/sync/status/status.go SetFederatedStatus: observedGeneration, the Propagation condition (True
    when the aggregate reason is empty; CheckClusters when a cluster's status is not OK) and status.clusters (one
    entry per selected cluster and per cluster a copy is being removed from, `status` omitted when OK)."""
    if reason == "" and any(statuses.values()):
        reason = "CheckClusters"
    old = obj.raw.get("status") or {}
    condition_status = "True" if reason == "" else "False"
    previous = next((c for c in old.get("conditions") or [] if c.get("type") == "Propagation"), None)
    clusters = [{"name": n, **({"status": s} if s else {})} for n, s in sorted(statuses.items())]
    changed = (previous is None or previous.get("status") != condition_status
               or previous.get("reason", "") != reason or old.get("clusters", []) != clusters)
    if not changed and old.get("observedGeneration") == generation:
        return
    transition = now if previous is None or previous.get("status") != condition_status \
        else previous.get("lastTransitionTime", now)
    condition = {"type": "Propagation", "status": condition_status, "lastUpdateTime": now,
                 "lastTransitionTime": transition, **({"reason": reason} if reason else {})}
    obj.patch({"status": {"observedGeneration": generation, "conditions": [condition], "clusters": clusters}})


async def _sync_object(handle: ApiServerHandle, session, ftc: dict, obj, fed_namespace: dict | None,
                       clusters: list[Member], now: str) -> None:
    """pkg/controller/sync/controller.go reconcile: deletion (ensureDeletion) or the finalizer, then syncToClusters:
    create or update the object on every selected Ready member, delete it from members no longer selected, record
    each member's propagation status (ClusterNotReady for a selected member that is not Ready, CreationFailed /
    UpdateFailed / DeletionFailed with a Warning Event naming the member's refusal), and the aggregate status."""
    fed = obj.raw
    meta = fed.get("metadata") or {}
    spec = ftc["spec"]
    namespaced = namespaced_target(ftc)
    limited = limited_scope(handle)
    target_kind = spec["targetType"].get("kind")
    target_is_namespace = target_kind == "Namespace"
    name, namespace = meta.get("name"), meta.get("namespace")
    target_namespace = None if target_is_namespace else namespace
    if meta.get("deletionTimestamp"):
        await _ensure_deletion(handle, session, ftc, obj, clusters, now)
        return
    if SYNC_FINALIZER not in (meta.get("finalizers") or []):
        obj.patch({"metadata": {"finalizers": [*(meta.get("finalizers") or []), SYNC_FINALIZER]}})
    if namespaced and fed_namespace is None and not limited:
        _set_status(obj, int(meta.get("generation") or 1), "NamespaceNotFederated", {}, now)
        return
    selected = placement(fed, fed_namespace, namespaced, clusters, limited)
    statuses: dict[str, str] = {}
    for member in clusters:
        chosen = member.name in selected
        if not member.ready:
            if chosen:
                statuses[member.name] = "ClusterNotReady"
                _put_event(handle, namespace or "default", f"{name}.{member.name}.notready", fed, "ClusterNotReady",
                           "Cluster not ready", now)
            continue
        code, current = await _member_call(session, member, "GET", _target_path(ftc, target_namespace, name))
        exists = code == 200
        if not chosen:
            # sync/controller.go syncToClusters: a copy already being deleted is recorded WaitingForRemoval (until
            # it is gone, e.g. while a load-balancer finalizer holds it); a managed copy is deleted
            # (managedDispatcherImpl.Delete records the cluster, DeletionTimedOut until the delete answers).
            if exists and (current.get("metadata") or {}).get("deletionTimestamp"):
                statuses[member.name] = "WaitingForRemoval"
            elif exists and ((current.get("metadata") or {}).get("labels") or {}).get(MANAGED_LABEL) == "true":
                code, answer = await _member_call(session, member, "DELETE", _target_path(ftc, target_namespace, name))
                if code in (200, 202):
                    statuses[member.name] = ""
                elif code != 404:
                    statuses[member.name] = "DeletionFailed"
                    _record(handle, fed, "delete", target_kind, target_namespace, name, member, answer, now)
            continue
        try:
            desired = object_for_cluster(fed, ftc, member.name)
        except (ValueError, KeyError, IndexError, TypeError) as exc:  # dispatch/managed.go: ApplyOverridesFailed
            statuses[member.name] = "ApplyOverridesFailed"
            _record(handle, fed, "update" if exists else "create", target_kind, target_namespace, name, member,
                    {"message": f"applying the overrides: {type(exc).__name__}: {exc}"}, now)
            continue
        if not exists:
            code, answer = await _member_call(session, member, "POST", _target_path(ftc, target_namespace), desired)
            statuses[member.name] = "" if code in (200, 201) else "CreationFailed"
            if statuses[member.name]:
                _record(handle, fed, "create", target_kind, target_namespace, name, member, answer, now)
        elif _differs(current, desired):
            # KubeFed updates the whole object (dispatch/managed.go Update, with retained fields); the emulated API
            # server takes writes of an existing object as a merge patch: the same for changed fields, but a field
            # removed from the template stays on the member here.
            code, answer = await _member_call(session, member, "PATCH", _target_path(ftc, target_namespace, name),
                                              desired)
            statuses[member.name] = "" if code == 200 else "UpdateFailed"
            if statuses[member.name]:
                _record(handle, fed, "update", target_kind, target_namespace, name, member, answer, now)
        else:
            statuses[member.name] = ""
    _set_status(obj, int(meta.get("generation") or 1), "", statuses, now)


def _record(handle: ApiServerHandle, fed: dict, operation: str, kind: str, namespace: str | None, name: str,
            member: Member, answer: dict, now: str) -> None:
    """dispatch/managed.go recordError: reason "<Op>InClusterFailed", message "Failed to <op> <Kind> "<ns/name>" in
    cluster "<cluster>": <the member's refusal>"."""
    target = f"{namespace}/{name}" if namespace else name
    reason = f"{operation.title()}InClusterFailed"
    _put_event(handle, (fed.get("metadata") or {}).get("namespace") or "default",
               f"{name}.{member.name}.{operation}", fed, reason,
               f'Failed to {operation} {kind} "{target}" in cluster "{member.name}": {answer.get("message", "")}',
               now)


async def _ensure_deletion(handle: ApiServerHandle, session, ftc: dict, obj, clusters: list[Member], now: str) -> None:
    """pkg/controller/sync/controller.go ensureDeletion and deleteFromClusters: while the federated object holds the
    kubefed.io/sync-controller finalizer, delete its managed copies from every Ready member; once none is left,
    remove the finalizer (and the API server then removes the object). A member that is not Ready keeps its copy:
    KubeFed cannot reach it. An object with the kubefed.io/orphan annotation would keep its copies; the project
    never sets it."""
    fed = obj.raw
    meta = fed.get("metadata") or {}
    finalizers = list(meta.get("finalizers") or [])
    if SYNC_FINALIZER in finalizers:
        target_kind = ftc["spec"]["targetType"].get("kind")
        namespace = None if target_kind == "Namespace" else meta.get("namespace")
        remaining = False
        for member in clusters:
            if not member.ready:
                continue
            path = _target_path(ftc, namespace, meta.get("name"))
            code, current = await _member_call(session, member, "GET", path)
            if code == 200 and ((current.get("metadata") or {}).get("labels") or {}).get(MANAGED_LABEL) == "true":
                if target_kind == "Namespace" and _is_host_namespace(handle, current):
                    # "Creation or deletion of namespaces in the host cluster is not the responsibility of the sync
                    # controller": on the host (util.IsPrimaryCluster: the member's namespace has the host
                    # namespace's UID) deleteFromCluster only removes the managed label (sync/controller.go).
                    code, answer = await _member_call(session, member, "PATCH", path,
                                                      {"metadata": {"labels": {MANAGED_LABEL: None}}})
                    if code not in (200, 404):
                        remaining = True
                        _record(handle, fed, "update", target_kind, namespace, meta.get("name"), member, answer, now)
                    continue
                remaining = True
                code, answer = await _member_call(session, member, "DELETE", path)
                if code not in (200, 202, 404):
                    _record(handle, fed, "delete", target_kind, namespace, meta.get("name"), member, answer, now)
        if remaining:
            return  # the next round sees the copies gone (or still terminating)
        finalizers.remove(SYNC_FINALIZER)
        obj.patch({"metadata": {"finalizers": finalizers}})
    if not finalizers:
        obj.delete()


def _is_host_namespace(handle: ApiServerHandle, member_namespace: dict) -> bool:
    """util.IsPrimaryCluster (pkg/controller/util/cluster_util.go): a member's namespace with the UID of the host's
    namespace of the same name is the host's own."""
    name = (member_namespace.get("metadata") or {}).get("name", "")
    host = handle.emulator.find("namespaces", None, name) or {}
    uid = (host.get("metadata") or {}).get("uid")
    return bool(uid) and uid == (member_namespace.get("metadata") or {}).get("uid")


def _fnv1_32(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = (value * 0x01000193) & 0xFFFFFFFF
        value ^= byte
    return value


def plan_replicas(rsp_spec: dict, clusters: list[str], current: dict[str, int], key: str) -> dict[str, int]:
    """pkg/schedulingtypes/replicascheduler.go GetSchedulingResult + schedule, and pkg/controller/util/planner/
    planner.go Plan (no capacity estimate: the emulated members report no unschedulable pods): the minimums first
    in weight order (ties by FNV-1 hash of cluster name + key), then, unless rebalance, what a cluster already
    runs, then the rest by weight in rounds, capped by maxReplicas. An empty `clusters` map means {"*": weight 1};
    a cluster with no preference (and no "*") gets 0."""
    preferences_by_name = rsp_spec.get("clusters") or {"*": {"weight": 1}}
    total = int(rsp_spec.get("totalReplicas") or 0)
    rebalance = bool(rsp_spec.get("rebalance"))
    plan: dict[str, int] = {}
    prefs = []
    for cluster in clusters:
        pref = preferences_by_name.get(cluster, preferences_by_name.get("*"))
        if pref is None:
            plan[cluster] = 0
            continue
        prefs.append({"name": cluster, "hash": _fnv1_32(cluster.encode() + key.encode()),
                      "weight": int(pref.get("weight") or 0), "min": int(pref.get("minReplicas") or 0),
                      "max": None if pref.get("maxReplicas") is None else int(pref["maxReplicas"])})
    prefs.sort(key=lambda p: (-p["weight"], p["hash"]))
    remaining = total
    for p in prefs:
        least = min(p["min"], remaining)
        remaining -= least
        plan[p["name"]] = least
    preallocated: dict[str, int] = {}
    if not rebalance:
        for p in prefs:
            planned, count = plan[p["name"]], current.get(p["name"])
            if count is not None and count > planned:
                target = count if p["max"] is None else min(p["max"], count)
                extra = max(0, min(target - planned, remaining))
                remaining -= extra
                preallocated[p["name"]] = extra
                plan[p["name"]] = extra + planned
    modified = True
    while modified and remaining > 0:
        modified = False
        weight_sum = sum(p["weight"] for p in prefs)
        kept = []
        distribute = remaining
        for p in prefs:
            if weight_sum <= 0:
                break
            start = plan[p["name"]]
            extra = min((distribute * p["weight"] + weight_sum - 1) // weight_sum, remaining)
            used = min(extra, preallocated.get(p["name"], 0))
            preallocated[p["name"]] = preallocated.get(p["name"], 0) - used
            extra -= used
            modified = modified or used > 0
            total_here = start + extra
            full = p["max"] is not None and total_here > p["max"]
            if full:
                total_here = p["max"]
            else:
                kept.append(p)
            remaining -= total_here - start
            plan[p["name"]] = total_here
            modified = modified or total_here > start
        prefs = kept
    result = {c: 0 for c in current}
    result.update(plan)
    return result


async def _schedule(handle: ApiServerHandle, session, ftcs: dict[str, dict], clusters: list[Member]) -> None:
    """pkg/controller/schedulingpreference/controller.go with pkg/schedulingtypes: for each
    ReplicaSchedulingPreference whose target (a FederatedDeployment of the same name and namespace) exists and whose
    type's sync controller runs (schedulingmanager/controller.go starts the scheduler only for an FTC with
    propagation enabled), plan the replicas over the Ready clusters (GetReadyClusters), and write them into the
    FederatedDeployment as plugin.go Reconcile does: spec.placement.clusters = the planned clusters (0 replicas
    included), and a /spec/replicas override per cluster."""
    deployments = next((f for f in ftcs.values() if (f["spec"].get("federatedType") or {}).get("kind")
                        == "FederatedDeployment"), None)
    if deployments is None:
        return
    group = deployments["spec"]["federatedType"].get("group", "")
    plural = deployments["spec"]["federatedType"].get("pluralName")
    ready = [m for m in clusters if m.ready]
    if not ready:
        return
    for namespace, name, rsp in _live(handle, *RSP):
        spec = rsp.raw.get("spec") or {}
        if spec.get("targetKind") != "FederatedDeployment":
            continue
        target = next((obj for ns, n, obj in _live(handle, group, plural) if ns == namespace and n == name), None)
        if target is None or (target.raw.get("metadata") or {}).get("deletionTimestamp"):
            continue
        names = [m.name for m in ready]
        if spec.get("intersectWithClusterSelector"):
            chosen = sorted(_selected((target.raw.get("spec") or {}).get("placement") or {}, ready))
            if not chosen:
                continue
            names = chosen
        current = {}
        for member in ready:
            if member.name not in names:
                continue
            code, obj = await _member_call(session, member, "GET", f"/apis/apps/v1/namespaces/{namespace}/"
                                                                   f"deployments/{name}")
            if code == 200:  # clustersReplicaState: ready replicas when all are ready, else 0 (no pod analysis)
                replicas = int((obj.get("spec") or {}).get("replicas") or 0)
                ready_replicas = int((obj.get("status") or {}).get("readyReplicas") or 0)
                current[member.name] = ready_replicas if replicas == ready_replicas else 0
        result = plan_replicas(spec, names, current, f"{namespace}/{name}")
        fed_spec = json.loads(json.dumps(target.raw.get("spec") or {}))
        fed_spec.setdefault("placement", {})["clusters"] = [{"name": n} for n in sorted(result)]
        overrides = {o.get("clusterName"): o for o in fed_spec.get("overrides") or []}
        for cluster in list(overrides):  # updateOverridesMap: unscheduled clusters lose their replicas override
            if cluster not in result:
                items = overrides[cluster].get("clusterOverrides") or []
                overrides[cluster]["clusterOverrides"] = [i for i in items if i.get("path") != REPLICAS_PATH]
        for cluster, replicas in result.items():
            entry = overrides.setdefault(cluster, {"clusterName": cluster, "clusterOverrides": []})
            items = [i for i in entry.get("clusterOverrides") or [] if i.get("path") != REPLICAS_PATH]
            entry["clusterOverrides"] = [*items, {"path": REPLICAS_PATH, "value": replicas}]
        fed_spec["overrides"] = [overrides[c] for c in sorted(overrides)]
        if fed_spec != target.raw.get("spec"):
            meta = target.raw.get("metadata") or {}
            target.patch({"spec": fed_spec, "metadata": {"generation": int(meta.get("generation") or 1) + 1}})


async def federation_round(handle: ApiServerHandle, state: KubefedControllerState) -> None:
    """The FederatedTypeConfig controller, the scheduler, then one pass of every running sync controller."""
    now = state.now()
    ftcs = type_configs(handle)
    clusters = members(handle)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await _schedule(handle, session, ftcs, clusters)
        fed_namespaces = {(ns, name): obj.raw for ns, name, obj in _live(handle, *FEDERATED_NAMESPACE)}
        target = _kubefed_namespace(handle) if limited_scope(handle) else None
        # Namespaces first, as their placement bounds everything in them.
        for ftc_name, ftc in sorted(ftcs.items(), key=lambda i: i[0] != NAMESPACES_FTC):
            fed_type = ftc["spec"].get("federatedType") or {}
            for namespace, name, obj in _live(handle, fed_type.get("group", ""), fed_type.get("pluralName")):
                if target is not None and namespace != target:
                    continue  # a namespace-scoped control plane watches its own namespace only
                await _sync_object(handle, session, ftc, obj, fed_namespaces.get((namespace, namespace)), clusters,
                                   now)


def propagation_problems(handle: ApiServerHandle) -> list[str]:
    """What the KubeFed controller of this host reports as not propagated, said for a user: each federated object
    whose Propagation condition is False (its reason, the members' statuses and the Warning Events about it, as
    `kubectl describe` shows them), and each FederatedTypeConfig with objects but no running sync controller."""
    namespace = _kubefed_namespace(handle)
    if namespace is None:
        return []
    events = [o.raw for _, _, o in _live(handle, "", "events") if o.raw.get("type") == "Warning"]
    out = []
    for _, ftc_name, ftc in _live(handle, "core.kubefed.io", "federatedtypeconfigs"):
        spec, status = ftc.raw.get("spec") or {}, ftc.raw.get("status") or {}
        fed_type = spec.get("federatedType") or {}
        objects = list(_live(handle, fed_type.get("group", ""), fed_type.get("pluralName", "")))
        if objects and status.get("propagationController") == "NotRunning" and spec.get("propagation") == "Enabled":
            out.append(f"FederatedTypeConfig {ftc_name}: no sync controller runs, so no {fed_type.get('kind')} "
                       "propagates (KubeFed starts none for a namespaced type while the `namespaces` "
                       "FederatedTypeConfig is missing)")
        for ns, name, obj in objects:
            fed_status = obj.raw.get("status") or {}
            condition = next((c for c in fed_status.get("conditions") or [] if c.get("type") == "Propagation"), None)
            if condition is None or condition.get("status") != "False":
                continue
            clusters = ", ".join(f"{c['name']} {c['status']}" for c in fed_status.get("clusters") or []
                                 if c.get("status"))
            said = sorted({e.get("message", "") for e in events
                           if (e.get("involvedObject") or {}).get("name") == name
                           and (e.get("involvedObject") or {}).get("kind") == fed_type.get("kind")
                           and (e.get("involvedObject") or {}).get("namespace") == ns})
            out.append(f"{fed_type.get('kind')} {ns}/{name}: not propagated ({condition.get('reason', '')}"
                       + (f": {clusters}" if clusters else "") + ")" + ("".join(f"\n    {m}" for m in said[:3])))
    return out
