"""Kubernetes API servers emulated on localhost, over TLS, for the join handler tests.

Built on kmock's KubernetesEmulator (objects kept in memory, real HTTP), plus what a join relies on:
- TLS with a test CA, so the handler's CA handling is exercised for real;
- authentication: every request must carry an EKS token minted for this cluster's region, or a
  service-account token this server issued;
- a token controller (member side) that fills service-account token secrets, after a delay;
- a KubeFed controller (host side) that probes each KubeFedCluster's `apiEndpoint/healthz` with the
  token from its secret, verifying TLS with its caBundle, and reports Ready or Offline;
- fault injection: answer the next N matching requests with an error before the emulator sees them.
"""
from __future__ import annotations

import asyncio
import base64
import re
import secrets
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import aiohttp.test_utils
import aiohttp.web
import kmock
from kmock._internal import parsing

# kmock parses `/api/v1/namespaces[/NAME]` as a namespaced path with no resource; the namespace
# resource itself is cluster-scoped. Parse those paths as the API server does.
_NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?/?$")
_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    match = _NAMESPACE_PATH.match(path)
    if match:
        return parsing.ParsedPath(group="", version="v1", plural="namespaces", namespace=None, name=match.group(1))
    return _kmock_parse_path(path)


parsing.parse_path = _parse_path


@dataclass(frozen=True)
class TestCA:
    ca_pem: bytes
    cert_file: Path
    key_file: Path

    @property
    def ca_data(self) -> str:
        """What EKS reports as CertificateAuthorityData: base64 of the PEM."""
        return base64.b64encode(self.ca_pem).decode()

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def make_test_ca(directory: Path) -> TestCA:
    """A CA and a server certificate for localhost and 127.0.0.1, made with the openssl CLI."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.pem")
    return TestCA((directory / "ca.pem").read_bytes(), directory / "server.pem", directory / "server.key")


@dataclass
class Fault:
    method: str
    path_pattern: str
    status: int
    message: str
    times: int
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.search(self.path_pattern, path) is not None


class EmulatedApiServer(kmock.KubernetesEmulator):
    """A KubernetesEmulator with authentication and fault injection (see the module docstring)."""

    def __init__(self, region: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.region = region
        self.faults: list[Fault] = []
        self.issued_tokens: set[str] = set()
        self.unauthenticated = 0

    def _authenticated(self, headers) -> bool:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        token = auth[len("Bearer "):]
        if token in self.issued_tokens:
            return True
        if not token.startswith("k8s-aws-v1."):
            return False
        payload = token[len("k8s-aws-v1."):]
        url = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        ok = (parts.scheme == "https" and parts.hostname == f"sts.{self.region}.amazonaws.com"
              and query.get("Action") == ["GetCallerIdentity"]
              and "x-k8s-aws-id" in query.get("X-Amz-SignedHeaders", [""])[0].split(";")
              and f"/{self.region}/sts/" in query.get("X-Amz-Credential", [""])[0]
              and query.get("X-Amz-Expires") == ["60"] and bool(query.get("X-Amz-Signature")))
        return ok

    async def _handle(self, request):  # noqa: D401 (kmock's hook)
        path = request.url.path
        method = str(request.method.value if hasattr(request.method, "value") else request.method).upper()
        if not self._authenticated(request.headers):
            self.unauthenticated += 1
            return aiohttp.web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                              "reason": "Unauthorized", "code": 401, "message": "Unauthorized"},
                                             status=401)
        for fault in self.faults:
            if fault.seen < fault.times and fault.matches(method, path):
                fault.seen += 1
                return aiohttp.web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                  "reason": "InternalError", "code": fault.status,
                                                  "message": fault.message}, status=fault.status)
        if path == "/healthz":
            return aiohttp.web.Response(text="ok")
        return await super()._handle(request)

    # Helpers for assertions, safe to call from the test thread through ApiServerHandle.
    def find(self, plural: str, namespace: str | None, name: str) -> dict | None:
        for (resource, ns, obj_name), obj in self.objects.items():
            if resource.plural == plural and ns == namespace and obj_name == name and not obj.deleted:
                return obj.raw
        return None

    def names(self, plural: str) -> list[tuple[str | None, str]]:
        return sorted((ns or "", name) for (resource, ns, name), obj in self.objects.items()
                      if resource.plural == plural and not obj.deleted)


def _tls_server_class(context: ssl.SSLContext):
    class TlsRawTestServer(aiohttp.test_utils.RawTestServer):
        def __init__(self, handler, **kwargs):
            super().__init__(handler, scheme="https", **kwargs)

        async def start_server(self, loop=None, **kwargs):
            return await super().start_server(loop=loop, ssl=context, **kwargs)

    return TlsRawTestServer


@dataclass
class ApiServerHandle:
    """One running emulated cluster, driven from the (synchronous) test thread."""

    name: str
    region: str
    emulator: EmulatedApiServer
    port: int
    loop: asyncio.AbstractEventLoop
    token_delay: float = 0.0
    background: list = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        # Upper case on purpose: EKS endpoints have it, and KubeFed needs it lowercased.
        return f"https://LocalHost:{self.port}"

    def run(self, fn):
        """Run `fn()` on the server's loop (the emulator is not thread-safe) and return its result."""
        async def call():
            return fn()
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)

    def find(self, plural: str, namespace: str | None, name: str) -> dict | None:
        return self.run(lambda: self.emulator.find(plural, namespace, name))

    def names(self, plural: str) -> list[tuple[str | None, str]]:
        return self.run(lambda: self.emulator.names(plural))

    def put(self, plural: str, group: str, version: str, namespace: str | None, name: str, obj: dict) -> None:
        key = (kmock.resource(group=group, version=version, plural=plural), namespace, name)
        self.run(lambda: self.emulator.objects.__setitem__(key, obj))

    def inject(self, method: str, path_pattern: str, status: int, message: str, times: int) -> Fault:
        fault = Fault(method, path_pattern, status, message, times)
        self.run(lambda: self.emulator.faults.append(fault))
        return fault


class EmulatorLoop:
    """A background thread running an asyncio loop that hosts the emulated API servers."""

    def __init__(self, ca: TestCA) -> None:
        self.ca = ca
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._exits = []

    def start(self, name: str, region: str, token_delay: float = 0.0, kubefed_controller: bool = False
              ) -> ApiServerHandle:
        async def boot() -> ApiServerHandle:
            emulator = EmulatedApiServer(region=region)
            await emulator.__aenter__()
            server = kmock.Server(emulator, server_cls=_tls_server_class(self.ca.server_context()))
            await server.__aenter__()
            self._exits.append(server)
            self._exits.append(emulator)
            handle = ApiServerHandle(name=name, region=region, emulator=emulator, port=server.port, loop=self.loop,
                                     token_delay=token_delay)
            handle.background.append(asyncio.ensure_future(_token_controller(handle)))
            if kubefed_controller:
                handle.background.append(asyncio.ensure_future(_kubefed_controller(handle, self.ca)))
            return handle
        return asyncio.run_coroutine_threadsafe(boot(), self.loop).result(20)

    def close(self) -> None:
        async def shutdown():
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            for obj in reversed(self._exits):
                try:
                    await obj.__aexit__(None, None, None)
                except Exception:  # noqa: BLE001 (best effort at teardown)
                    pass
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _token_controller(handle: ApiServerHandle) -> None:
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
        await asyncio.sleep(0.02)


FTC_FINALIZER = "core.kubefed.io/federated-type-config"


async def _kubefed_controller(handle: ApiServerHandle, ca: TestCA) -> None:
    """Report Ready/Offline on each KubeFedCluster by probing its apiEndpoint as KubeFed does, and release
    deleted FederatedTypeConfigs (remove the finalizer only the running controller removes)."""
    while True:
        for key, obj in list(handle.emulator.objects.items()):
            resource, namespace, name = key
            if resource.plural == "federatedtypeconfigs" and not obj.deleted:
                meta = obj.raw.get("metadata") or {}
                if meta.get("deletionTimestamp") and FTC_FINALIZER in (meta.get("finalizers") or []):
                    obj.patch({"metadata": {"finalizers": []}})
                    obj.delete()
                continue
            if resource.plural != "kubefedclusters" or obj.deleted:
                continue
            spec = obj.raw.get("spec") or {}
            condition = await _probe(handle, namespace, spec)
            if not obj.deleted:  # it may have been deleted while the probe was under way
                obj.patch({"status": {"conditions": [condition]}})
        await asyncio.sleep(0.05)


async def _probe(handle: ApiServerHandle, namespace: str, spec: dict) -> dict:
    secret = handle.emulator.find("secrets", namespace, (spec.get("secretRef") or {}).get("name", ""))
    token_b64 = ((secret or {}).get("data") or {}).get("token")
    if not token_b64 or not spec.get("caBundle") or not spec.get("apiEndpoint"):
        return {"type": "ConfigMalformed", "status": "True", "reason": "ClusterConfigMalformed",
                "message": "secret or caBundle missing"}
    try:
        context = ssl.create_default_context(cadata=base64.b64decode(spec["caBundle"]).decode())
        headers = {"Authorization": "Bearer " + base64.b64decode(token_b64).decode()}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
            async with session.get(spec["apiEndpoint"] + "/healthz", ssl=context, headers=headers) as response:
                if response.status == 200:
                    return {"type": "Ready", "status": "True", "reason": "ClusterReady",
                            "message": "/healthz responded with ok"}
                return {"type": "Offline", "status": "True", "reason": "ClusterNotReachable",
                        "message": f"/healthz answered {response.status}"}
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, ssl.SSLError) as exc:
        return {"type": "Offline", "status": "True", "reason": "ClusterNotReachable", "message": type(exc).__name__}
