"""Teardown of the KubeFed control plane's own objects, before its chart is uninstalled.

FederatedTypeConfigs carry a finalizer that only the running KubeFed controller removes. Deleted after
the chart (the controller already gone), they would hang in Terminating. So the federation stack has a
`Custom::KubefedTeardown` resource between the chart and the joins: on delete (after every unjoin, before
the chart's uninstall) it deletes the FederatedTypeConfigs and waits for the controller to release them;
past its deadline it removes the finalizers itself. Create and update do nothing.
"""
from __future__ import annotations

import logging

from kubernetes import client

from join import MERGE_PATCH, Cluster
from kube_api import REQUEST_TIMEOUT, classify
from manifests import KUBEFED_GROUP, KUBEFED_VERSION

log = logging.getLogger("kubefed_join")
PLURAL = "federatedtypeconfigs"


def remaining_type_configs(host: Cluster, namespace: str, force: bool) -> int:
    """Delete every FederatedTypeConfig in `namespace`; with `force`, also strip their finalizers.
    Returns how many still exist."""
    api = host.custom
    try:
        listed = api.list_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL,
                                                   _request_timeout=REQUEST_TIMEOUT)
    except client.ApiException as exc:
        if exc.status == 404:  # no such resource type (CRDs gone) or namespace: nothing to release
            return 0
        raise classify(exc, f"listing {PLURAL} on host {host.ref.name}") from None
    except Exception as exc:
        raise classify(exc, f"listing {PLURAL} on host {host.ref.name}") from None
    items = listed.get("items") or []
    for item in items:
        name = item["metadata"]["name"]
        try:
            if force and item["metadata"].get("finalizers"):
                api.patch_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL, name,
                                                   {"metadata": {"finalizers": []}},
                                                   _request_timeout=REQUEST_TIMEOUT, _content_type=MERGE_PATCH)
                log.warning("host %s: removed the finalizers of FederatedTypeConfig %s (controller did not)",
                            host.ref.name, name)
            if not item["metadata"].get("deletionTimestamp"):
                api.delete_namespaced_custom_object(KUBEFED_GROUP, KUBEFED_VERSION, namespace, PLURAL, name,
                                                    _request_timeout=REQUEST_TIMEOUT)
                log.info("host %s: FederatedTypeConfig %s deleted", host.ref.name, name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise classify(exc, f"deleting FederatedTypeConfig {name} on host {host.ref.name}") from None
    return len(items)
