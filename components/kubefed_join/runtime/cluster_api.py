"""A cluster seen through its API server: create, patch, read, delete and list the kinds the join Lambda touches,
with one error classification (kube_api.classify), retries of idempotent calls and every request inside the
invocation's time budget. join, unjoin and teardown all work through it; none of them calls the typed clients.
"""
from __future__ import annotations

import logging

from kubernetes import client

from .kube_api import Budget, Waiting, classify, with_retries
from .manifests import KUBEFED_GROUP, KUBEFED_VERSION
from .properties import ClusterRef

log = logging.getLogger("kubefed_join")
MERGE_PATCH = "application/merge-patch+json"

# kind -> (API attribute, method suffix, namespaced)
_KINDS = {
    "Namespace": ("core", "namespace", False),
    "ServiceAccount": ("core", "namespaced_service_account", True),
    "Secret": ("core", "namespaced_secret", True),
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

    def _call(self, verb: str, kind: str, name: str, namespace: str | None, body: dict | None = None):
        extra = {"_content_type": MERGE_PATCH} if verb == "patch" else {}
        if kind in _KUBEFED_KINDS:
            fn = getattr(self.custom, f"{'get' if verb == 'read' else verb}_namespaced_custom_object")
            args: list = [KUBEFED_GROUP, KUBEFED_VERSION, namespace, _KUBEFED_KINDS[kind]]
            args += [] if verb in ("create", "list") else [name]
        else:
            api_name, suffix, namespaced = _KINDS[kind]
            fn = getattr(getattr(self, api_name), f"{verb}_{suffix}")
            args = [] if verb in ("create", "list") else [name]
            args += [namespace] if namespaced else []
        if body is not None:
            args.append(body)
        return self.budget.call(lambda **kw: fn(*args, **kw), f"{verb} {self.describe(kind, name)}", **extra)

    def ensure(self, kind: str, obj: dict, secret: bool = False) -> None:
        """Create `obj`, or bring what already exists (a crashed earlier attempt's) in line with it."""
        meta = obj["metadata"]
        what = self.describe(kind, meta["name"])
        try:
            self._call("create", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s created", what)
            return
        except client.ApiException as exc:
            if exc.status == 404 and meta.get("namespace"):  # its namespace was deleted under it (an unjoin)
                raise Waiting(f"creating {what}: namespace {meta['namespace']} is gone; it is made again next poll")
            if exc.status != 409:
                raise classify(exc, f"creating {what}", redact=secret) from None
        except Exception as exc:  # transport errors
            raise classify(exc, f"creating {what}") from None
        try:
            self._call("patch", kind, meta["name"], meta.get("namespace"), obj)
            log.info("%s already existed, updated", what)
        except Exception as exc:
            raise classify(exc, f"updating {what}", redact=secret) from None

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
