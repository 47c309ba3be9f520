"""Talking to a cluster's API server: EKS token authentication, clients, and what errors mean.

The token is what `aws eks get-token` makes: a presigned STS GetCallerIdentity URL that carries the
cluster name in the signed `x-k8s-aws-id` header. It is built in memory (no kubeconfig on disk), lives
60 seconds, and is never logged.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile

import botocore.session
import urllib3
from kubernetes import client

from properties import ClusterRef

TOKEN_PREFIX = "k8s-aws-v1."
# Seconds to connect and to read, per request: a poll must end well inside the function's 2 minutes.
REQUEST_TIMEOUT = (5.0, 20.0)


class Waiting(Exception):
    """Something is not ready yet; the next poll may succeed. The message says what."""


class Failed(Exception):
    """A permanent failure: retrying cannot help. The message says what and why."""


def eks_token(cluster: ClusterRef) -> str:
    session = botocore.session.get_session()
    sts = session.create_client("sts", region_name=cluster.region,
                                endpoint_url=f"https://sts.{cluster.region}.amazonaws.com")

    def add_cluster_header(request, **_):
        request.headers["x-k8s-aws-id"] = cluster.eks_cluster_name

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def api_client(cluster: ClusterRef) -> client.ApiClient:
    """A client for `cluster` that verifies its certificate against the cluster CA."""
    digest = hashlib.sha256(cluster.ca_data.encode()).hexdigest()[:16]
    ca_file = os.path.join(tempfile.gettempdir(), f"kubefed-join-ca-{digest}.pem")
    if not os.path.exists(ca_file):
        with open(ca_file, "wb") as f:
            f.write(base64.b64decode(cluster.ca_data))
    cfg = client.Configuration()
    cfg.host = cluster.endpoint
    cfg.ssl_ca_cert = ca_file
    cfg.verify_ssl = True
    cfg.api_key = {"authorization": "Bearer " + eks_token(cluster)}
    cfg.retries = False  # the Provider framework polls again; one try per call keeps each poll short
    return client.ApiClient(cfg)


def status_message(exc: client.ApiException, redact: bool = False) -> str:
    """'<code> <reason>: <message>' from a Kubernetes Status body (message left out when redact)."""
    reason, message = exc.reason or "", ""
    try:
        body = json.loads(exc.body or "{}")
        reason = body.get("reason") or reason
        message = body.get("message") or ""
    except (TypeError, ValueError):
        pass
    text = f"{exc.status} {reason}"
    if message and not redact:
        text += f": {message[:300]}"
    return text


def classify(exc: Exception, what: str, redact: bool = False) -> Exception:
    """Turn a client error into Waiting (transient) or Failed (permanent), naming `what` failed."""
    if isinstance(exc, client.ApiException) and exc.status:
        detail = status_message(exc, redact)
        if exc.status in (401, 403):
            return Waiting(f"{what}: not authorized yet ({detail}); the access entry may still be propagating")
        if exc.status >= 500 and "failed calling webhook" in (exc.body or ""):
            # A validating webhook with failurePolicy Fail (KubeFed's) refuses everything until its pod serves.
            return Waiting(f"{what}: the KubeFed admission webhook is not serving yet")
        if exc.status == 429 or exc.status >= 500:
            return Waiting(f"{what}: API server error ({detail})")
        return Failed(f"{what}: rejected ({detail})")
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        reason = type(exc).__name__
        inner = getattr(exc, "reason", None)
        if inner is not None:
            reason = f"{reason}: {type(inner).__name__}"
        return Waiting(f"{what}: API server not reachable ({reason})")
    if isinstance(exc, client.ApiException):  # status 0: the client's wrapper for a transport failure
        return Waiting(f"{what}: API server not reachable ({exc.reason})")
    return exc
