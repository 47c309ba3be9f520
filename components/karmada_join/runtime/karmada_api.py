"""Reaching karmada-apiserver from the host VPC: through a Ready host node's InternalIP and the Service's fixed
nodePort (contract.DEFAULT_APISERVER_NODE_PORT, or the resource's ApiServerNodePort), with the admin kubeconfig the
chart's pre-install Job wrote (Secret contract.KUBECONFIG_SECRET in contract.KUBECONFIG_NAMESPACE, read through the
host's API with the function's EKS access).

TLS is verified, always: against the kubeconfig's CA, for the in-cluster name the kubeconfig's server names
(`karmada-apiserver.karmada-installer.svc.cluster.local`, contract.APISERVER_TLS_NAME: the certificate names
in-cluster hosts only, values.yaml certs.auto.hosts), sent as the TLS server name while the connection goes to the
node's address. The client certificate and key are written to files only this function can read (the kubernetes
client takes files); nothing of the kubeconfig is ever logged or put in a message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml
from kubernetes import client

from components.karmada_join import contract as c
from components.kube_access.kube_api import Budget, Failed, Waiting
from components.kube_access.cluster_ref import ClusterRef

from .resources import Resources

KUBECONFIG_WHAT = f"Secret {c.KUBECONFIG_NAMESPACE}/{c.KUBECONFIG_SECRET} (key {c.KUBECONFIG_KEY})"


@dataclass(frozen=True)
class Credentials:
    """What the kubeconfig gives: the server's TLS name, its CA (PEM) and a client certificate and key (PEM), or a
    bearer token. `repr` shows none of it."""

    server_name: str
    ca_pem: bytes
    cert_pem: bytes = b""
    key_pem: bytes = b""
    token: str = ""

    def __repr__(self) -> str:
        return f"Credentials(server_name={self.server_name!r}, <redacted>)"


def _b64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise Failed(f"{KUBECONFIG_WHAT}: {what} is not base64") from None


def parse_kubeconfig(text: str) -> Credentials:
    """The current context's server, CA and user; Failed (with no content of the file) when it is not usable."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise Failed(f"{KUBECONFIG_WHAT} is not YAML") from None
    if not isinstance(config, dict):
        raise Failed(f"{KUBECONFIG_WHAT} is not a kubeconfig")

    def named(section: str, name: object) -> dict:
        for entry in config.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry.get(section[:-1]) or {}
        raise Failed(f"{KUBECONFIG_WHAT}: no {section[:-1]} {str(name)[:60]!r} of the current context")

    contexts = config.get("contexts") or []
    context = named("contexts", config.get("current-context")) if config.get("current-context") else (
        (contexts[0] or {}).get("context") if contexts and isinstance(contexts[0], dict) else None)
    if not isinstance(context, dict):
        raise Failed(f"{KUBECONFIG_WHAT}: no context")
    cluster, user = named("clusters", context.get("cluster")), named("users", context.get("user"))
    if cluster.get("insecure-skip-tls-verify") is True or not cluster.get("certificate-authority-data"):
        raise Failed(f"{KUBECONFIG_WHAT}: the cluster has no certificate-authority-data (TLS is always verified)")
    server = urlsplit(str(cluster.get("server") or ""))
    if server.scheme != "https" or not server.hostname:
        raise Failed(f"{KUBECONFIG_WHAT}: the server is not an https:// URL")
    creds = Credentials(server_name=server.hostname, ca_pem=_b64(cluster["certificate-authority-data"], "the CA"),
                        cert_pem=_b64(user["client-certificate-data"], "the client certificate")
                        if user.get("client-certificate-data") else b"",
                        key_pem=_b64(user["client-key-data"], "the client key") if user.get("client-key-data") else b"",
                        token=str(user.get("token") or ""))
    if not (creds.cert_pem and creds.key_pem) and not creds.token:
        raise Failed(f"{KUBECONFIG_WHAT}: the user has neither a client certificate and key nor a token")
    return creds


def _private_file(content: bytes, suffix: str) -> str:
    """A file only this process's user can read, named by a digest of its content (written once per content)."""
    path = os.path.join(tempfile.gettempdir(), f"karmada-{hashlib.sha256(content).hexdigest()[:16]}{suffix}")
    if not os.path.exists(path):
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(path + ".tmp", path)
    return path


def ready_node_addresses(host: Resources) -> list[str]:
    """InternalIPs of the host's Ready nodes, in name order (Waiting when there is none)."""
    nodes = host.list("Node", None)
    addresses = []
    for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name") or ""):
        status = node.get("status") or {}
        ready = any(cond.get("type") == "Ready" and cond.get("status") == "True"
                    for cond in status.get("conditions") or [])
        internal = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
        if ready and internal and internal[0]:
            addresses.append(internal[0])
    if not addresses:
        raise Waiting(f"host {host.ref.name}: no Ready node with an InternalIP to reach karmada-apiserver through")
    return addresses


class ControlPlaneGone(Waiting):
    """The host has no kubeconfig Secret: the Karmada release is not installed (yet, or any more: its post-delete Job
    deletes the Secret, and karmada-apiserver's objects go with its etcd)."""


def read_credentials(host: Resources) -> Credentials:
    secret = host.read("Secret", c.KUBECONFIG_SECRET, c.KUBECONFIG_NAMESPACE)
    if secret is None:
        raise ControlPlaneGone(f"host {host.ref.name}: {KUBECONFIG_WHAT} does not exist (the Karmada chart's "
                               "pre-install Job writes it)")
    raw = (secret.get("data") or {}).get(c.KUBECONFIG_KEY)
    if not raw:
        raise Waiting(f"host {host.ref.name}: {KUBECONFIG_WHAT} has no kubeconfig yet")
    try:
        text = _b64(raw, "the Secret's data").decode()
    except UnicodeDecodeError:
        raise Failed(f"{KUBECONFIG_WHAT} is not text") from None
    return parse_kubeconfig(text)


def api_client(address: str, node_port: int, creds: Credentials) -> client.ApiClient:
    cfg = client.Configuration()
    cfg.host = f"https://{address}:{node_port}"
    cfg.ssl_ca_cert = _private_file(creds.ca_pem, ".ca.pem")
    cfg.verify_ssl = True
    cfg.tls_server_name = creds.server_name  # SNI and the name the certificate is verified against
    if creds.cert_pem and creds.key_pem:
        cfg.cert_file = _private_file(creds.cert_pem, ".crt.pem")
        cfg.key_file = _private_file(creds.key_pem, ".key.pem")
    else:
        cfg.api_key = {"authorization": "Bearer " + creds.token}
    cfg.retries = False
    return client.ApiClient(cfg)


def connect(host: Resources, node_port: int, budget: Budget) -> Resources:
    """karmada-apiserver, reached through the first host node that answers (Waiting when none does)."""
    creds = read_credentials(host)
    ref = host.ref
    karmada_ref = ClusterRef(name=ref.name, eks_cluster_name=ref.eks_cluster_name, region=ref.region,
                             endpoint=f"https://{creds.server_name}:{node_port}", ca_data="")
    problems: list[str] = []
    for address in ready_node_addresses(host):
        api = Resources(karmada_ref, api_client(address, node_port, creds), "karmada-apiserver on", budget)
        try:
            api.list("Namespace", None)  # a first request: the address answers, the certificate verifies
            return api
        except Waiting as exc:
            if not exc.unreachable:
                raise
            problems.append(str(exc))
        if budget.left() < 5:
            break
    raise Waiting("karmada-apiserver not reachable through any Ready host node: " + "; ".join(problems),
                  unreachable=True)
