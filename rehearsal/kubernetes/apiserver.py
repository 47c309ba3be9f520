"""Kubernetes API servers emulated on localhost, over TLS, for the rehearsal (`make rehearse`) and the join handler tests.

Built on kmock's KubernetesEmulator (objects kept in memory, real HTTP), plus what a join relies on:
- EKS endpoint names: each server is reached as `https://<32 hex>.gr7.<region>.eks.amazonaws.com` (port 443), as
  an EKS cluster is; `EmulatedDns` resolves those names (only those: any other *.eks.amazonaws.com name does not
  resolve, nothing goes to a real DNS server) to the server's port on 127.0.0.1, for urllib3 and aiohttp alike;
- TLS with a test CA whose server certificate names those endpoints, so the handler's CA handling and hostname
  verification are exercised for real;
- authentication: every request must carry an EKS token minted for this cluster's region, or a
  service-account token this server issued;
- object UIDs and namespace lifecycle as the API server has them: a namespaced object needs its namespace
  (404 without, 403 while it terminates); deleting a namespace marks it Terminating, the namespace
  controller then deletes its content (waiting for objects with finalizers) and the namespace after
  `namespace_delay`; deleting a terminating namespace again is a 409 Conflict;
- a token controller (member side) that fills service-account token secrets, after a delay, and the
  namespace controller (controllers.py);
- the KubeFed controller (host side, kubefed_controller.py), started with `kubefed_controller=True`;
- label selectors on lists (`?labelSelector=`, the syntax of apimachinery's labels.Parse; a malformed one is a 400);
- faults, on the next N matching requests, before the emulator sees them: an error status (with headers,
  e.g. 429 with Retry-After), latency, or a connection reset; and a server certificate from another CA.
"""
from __future__ import annotations

import asyncio
import base64
import copy
import re
import secrets
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import aiohttp.test_utils
import aiohttp.web
import kmock
from kmock._internal import dicts as kmock_dicts, parsing

from . import admission, kinds, validation
from .controllers import ROUNDS, STRICT_ROUNDS, run_forever, timestamp
from .kubefed_controller import KubefedControllerState, kubefed_controller as run_kubefed_controller

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


# Regions the emulated clusters may be in (the server certificate names their EKS endpoints).
EKS_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
EKS_DOMAIN = ".eks.amazonaws.com"


def eks_hostname(region: str) -> str:
    """A fresh EKS API endpoint host name: a unique id of 32 upper-case hex characters, a label, the region."""
    assert region in EKS_REGIONS, f"emulated clusters live in {EKS_REGIONS}"
    return f"{secrets.token_hex(16).upper()}.gr7.{region}{EKS_DOMAIN}"


class EmulatedDns:
    """Resolves the emulated clusters' EKS endpoint names, on port 443, to their servers on 127.0.0.1 (as DNS and
    the peering route take a Lambda to an EKS API server). Other EKS names do not resolve; any other name is
    resolved as usual. Installed as `socket.getaddrinfo`, which urllib3 and asyncio (aiohttp) both call."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.addresses: dict[tuple[str, str], int] = {}
        """(address, port) -> local port: a Service's NodePort on a node's InternalIP (karmada.py)."""

    def register(self, hostname: str, port: int) -> None:
        self.ports[hostname.lower()] = port

    def register_address(self, address: str, port: int, local_port: int) -> None:
        self.addresses[(address, str(port))] = local_port

    def resolver(self, real):
        def getaddrinfo(host, port, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else host
            if (name, str(port)) in self.addresses:
                return real("127.0.0.1", self.addresses[(name, str(port))], *args, **kwargs)
            if isinstance(name, str) and name.lower().endswith(EKS_DOMAIN):
                target = self.ports.get(name.lower())
                if target is None or str(port) != "443":
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                return real("127.0.0.1", target, *args, **kwargs)
            return real(host, port, *args, **kwargs)
        return getaddrinfo


def server_context_for(ca: TestCA, hostname: str) -> ssl.SSLContext:
    """A server TLS context with a certificate for `hostname` signed by `ca` (its key is `ca.key` beside the
    server's files): for an EKS endpoint in a region the test CA's certificate does not name."""
    directory = Path(ca.cert_file).parent
    stem = hostname.split(".")[0].lower()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + hostname[:60], "-keyout", f"{stem}.key",
        "-out", f"{stem}.csr")
    (directory / f"{stem}.ext").write_text(f"subjectAltName=DNS:{hostname.lower()}\n")
    run("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", f"{stem}.ext", "-out", f"{stem}.pem")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(directory / f"{stem}.pem", directory / f"{stem}.key")
    return ctx


def make_test_ca(directory: Path) -> TestCA:
    """A CA and a server certificate for localhost, 127.0.0.1 and EKS endpoints in EKS_REGIONS (openssl CLI)."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    eks = ",".join(f"DNS:*.gr7.{region}{EKS_DOMAIN}" for region in EKS_REGIONS)
    (directory / "san.ext").write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1,{eks}\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.pem")
    return TestCA((directory / "ca.pem").read_bytes(), directory / "server.pem", directory / "server.key")


@dataclass
class Fault:
    method: str
    """An HTTP method, or '*' for any."""
    path_pattern: str
    times: int
    status: int = 0
    """Answer with this status (and `message`, `headers`); 0 to pass the request on after `delay`."""
    message: str = ""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (latency)."""
    reset: bool = False
    """Close the connection instead of answering."""
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and re.search(self.path_pattern, path) is not None


def _status(code: int, reason: str, message: str, headers: dict | None = None):
    return aiohttp.web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                                      "code": code, "message": message}, status=code, headers=headers)


_REQUIREMENT = re.compile(r"^\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*(?:(==|=|!=)\s*([-A-Za-z0-9_.]*)|\s+(in|notin)\s*"
                          r"\(([^()]*)\))?\s*$")


def parse_label_selector(text: str) -> list[tuple[str, str, set[str]]]:
    """`key=value,key!=value,key in (a,b),key notin (a),key,!key` (k8s.io/apimachinery pkg/labels/selector.go
    Parse) as (key, operator, values) requirements; ValueError when malformed."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    requirements = []
    for part in parts if text.strip() else []:
        match = _REQUIREMENT.match(part)
        if match is None or (match.group(1) and (match.group(3) or match.group(5))):
            raise ValueError(f"unable to parse requirement: {part.strip()!r}")
        negate, label, equality, value, set_op, values = match.groups()
        if equality:
            requirements.append((label, "!=" if equality == "!=" else "=", {value}))
        elif set_op:
            requirements.append((label, set_op, {v.strip() for v in values.split(",")}))
        else:
            requirements.append((label, "!" if negate else "exists", set()))
    return requirements


def label_selector_matches(requirements: list[tuple[str, str, set[str]]], labels: dict) -> bool:
    def holds(label: str, operator: str, values: set[str]) -> bool:
        if operator in ("=", "in"):
            return label in labels and labels[label] in values
        if operator in ("!=", "notin"):
            return label not in labels or labels[label] not in values
        return (label in labels) == (operator == "exists")
    return all(holds(*requirement) for requirement in requirements)


class EmulatedApiServer(kmock.KubernetesEmulator):
    """A KubernetesEmulator with authentication and fault injection (see the module docstring). With a
    `kubernetes_version` it is strict as an EKS API server of that version is (the rehearsal's servers): it serves
    only the built-in kinds of the version and the kinds of Established CRDs (discovery included), validates
    objects against their schemas, calls admission webhooks, and its controllers run workloads on its nodes."""

    def __init__(self, region: str, kubernetes_version: str | None = None, wall=time.time, **kwargs) -> None:
        super().__init__(**kwargs)
        self.region = region
        self.kubernetes_version = kubernetes_version
        self.wall = wall
        """Epoch seconds now (virtual in the rehearsal): the times the server writes."""
        self.nodes: dict[str, int] = {}
        """Architecture -> number of nodes (the cluster's node groups)."""
        self.admin_tokens: set[str] = set()
        """Bearer tokens of cluster administrators (the kubectl handler's role, through its access entry)."""
        self.refusals: list[str] = []
        """Every request the strict checks refused (for messages and tests)."""
        self._builtins = ({(r.group, r.version, r.plural): r for r in kinds.builtin_resources(kubernetes_version)}
                          if kubernetes_version else {})
        self.resets = 0
        self.received = 0
        self.eks_token_requests = 0
        """Requests that carried an EKS token (the join Lambda's; KubeFed's probes carry a service-account token)."""
        self.faults: list[Fault] = []
        self.issued_tokens: set[str] = set()
        self.unauthenticated = 0

    def _authenticated(self, headers) -> bool:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        token = auth[len("Bearer "):]
        if token in self.issued_tokens or token in self.admin_tokens:
            return True
        if not token.startswith("k8s-aws-v1."):
            return False
        self.eks_token_requests += 1
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

    async def __call__(self, raw_request):
        """Faults act at the HTTP level, before anything is parsed, as a proxy or the network would."""
        self.received += 1
        for fault in self.faults:
            if fault.seen < fault.times and fault.matches(raw_request.method, raw_request.path):
                fault.seen += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.reset:
                    self.resets += 1
                    raw_request.transport.abort()
                    return aiohttp.web.Response(status=500)  # never sent: the connection is gone
                if fault.status:
                    reason = "TooManyRequests" if fault.status == 429 else "InternalError"
                    return _status(fault.status, reason, fault.message, fault.headers)
                break
        return await super().__call__(raw_request)

    async def _handle(self, request):  # noqa: D401 (kmock's hook)
        path = request.url.path
        if not self._authenticated(request.headers):
            self.unauthenticated += 1
            return _status(401, "Unauthorized", "Unauthorized")
        if path == "/healthz":
            return aiohttp.web.Response(text="ok")
        if request.method == "GET" and request.params.get("labelSelector"):
            try:
                parse_label_selector(request.params["labelSelector"])
            except ValueError as exc:
                return _status(400, "BadRequest", str(exc))
        if self.enforcing:
            document = self._discovery(path) if request.method == "GET" else None
            if document is not None:
                return aiohttp.web.json_response(document)
            refused = self._served(request)
            if refused is not None:
                return refused
        refused = self._namespace_lifecycle(request)
        if refused is not None:
            return refused
        if self.enforcing:
            refused = self._admit(request)
            if refused is not None:
                return refused
        return await super()._handle(request)

    async def _serve_list(self, request):  # noqa: D401 (kmock's hook)
        listed = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector and isinstance(listed, dict):
            requirements = parse_label_selector(selector)
            listed = {**listed, "items": [item for item in listed.get("items") or [] if label_selector_matches(
                requirements, (item.get("metadata") or {}).get("labels") or {})]}
        return listed

    # --- strictness (servers with a Kubernetes version) -------------------------------------------------------
    @property
    def enforcing(self) -> bool:
        return self.kubernetes_version is not None

    def timestamp(self) -> str:
        return timestamp(self.wall())

    def is_builtin(self, resource) -> bool:
        return (resource.group, resource.version, resource.plural) in self._builtins

    def served_resources(self) -> list[kinds.ApiResource]:
        """Built-in kinds of the version, then the kinds of Established CRDs."""
        custom = [r for key, obj in self.objects.items()
                  if key[0].plural == "customresourcedefinitions" and not obj.deleted
                  for r in kinds.crd_resources(obj.raw)]
        return [*self._builtins.values(), *custom]

    def resource_for(self, group: str, version: str, plural: str) -> kinds.ApiResource | None:
        found = self._builtins.get((group, version, plural))
        if found is None:
            found = next((r for r in self.served_resources() if (r.group, r.version, r.plural) ==
                          (group, version, plural)), None)
        return found

    def _discovery(self, path: str) -> dict | None:
        """The discovery documents (what kubectl and Helm map kinds with) for the kinds this server serves."""
        served = self.served_resources()
        if path == "/version":
            minor = self.kubernetes_version.split(".")[1]
            return {"major": "1", "minor": minor, "gitVersion": f"v{self.kubernetes_version}.0-eks-rehearsal",
                    "platform": "linux/amd64"}
        groups: dict[str, list[str]] = {}
        for r in served:
            if r.group and r.version not in groups.setdefault(r.group, []):
                groups[r.group].append(r.version)

        def group_document(name: str) -> dict:
            versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in groups[name]]
            return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": versions,
                    "preferredVersion": versions[0]}

        def resource_list(group: str, version: str) -> dict:
            group_version = f"{group}/{version}" if group else version
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": [
                {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
                for r in served if (r.group, r.version) == (group, version)]}

        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/api/v1":
            return resource_list("", "v1")
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_document(g) for g in groups]}
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            return group_document(parts[1])
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
            return resource_list(parts[1], parts[2])
        return None

    def _refuse(self, code: int, reason: str, message: str):
        self.refusals.append(message)
        return _status(code, reason, message)

    def _served(self, request):
        """404 for a kind the server does not serve (a built-in of another version, a CRD not Established)."""
        resource = request.resource
        if resource is None:
            return None
        if resource.plural == "namespaces" and resource.group == "" and resource.version == "v1":
            return None
        if self.resource_for(resource.group, resource.version, resource.plural) is None:
            return self._refuse(404, "NotFound", "the server could not find the requested resource")
        return None

    def _current(self, request) -> dict | None:
        key = (request.resource, request.namespace, request.name)
        obj = self.objects[key] if key in self.objects else None
        return None if obj is None or obj.deleted else obj.raw

    def _admit(self, request):
        """Validation (422 Invalid) and admission webhooks (failurePolicy Fail without endpoints) of a write."""
        resource, action = request.resource, request.action
        if resource is None or action not in (kmock.action.CREATE, kmock.action.UPDATE, kmock.action.DELETE):
            return None
        served = self.resource_for(resource.group, resource.version, resource.plural) or kinds.ApiResource(
            "", "v1", "Namespace", "namespaces", False)
        current = self._current(request) if request.name else None
        if action == kmock.action.CREATE:
            obj = request.data if isinstance(request.data, dict) else {}
            name = (obj.get("metadata") or {}).get("name")
            where = request.namespace or (obj.get("metadata") or {}).get("namespace") if served.namespaced else None
            if name and self.find(resource.plural, where, name) is not None:
                group = f".{resource.group}" if resource.group else ""
                return self._refuse(409, "AlreadyExists", f'{resource.plural}{group} "{name}" already exists')
        elif action == kmock.action.UPDATE:
            if current is None:
                return None  # the emulator answers 404
            obj = dict(kmock_dicts.patch_dict(copy.deepcopy(current), request.data if isinstance(request.data, dict)
                                              else {}))
        else:
            obj = current or {}
        subresource = getattr(request, "subresource", None)
        if action != kmock.action.DELETE and not subresource:
            obj.setdefault("apiVersion", served.group_version)
            obj.setdefault("kind", served.kind)
            checked = {k: v for k, v in obj.items() if k != "status"} if action == kmock.action.UPDATE else obj
            if served.builtin:
                problem = validation.builtin_problem(checked, self.kubernetes_version)
            else:
                crd = self.find("customresourcedefinitions", None, f"{served.plural}.{served.group}")
                problem = validation.custom_problem(checked, kinds.crd_version_schema(crd or {}, served.version))
            if problem:
                return self._refuse(422, "Invalid", problem)
        namespace = request.namespace or ((obj.get("metadata") or {}).get("namespace") if served.namespaced else None)
        call = admission.Call(admission.operation(action.name.lower()) or "", resource.group, resource.version,
                              resource.plural + (f"/{subresource}" if subresource else ""),
                              namespace if served.namespaced else None, obj)
        configurations = [o.raw for k, o in self.objects.items()
                          if k[0].plural in admission.WEBHOOK_PLURALS and not o.deleted]
        ns = self.find("namespaces", None, namespace) if namespace else None
        refused = admission.refusal(
            call, configurations, ((ns or {}).get("metadata") or {}).get("labels") or {},
            lambda n, name: self.find("services", n, name),
            lambda n: [o.raw for k, o in self.objects.items() if k[1] == n and not o.deleted
                       and k[0].plural in ("deployments", "statefulsets", "daemonsets")])
        if refused:
            return self._refuse(500, "InternalError", refused)
        policies = [o.raw for k, o in self.objects.items()
                    if k[0].plural == admission.POLICY_PLURALS[0] and not o.deleted]
        if policies:
            bindings = [o.raw for k, o in self.objects.items()
                        if k[0].plural == admission.POLICY_PLURALS[1] and not o.deleted]
            denied = admission.policy_refusal(call, current, policies, bindings)
            if denied:
                return self._refuse(denied[0], "Forbidden" if denied[0] == 403 else "Invalid", denied[1])
        if action == kmock.action.CREATE:
            self._defaults(served, obj)
        return None

    def _defaults(self, served: kinds.ApiResource, obj: dict) -> None:
        """What the API server sets on create: namespaces' name label, CRDs' Established condition (the
        apiextensions controllers establish a CRD whose names are accepted within moments), generation."""
        meta = obj.setdefault("metadata", {})
        meta.setdefault("generation", 1)
        if served.kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name")
        if served.kind == "CustomResourceDefinition":
            stamp = self.timestamp()
            names = (obj.get("spec") or {}).get("names") or {}
            obj["status"] = {"acceptedNames": names, "storedVersions": [
                v.get("name") for v in (obj.get("spec") or {}).get("versions") or [] if v.get("storage")],
                "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                "lastTransitionTime": stamp},
                               {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                "lastTransitionTime": stamp}]}

    def _namespace_lifecycle(self, request):
        """What the API server's NamespaceLifecycle admission and namespace deletion do; None to go on."""
        resource, action = request.resource, request.action
        if resource is None:
            return None
        if action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", self.timestamp())
            namespace = request.namespace or meta.get("namespace")
            if resource.plural != "namespaces" and namespace:
                ns = self.find("namespaces", None, namespace)
                if ns is None:
                    return _status(404, "NotFound", f'namespaces "{namespace}" not found')
                if (ns.get("metadata") or {}).get("deletionTimestamp"):
                    return _status(403, "Forbidden", f"{resource.plural} is forbidden: unable to create new content "
                                   f"in namespace {namespace} because it is being terminated")
        if resource.plural == "namespaces" and action == kmock.action.DELETE and request.name:
            ns = self.find("namespaces", None, request.name)
            if ns is None:
                return None  # the emulator answers 404
            if (ns.get("metadata") or {}).get("deletionTimestamp"):
                return _status(409, "Conflict", f'Operation cannot be fulfilled on namespaces "{request.name}": The '
                               "system is ensuring all content is removed from this namespace.")
            key = next(k for k in self.objects if k[0].plural == "namespaces" and k[2] == request.name)
            self.objects[key].patch({"metadata": {"deletionTimestamp": self.timestamp()}, "spec": {"finalizers": ["kubernetes"]},
                                     "status": {"phase": "Terminating"}})
            return aiohttp.web.json_response(self.objects[key].raw)
        return None

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
    hostname: str = ""
    token_delay: float = 0.0
    namespace_delay: float = 0.1
    kubefed: KubefedControllerState | None = None
    server: object = None
    background: list = field(default_factory=list)
    state: dict = field(default_factory=dict)
    """The controllers' memory between rounds."""
    cycles: dict = field(default_factory=dict)
    """Controller name -> rounds it has completed (each controller counts its own, on the server's loop)."""

    def completed_round(self, controller: str) -> None:
        self.cycles[controller] = self.cycles.get(controller, 0) + 1

    @property
    def endpoint(self) -> str:
        # Upper case, as EKS reports it: KubeFed needs it lowercased.
        return f"https://{self.hostname}"

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

    def inject(self, method: str, path_pattern: str, status: int = 0, message: str = "", times: int = 1,
               **kwargs) -> Fault:
        fault = Fault(method, path_pattern, times, status, message, **kwargs)
        self.run(lambda: self.emulator.faults.append(fault))
        return fault


class EmulatorLoop:
    """A background thread running an asyncio loop that hosts the emulated API servers."""

    def __init__(self, ca: TestCA) -> None:
        self.ca = ca
        self.dns = EmulatedDns()
        """Install `self.dns.resolver(socket.getaddrinfo)` as socket.getaddrinfo while the servers are used."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._exits = []
        self._leaving: set[int] = set()
        self.handles: list[ApiServerHandle] = []
        self.on_start: list = []
        """Callbacks run with each started ApiServerHandle."""

    def start(self, name: str, region: str, token_delay: float = 0.0, kubefed_controller: bool = False,
              ca: TestCA | None = None, period: float = 0.05, kubernetes_version: str | None = None,
              hostname: str | None = None, background: bool = True, wall=time.time) -> ApiServerHandle:
        """Start a cluster. `ca`: serve a certificate of this CA instead (a CA mismatch for clients that trust
        the loop's CA); `period`: the KubeFed controller's health-check period; `kubernetes_version`: strict, as
        an EKS API server of that version; `hostname`: its EKS endpoint name (default: a fresh one in `region`,
        which must then be one the CA's certificate names); `background`: controllers run forever in real time
        (else only in `round`, the rehearsal's virtual time, with `wall` the epoch seconds it writes)."""
        async def boot() -> ApiServerHandle:
            emulator = EmulatedApiServer(region=region, kubernetes_version=kubernetes_version, wall=wall)
            await emulator.__aenter__()
            context = (server_context_for(ca or self.ca, hostname) if hostname
                       else (ca or self.ca).server_context())
            server = kmock.Server(emulator, server_cls=_tls_server_class(context))
            await server.__aenter__()
            self._exits.append(server)
            self._exits.append(emulator)
            handle = ApiServerHandle(name=name, region=region, emulator=emulator, port=server.port, loop=self.loop,
                                     server=server,
                                     token_delay=token_delay, hostname=hostname or eks_hostname(region))
            self.dns.register(handle.hostname, server.port)
            self.handles.append(handle)
            if background:
                rounds = {**ROUNDS, **(STRICT_ROUNDS if kubernetes_version else {})}
                for controller, function in rounds.items():
                    handle.background.append(asyncio.ensure_future(run_forever(handle, controller, function)))
            if kubefed_controller:
                handle.kubefed = KubefedControllerState(period=period)
                handle.background.append(asyncio.ensure_future(run_kubefed_controller(handle)))
            for callback in self.on_start:
                callback(handle)
            return handle
        return asyncio.run_coroutine_threadsafe(boot(), self.loop).result(20)

    def round(self, handle: ApiServerHandle, now_seconds: float) -> None:
        """One round of each of the cluster's own controllers at virtual time `now_seconds` (servers started
        without `background`)."""
        rounds = {**ROUNDS, **(STRICT_ROUNDS if handle.emulator.enforcing else {})}

        def run_all() -> None:
            for controller, function in rounds.items():
                function(handle, now_seconds)
                handle.completed_round(controller)
        handle.run(run_all)

    def stop(self, handle: ApiServerHandle) -> None:
        """Stop one cluster's server (a deleted EKS cluster): its name no longer resolves."""
        async def stop() -> None:
            for task in handle.background:
                task.cancel()
            # kmock's interceptors chain the resolver: they leave in the reverse order of entering, so a server
            # started later and still running keeps this one's exit pending until it stops too (its name no longer
            # resolves at once; an update rehearsal deletes clusters out of creation order).
            # By identity: `in` would compare kmock's attrs objects field by field, recursing through every emulator's
            # payloads (RecursionError with large enough clusters).
            self._leaving.update(id(obj) for obj in (handle.server, handle.emulator)
                                 if any(obj is e for e in self._exits))
            while self._exits and id(self._exits[-1]) in self._leaving:
                obj = self._exits.pop()
                self._leaving.discard(id(obj))
                await obj.__aexit__(None, None, None)
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(20)
        self.dns.ports.pop(handle.hostname.lower(), None)
        self.handles.remove(handle)

    def settle(self, timeout: float = 120.0) -> None:
        """Return once every controller of every server (token, namespace, KubeFed) has run one whole round that
        began after this call: whatever a poll left for them to do has been seen by each of them. Tests wait for
        this between polls instead of sleeping, so the number of polls a join needs does not depend on the
        machine's load. `timeout` only bounds a controller that stopped; it is never reached otherwise."""
        start = [(handle, dict(handle.cycles)) for handle in self.handles]
        end = time.monotonic() + timeout
        for handle, before in start:
            while any(handle.cycles.get(name, 0) < count + 2 for name, count in before.items()):
                assert time.monotonic() < end, f"the emulated controllers of {handle.name} stopped"
                time.sleep(0.005)

    def unreachable_endpoint(self, region: str) -> str:
        """An EKS endpoint that resolves, but where nothing listens (the discard port): connection refused."""
        hostname = eks_hostname(region)
        self.dns.register(hostname, 9)
        return f"https://{hostname}"

    @staticmethod
    def unresolvable_endpoint(region: str) -> str:
        """An EKS endpoint whose name does not resolve (a deleted cluster)."""
        return f"https://{eks_hostname(region)}"

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
