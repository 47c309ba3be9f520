"""Custom-resource handler for the CDK Provider framework: join a cluster to KubeFed, unjoin on delete.

`on_event` only checks the properties and sets a deadline; `is_complete` runs every join step (all
idempotent) on each poll until the KubeFedCluster is Ready, and fails with what never became ready
once the deadline passes. Delete behaves like `kubefedctl unjoin --force`: member errors are logged
and skipped, the host is cleaned, and nothing ever blocks a stack delete.
"""
from __future__ import annotations

import logging
import time

import join
import teardown
from kube_api import Failed, Waiting, api_client
from properties import InvalidProperties, JoinRequest, parse, parse_teardown

logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("kubefed_join")
# These libraries log request and response bodies (secrets, tokens) or signatures at DEBUG. Pin them
# above DEBUG so that no log level set on the function can make them print a token.
for _library in ("kubernetes", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

# How long a delete keeps retrying a host that errors before it gives up (and succeeds).
UNJOIN_SECONDS = 600
TEARDOWN_TYPE = "Custom::KubefedTeardown"
# How long the KubeFed controller gets to release FederatedTypeConfigs before their finalizers are removed,
# and how much longer a teardown may retry an erroring host before it gives up (and succeeds).
RELEASE_SECONDS = 300
GIVE_UP_SECONDS = 120


def on_event(event: dict, context: object = None) -> dict:
    request_type = event["RequestType"]
    if event.get("ResourceType") == TEARDOWN_TYPE:
        return _teardown_on_event(event)
    if request_type == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(int(time.time()) + UNJOIN_SECONDS)}}
    req = parse(event.get("ResourceProperties") or {})  # InvalidProperties fails the resource, as it should
    log.info("%s %s: joining %s to host %s", request_type, req.physical_id, req.member.name, req.host.name)
    return {"PhysicalResourceId": req.physical_id, "Data": {"Deadline": str(int(time.time()) + req.timeout_seconds)}}


def is_complete(event: dict, context: object = None) -> dict:
    deadline = int((event.get("Data") or {}).get("Deadline") or 0)
    if event.get("ResourceType") == TEARDOWN_TYPE:
        return _teardown_is_complete(event, deadline)
    if event["RequestType"] == "Delete":
        return _unjoin(event, deadline)
    req = parse(event.get("ResourceProperties") or {})
    try:
        member, host = _clusters(req)
        state = join.join(req, member, host)
        if state.ready:
            log.info("%s joined: %s", req.member.name, state.detail)
            return {"IsComplete": True, "Data": {"KubeFedCluster": req.member.name}}
        waiting = state.detail
    except Waiting as exc:
        waiting = str(exc)
    except Failed as exc:
        raise RuntimeError(f"joining {req.member.name} to KubeFed failed: {exc}") from None
    if time.time() > deadline:
        raise RuntimeError(f"{req.member.name} did not join KubeFed within {req.timeout_seconds // 60} minutes; "
                           f"still waiting for: {waiting}")
    log.info("waiting: %s", waiting)
    return {"IsComplete": False}


def _clusters(req: JoinRequest) -> tuple[join.Cluster, join.Cluster]:
    host = join.Cluster(req.host, api_client(req.host), "host")
    if req.member.name == req.host.name:
        return join.Cluster(req.member, host.core.api_client, "member"), host
    return join.Cluster(req.member, api_client(req.member), "member"), host


def _unjoin(event: dict, deadline: int) -> dict:
    try:
        req = parse(event.get("ResourceProperties") or {})
    except InvalidProperties as exc:
        log.warning("nothing to unjoin: the properties never described a join (%s)", exc)
        return {"IsComplete": True}
    member, host = _clusters(req)
    try:
        join.unjoin_member(req, member)
    except (Waiting, Failed) as exc:
        log.warning("member cleanup skipped, as unjoin --force does: %s", exc)
    try:
        join.unjoin_host(req, host)
    except Waiting as exc:
        if time.time() <= deadline:
            log.info("waiting to clean the host: %s", exc)
            return {"IsComplete": False}
        log.warning("giving up on host cleanup so the stack can be deleted: %s", exc)
    except Failed as exc:
        log.warning("host cleanup failed; not blocking the delete: %s", exc)
    log.info("%s unjoined", req.member.name)
    return {"IsComplete": True}


def _teardown_on_event(event: dict) -> dict:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"],
                "Data": {"Deadline": str(int(time.time()) + RELEASE_SECONDS)}}
    req = parse_teardown(event.get("ResourceProperties") or {})
    return {"PhysicalResourceId": req.physical_id}


def _teardown_is_complete(event: dict, deadline: int) -> dict:
    if event["RequestType"] != "Delete":
        return {"IsComplete": True}  # nothing to do until the federation is torn down
    try:
        req = parse_teardown(event.get("ResourceProperties") or {})
    except InvalidProperties as exc:
        log.warning("nothing to tear down: %s", exc)
        return {"IsComplete": True}
    host = join.Cluster(req.host, api_client(req.host), "host")
    now = time.time()
    try:
        remaining = teardown.remaining_type_configs(host, req.namespace, force=now > deadline)
    except (Waiting, Failed) as exc:
        if now > deadline + GIVE_UP_SECONDS:
            log.warning("giving up on the KubeFed teardown so the stack can be deleted: %s", exc)
            return {"IsComplete": True}
        log.info("waiting to tear down KubeFed: %s", exc)
        return {"IsComplete": False}
    if remaining == 0:
        log.info("host %s: no FederatedTypeConfig left; the chart can be uninstalled", req.host.name)
        return {"IsComplete": True}
    if now > deadline + GIVE_UP_SECONDS:
        log.warning("host %s: %d FederatedTypeConfigs still present; not blocking the delete", req.host.name, remaining)
        return {"IsComplete": True}
    log.info("waiting for the KubeFed controller to release %d FederatedTypeConfigs", remaining)
    return {"IsComplete": False}
