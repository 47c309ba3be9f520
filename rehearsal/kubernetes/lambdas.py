"""The packaged Lambdas of the join and of the workload waiter, invoked as AWS would, in virtual time:
`Custom::KubefedJoin`, `Custom::KubefedTeardown` (the join's asset) and `Custom::FederatedWorkload` (the waiter's own
asset; a waiter made before the waiter had its own Provider names the join's, which serves its delete).

`serve` plays what aws-cdk-lib's Provider framework (custom-resources/lib/provider-framework, 2.275) does with a
CloudFormation request, against the emulated API servers:
- runtime/framework.js `onEvent`: the user's onEvent function gets CloudFormation's request (RequestType,
  ResourceType, ResourceProperties, OldResourceProperties, PhysicalResourceId, ...); its answer is merged over the
  request (`createResponseEvent`: a Create without a PhysicalResourceId gets the RequestId; a Delete may not change
  it);
- waiter-state-machine.js: the isComplete task is invoked at once, then retried every `queryInterval`
  (`Retry: States.ALL, BackoffRate 1`) `totalTimeout / queryInterval` times (util.js `calculateRetryPolicy`), then
  caught by onTimeout, which answers FAILED with the reason "Operation timed out";
- runtime/framework.js `isComplete`: a result with IsComplete false and Data is an error; a complete one merges its
  Data over the onEvent Data;
- runtime/cfn-response.js `safeHandler`: any error of a user function answers FAILED with its message (plus
  framework.js `invokeUserFunction`'s "Logs: /aws/lambda/<function>" line); a failed Create answers with the marker
  physical id, and the Delete CloudFormation then sends for it is answered SUCCESS without calling anything.

Each invocation runs the code of the function's asset folder (the handler string, imported from the unzipped asset,
not from this repository), with exactly the function's environment (plus what the Lambda runtime sets), a Lambda
context whose remaining time counts down in virtual time, and a clock that is virtual for the code's `time`. Between
polls the clock advances by the query interval and the emulated controllers run a round.

The function reaches an EKS API endpoint only while `network.reachable(function.source, cluster)` is true, checked on
every connection: an unreachable endpoint behaves as a security group that drops the packets does, a connect
timeout (the client's connect timeout is spent in virtual time); a name that no cluster has does not resolve. The
regional EKS APIs (DescribeCluster, which the function asks before it trusts a cluster) are one emulated server
(rehearsal/eks_api.py) answering from `network.describe_cluster` (the clusters the CloudFormation side created); the
function's botocore is pointed at it (AWS_ENDPOINT_URL_EKS, standing in for https://eks.<region>.amazonaws.com) and
reaches it only while `network.eks_api_why_not(function.source)` is None (a route to a NAT gateway and an egress rule
for HTTPS to public addresses). No other host is reachable (nothing leaves the machine).

Beyond what CloudFormation would report, the rehearsal also stops at a delete that completes leaving things behind
(the join Lambda's `LeftBehind`: CloudFormation records DELETE_COMPLETE, the clusters keep the objects). A failure
says the Provider's reason, the function's last log lines (secrets redacted), the clusters it had no network path
to, and what the emulated KubeFed controller reports (`Servers.diagnosis`, when the servers offer it).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import logging
import os
import re
import socket
import sys
import threading
import time as real_time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Protocol

import urllib3.util.connection

from components.karmada_join import contract as karmada_contract
from components.kube_access import contract
from rehearsal.eks_api import EksApi
from rehearsal.world import (Clock, CustomResourceRequest, CustomResourceResult, LambdaFunction, Network,
                             RehearsalFailure)

RESOURCE_TYPES = ("Custom::KubefedJoin", "Custom::KubefedTeardown", "Custom::FederatedWorkload",
                  karmada_contract.JOIN_TYPE, karmada_contract.OBJECTS_TYPE, karmada_contract.MEMBERS_TYPE)

# runtime/cfn-response.js: the physical id a failed Create answers with; the Delete that follows is not passed on.
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
# runtime/framework.js onTimeout.
TIMED_OUT = "Operation timed out"

# "The custom resource provider ... response" is at most 4096 bytes; a longer one fails the resource with
# "Response object is too long."
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
MAX_RESPONSE_BYTES = 4096

# Virtual wall-clock time: the rehearsal starts at this instant (2026-01-01T00:00:00Z) and every clock that writes a
# timestamp (the Lambda's `time.time()`, the emulated KubeFed controller's condition times) reads
# `wall_seconds(clock)`, so that what one writes and the other compares agrees.
EPOCH = 1767225600.0

EKS_DOMAIN = ".eks.amazonaws.com"
# Linux gives up a TCP connect whose SYNs are dropped after about 127 s (tcp_syn_retries = 6): the wait of a
# connection with no timeout set.
KERNEL_CONNECT_TIMEOUT = 127.0
# A token or a signed STS URL must never reach a log or a message.
_SECRET = re.compile(r"(k8s-aws-v1\.|Bearer\s+|X-Amz-Signature=|X-Amz-Security-Token=)[^\s\"',;&]+")
# What the Lambda runtime (python3.x) sets besides the function's environment
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), with
# credentials of the execution role (example keys: botocore only presigns with them, offline). AWS_CONFIG_FILE and
# AWS_SHARED_CREDENTIALS_FILE point nowhere so that nothing of this machine's AWS configuration is read.
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_SESSION_TOKEN": "rehearsal-session-token"}


def wall_seconds(clock: Clock) -> float:
    """Epoch seconds at virtual time `clock.now`."""
    return EPOCH + clock.now


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


class Servers(Protocol):
    """What `serve` needs from the emulated clusters (rehearsal/kubernetes/apiserver.py provides it)."""

    def resolve(self, hostname: str) -> tuple[str, tuple[str, int]] | None:
        """(EKS cluster name, local address its emulated API server listens on) for an API endpoint host name;
        None when no cluster has that name (it does not resolve)."""
        ...

    def controllers_round(self, clock: Clock) -> None:
        """Every emulated controller of every cluster (token, namespace, KubeFed) runs one whole round at
        `clock.now`."""
        ...

    # Optional: `resolve_node_port(address, port) -> (cluster, local address) | None`, a Service's nodePort on a
    # cluster's node (karmada-apiserver on the host), reached on the same network path as that cluster's API server.
    # Optional: `diagnosis() -> list[str]`, what the emulated controllers report as wrong now (e.g.
    # kubefed_controller.propagation_problems of each host); a failure message ends with it.


# --- the packaged code -------------------------------------------------------------------------------------------

_packages: dict[tuple[Path, str], dict[str, ModuleType]] = {}
_log_levels: dict[tuple[Path, str], int] = {}
"""The root log level the packaged code set when imported (the Lambda process's), applied while it runs."""


def _checked_dependencies(asset_dir: Path) -> None:
    """The asset's third-party packages are imported from this interpreter (one copy of urllib3 per process): they
    must be the versions the asset ships."""
    for info in asset_dir.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        try:
            here = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # imported from the asset itself
        if here != version:
            raise RehearsalFailure(f"the Lambda asset {asset_dir.name} ships {name} {version}, this interpreter has "
                                   f"{here}: the rehearsal would not run the packaged code's dependencies",
                                   fix="make setup (install requirements-dev.txt, which pins what the Lambda ships)")


def packaged_handler(function: LambdaFunction) -> Callable[[dict, Any], dict]:
    """The function named by `function.handler`, imported from the unzipped asset (never from this repository): its
    top-level package is loaded afresh from `asset_dir` and kept apart from the repository's modules of that name."""
    if function.asset_dir is None:
        raise RehearsalFailure(f"{function.source} has inline code: the rehearsal runs packaged assets only")
    module_name, _, attribute = function.handler.rpartition(".")
    top = module_name.split(".")[0]
    key = (Path(function.asset_dir).resolve(), top)
    if key not in _packages:
        _checked_dependencies(key[0])
        _packages[key] = _import_apart(key[0], top, module_name)
    if module_name not in _packages[key]:  # another handler of the same asset, in a module not imported yet
        _packages[key] = _import_apart(key[0], top, module_name, _packages[key])
    return getattr(_packages[key][module_name], attribute)


def _import_apart(asset_dir: Path, top: str, module_name: str,
                  loaded: dict[str, ModuleType] | None = None) -> dict[str, ModuleType]:
    def ours(name: str) -> bool:
        return name == top or name.startswith(top + ".")

    saved = {n: m for n, m in sys.modules.items() if ours(n)}
    root_level = logging.getLogger().level  # the handler module sets the root level when imported
    for name in saved:
        del sys.modules[name]
    sys.modules.update(loaded or {})
    sys.path.insert(0, str(asset_dir))
    try:
        importlib.import_module(module_name)
    finally:
        sys.path.remove(str(asset_dir))
        _log_levels[(asset_dir, top)] = logging.getLogger().level
        modules = {n: m for n, m in sys.modules.items() if ours(n)}
        for name in modules:
            del sys.modules[name]
        sys.modules.update(saved)
        logging.getLogger().setLevel(root_level)
    for name, module in modules.items():
        origin = getattr(module, "__file__", None) or ""
        if origin and not Path(origin).resolve().is_relative_to(asset_dir):
            raise RehearsalFailure(f"{name} was imported from {origin}, not from the asset {asset_dir}")
    return modules


# --- one invocation ----------------------------------------------------------------------------------------------

class VirtualTime:
    """The `time` module as the packaged code sees it: `time()` and `monotonic()` read the virtual clock, `sleep()`
    advances it; the rest is the real module."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def time(self) -> float:
        return wall_seconds(self._clock)

    def monotonic(self) -> float:
        return self._clock.now

    def sleep(self, seconds: float) -> None:
        self._clock.advance(max(0.0, seconds))

    def gmtime(self, seconds: float | None = None):
        return real_time.gmtime(self.time() if seconds is None else seconds)

    def strftime(self, fmt: str, t=None) -> str:
        return real_time.strftime(fmt, self.gmtime() if t is None else t)

    def __getattr__(self, name: str):
        return getattr(real_time, name)


@dataclass
class LambdaContext:
    """The Lambda Python runtime's `context`, as far as handlers use it, counting down in virtual time."""

    function: LambdaFunction
    clock: Clock
    started: float
    function_name: str = ""
    aws_request_id: str = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.function.timeout_seconds - (self.clock.now - self.started)) * 1000)


@dataclass
class FunctionLogs:
    """What the function wrote to its log (CloudWatch Logs in AWS), secrets redacted; and the EKS clusters whose
    API server it could not reach (no network path at that moment), for the failure message."""

    lines: list[str] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)

    def last(self, count: int = 3) -> list[str]:
        return self.lines[-count:]


class _Capture(logging.Handler):
    def __init__(self, logs: FunctionLogs) -> None:
        super().__init__(logging.INFO)
        self.logs, self.thread = logs, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and record.levelno >= logging.INFO:
            self.logs.lines.append(redact(f"[{record.levelname}] {record.getMessage()}"))


class _FunctionError(Exception):
    """The invocation failed (FunctionError): the handler raised, or the function ran out of time."""


# The emulated EKS API of this process (started on first use), and the network whose clusters it describes now.
_eks_api: EksApi | None = None
_describing: list[Network] = []
_invoking: list[LambdaFunction] = []  # whose role IAM evaluates for DescribeCluster (network.describe_why_not)


def _eks_api_url() -> str:
    global _eks_api
    if _eks_api is None:
        _eks_api = EksApi(lambda region, name: (_describing[-1].describe_cluster(region, name)
                                                if _describing and hasattr(_describing[-1], "describe_cluster")
                                                else None),
                          allowed=_iam_allows_describe)
    return _eks_api.url


def _iam_allows_describe(region: str, name: str) -> bool:
    """IAM's decision on the invoking function's DescribeCluster, where the network models it (its role's policies).
    A refused function gets EKS's AccessDeniedException, and says so in its own message."""
    network = _describing[-1] if _describing else None
    if network is None or not hasattr(network, "describe_why_not") or not _invoking:
        return True
    return network.describe_why_not(_invoking[-1].source, region, name) is None


def _lambda_environment(function: LambdaFunction, region: str) -> dict[str, str]:
    task_root = str(function.asset_dir)
    runtime = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
               "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "LAMBDA_TASK_ROOT": task_root, "TZ": ":UTC",
               "LANG": "en_US.UTF-8", "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
               "AWS_CONFIG_FILE": os.devnull + ".rehearsal-none", "AWS_SHARED_CREDENTIALS_FILE":
               os.devnull + ".rehearsal-none", "AWS_EC2_METADATA_DISABLED": "true", **_CREDENTIALS,
               "AWS_ENDPOINT_URL_EKS": _eks_api_url()}
    return {**runtime, **function.environment}


@contextlib.contextmanager
def _environment(variables: dict[str, str]):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _network(function: LambdaFunction, clock: Clock, network: Network, servers: Servers, logs: FunctionLogs):
    """Connections of this invocation go through the emulated DNS and the network as it is now (module docstring).
    urllib3 (the kubernetes client's transport) opens every connection with `urllib3.util.connection
    .create_connection`, and turns socket.gaierror into NameResolutionError and a socket timeout into
    ConnectTimeoutError (urllib3/connection.py HTTPConnection._new_conn)."""
    real = urllib3.util.connection.create_connection
    thread = threading.get_ident()

    def create_connection(address, timeout=urllib3.util.connection._DEFAULT_TIMEOUT, source_address=None,
                          socket_options=None):
        if threading.get_ident() != thread:
            return real(address, timeout, source_address, socket_options)
        host, port = address
        name = str(host).lower().rstrip(".")
        node_port = getattr(servers, "resolve_node_port", None)
        found = node_port(name, int(port)) if callable(node_port) else None
        if found is not None:
            # karmada-apiserver's nodePort on a host node (the same path as the host's API server: its VPC).
            cluster, local = found
            if network.reachable(function.source, cluster):
                return real(local, timeout, source_address, socket_options)
            logs.unreachable.add(cluster)
        if _eks_api is not None and (name, int(port)) == ("127.0.0.1", _eks_api.port):
            why = network.eks_api_why_not(function.source) if hasattr(network, "eks_api_why_not") else None
            if why is None:
                return real(address, timeout, source_address, socket_options)
            logs.unreachable.add(f"the EKS API ({why})")
        elif name.endswith(EKS_DOMAIN):
            found = servers.resolve(name)
            if found is None or int(port) != 443:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            cluster, local = found
            if network.reachable(function.source, cluster):
                return real(local, timeout, source_address, socket_options)
            logs.unreachable.add(cluster)
        # Dropped on the way (no route, no rule admitting it, or any host outside the federation): the SYN is
        # never answered and the connect timeout passes.
        clock.advance(timeout if isinstance(timeout, (int, float)) and timeout > 0 else KERNEL_CONNECT_TIMEOUT)
        raise TimeoutError("timed out")

    urllib3.util.connection.create_connection = create_connection
    try:
        yield
    finally:
        urllib3.util.connection.create_connection = real


@contextlib.contextmanager
def _virtual_time(function: LambdaFunction, clock: Clock):
    modules = _packages.get((Path(function.asset_dir).resolve(), function.handler.split(".")[0]), {})
    patched = [m for m in modules.values() if getattr(m, "time", None) is real_time]
    for module in patched:
        module.time = VirtualTime(clock)
    try:
        yield
    finally:
        for module in patched:
            module.time = real_time


def _timed_out(function: LambdaFunction, clock: Clock, started: float) -> str:
    """Lambda stops the function at its timeout: the invocation took exactly that long."""
    clock.now = started + function.timeout_seconds
    return f"Task timed out after {function.timeout_seconds:.2f} seconds"


def invoke(function: LambdaFunction, event: dict, clock: Clock, network: Network, servers: Servers,
           logs: FunctionLogs, region: str) -> dict:
    """One synchronous invocation (Lambda Invoke, RequestResponse) of the packaged handler; its JSON answer, or
    _FunctionError with the errorMessage Lambda reports."""
    handler = packaged_handler(function)
    started = clock.now
    context = LambdaContext(function, clock, started, function_name=function.logical_id)
    capture = _Capture(logs)
    root = logging.getLogger()
    level = root.level
    root.setLevel(_log_levels.get((Path(function.asset_dir).resolve(), function.handler.split(".")[0]), level))
    root.addHandler(capture)
    _describing.append(network)
    _invoking.append(function)
    try:
        with _environment(_lambda_environment(function, region)), _network(function, clock, network, servers, logs), \
                _virtual_time(function, clock):
            try:
                answer = handler(json.loads(json.dumps(event)), context)
            except Exception as exc:  # noqa: BLE001 (the runtime reports any error as the errorMessage)
                error = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
                if clock.now - started > function.timeout_seconds:
                    error = _timed_out(function, clock, started)
                raise _FunctionError(redact(error)) from None
    finally:
        _describing.pop()
        _invoking.pop()
        root.removeHandler(capture)
        root.setLevel(level)
    if clock.now - started > function.timeout_seconds:
        raise _FunctionError(_timed_out(function, clock, started))
    return json.loads(json.dumps(answer if answer is not None else {}))


# --- the Provider framework --------------------------------------------------------------------------------------

def _region(request: CustomResourceRequest) -> str:
    token = str(request.properties.get("ServiceToken", ""))
    parts = token.split(":")
    return parts[3] if token.startswith("arn:") and len(parts) > 3 and parts[3] else "us-east-1"


def _cloudformation_request(request: CustomResourceRequest) -> dict:
    """What CloudFormation sends (and the Provider passes on, ResponseURL hidden)
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html)."""
    event = {"RequestType": request.request_type, "ServiceToken": request.properties.get("ServiceToken", ""),
             "ResponseURL": "...", "StackId": f"arn:aws:cloudformation:{_region(request)}:000000000000:stack/"
             f"{request.stack}/rehearsal", "RequestId": f"{request.stack}-{request.logical_id}-{request.request_type}",
             "LogicalResourceId": request.logical_id, "ResourceType": request.resource_type,
             "ResourceProperties": dict(request.properties)}
    if request.physical_id is not None:
        event["PhysicalResourceId"] = request.physical_id
    if request.old_properties is not None:
        event["OldResourceProperties"] = dict(request.old_properties)
    return event


def _response_event(cfn: dict, answer: dict) -> dict:
    """runtime/framework.js createResponseEvent."""
    default = cfn["RequestId"] if cfn["RequestType"] == "Create" else cfn.get("PhysicalResourceId")
    physical_id = answer.get("PhysicalResourceId") or default
    if cfn["RequestType"] == "Delete" and physical_id != cfn.get("PhysicalResourceId"):
        raise _FunctionError(f'DELETE: cannot change the physical resource ID from "{cfn.get("PhysicalResourceId")}" '
                             f'to "{answer.get("PhysicalResourceId")}" during deletion')
    return {**cfn, **answer, "PhysicalResourceId": physical_id}


def _response_too_long(event: dict, data: dict) -> str | None:
    """What CloudFormation says of a response over its limit; the response as runtime/cfn-response.js
    submitResponse builds it."""
    response = {"Status": "SUCCESS", "Reason": "SUCCESS", "StackId": event.get("StackId"),
                "RequestId": event.get("RequestId"), "PhysicalResourceId": event.get("PhysicalResourceId"),
                "LogicalResourceId": event.get("LogicalResourceId"), "Data": data}
    size = len(json.dumps(response).encode())
    if size <= MAX_RESPONSE_BYTES:
        return None
    return f"Response object is too long. ({size} bytes; CloudFormation takes {MAX_RESPONSE_BYTES})"


def serve(request: CustomResourceRequest, clock: Clock, network: Network, servers: Servers,
          logs: FunctionLogs | None = None) -> CustomResourceResult:
    """Serve one `Custom::KubefedJoin`, `Custom::KubefedTeardown` or `Custom::FederatedWorkload` request to the end,
    as the Provider framework does (see the module docstring), advancing `clock`. Raises world.RehearsalFailure with
    the Provider's reason when the resource fails (a handler error, or "Operation timed out"); the function's last
    log lines follow the reason (as its CloudWatch log would show them)."""
    if request.request_type == "Delete" and request.physical_id == CREATE_FAILED_MARKER:
        return CustomResourceResult(physical_id=CREATE_FAILED_MARKER)  # cfn-response.js safeHandler
    provider = request.provider
    logs = logs if logs is not None else FunctionLogs()
    region = _region(request)
    cfn = _cloudformation_request(request)

    def fail(reason: str, function: LambdaFunction, fix: str, outcome: str = "FAILED") -> RehearsalFailure:
        said = "\n".join(logs.last())
        message = (f"{request.resource_type} {request.logical_id} {request.request_type} {outcome}: {reason}"
                   + (f"\n  Logs: /aws/lambda/{function.logical_id}\n    " + said.replace("\n", "\n    ")
                      if said else ""))
        if logs.unreachable:
            message += (f"\n  No network path from {function.source} to the API server of: "
                        f"{', '.join(sorted(logs.unreachable))} (connections timed out)")
            fix = ("keep the path open while the resource runs: make the custom resource depend on the security-group "
                   "rule, routes and peering that let its function reach those API servers, so that a delete keeps "
                   "them until it is done")
        diagnosis = getattr(servers, "diagnosis", None)
        found = diagnosis() if callable(diagnosis) else []
        if found:
            message += "\n  KubeFed reports:\n    " + "\n    ".join(line.replace("\n", "\n    ") for line in found)
        return RehearsalFailure(redact(message), stack=request.stack, resource=request.logical_id, fix=fix)

    try:
        event = _response_event(cfn, invoke(provider.on_event, cfn, clock, network, servers, logs, region))
    except _FunctionError as exc:
        raise fail(str(exc), provider.on_event, "the onEvent handler refused the request: see its reason") from None
    if provider.is_complete is None:
        too_long = _response_too_long(event, dict(event.get("Data") or {}))
        if too_long:
            raise fail(too_long, provider.on_event, "return less Data from the handler")
        return CustomResourceResult(event["PhysicalResourceId"], dict(event.get("Data") or {}))
    retries = provider.total_timeout_seconds // provider.query_interval_seconds
    for attempt in range(retries + 1):
        if attempt:
            clock.advance(provider.query_interval_seconds)
            servers.controllers_round(clock)
        try:
            result = invoke(provider.is_complete, event, clock, network, servers, logs, region)
        except _FunctionError as exc:
            raise fail(str(exc), provider.is_complete, "the isComplete handler failed: see its reason") from None
        if result.get("IsComplete"):
            data = {**(event.get("Data") or {}), **(result.get("Data") or {})}
            if data.get(contract.LEFT_BEHIND_ATTRIBUTE):
                # CloudFormation records DELETE_COMPLETE (the handler gives up so that the stack can proceed), but
                # what it names stays in the clusters: the rehearsal stops here.
                raise fail(f"left behind: {data[contract.LEFT_BEHIND_ATTRIBUTE]}", provider.is_complete,
                           "see why each object could not be removed",
                           outcome="COMPLETE for CloudFormation, but not done")
            too_long = _response_too_long(event, data)
            if too_long:
                raise fail(too_long, provider.is_complete, "return less Data from the handler")
            return CustomResourceResult(event["PhysicalResourceId"], data)
        if result.get("Data"):
            raise fail('"Data" is not allowed if "IsComplete" is "False"', provider.is_complete,
                       "the isComplete handler must not return Data before it is complete")
    raise fail(TIMED_OUT, provider.is_complete,
               f"not complete within the Provider's total timeout ({provider.total_timeout_seconds} s): see the "
               "function's last log lines for what it was waiting for")
