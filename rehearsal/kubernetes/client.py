"""A small Kubernetes client over HTTPS, as kubectl and Helm use the API: kinds mapped to resources through the
server's discovery documents (a kind the server does not serve is kubectl's `no matches for kind "K" in version
"G/V"`), then plain REST calls. The rehearsal's kubectl handler and Helm emulation talk to the emulated API
servers through it, so every request passes the same strict checks a real client's would."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class NoMatch(Exception):
    """kubectl's RESTMapper error."""


@dataclass(frozen=True)
class Mapping:
    plural: str
    namespaced: bool
    group: str
    version: str

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            base += f"/namespaces/{namespace or 'default'}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")


def describe(obj: dict) -> str:
    """`Kind namespace/name` of an object, for messages."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


def identity(obj: dict) -> tuple:
    """What names an object in a manifest: apiVersion, kind, namespace, name."""
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))


class Client:
    def __init__(self, port: int, hostname: str, ca_pem: bytes, token: str, local=None) -> None:
        """`local(plural, namespace, name)`: the stored object, read in-process (for waits, which poll often)."""
        self.hostname = hostname
        self.local = local
        self._mappings: dict[tuple[str, str], Mapping] = {}
        self.pool = urllib3.HTTPSConnectionPool("127.0.0.1", port, server_hostname=hostname.lower(),
                                                assert_hostname=hostname.lower(), cert_reqs="CERT_REQUIRED",
                                                ca_cert_data=ca_pem.decode(), retries=False, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        response = self.pool.request(method, path, body=data, headers=headers)
        try:
            payload = json.loads(response.data or b"null")
        except ValueError:
            payload = response.data.decode(errors="replace")
        if response.status >= 400:
            if isinstance(payload, dict):
                raise ApiError(response.status, payload.get("reason", ""), payload.get("message", ""))
            raise ApiError(response.status, "", str(payload))
        return payload

    def mapping(self, api_version: str, kind: str) -> Mapping:
        if (api_version, kind) in self._mappings:
            return self._mappings[(api_version, kind)]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            document = self.request("GET", path)
        except ApiError as exc:
            if exc.status != 404:
                raise
            document = {}
        for resource in (document or {}).get("resources") or []:
            if resource.get("kind") == kind and "/" not in resource.get("name", ""):
                found = Mapping(resource["name"], bool(resource.get("namespaced")), group, version)
                self._mappings[(api_version, kind)] = found
                return found
        raise NoMatch(f'no matches for kind "{kind}" in version "{api_version}"')

    def _target(self, obj: dict) -> tuple[Mapping, str | None, str]:
        mapping = self.mapping(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        meta = obj.get("metadata") or {}
        namespace = (meta.get("namespace") or "default") if mapping.namespaced else None
        return mapping, namespace, meta.get("name", "")

    def get(self, obj: dict) -> dict | None:
        mapping, namespace, name = self._target(obj)
        try:
            return self.request("GET", mapping.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def peek(self, obj: dict) -> dict | None:
        """The object as stored now (in-process when the client has `local`, else a GET); None if absent or its
        kind is not served."""
        if self.local is None:
            try:
                return self.get(obj)
            except NoMatch:
                return None
        try:
            mapping, namespace, name = self._target(obj)
        except NoMatch:
            return None
        return self.local(mapping.plural, namespace, name)

    def create(self, obj: dict) -> dict:
        mapping, namespace, _ = self._target(obj)
        body = obj
        if mapping.namespaced:
            body = {**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": namespace}}
        return self.request("POST", mapping.path(namespace), body)

    def patch(self, obj: dict, patch: dict) -> dict:
        mapping, namespace, name = self._target(obj)
        return self.request("PATCH", mapping.path(namespace, name), patch, "application/merge-patch+json")

    def apply(self, obj: dict) -> str:
        """Create, or update to the manifest's content (a merge patch of the whole object): 'created' or
        'configured'."""
        if self.get(obj) is None:
            self.create(obj)
            return "created"
        self.patch(obj, obj)
        return "configured"

    def delete(self, obj: dict) -> bool:
        """False if it was not there."""
        mapping, namespace, name = self._target(obj)
        try:
            self.request("DELETE", mapping.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
