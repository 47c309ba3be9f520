"""A cluster seen through its API server: create, patch, read, delete and list the kinds the join Lambda touches,
with one error classification (kube_api.classify), retries of idempotent calls and every request inside the
invocation's time budget. join, unjoin and teardown all work through it; none of them calls the typed clients.
"""
from __future__ import annotations

import json
import logging

from kubernetes import client

from components.kube_access.kube_api import Budget, Failed, Waiting, classify, status_message, with_retries
from .manifests import KUBEFED_GROUP, KUBEFED_VERSION
from .properties import ClusterRef

log = logging.getLogger("kubefed_join")
MERGE_PATCH = "application/merge-patch+json"

# kind -> (API attribute, method suffix, namespaced)
_KINDS = {
    "Namespace": ("core", "namespace", False),
    "ServiceAccount": ("core", "namespaced_service_account", True),
    "Secret": ("core", "namespaced_secret", True),
    "ConfigMap": ("core", "namespaced_config_map", True),
    "ClusterRole": ("rbac", "cluster_role", False),
    "ClusterRoleBinding": ("rbac", "cluster_role_binding", False),
    "Role": ("rbac", "namespaced_role", True),
    "RoleBinding": ("rbac", "namespaced_role_binding", True),
}
# KubeFed's own kinds, served through the custom-objects API: kind -> plural
_KUBEFED_KINDS = {"KubeFedCluster": "kubefedclusters", "KubeFedConfig": "kubefedconfigs",
                  "FederatedTypeConfig": "federatedtypeconfigs"}


class Cluster:
    """One API server, seen through the typed clients. `role` is 'member' or 'host' (for messages)."""

    def __init__(self, ref: ClusterRef, api: client.ApiClient, role: str, budget: Budget) -> None:
        self.ref, self.role, self.budget = ref, role, budget
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    def describe(self, kind: str, name: str) -> str:
        return f"{self.role} {self.ref.name}: {kind} {name}"

    def _call(self, verb: str, kind: str, name: str, namespace: str | None, body: dict | None = None, **extra):
        if verb == "patch":
            extra["_content_type"] = MERGE_PATCH
        if kind in _KUBEFED_KINDS:
            fn = getattr(self.custom, f"{'get' if verb == 'read' else verb}_namespaced_custom_object")
            args: list = [KUBEFED_GROUP, KUBEFED_VERSION, namespace, _KUBEFED_KINDS[kind]]
            args += [] if verb in ("create", "list") else [name]
        else:
            api_name, suffix, namespaced = _KINDS[kind]
            fn = getattr(getattr(self, api_name), f"{verb}_{suffix}")
            args = [] if verb in ("create", "list") else [name]
            args += [namespace] if namespaced else []
        if body is not None and verb == "delete":
            extra["body"] = body  # delete options (preconditions) are a keyword of the delete calls
        elif body is not None:
            args.append(body)
        return self.budget.call(lambda **kw: fn(*args, **kw), f"{verb} {self.describe(kind, name)}", **extra)

    def ensure(self, kind: str, obj: dict, secret: bool = False) -> None:
        """Create `obj`, or bring what already exists (a crashed earlier attempt's) in line with it."""
        meta = obj["metadata"]
        what = self.describe(kind, meta["name"])
        if self.create_if_missing(kind, obj, secret):
            return
        try:
            self._call("patch", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s already existed, updated", what)
        except Exception as exc:
            raise classify(exc, f"updating {what}", redact=secret) from None

    def create_if_missing(self, kind: str, obj: dict, secret: bool = False) -> bool:
        """Create `obj`; False when it already exists (then it is left as it is)."""
        meta = obj["metadata"]
        what = self.describe(kind, meta["name"])
        try:
            self._call("create", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s created", what)
            return True
        except client.ApiException as exc:
            if exc.status == 409 and _already_exists(exc):
                return False
            if exc.status == 409:
                # A conflict (e.g. the object is being deleted, or changed under the request) is not "exists":
                # the object may be gone a moment later. Retried by this poll or the next.
                raise Waiting(f"creating {what}: conflict ({status_message(exc, redact=secret)}); retried",
                              retry_after=0.5) from None
            if exc.status == 404 and meta.get("namespace"):
                if _namespace_missing(exc, meta["namespace"]):  # deleted under it (an unjoin)
                    raise Waiting(f"creating {what}: namespace {meta['namespace']} is gone; it is made again next "
                                  "poll") from None
                raise Failed(f"creating {what}: the API server does not serve {kind} (404 on its collection while "
                             f"namespace {meta['namespace']} exists): its CustomResourceDefinition is not installed; "
                             "check the KubeFed control plane's releases") from None
            raise classify(exc, f"creating {what}", redact=secret) from None
        except Exception as exc:  # transport errors
            raise classify(exc, f"creating {what}") from None

    def metadata(self, kind: str, name: str, namespace: str | None) -> dict | None:
        """The object's metadata as the API serves it (camelCase), or None when it does not exist."""
        obj = self.read(kind, name, namespace)
        if obj is None:
            return None
        if not isinstance(obj, dict):
            obj = self.core.api_client.sanitize_for_serialization(obj)
        return obj.get("metadata") or {}

    def delete_owned(self, kind: str, name: str, namespace: str | None, mine) -> None:
        """Delete the object only when `mine(metadata)` says this app made it (then with its UID as a precondition,
        so that a replacement made meanwhile stays); transient errors retried within the budget."""
        what = f"deleting {self.describe(kind, name)}"
        meta = with_retries(lambda: self.metadata(kind, name, namespace), f"reading {self.describe(kind, name)}",
                            self.budget)
        if meta is None:
            return
        if not mine(meta):
            log.warning("%s was not made by this join: kept", self.describe(kind, name))
            return
        body = {"preconditions": {"uid": meta["uid"]}} if meta.get("uid") else None

        def call() -> None:
            try:
                self._call("delete", kind, name, namespace, body=body)
                log.info("%s deleted", self.describe(kind, name))
            except client.ApiException as exc:
                # 409: a terminating namespace, or a precondition that failed (another object of that name now).
                if exc.status not in (404, 409):
                    raise
        with_retries(call, what, self.budget)

    def read(self, kind: str, name: str, namespace: str | None):
        """The object, or None when it does not exist."""
        try:
            return self._call("read", kind, name, namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise classify(exc, f"reading {self.describe(kind, name)}", redact=kind == "Secret") from None
        except Exception as exc:
            raise classify(exc, f"reading {self.describe(kind, name)}") from None

    def delete(self, kind: str, name: str, namespace: str | None, retry: bool = False) -> None:
        """Delete; not-found is success. With `retry`, transient errors are retried within the budget."""
        what = f"deleting {self.describe(kind, name)}"

        def call() -> None:
            try:
                self._call("delete", kind, name, namespace)
                log.info("%s deleted", self.describe(kind, name))
            except client.ApiException as exc:
                # A terminating namespace answers a second delete with 409 Conflict: it is on its way out.
                if exc.status != 404 and not (exc.status == 409 and kind == "Namespace"):
                    raise
        if retry:
            with_retries(call, what, self.budget)
            return
        try:
            call()
        except Exception as exc:
            raise classify(exc, what) from None

    def patch(self, kind: str, name: str, namespace: str | None, body: dict, missing_ok: bool = False) -> bool:
        """Merge-patch an object, transient errors retried within the budget. With `missing_ok`, an object
        that does not exist is no error (returns False)."""
        what = f"updating {self.describe(kind, name)}"

        def call() -> bool:
            try:
                self._call("patch", kind, name, namespace, body)
                return True
            except client.ApiException as exc:
                if exc.status == 404 and missing_ok:
                    return False
                raise
        return with_retries(call, what, self.budget)

    def list(self, kind: str, namespace: str) -> list[dict]:
        """The objects of `kind` in `namespace`, as plain dicts; none when the namespace or the kind is not
        served (404: e.g. KubeFed's CRDs are gone). Transient errors are retried within the budget."""
        what = f"listing {kind} objects on {self.role} {self.ref.name}"

        def call() -> list[dict]:
            try:
                listed = self._call("list", kind, None, namespace)
            except client.ApiException as exc:
                if exc.status == 404:
                    return []
                raise
            if isinstance(listed, dict):  # the custom-objects API answers with plain dicts
                return list(listed.get("items") or [])
            return [self.core.api_client.sanitize_for_serialization(item) for item in listed.items or []]
        return with_retries(call, what, self.budget)


def _status_body(exc: client.ApiException) -> dict:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _already_exists(exc: client.ApiException) -> bool:
    """A 409 that says the object exists (Status reason AlreadyExists), not another conflict (reason Conflict: the
    object changed or is being deleted under the request). Servers that do not set the reason say it in words."""
    body = _status_body(exc)
    reason = body.get("reason") or ""
    return reason == "AlreadyExists" or (reason not in ("Conflict", "InternalError")
                                         and "already exists" in (body.get("message") or "").lower())


def _namespace_missing(exc: client.ApiException, namespace: str) -> bool:
    """Whether a 404 says the namespace is missing (the API server's NamespaceLifecycle answers with details.kind
    "namespaces"), rather than the resource not being served at all."""
    body = _status_body(exc)
    details = body.get("details") or {}
    return ((details.get("kind") == "namespaces" and details.get("name") == namespace)
            or f'namespaces "{namespace}" not found' in (body.get("message") or ""))
