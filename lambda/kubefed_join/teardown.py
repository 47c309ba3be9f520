"""Teardown of the KubeFed control plane's own objects, before its chart is uninstalled.

FederatedTypeConfigs carry a finalizer that only the running KubeFed controller removes. Deleted after
the chart (the controller already gone), they would hang in Terminating. So the federation stack has a
`Custom::KubefedTeardown` resource between the chart and the joins: on delete (after every unjoin, before
the chart's uninstall) it deletes the FederatedTypeConfigs and waits for the controller to release them;
past its deadline it removes the finalizers itself. Create and update do nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kubernetes import client

from join import MERGE_PATCH, Cluster
from kube_api import Failed, Waiting, with_retries
from manifests import KUBEFED_GROUP, KUBEFED_VERSION

log = logging.getLogger("kubefed_join")
PLURAL = "federatedtypeconfigs"


@dataclass
class Remaining:
    count: int
    """FederatedTypeConfigs still present."""
    errors: list[Exception] = field(default_factory=list)
    """What failed for some of them (each one is attempted regardless of the others)."""


def remaining_type_configs(host: Cluster, namespace: str, force: bool) -> Remaining:
    """Delete every FederatedTypeConfig in `namespace`; with `force`, also strip their finalizers.
    Raises Waiting/Failed only when they cannot even be listed."""
    api = host.custom
    what = f"listing {PLURAL} on host {host.ref.name}"

    def listed() -> list:
        try:
            return api.list_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL,
                                                     _request_timeout=host.budget.request_timeout(what))["items"]
        except client.ApiException as exc:
            if exc.status == 404:  # no such resource type (CRDs gone) or namespace: nothing to release
                return []
            raise
    items = with_retries(listed, what, host.budget) or []
    result = Remaining(len(items))
    for item in items:
        try:
            _release(host, namespace, item, force)
        except (Waiting, Failed) as exc:
            result.errors.append(exc)
    return result


def _release(host: Cluster, namespace: str, item: dict, force: bool) -> None:
    api, name = host.custom, item["metadata"]["name"]
    what = f"deleting FederatedTypeConfig {name} on host {host.ref.name}"

    def call() -> None:
        try:
            if force and item["metadata"].get("finalizers"):
                api.patch_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL, name,
                                                   {"metadata": {"finalizers": []}}, _content_type=MERGE_PATCH,
                                                   _request_timeout=host.budget.request_timeout(what))
                log.warning("host %s: removed the finalizers of FederatedTypeConfig %s (controller did not)",
                            host.ref.name, name)
            if not item["metadata"].get("deletionTimestamp"):
                api.delete_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL, name,
                                                    _request_timeout=host.budget.request_timeout(what))
                log.info("host %s: FederatedTypeConfig %s deleted", host.ref.name, name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    with_retries(call, what, host.budget)
