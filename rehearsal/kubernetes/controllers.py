"""The emulated API server's own controllers (kube-controller-manager's part a deploy waits on): the token
controller that fills service-account token secrets, and the namespace controller that empties and removes
terminating namespaces. Each runs on the server's event loop and counts its rounds on the handle."""
from __future__ import annotations

import asyncio
import base64
import secrets
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .apiserver import ApiServerHandle


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


async def token_controller(handle: ApiServerHandle) -> None:
    """Fill `data.token` of service-account token secrets, `token_delay` seconds after they appear."""
    first_seen: dict = {}
    while True:
        for key, obj in list(handle.emulator.objects.items()):
            resource, namespace, name = key
            if resource.plural != "secrets" or obj.deleted:
                continue
            raw = obj.raw
            if raw.get("type") != "kubernetes.io/service-account-token" or (raw.get("data") or {}).get("token"):
                continue
            first_seen.setdefault((key, id(obj.last)), time.monotonic())
            if time.monotonic() - first_seen[(key, id(obj.last))] >= handle.token_delay:
                token = f"sa-{name}-{secrets.token_hex(8)}"
                handle.emulator.issued_tokens.add(token)
                obj.patch({"data": {"token": base64.b64encode(token.encode()).decode()}})
        handle.completed_round("token")
        await asyncio.sleep(0.02)


async def namespace_controller(handle: ApiServerHandle) -> None:
    """Empty terminating namespaces (objects with finalizers get a deletionTimestamp and stay until they are
    released), then remove each once it is empty and `namespace_delay` has passed."""
    started: dict = {}
    while True:
        for key, ns in list(handle.emulator.objects.items()):
            if key[0].plural != "namespaces" or ns.deleted or not (ns.raw.get("metadata") or {}).get("deletionTimestamp"):
                continue
            name = key[2]
            started.setdefault((name, id(ns.last)), time.monotonic())
            content = [(k, o) for k, o in handle.emulator.objects.items() if k[1] == name and not o.deleted]
            for _, obj in content:
                meta = obj.raw.get("metadata") or {}
                if meta.get("finalizers"):
                    if not meta.get("deletionTimestamp"):
                        obj.patch({"metadata": {"deletionTimestamp": now()}})
                else:
                    obj.delete()
            if not content and time.monotonic() - started[(name, id(ns.last))] >= handle.namespace_delay:
                ns.delete()
        handle.completed_round("namespace")
        await asyncio.sleep(0.02)
