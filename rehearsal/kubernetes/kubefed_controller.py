"""The emulated KubeFed controller (host side), as KubeFed v0.10.0's cluster controller
(pkg/controller/kubefedcluster/controller.go, clusterclient.go) behaves: it probes each KubeFedCluster's
`apiEndpoint/healthz` with the token from its secret, verifying TLS with its caBundle, and writes status
conditions (fresh probe times, transition times kept while readiness holds, a reset when spec, labels or
annotations change, a failure threshold); it also releases deleted FederatedTypeConfigs."""
from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

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
    now = _now()
    times = {"lastProbeTime": now, "lastTransitionTime": now}
    secret = handle.emulator.find("secrets", namespace, (spec.get("secretRef") or {}).get("name", ""))
    token_b64 = ((secret or {}).get("data") or {}).get("token")
    if not token_b64 or not spec.get("caBundle") or not spec.get("apiEndpoint"):
        return [{"type": "ConfigMalformed", "status": "True", "reason": "ClusterConfigMalformed",
                 "message": "Cluster Config Malformed", **times}]
    try:
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
