"""Talking to a cluster's API server: EKS token authentication, clients, and what errors mean.

The token is what `aws eks get-token` makes: a presigned STS GetCallerIdentity URL that carries the
cluster name in the signed `x-k8s-aws-id` header. It is built in memory (no kubeconfig on disk), lives
60 seconds, and is never logged.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import tempfile
import threading
import time

import botocore.session
import urllib3
from kubernetes import client

from .cluster_ref import ClusterRef

TOKEN_PREFIX = "k8s-aws-v1."
# Seconds to connect and to read, per request, at most; a request never outlives the poll's budget either. urllib3
# applies the read timeout to each socket read, so a body that trickles in would outlive it: every request also runs
# under a whole-request deadline (`whole_request`) of the two together.
REQUEST_TIMEOUT = (5.0, 20.0)
# What one invocation keeps back from the Lambda's remaining time (a Lambda timeout fails the resource at
# once): a quarter of it, and at least this many seconds.
RESERVE_SECONDS = 10.0
# Without a Lambda context (a direct call), the budget of one invocation.
DEFAULT_BUDGET_SECONDS = 60.0
# A 429's Retry-After (or the backoff after a 5xx or a reset) is honoured within a poll up to this long,
# and one call is tried at most this often per poll, so that one failing object cannot starve the others.
MAX_RETRY_WAIT = 5.0
MAX_ATTEMPTS = 4


def configure_logging() -> None:
    """A handler module's logging, set when it is imported: INFO and above, and never the libraries' DEBUG lines.
    These libraries log request and response bodies (secrets, tokens) or signatures at DEBUG: pinned above DEBUG,
    no log level set on the function can make them print a token."""
    logging.getLogger().setLevel(logging.INFO)
    for library in ("kubernetes", "botocore", "urllib3"):
        logging.getLogger(library).setLevel(logging.WARNING)


class Waiting(Exception):
    """Something is not ready yet; the next poll may succeed. The message says what."""

    def __init__(self, message: str, retry_after: float | None = None, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Set for transient server and transport errors: seconds to wait before the same request again."""
        self.unreachable = unreachable
        """The API server could not be talked to at all (transport, TLS, DNS, a response that never completes)."""


class Failed(Exception):
    """A permanent failure: retrying cannot help. The message says what and why."""


class RequestDeadline(Exception):
    """A request did not complete within its whole-request deadline (raised by `whole_request`)."""


@contextlib.contextmanager
def whole_request(seconds: float):
    """Bound everything inside (connect, TLS, headers, the whole body) by `seconds` of wall time.

    A real-time interval timer (SIGALRM) raises RequestDeadline in the main thread, which interrupts a blocking
    socket read (PEP 475: a signal handler that raises ends the system call). urllib3 closes a connection that an
    exception leaves mid-response (HTTPConnectionPool.urlopen, `clean_exit`), so it is not reused. The Lambda runtime
    calls the handler in the process's main thread (awslambdaric's bootstrap loop); elsewhere (no signals outside
    the main thread) only urllib3's own timeouts apply."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = [True]

    def expire(signum, frame):
        if armed[0]:
            armed[0] = False
            raise RequestDeadline(f"no complete answer within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Budget:
    """The time one invocation may spend on requests, ending well before the function times out.

    From the Lambda context's `get_remaining_time_in_millis()` when there is one (the Lambda Python
    runtime's context object), else `DEFAULT_BUDGET_SECONDS`."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + max(0.0, seconds)

    @classmethod
    def of(cls, context: object) -> "Budget":
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining):
            return cls(DEFAULT_BUDGET_SECONDS)
        seconds = remaining() / 1000.0
        return cls(seconds - max(RESERVE_SECONDS, seconds / 4))

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def request_timeout(self, what: str) -> tuple[float, float]:
        """(connect, read) seconds for one request: REQUEST_TIMEOUT, cut so that both together fit in what is left
        of the budget (urllib3 applies them one after the other: connect and TLS handshake, then each read)."""
        left = self.left()
        if left < 0.5:
            raise Waiting(f"{what}: this poll's time budget is spent; the next poll continues")
        connect = min(REQUEST_TIMEOUT[0], left / 3)
        return connect, min(REQUEST_TIMEOUT[1], left - connect)

    def call(self, fn, what: str, **kwargs):
        """`fn(_request_timeout=..., **kwargs)`: one request, its timeouts cut to the budget, and the whole of it
        (body included) bounded by their sum."""
        timeout = self.request_timeout(what)
        with whole_request(sum(timeout)):
            return fn(_request_timeout=timeout, **kwargs)

    def sleep(self, seconds: float) -> bool:
        """Sleep `seconds` if the budget allows it (and keeps enough for a request); False if not."""
        if seconds > self.left() - 1.0:
            return False
        time.sleep(seconds)
        return True


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


def _retry_after(exc: client.ApiException) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After")))
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException, what: str, redact: bool = False) -> Exception:
    """Turn any error of a request into Waiting (transient) or Failed (permanent), naming `what` failed.

    Nothing is returned unclassified: an error this function does not know is Waiting (the deadline
    still bounds it), named by its type so that the log says what happened."""
    if isinstance(exc, (Waiting, Failed)):
        return exc
    if isinstance(exc, AttributeError) and isinstance(exc.__context__, client.ApiException):
        # kubernetes 36 turns a urllib3 SSLError into ApiException(status=0) with no body, then fails on its
        # own `e.body.decode('utf-8')` (api_client.py, __call_api): the ApiException is this error's context.
        exc = exc.__context__
    if isinstance(exc, client.ApiException) and exc.status:
        detail = status_message(exc, redact)
        if exc.status in (401, 403):
            return Waiting(f"{what}: not authorized yet ({detail}); the access entry may still be propagating")
        if exc.status >= 500 and "failed calling webhook" in (exc.body or ""):
            # A validating webhook with failurePolicy Fail (KubeFed's) refuses everything until its pod serves.
            return Waiting(f"{what}: the KubeFed admission webhook is not serving yet", retry_after=1.0)
        if exc.status == 429:
            after = _retry_after(exc)
            return Waiting(f"{what}: throttled ({detail})", retry_after=1.0 if after is None else after)
        if exc.status >= 500:
            return Waiting(f"{what}: API server error ({detail})", retry_after=_retry_after(exc) or 0.5)
        return Failed(f"{what}: rejected ({detail})")
    if isinstance(exc, RequestDeadline):
        return Waiting(f"{what}: {exc} (the API server is slow, or trickles its response)", unreachable=True)
    if isinstance(exc, client.ApiException):  # status 0: the client's wrapper for a TLS failure
        return Waiting(f"{what}: API server not reachable ({tls_problem(exc.reason or '')})", unreachable=True)
    if isinstance(exc, urllib3.exceptions.SSLError) or isinstance(getattr(exc, "reason", None),
                                                                   urllib3.exceptions.SSLError):
        return Waiting(f"{what}: API server not reachable ({tls_problem(str(exc))})", unreachable=True)
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        reason = type(exc).__name__
        inner = getattr(exc, "reason", None)
        unresolved = (socket.gaierror, urllib3.exceptions.NameResolutionError)
        if isinstance(exc, unresolved) or isinstance(inner, unresolved):
            # EKS publishes a cluster's API name while the cluster exists: a name that does not resolve is a
            # cluster that is gone (deleted with its stack), not a slow one.
            return Waiting(f"{what}: API server not reachable (its name does not resolve: the cluster looks deleted)",
                           unreachable=True)
        if inner is not None:
            reason = f"{reason}: {type(inner).__name__}"
        # A reset connection is worth another try at once; refused, unresolvable or timed-out ones wait for
        # the next poll (a timeout has already spent its share of the budget).
        reset = isinstance(exc, (urllib3.exceptions.ProtocolError, ConnectionResetError))
        return Waiting(f"{what}: API server not reachable ({reason})", retry_after=0.5 if reset else None,
                       unreachable=True)
    return Waiting(f"{what}: unexpected {type(exc).__name__} ({str(exc)[:200]})")


# What OpenSSL's verification says (X509_verify_cert_error_string, through Python's ssl module: "certificate verify
# failed: <reason>"), and what it means for a join: the first match wins.
_TLS_PROBLEMS = (
    ("certificate has expired", "TLS failed: the API server's certificate has expired (or this function's clock is "
     "wrong)"),
    ("certificate is not yet valid", "TLS failed: the API server's certificate is not valid yet (check the clock)"),
    ("hostname mismatch", "TLS failed: the certificate does not name this endpoint (hostname mismatch): is Endpoint "
     "this cluster's API server?"),
    ("ip address mismatch", "TLS failed: the certificate does not name this endpoint (IP address mismatch)"),
    ("unable to get local issuer certificate", "TLS failed: the certificate is not signed by CaData's CA: is CaData "
     "this cluster's CA?"),
    ("self-signed certificate", "TLS failed: the certificate is not signed by CaData's CA: is CaData this cluster's "
     "CA?"),
    ("certificate verify failed", "TLS failed: the certificate was refused; is CaData this cluster's CA?"),
)


def tls_problem(text: str) -> str:
    """What a TLS failure's text (all of it: urllib3 wraps the ssl error's reason deep inside) says happened."""
    lowered = text.lower()
    for needle, meaning in _TLS_PROBLEMS:
        if needle in lowered:
            return meaning
    first_line = text.splitlines()[0][:200] if text else "transport error"
    return f"{first_line}: TLS failed"


def with_retries(call, what: str, budget: Budget, redact: bool = False):
    """`call()`, retried after transient errors (429 after its Retry-After, 5xx, resets, timeouts) while the
    budget allows, MAX_ATTEMPTS times at most; raises the classified error once it does not. Use only for
    idempotent calls."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 (classified below)
            error = classify(exc, what, redact)
        if not isinstance(error, Waiting) or error.retry_after is None or attempt == MAX_ATTEMPTS:
            raise error from None
        if not budget.sleep(min(error.retry_after, MAX_RETRY_WAIT)):
            raise error from None
