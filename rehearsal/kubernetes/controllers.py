"""The emulated cluster's own controllers (kube-controller-manager's part a deploy waits on). Each is a round
function `(handle, now)` over the server's objects, run on the server's event loop: either forever in real time
(`EmulatorLoop.start(background=True)`, the join tests), or once per `EmulatorLoop.round(...)` in the rehearsal's
virtual time.

- token: fills service-account token secrets, `token_delay` seconds after they appear;
- namespace: empties a terminating namespace (objects with finalizers get a deletionTimestamp and stay until they
  are released), then removes it once empty and `namespace_delay` has passed;
- workloads (strict servers): Deployments, StatefulSets, DaemonSets report ready replicas only when their pods can
  run on the cluster's nodes (scheduling.py); Jobs complete (one round after they start, when they can run) and
  are deleted `ttlSecondsAfterFinished` after they finish (the TTL-after-finished controller);
- garbage collector: objects whose every owner (ownerReferences, by uid) is gone are deleted (background
  propagation); custom resources go with their CustomResourceDefinition (the apiextensions cleanup finalizer);
- the AWS Load Balancer Controller, while its Deployment is ready: it claims each Service of type LoadBalancer with
  `loadBalancerClass: service.k8s.aws/nlb` by adding the finalizer `service.k8s.aws/resources` and writing its
  Network Load Balancer's DNS name to `status.loadBalancer.ingress`, and releases the finalizer when
  the Service is deleted, after deleting the load balancer (aws-load-balancer-controller
  pkg/service/service_controller.go, `serviceFinalizer`). Without a running controller a deleted Service keeps its
  finalizer, and so does its namespace.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from typing import TYPE_CHECKING

from . import scheduling

if TYPE_CHECKING:
    from .apiserver import ApiServerHandle


def timestamp(epoch_seconds: float | None = None) -> str:
    """RFC 3339, as the API server writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if epoch_seconds is None else epoch_seconds))


def now() -> str:
    return timestamp()


def _live(handle: ApiServerHandle, plural: str | None = None):
    for key, obj in list(handle.emulator.objects.items()):
        if not obj.deleted and (plural is None or key[0].plural == plural):
            yield key, obj


def token_round(handle: ApiServerHandle, now_seconds: float) -> None:
    first_seen = handle.state.setdefault("token.first_seen", {})
    for key, obj in _live(handle, "secrets"):
        raw = obj.raw
        if raw.get("type") != "kubernetes.io/service-account-token" or (raw.get("data") or {}).get("token"):
            continue
        first_seen.setdefault((key, id(obj.last)), now_seconds)
        if now_seconds - first_seen[(key, id(obj.last))] >= handle.token_delay:
            token = f"sa-{key[2]}-{secrets.token_hex(8)}"
            handle.emulator.issued_tokens.add(token)
            obj.patch({"data": {"token": base64.b64encode(token.encode()).decode()}})


def namespace_round(handle: ApiServerHandle, now_seconds: float) -> None:
    started = handle.state.setdefault("namespace.started", {})
    for key, ns in _live(handle, "namespaces"):
        if not (ns.raw.get("metadata") or {}).get("deletionTimestamp"):
            continue
        name = key[2]
        started.setdefault((name, id(ns.last)), now_seconds)
        content = [(k, o) for k, o in handle.emulator.objects.items() if k[1] == name and not o.deleted]
        for _, obj in content:
            meta = obj.raw.get("metadata") or {}
            if meta.get("finalizers"):
                if not meta.get("deletionTimestamp"):
                    obj.patch({"metadata": {"deletionTimestamp": handle.emulator.timestamp()}})
            else:
                obj.delete()
        if not content and now_seconds - started[(name, id(ns.last))] >= handle.namespace_delay:
            ns.delete()


def _pod_spec(obj: dict) -> dict:
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


def workloads_round(handle: ApiServerHandle, now_seconds: float) -> None:
    """Status of Deployments, StatefulSets, DaemonSets and Jobs from whether their pods can run (strict servers)."""
    nodes = handle.emulator.nodes
    for key, obj in _live(handle):
        plural = key[0].plural
        if plural not in ("deployments", "statefulsets", "daemonsets", "jobs") or key[0].group not in ("apps", "batch"):
            continue
        raw = obj.raw
        meta = raw.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        verdict = scheduling.verdict(_pod_spec(raw), nodes)
        handle.state.setdefault("workloads.verdicts", {})[(plural, key[1], key[2])] = verdict
        generation = meta.get("generation", 1)
        if plural == "jobs":
            _job_round(handle, key, obj, verdict, now_seconds)
            continue
        if plural == "daemonsets":
            desired = sum(count for arch, count in nodes.items() if scheduling.eligible(_pod_spec(raw), arch))
            ready = desired if verdict.ready else 0
            status = {"observedGeneration": generation, "desiredNumberScheduled": desired, "numberMisscheduled": 0,
                      "currentNumberScheduled": desired, "updatedNumberScheduled": desired,
                      "numberReady": ready, "numberAvailable": ready, "numberUnavailable": desired - ready}
        else:
            replicas = (raw.get("spec") or {}).get("replicas", 1)
            ready = replicas if verdict.ready else 0
            status = {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                      "readyReplicas": ready, "availableReplicas": ready, "unavailableReplicas": replicas - ready,
                      "conditions": [{"type": "Available", "status": "True" if ready == replicas else "False",
                                      "reason": "MinimumReplicasAvailable" if ready == replicas
                                      else "MinimumReplicasUnavailable", "message": verdict.reason}]}
            if plural == "statefulsets":
                status["currentReplicas"] = replicas
        if (raw.get("status") or {}) != status:
            obj.patch({"status": None})
            obj.patch({"status": status})


def _job_round(handle: ApiServerHandle, key, obj, verdict: scheduling.Verdict, now_seconds: float) -> None:
    started = handle.state.setdefault("jobs.started", {})
    finished = handle.state.setdefault("jobs.finished", {})
    raw = obj.raw
    ident = (key, (raw.get("metadata") or {}).get("uid"))
    if ident in finished:
        ttl = (raw.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is not None and now_seconds - finished[ident] >= ttl:
            obj.delete()
        return
    if not verdict.ready:  # its pod never runs: active, with the reason (the rehearsal's own condition type)
        if not (raw.get("status") or {}).get("active"):
            obj.patch({"status": {"active": 1, "startTime": handle.emulator.timestamp(), "conditions": [
                {"type": "PodsRunnable", "status": "False", "reason": "Unschedulable", "message": verdict.reason}]}})
        return
    if ident not in started:
        started[ident] = now_seconds
        obj.patch({"status": {"active": 1, "startTime": handle.emulator.timestamp()}})
        return
    finished[ident] = now_seconds
    stamp = handle.emulator.timestamp()
    obj.patch({"status": {"active": None, "succeeded": 1, "completionTime": stamp,
                          "conditions": [{"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": stamp},
                                         {"type": "Complete", "status": "True", "lastTransitionTime": stamp}]}})


def garbage_collector_round(handle: ApiServerHandle, now_seconds: float) -> None:
    """Background cascading deletion (ownerReferences by uid) and custom resources of deleted CRDs."""
    live = list(_live(handle))
    uids = {(o.raw.get("metadata") or {}).get("uid") for _, o in live}
    crds = {((o.raw.get("spec") or {}).get("group"), ((o.raw.get("spec") or {}).get("names") or {}).get("plural"))
            for _, o in live if _[0].plural == "customresourcedefinitions"}
    for key, obj in live:
        meta = obj.raw.get("metadata") or {}
        owners = meta.get("ownerReferences") or []
        orphaned = bool(owners) and all(ref.get("uid") not in uids for ref in owners)
        builtin = handle.emulator.is_builtin(key[0])
        crd_gone = handle.emulator.enforcing and not builtin and (key[0].group, key[0].plural) not in crds
        if not (orphaned or crd_gone):
            continue
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                obj.patch({"metadata": {"deletionTimestamp": handle.emulator.timestamp()}})
        else:
            obj.delete()


LB_FINALIZER = "service.k8s.aws/resources"
LB_CLASS = "service.k8s.aws/nlb"


def _load_balancer_controller_ready(handle: ApiServerHandle) -> bool:
    for _, obj in _live(handle, "deployments"):
        raw = obj.raw
        images = scheduling.images_of(_pod_spec(raw))
        if any("aws-load-balancer-controller" in image for image in images) and (
                (raw.get("status") or {}).get("readyReplicas") or 0) >= 1:
            return True
    return False


def load_balancer_controller_round(handle: ApiServerHandle, now_seconds: float) -> None:
    if not _load_balancer_controller_ready(handle):
        return
    for _, obj in _live(handle, "services"):
        raw = obj.raw
        spec, meta = raw.get("spec") or {}, raw.get("metadata") or {}
        if spec.get("type") != "LoadBalancer" or spec.get("loadBalancerClass") != LB_CLASS:
            continue
        finalizers = list(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            if LB_FINALIZER in finalizers:
                finalizers.remove(LB_FINALIZER)
                if finalizers:
                    obj.patch({"metadata": {"finalizers": finalizers}})
                else:
                    obj.delete()
            continue
        if LB_FINALIZER not in finalizers:
            obj.patch({"metadata": {"finalizers": [*finalizers, LB_FINALIZER]}})
        if not ((raw.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            obj.patch({"status": {"loadBalancer": {"ingress": [{"hostname": _nlb_hostname(handle, raw)}]}}})


def provisioned_load_balancers(handle: ApiServerHandle) -> list[str]:
    """The load balancers the controller provisioned and has not deleted: its Services that still hold the
    finalizer (the controller releases it after deleting the load balancer)."""
    return sorted(_nlb_hostname(handle, obj.raw) for _, obj in _live(handle, "services")
                  if LB_FINALIZER in ((obj.raw.get("metadata") or {}).get("finalizers") or []))


def _nlb_hostname(handle: ApiServerHandle, service: dict) -> str:
    """The DNS name of the Network Load Balancer the controller provisions (`k8s-<namespace>-<name>-<hash>`, as
    the controller names load balancers, then `.elb.<region>.amazonaws.com`)."""
    meta = service.get("metadata") or {}
    digest = hashlib.sha256(f"{handle.name}/{meta.get('namespace')}/{meta.get('name')}".encode()).hexdigest()
    stem = f"k8s-{meta.get('namespace', '')[:8]}-{meta.get('name', '')[:8]}-{digest[:10]}"
    return f"{stem}-{digest[10:26]}.elb.{handle.region}.amazonaws.com"


ROUNDS = {"token": token_round, "namespace": namespace_round}
STRICT_ROUNDS = {"workloads": workloads_round, "garbage-collector": garbage_collector_round,
                 "load-balancer-controller": load_balancer_controller_round}


async def run_forever(handle: ApiServerHandle, name: str, round_function, period: float = 0.02) -> None:
    """A controller in real time (the join tests' servers)."""
    while True:
        round_function(handle, time.monotonic())
        handle.completed_round(name)
        await asyncio.sleep(period)
